package analysis_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// benchFeatures are the seven numeric inputs of the fraud example.
var benchFeatures = []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"}

// realisticSeries records five minutes of a fraud model at 100 requests per
// second for each version, the candidate a little slower and more
// error-prone: seven per-feature inputs and a score per request, 0.3%
// (candidate 0.5%) server errors, and a tenth of the predictions labelled
// within a second, with a business value. The clock ends five minutes on.
func realisticSeries(b *testing.B) *fixture {
	f := newFixture(b)
	rng := rand.New(rand.NewPCG(7, 8))
	const rps, seconds = 100, 300
	id := 0
	for s := range seconds {
		for i := range rps {
			f.now = t0.Add(time.Duration(s)*time.Second + time.Duration(i)*time.Second/rps)
			for _, version := range []string{baseline, candidate} {
				id++
				o := fraudRequest(rng, version, "r"+strconv.Itoa(id))
				errRate := 0.003
				if version == candidate {
					errRate = 0.005
				}
				if rng.Float64() < errRate {
					o.Outcome = telemetry.ServerError
				}
				f.rec.Record(o)
				if o.Outcome == telemetry.OK && rng.IntN(10) == 0 {
					score := float64(o.Outputs[0].Data.([]float32)[0])
					label := 0.0
					if rng.Float64() < score {
						label = 1
					}
					f.feedback(telemetry.Feedback{ID: o.RequestID, Label: &label, Values: map[string]float64{"revenue": 10 * rng.Float64()}})
				}
			}
		}
	}
	return f
}

func fraudRequest(rng *rand.Rand, version, id string) telemetry.Observation {
	values := []float64{
		math.Exp(3 + 1.2*rng.NormFloat64()), // amount
		float64(rng.IntN(24)),               // hour
		rng.Float64(),                       // merchant_risk
		math.Exp(2 + 1.5*rng.NormFloat64()), // distance_from_home
		float64(rng.IntN(12)),               // tx_count_24h
		float64(rng.IntN(10) / 9),           // is_foreign
		float64(1 + rng.IntN(3000)),         // card_age_days
	}
	inputs := make([]runtime.Tensor, len(values))
	for i, v := range values {
		inputs[i] = runtime.Tensor{Name: benchFeatures[i], Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{float32(v)}}
	}
	latency := math.Exp(0.7 + 0.4*rng.NormFloat64())
	if version == candidate {
		latency *= 1.2
	}
	score := float32(1 / (1 + math.Exp(-(-3.5 + 1.5*rng.NormFloat64()))))
	return telemetry.Observation{
		Model: "m", Version: version, RequestID: id,
		Latency: time.Duration(latency * float64(time.Millisecond)),
		Inputs:  inputs,
		Outputs: []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{score}}},
	}
}

// A typical stage analysis and the usual rollback triggers.
var (
	benchMetrics = []spec.Metric{
		threshold("error-rate", 1),
		relative("latency-p99", 1.5),
		relative("accuracy", 0.98),
	}
	benchTriggers = []spec.Trigger{
		{Metric: "error-rate", Above: ptr(5), Action: spec.ActionRollback, MinSamples: 100},
		{Metric: "latency-p99", Relative: ptr(2), Action: spec.ActionRollback, MinSamples: 100},
	}
	benchDrift = []spec.Metric{
		threshold("prediction-drift", 0.25),
		threshold("feature-drift", 0.25),
		threshold("score-shift", 0.1),
	}
)

// BenchmarkAnalyze is one controller tick for one rollout: gather five
// minutes of both versions' telemetry, judge three metrics and two
// triggers. The judgement alone (judge) shows what the package adds to
// telemetry's window copies, and drift the costliest metrics.
func BenchmarkAnalyze(b *testing.B) {
	f := realisticSeries(b)
	q := f.query()
	e := f.judge.Gather(q)
	if v := e.Analyze(benchMetrics); v.Result == slipway.Inconclusive {
		b.Fatalf("the benchmark series is too thin: %s", v.Reason)
	}
	b.Run("tick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e := f.judge.Gather(q)
			_ = e.Analyze(benchMetrics)
			_ = e.Check(benchTriggers)
		}
	})
	b.Run("judge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = e.Analyze(benchMetrics)
			_ = e.Check(benchTriggers)
		}
	})
	b.Run("drift", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = e.Analyze(benchDrift)
		}
	})
	b.Run("gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = f.judge.Gather(q)
		}
	})
}

// BenchmarkExperiment is one tick of an experiment on five minutes of
// realistic telemetry per arm (revenue per labelled request as the metric,
// one guardrail): an A/B test's decision, and a Thompson bandit's next
// allocation, whose Monte Carlo draws are most of its cost.
func BenchmarkExperiment(b *testing.B) {
	f := realisticSeries(b)
	x := &spec.Experiment{Metric: "values.revenue", MinSamples: 100, Promote: true, Policy: "thompson", Floor: 5, Epsilon: 0.1,
		Guardrails: []spec.Metric{{Name: "error-rate", Relative: ptr(1.5), MinSamples: 100}}}
	q := analysis.ExperimentQuery{Model: "m", Arms: []string{baseline, candidate}, Shares: []float64{0.5, 0.5}, Experiment: x, Window: 5 * time.Minute}
	for _, bandit := range []bool{false, true} {
		name := "ab-test"
		if bandit {
			name = "bandit"
		}
		b.Run(name, func(b *testing.B) {
			q.Bandit = bandit
			for b.Loop() {
				if _, err := f.judge.Experiment(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
