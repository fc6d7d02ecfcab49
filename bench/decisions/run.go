package main

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// A scenario is the candidate's ground truth against the baseline.
type scenario struct {
	name string
	// metric is the metric the candidate regresses on; empty for A/A,
	// where every rollback is a false one.
	metric    string
	candidate arm
}

func scenarios() []scenario {
	errors2x, accuracy5 := baseline, baseline
	errors2x.errorRate = 2 * baseErrorRate
	accuracy5.accuracy = baseAccuracy - 0.05
	return []scenario{
		{name: "A/A", candidate: baseline},
		{name: "error rate 2×", metric: "error-rate", candidate: errors2x},
		{name: "latency p99 +30%", metric: "latency-p99", candidate: baseline.withP99(1.3)},
		{name: "accuracy −5 points", metric: "accuracy", candidate: accuracy5},
	}
}

// config is one benchmark run's parameters.
type config struct {
	seed    uint64
	runs    int // runs per scenario
	stage   int // seconds (ticks) per stage
	traffic traffic
	workers int // runs simulated at once; at least 1
}

// outcome is one judge's decision over one run.
type outcome struct {
	fired bool
	// tick is the second at which it fired, and requests the candidate's
	// requests by then; zero when it did not.
	tick     int
	requests int64
	// onTarget says the deciding metric was the one the scenario
	// regresses.
	onTarget bool
}

// truth sums what one version's simulated streams held over a scenario's
// runs, to check the simulation against its parameters.
type truth struct {
	requests, errors, labels, correct int64
	latency                           *ddsketch.DDSketch
}

func (t *truth) add(a *telemetry.Aggregate) {
	t.requests += a.Requests
	t.errors += a.ServerErrors + a.Timeouts
	t.labels += a.Quality.Labeled
	t.correct += a.Quality.TP + a.Quality.TN
	if t.latency == nil {
		t.latency = newLatencySketch()
	}
	_ = t.latency.MergeWith(a.Latency) // one mapping; cannot fail
}

// scenarioResult is every judge's outcome over every run of a scenario.
type scenarioResult struct {
	scenario scenario
	// outcomes[j][r] is judge j's outcome in run r.
	outcomes   [][]outcome
	cand, base truth
}

// runScenario simulates cfg.runs stages of sc and judges each with every
// kind. Run r of scenario index si draws from PCG(seed, si<<32 | r), so
// results depend on neither the workers nor the order they finish in.
func runScenario(cfg config, si int, sc scenario, kinds []judgeKind) scenarioResult {
	res := scenarioResult{scenario: sc, outcomes: make([][]outcome, len(kinds))}
	for j := range kinds {
		res.outcomes[j] = make([]outcome, cfg.runs)
	}
	streams := make([]*stream, cfg.runs)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(cfg.workers, 1) {
		wg.Go(func() {
			for r := int(next.Add(1) - 1); r < cfg.runs; r = int(next.Add(1) - 1) {
				rng := rand.New(rand.NewPCG(cfg.seed, uint64(si)<<32|uint64(r)))
				streams[r] = runOne(cfg, rng, sc, kinds, res.outcomes, r)
			}
		})
	}
	wg.Wait()
	for _, s := range streams {
		res.cand.add(&s.cand)
		res.base.add(&s.base)
	}
	return res
}

// runOne simulates one stage, tick by tick, until every judge has fired
// or the stage ends, and writes each judge's outcome to out[j][r].
func runOne(cfg config, rng *rand.Rand, sc scenario, kinds []judgeKind, out [][]outcome, r int) *stream {
	s := newStream(rng, cfg.traffic, sc.candidate, baseline)
	judges := make([]judge, len(kinds))
	for j, k := range kinds {
		judges[j] = k.start()
	}
	pending := len(judges)
	for tick := 1; tick <= cfg.stage && pending > 0; tick++ {
		s.tick()
		for j, judge := range judges {
			if out[j][r].fired {
				continue
			}
			if fired, why := judge(&s.cand, &s.base, tick); fired {
				out[j][r] = outcome{fired: true, tick: tick, requests: s.cand.Requests,
					onTarget: sc.metric != "" && strings.HasPrefix(why, sc.metric)}
				pending--
			}
		}
	}
	return s
}

// runAll runs every scenario with every judge kind.
func runAll(cfg config, scs []scenario, kinds []judgeKind) []scenarioResult {
	out := make([]scenarioResult, len(scs))
	for i, sc := range scs {
		out[i] = runScenario(cfg, i, sc, kinds)
	}
	return out
}
