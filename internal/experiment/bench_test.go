package experiment

import (
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/stats"
)

// benchArms are a conversion experiment late in its run: 20,000 users
// per arm at rates near 5%, and revenue per user near 10.
func benchArms(k int, kind Kind) []Arm {
	arms := make([]Arm, k)
	for i := range arms {
		n := int64(20000 + 37*i)
		v := stats.Moments{N: n, Sum: float64(1000 + 40*i)}
		if kind == Continuous {
			v = stats.Moments{N: n, Sum: 10.2 * float64(n) * (1 + 0.01*float64(i)), SumSq: 113 * float64(n)}
		}
		arms[i] = Arm{Name: string(rune('a' + i)), Share: 1 / float64(k), Assigned: n, Values: v}
	}
	return arms
}

func BenchmarkAnalyze(b *testing.B) {
	for _, c := range []struct {
		name string
		k    int
		kind Kind
	}{
		{"binary-2-arms", 2, Binary},
		{"binary-4-arms", 4, Binary},
		{"continuous-2-arms", 2, Continuous},
		{"continuous-4-arms", 4, Continuous},
	} {
		b.Run(c.name, func(b *testing.B) {
			arms := benchArms(c.k, c.kind)
			opt := Options{Metric: Metric{Kind: c.kind}, MinSamples: 1000, MinDuration: time.Hour}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(arms, 2*time.Hour, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCheckSRM(b *testing.B) {
	assigned := []int64{25100, 24950, 25020, 24930}
	shares := []float64{0.25, 0.25, 0.25, 0.25}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckSRM(assigned, shares, 0, ""); err != nil {
			b.Fatal(err)
		}
	}
}
