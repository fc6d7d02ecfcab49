package analysis_test

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

func Example() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	rec := telemetry.New(telemetry.Config{Now: func() time.Time { return now }})
	score := []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{0.2}}}

	// The baseline answered 1,000 requests in 5 ms with 2 failures; the
	// candidate 400 in 9 ms with 6.
	for i := range 1000 {
		o := telemetry.Observation{Model: "fraud", Version: "1", Latency: 5 * time.Millisecond, Outputs: score}
		if i < 2 {
			o.Outcome = telemetry.ServerError
		}
		rec.Record(o)
	}
	for i := range 400 {
		o := telemetry.Observation{Model: "fraud", Version: "2", Latency: 9 * time.Millisecond, Outputs: score}
		if i < 6 {
			o.Outcome = telemetry.Timeout
		}
		rec.Record(o)
	}
	now = now.Add(time.Minute)

	judge := &analysis.Judge{Source: rec}
	e := judge.Gather(analysis.Query{Model: "fraud", Candidate: "2", Baseline: "1", Window: time.Minute})
	one, ratio := 1.0, 1.5
	verdict := e.Analyze([]spec.Metric{
		{Name: "error-rate", Threshold: &one, MinSamples: 100},
		{Name: "latency-p99", Relative: &ratio, MinSamples: 100},
	})
	fmt.Println(verdict.Result+":", verdict.Reason)
	for _, m := range verdict.Metrics {
		fmt.Printf("  %s: %s, %s\n", m.Rule, m.Result, m.Reason)
	}

	five := 5.0
	for _, f := range e.Check([]spec.Trigger{{Metric: "error-rate", Above: &five, Action: spec.ActionRollback, MinSamples: 100}}) {
		fmt.Println("fired:", f.Fired, "-", f)
	}
	// Output:
	// fail: latency-p99 9.06ms > 1.5× baseline 5ms with 97.5% confidence (100% of requests above 7.5ms where 1% would be, 97.5% interval 98.1%–100%) (n 400/1000)
	//   error-rate ≤ 1% (n ≥ 100): inconclusive, 1.5% > 1%, but not yet with 97.5% confidence (97.5% interval 0.182%–4.35%)
	//   latency-p99 ≤ 1.5× baseline (n ≥ 100): fail, 9.06ms > 1.5× baseline 5ms with 97.5% confidence (100% of requests above 7.5ms where 1% would be, 97.5% interval 98.1%–100%)
	// fired: false - error-rate above 5%: 1.5% ≤ 5% (n 400)
}
