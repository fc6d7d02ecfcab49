package bandit

import "testing"

// sinkInt and sinkFloat keep the compiler from dropping benchmarked calls.
var (
	sinkInt   int
	sinkFloat float64
)

// benchArms is three arms of conversion-like evidence, a few thousand
// rewards each: what a tick of a three-version rollout sees.
var benchArms = []Arm{{Pulls: 4000, Sum: 160, SumSq: 160}, {Pulls: 5210, Sum: 370, SumSq: 370}, {Pulls: 3000, Sum: 150, SumSq: 150}}

func benchPolicies() []struct {
	name string
	p    Policy
} {
	th, _ := NewThompson(Bernoulli, 0)
	gth, _ := NewThompson(Gaussian, 0)
	eg, _ := NewEpsilonGreedy(DefaultEpsilon)
	return []struct {
		name string
		p    Policy
	}{
		{"thompson", th},
		{"thompson-gaussian", gth},
		{"ucb1", UCB1{}},
		{"epsilon-greedy", eg},
		{"uniform", Uniform{}},
	}
}

// BenchmarkChoose is the cost of one per-request decision among three
// arms.
func BenchmarkChoose(b *testing.B) {
	for _, bm := range benchPolicies() {
		b.Run(bm.name, func(b *testing.B) {
			rng := newRand(1)
			b.ReportAllocs()
			for b.Loop() {
				sinkInt += bm.p.Choose(benchArms, rng)
			}
		})
	}
}

// BenchmarkShares is the cost of one tick's allocation among three arms;
// for Thompson sampling, DefaultDraws joint posterior draws.
func BenchmarkShares(b *testing.B) {
	for _, bm := range benchPolicies() {
		b.Run(bm.name, func(b *testing.B) {
			rng := newRand(1)
			b.ReportAllocs()
			for b.Loop() {
				sinkFloat += bm.p.Shares(benchArms, rng)[0]
			}
		})
	}
}

// BenchmarkContextual is the cost of one decision and one update of a
// two-arm model over three features.
func BenchmarkContextual(b *testing.B) {
	r, _ := NewRidge([]string{"a", "b", "c"}, 2, 1)
	ridgeData(r, 1000, newRand(1))
	ucb, _ := NewLinUCB(1)
	ts, _ := NewLinThompson(0.25)
	x := []float64{0.5, -1, 2}
	b.Run("linucb/choose", func(b *testing.B) {
		rng := newRand(1)
		b.ReportAllocs()
		for b.Loop() {
			arm, _ := ucb.Choose(r, x, rng)
			sinkInt += arm
		}
	})
	b.Run("linear-thompson/choose", func(b *testing.B) {
		rng := newRand(1)
		b.ReportAllocs()
		for b.Loop() {
			arm, _ := ts.Choose(r, x, rng)
			sinkInt += arm
		}
	})
	b.Run("update", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = r.Update(1, x, 0.5)
		}
	})
}
