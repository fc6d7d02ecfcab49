package xgboost

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestPredictConcurrently shares one Booster between goroutines, as a
// server does; run with -race.
func TestPredictConcurrently(t *testing.T) {
	b := loadFixture(t, "softprob")
	x, rows := readCSV(t, "testdata/softprob/input.csv")
	want, err := b.Predictions(x, rows)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			out := make([]float32, len(want))
			for range 50 {
				if err := b.Predict(x, rows, out); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(out, want) {
					t.Error("concurrent predictions differ")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPredictAllocations(t *testing.T) {
	for _, name := range []string{"binary_missing", "softprob", "softmax", "dart"} {
		b := loadFixture(t, name)
		x, rows := readCSV(t, "testdata/"+name+"/input.csv")
		out := make([]float32, rows*b.NumOutput())
		allocs := testing.AllocsPerRun(10, func() {
			if err := b.Predict(x, rows, out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Predict allocates %v times per call, want 0", name, allocs)
		}
	}
}

// BenchmarkPredict predicts with the binary:logistic fixture (20 trees of
// depth 4 over 6 features) and the three-class softprob fixture.
func BenchmarkPredict(b *testing.B) {
	for _, name := range []string{"binary_missing", "softprob"} {
		booster := loadFixture(b, name)
		input, _ := readCSV(b, "testdata/"+name+"/input.csv")
		for _, rows := range []int{1, 1000} {
			x := make([]float32, 0, rows*booster.NumFeature())
			for len(x) < cap(x) {
				x = append(x, input[:min(len(input), cap(x)-len(x))]...)
			}
			out := make([]float32, rows*booster.NumOutput())
			b.Run(fmt.Sprintf("%s/rows=%d", name, rows), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := booster.Predict(x, rows, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		}
	}
}
