package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/slipway-ml/slipway/internal/bandit"
)

// The bound by hand: KL(0.1 ‖ 0.9) = 0.1 ln(1/9) + 0.9 ln 9 = 0.8 ln 9, so
// the four arms contribute 4 · 0.8/(0.8 ln 9) · ln 10,000.
func TestLaiRobbins(t *testing.T) {
	if got, want := klBernoulli(0.1, 0.9), 0.8*math.Log(9); math.Abs(got-want) > 1e-15 {
		t.Errorf("KL(0.1, 0.9) = %v, want %v", got, want)
	}
	b := problems()[0]
	if got, want := b.laiRobbins(), 4/math.Log(9)*math.Log(10000); math.Abs(got-want) > 1e-12 {
		t.Errorf("Lai–Robbins bound %v, want %v", got, want)
	}
	if got := klBernoulli(0.07, 0.07); got != 0 {
		t.Errorf("KL(p, p) = %v, want 0", got)
	}
}

// The results do not depend on how many workers run them.
func TestWorkersDoNotChangeResults(t *testing.T) {
	th, _ := bandit.NewThompson(bandit.Bernoulli, 500)
	b := bernoulli{means: []float64{0.2, 0.3, 0.5}, rounds: 2000}
	play := batched(th, 100, 0.05)
	one := runMany(config{seed: 3, runs: 6, workers: 1}, 7, func(rng *rand.Rand) float64 { return play(b, rng) })
	three := runMany(config{seed: 3, runs: 6, workers: 3}, 7, func(rng *rand.Rand) float64 { return play(b, rng) })
	if !slices.Equal(one, three) {
		t.Errorf("1 worker %v, 3 workers %v", one, three)
	}
}

// The uniform split's regret is known in expectation: T · Σ Δᵢ / k; and
// the floored batched run pays at least the floor's cost.
func TestRegretAccounting(t *testing.T) {
	b := bernoulli{means: []float64{0.1, 0.4, 0.7}, rounds: 3000}
	cfg := config{seed: 1, runs: 40, workers: 2}
	uni := summarize(runMany(cfg, 1, func(rng *rand.Rand) float64 { return perRequest(bandit.Uniform{})(b, rng) }))
	if want := 3000 * 0.9 / 3; !uni.near(want) {
		t.Errorf("uniform regret %+v, want %v within 4 standard errors", uni, want)
	}
	th, _ := bandit.NewThompson(bandit.Bernoulli, 500)
	floored := summarize(runMany(cfg, 2, func(rng *rand.Rand) float64 { return batched(th, 100, 0.1)(b, rng) }))
	if least := 0.1 * 0.9 * 3000; floored.mean < least*0.9 {
		t.Errorf("regret with a 10%% floor %v, below the floor's least cost %v", floored.mean, least)
	}
	ts := summarize(runMany(cfg, 3, func(rng *rand.Rand) float64 { return perRequest(th)(b, rng) }))
	if ts.mean > uni.mean/5 {
		t.Errorf("Thompson regret %v, more than a fifth of uniform's %v", ts.mean, uni.mean)
	}
}

// The contextual oracle and fixed versions earn their expected rates.
func TestSegments(t *testing.T) {
	s := segments{rate: [2][2]float64{{0.08, 0.03}, {0.04, 0.07}}, rounds: 20000}
	if math.Abs(s.oracle()-0.075) > 1e-15 || math.Abs(s.single()-0.055) > 1e-15 {
		t.Errorf("oracle %v, single %v; want 0.075, 0.055", s.oracle(), s.single())
	}
	cfg := config{seed: 2, runs: 20, workers: 2}
	or := summarize(runMany(cfg, 1, func(rng *rand.Rand) float64 { return playSegments(s, fixed{perSegment: &s}, rng) }))
	if want := 0.075 * 20000; !or.near(want) {
		t.Errorf("oracle reward %+v, want %v within 4 standard errors", or, want)
	}
}

// near reports whether want is within 4 standard errors of the mean.
func (s summary) near(want float64) bool {
	return math.Abs(s.mean-want) <= 4*(s.hi-s.lo)/(2*1.96)
}

func TestPick(t *testing.T) {
	cum := []float64{0.2, 0.2, 0.7, 1}
	rng := rand.New(rand.NewPCG(1, 1))
	counts := make([]float64, 4)
	const n = 100000
	for range n {
		counts[pick(cum, rng)]++
	}
	for i, want := range []float64{0.2, 0, 0.5, 0.3} {
		if got := counts[i] / n; math.Abs(got-want) > 0.01 {
			t.Errorf("arm %d picked %.3f of the time, want %.1f", i, got, want)
		}
	}
}
