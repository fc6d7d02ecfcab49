package runbook

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
)

func f64(x float64) *float64 { return &x }

func TestEstimateScalesAsTheStatsSimulationsSay(t *testing.T) {
	// stats' simulations: a doubled error rate p is caught after a median
	// of 10–12.5/p candidate requests against a known rate; the estimate
	// from expected counts should sit near there for every p.
	for _, p := range []float64{0.5, 1, 2, 5} {
		n := estimate(spec.Metric{Name: "error-rate", Threshold: f64(p), MinSamples: 100}, 1, Baselines{}, split{ratio: 9})
		if n.Test != stats.TestOneProportion || n.Detect <= 0 {
			t.Fatalf("error-rate ≤ %v%%: test %q, detect %d", p, n.Test, n.Detect)
		}
		if perP := float64(n.Detect) * p / 100; perP < 10 || perP > 14 {
			t.Errorf("error-rate ≤ %v%%: detected at %d requests = %.1f/p; want 10–14/p", p, n.Detect, perP)
		}
	}
}

func TestEstimateKinds(t *testing.T) {
	b := Baselines{ErrorRate: 0.01, Accuracy: 0.96, LabelShare: 1}
	for _, tc := range []struct {
		name     string
		m        spec.Metric
		sp       split
		test     string
		never    bool
		baseline bool
	}{
		{"absolute error", spec.Metric{Name: "error-rate", Threshold: f64(1), MinSamples: 100}, split{9}, stats.TestOneProportion, false, false},
		{"relative error", spec.Metric{Name: "error-rate", Relative: f64(1.5), MinSamples: 100}, split{9}, stats.TestRiskRatio, false, true},
		{"relative error, no baseline traffic", spec.Metric{Name: "error-rate", Relative: f64(1.5), MinSamples: 100}, split{0}, "", true, true},
		{"absolute accuracy", spec.Metric{Name: "accuracy", Threshold: f64(90), MinSamples: 100}, split{9}, stats.TestOneProportion, false, false},
		{"relative accuracy", spec.Metric{Name: "accuracy", Relative: f64(0.95), MinSamples: 100}, split{1}, stats.TestTwoProportions, false, true},
		{"latency p99 relative", spec.Metric{Name: "latency-p99", Relative: f64(1.5), MinSamples: 100}, split{9}, stats.TestQuantileExceedance, false, true},
		{"latency p99 absolute", spec.Metric{Name: "latency-p99", Threshold: f64(100), MinSamples: 100}, split{9}, "", false, false},
		{"drift", spec.Metric{Name: "prediction-drift", Threshold: f64(0.2), MinSamples: 500}, split{9}, "", false, true},
	} {
		n := estimate(tc.m, 1, b, tc.sp)
		if n.Test != tc.test || (n.Detect < 0) != tc.never || n.BaselineToo != tc.baseline {
			t.Errorf("%s: test %q detect %d baselineToo %v; want test %q never %v baselineToo %v", tc.name, n.Test, n.Detect, n.BaselineToo, tc.test, tc.never, tc.baseline)
		}
		if tc.test != "" && n.Detect > 0 && n.Scenario == "" {
			t.Errorf("%s: no scenario", tc.name)
		}
		if tc.baseline && tc.test != "" && n.Detect > 0 && n.DetectBaseline != int64(tc.sp.ratio*float64(n.Detect)+0.5) {
			t.Errorf("%s: baseline %d at candidate %d with ratio %v", tc.name, n.DetectBaseline, n.Detect, tc.sp.ratio)
		}
	}
}

func TestMinSamplesCanSetThePace(t *testing.T) {
	n := estimate(spec.Metric{Name: "error-rate", Threshold: f64(5), MinSamples: 2000}, 1, Baselines{}, split{9})
	if fc, _, ok := n.FailAt(); !ok || fc != 2000 || n.Detect >= 2000 {
		t.Fatalf("minSamples 2000 over a test that needs %d: fail at %d", n.Detect, fc)
	}
	if pc, pb := n.PassAt(); pc != 2000 || pb != 0 {
		t.Fatalf("pass at %d/%d; want 2000 of the candidate only", pc, pb)
	}
}

func TestMoreConditionsNeedMore(t *testing.T) {
	m := spec.Metric{Name: "error-rate", Threshold: f64(1), MinSamples: 100}
	one := estimate(m, 1, Baselines{}, split{9})
	three := estimate(m, 3, Baselines{}, split{9})
	if three.Detect <= one.Detect {
		t.Fatalf("alone %d, one of three %d: sharing alpha should need more", one.Detect, three.Detect)
	}
}

// TestEstimateIsNearTheSimulatedMedian runs the analysis' own test on
// seeded Bernoulli streams, looking every 25 requests as the controller
// looks every tick, and checks that the estimate is near the median
// number of requests at which the test first fails.
func TestEstimateIsNearTheSimulatedMedian(t *testing.T) {
	const limit, rate, runs, every = 0.01, 0.02, 400, 25
	n := estimate(spec.Metric{Name: "error-rate", Threshold: f64(100 * limit), MinSamples: 0}, 1, Baselines{}, split{9})
	rng := rand.New(rand.NewPCG(8, 1))
	opt := stats.SeqOptions{Alpha: analysis.Alpha}
	var caught []int64
	for range runs {
		var x, i int64
		for i = 1; i <= 50_000; i++ {
			if rng.Float64() < rate {
				x++
			}
			if i%every == 0 && stats.OneProportion(x, i, limit, opt).Lower > limit {
				break
			}
		}
		caught = append(caught, i)
	}
	slices.Sort(caught)
	median := caught[runs/2]
	if r := float64(n.Detect) / float64(median); r < 0.75 || r > 1.33 {
		t.Fatalf("estimate %d, simulated median %d (ratio %.2f); want within a third", n.Detect, median, r)
	}
	t.Logf("estimate %d requests, simulated median %d (80%% by %d)", n.Detect, median, caught[runs*8/10])
}
