package telemetry_test

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

func Example() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	r := telemetry.New(telemetry.Config{Now: func() time.Time { return now }})

	// The gateway records every request...
	score := func(s float32) []runtime.Tensor {
		return []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{s}}}
	}
	r.Record(telemetry.Observation{Model: "fraud", Version: "2", RequestID: "req-1", Latency: 3 * time.Millisecond, Outputs: score(0.91)})
	r.Record(telemetry.Observation{Model: "fraud", Version: "2", RequestID: "req-2", Latency: 5 * time.Millisecond, Outputs: score(0.08)})
	r.Record(telemetry.Observation{Model: "fraud", Version: "2", Outcome: telemetry.Timeout, Latency: time.Second})

	// ...and the feedback endpoint joins ground truth by request id.
	now = now.Add(2 * time.Second)
	fraud, legit := 1.0, 0.0
	res, _ := r.Feedback("fraud", telemetry.Feedback{ID: "req-1", Label: &fraud})
	fmt.Println(res.Status, "to version", res.Version)
	res, _ = r.Feedback("fraud", telemetry.Feedback{ID: "req-2", Label: &legit})
	fmt.Println(res.Status, "to version", res.Version)
	res, _ = r.Feedback("fraud", telemetry.Feedback{ID: "req-9", Label: &legit})
	fmt.Println(res.Status)

	v := r.Snapshot("fraud", time.Minute).Versions[0]
	fmt.Printf("%d requests, error rate %.3f, accuracy %.2f\n", v.Requests, v.ErrorRate, *v.Quality.Accuracy)
	// Output:
	// joined to version 2
	// joined to version 2
	// unmatched
	// 3 requests, error rate 0.333, accuracy 1.00
}

func ExampleRecorder_Snapshot() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	r := telemetry.New(telemetry.Config{Now: func() time.Time { return now }})
	for i, s := range []float64{0.1, 0.2, 0.9, 0.7} {
		r.Record(telemetry.Observation{
			Model: "fraud", Version: "2", RequestID: fmt.Sprint(i), Latency: time.Duration(i+2) * time.Millisecond,
			Inputs:  []runtime.Tensor{{Name: "amount", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{10 * float64(i+1)}}},
			Outputs: []runtime.Tensor{{Name: "score", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{s}}},
		})
		label := float64(i / 2)
		r.Feedback("fraud", telemetry.Feedback{ID: fmt.Sprint(i), Label: &label, Values: map[string]float64{"loss_usd": 5}})
	}
	now = now.Add(10 * time.Second)

	ms := r.Snapshot("fraud", time.Minute)
	v := ms.Versions[0]
	fmt.Printf("version %s: %d requests in %gs, %.1f rps\n", v.Version, v.Requests, v.SpanSeconds, v.ThroughputRPS)
	fmt.Printf("latency p50 %.2fms p99 %.2fms mean %.2fms\n", v.LatencyMS.P50, v.LatencyMS.P99, v.LatencyMS.Mean)
	fmt.Printf("scores p50 %.2f, histogram %v\n", v.Predictions.Scores.P50, v.Predictions.ScoreHistogram)
	fmt.Printf("accuracy %.2f, auc %.2f, log loss %.3f\n", *v.Quality.Accuracy, *v.Quality.AUC, *v.Quality.LogLoss)
	fmt.Printf("loss_usd %+v; feature %s mean %g\n", v.Values["loss_usd"], v.Features[0].Name, v.Features[0].Mean)
	fmt.Printf("feedback %+v\n", ms.Feedback)
	// Output:
	// version 2: 4 requests in 10s, 0.4 rps
	// latency p50 2.99ms p99 4.02ms mean 3.50ms
	// scores p50 0.20, histogram [0 0 1 0 1 0 0 0 0 0 0 0 0 0 1 0 0 0 1 0]
	// accuracy 1.00, auc 1.00, log loss 0.198
	// loss_usd {N:4 Sum:20 Mean:5}; feature amount mean 25
	// feedback {Joined:4 Unmatched:0 Expired:0}
}
