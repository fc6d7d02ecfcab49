package main

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// tiny is a configuration small enough for -race: a few dozen short
// stages.
func tiny(workers int) config {
	return config{
		seed: 7, runs: 30, stage: 300, workers: workers,
		traffic: traffic{rps: 500, share: 0.01, baselineLatencies: 50},
	}
}

// tinyScenarios are the benchmark's scenarios and a 10× error regression
// that any rule must catch.
func tinyScenarios() []scenario {
	errors10x := baseline
	errors10x.errorRate = 10 * baseErrorRate
	return append(scenarios(), scenario{name: "error rate 10×", metric: "error-rate", candidate: errors10x})
}

func TestDecisions(t *testing.T) {
	kinds := judgeKinds()
	scs := tinyScenarios()
	results := runAll(tiny(1), scs, kinds)

	t.Run("reproducible", func(t *testing.T) {
		// The same seed gives the same decisions and streams, however
		// many runs are simulated at once.
		again := runAll(tiny(3), scs, kinds)
		for i := range results {
			got, want := again[i], results[i]
			if !reflect.DeepEqual(got.outcomes, want.outcomes) {
				t.Errorf("%s: outcomes differ between two runs with seed %d", want.scenario.name, tiny(1).seed)
			}
			if got.cand.requests != want.cand.requests || got.base.errors != want.base.errors || got.cand.correct != want.cand.correct {
				t.Errorf("%s: streams differ between two runs with seed %d", want.scenario.name, tiny(1).seed)
			}
		}
	})

	t.Run("fixed rule catches 10x errors", func(t *testing.T) {
		ref := referenceKind(t, kinds)
		s := summarize(find10x(t, results).outcomes[ref])
		// 5% errors at 5 rps: about 15 errors in the first minute,
		// where 4 fire.
		if s.onTarget < s.runs*9/10 {
			t.Errorf("rolled back on error-rate in %d of %d runs, want at least 90%%", s.onTarget, s.runs)
		}
		if !s.medianOK || s.medianTick > 61 {
			t.Errorf("median time to roll back %d s (ok %v), want the first check, at 60 s", s.medianTick, s.medianOK)
		}
	})

	t.Run("A/A false rollbacks are a rate", func(t *testing.T) {
		for j, k := range kinds {
			if r := summarize(results[0].outcomes[j]).rate(); !(r >= 0 && r <= 1) {
				t.Errorf("%s: A/A false-rollback rate %v, want within [0, 1]", k.name, r)
			}
		}
	})

	t.Run("A/A error rate", func(t *testing.T) {
		aa := results[0]
		if aa.scenario.name != "A/A" {
			t.Fatalf("first scenario %q, want A/A", aa.scenario.name)
		}
		got := ratio(aa.cand.errors+aa.base.errors, aa.cand.requests+aa.base.requests)
		// Over a million requests at 0.5%, one standard error is about
		// 0.007 points.
		if math.Abs(got-baseErrorRate) > 0.0005 {
			t.Errorf("simulated A/A error rate %.4f%%, want 0.5%% ± 0.05 points (%d requests)", 100*got, aa.cand.requests+aa.base.requests)
		}
	})
}

func referenceKind(t *testing.T, kinds []judgeKind) int {
	for j, k := range kinds {
		if k.reference {
			return j
		}
	}
	t.Fatal("no reference judge")
	return -1
}

func find10x(t *testing.T, results []scenarioResult) scenarioResult {
	for _, r := range results {
		if r.scenario.name == "error rate 10×" {
			return r
		}
	}
	t.Fatal("no 10× scenario")
	return scenarioResult{}
}

// TestStream checks the simulated traffic against its parameters over an
// hour of one stream, judged by nobody.
func TestStream(t *testing.T) {
	cand := baseline.withP99(1.3)
	cand.accuracy = 0.85
	s := newStream(rand.New(rand.NewPCG(1, 2)), tiny(1).traffic, cand, baseline)
	const ticks = 3600
	for range ticks {
		s.tick()
	}
	var c, b truth
	c.add(&s.cand)
	b.add(&s.base)

	within := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s = %.4g, want %.4g ± %g%%", what, got, want, 100*tol)
		}
	}
	within("requests per second", float64(c.requests+b.requests)/ticks, 500, 0.01)
	within("candidate share", float64(c.requests)/float64(c.requests+b.requests), 0.01, 0.05)
	within("baseline error rate", ratio(b.errors, b.requests), baseErrorRate, 0.05)
	within("baseline accuracy", ratio(b.correct, b.labels), baseAccuracy, 0.005)
	within("candidate accuracy", ratio(c.correct, c.labels), 0.85, 0.02)
	within("baseline p50 ms", quantileMillis(&b, 0.5), 20, 0.03)
	within("baseline p99 ms", quantileMillis(&b, 0.99), 80, 0.03)
	within("candidate p50 ms", quantileMillis(&c, 0.5), 20, 0.03)
	within("candidate p99 ms", quantileMillis(&c, 0.99), 104, 0.05)
	if got := int64(b.latency.GetCount()); got != ticks*50 {
		t.Errorf("baseline latencies recorded %d, want 50 a second (%d)", got, ticks*50)
	}
}

// TestFixedErrorRateWindow pins the fixed rule's window: the last 60
// seconds, checked from the 60th on, firing above (not at) the limit.
func TestFixedErrorRateWindow(t *testing.T) {
	tests := []struct {
		name      string
		errorsAt1 int64 // errors in the first second; none after
		wantTick  int   // 0: never fires
	}{
		{"above the limit fires at the first check", 61, 60},
		{"at the limit does not fire", 60, 0},
		{"errors leave the window after 60 s", 1000, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := fixedErrorRateJudge(1, 60)
			var c telemetry.Aggregate
			got := 0
			for tick := 1; tick <= 200 && got == 0; tick++ {
				c.Requests += 100 // 6,000 a window
				if tick == 1 {
					c.ServerErrors += tt.errorsAt1
				}
				if fired, _ := j(&c, nil, tick); fired {
					got = tick
				}
			}
			if got != tt.wantTick {
				t.Errorf("fired at tick %d, want %d", got, tt.wantTick)
			}
		})
	}
}

// TestBinomial checks the sampler's mean and variance where inversion
// runs in several chunks and on the upper tail.
func TestBinomial(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n int64
		p float64
	}{{5, 0.005}, {495, 0.1}, {2000, 0.3}, {100, 0.9}} {
		const draws = 20000
		var sum, sq float64
		for range draws {
			k := float64(binomial(rng, tc.n, tc.p))
			sum += k
			sq += k * k
		}
		mean, want := sum/draws, float64(tc.n)*tc.p
		variance, wantVar := sq/draws-mean*mean, want*(1-tc.p)
		// The fourth central moment, npq(1 + 3pq(n-2)), gives the
		// sample variance's own spread.
		m4 := wantVar * (1 + 3*tc.p*(1-tc.p)*float64(tc.n-2))
		if math.Abs(mean-want) > 5*math.Sqrt(wantVar/draws) {
			t.Errorf("Binomial(%d, %g) mean %.4g, want %.4g", tc.n, tc.p, mean, want)
		}
		if math.Abs(variance-wantVar) > 5*math.Sqrt((m4-wantVar*wantVar)/draws) {
			t.Errorf("Binomial(%d, %g) variance %.4g, want %.4g", tc.n, tc.p, variance, wantVar)
		}
	}
}
