package analysis_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// t0 is aligned to telemetry's 10-second buckets.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Versions of the model "m" in every test.
const (
	baseline  = "1"
	candidate = "2"
)

// fixture is a real telemetry.Recorder on a clock the test moves, and a
// Judge reading it.
type fixture struct {
	t     testing.TB
	now   time.Time
	rec   *telemetry.Recorder
	judge *analysis.Judge
	ids   int
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, now: t0}
	f.rec = telemetry.New(telemetry.Config{Now: func() time.Time { return f.now }})
	f.judge = &analysis.Judge{Source: f.rec}
	return f
}

// query asks about candidate against baseline over the last five minutes.
func (f *fixture) query() analysis.Query {
	return analysis.Query{Model: "m", Candidate: candidate, Baseline: baseline, Window: 5 * time.Minute}
}

func (f *fixture) shadowQuery() analysis.Query {
	q := f.query()
	q.Shadow = true
	return q
}

func (f *fixture) analyze(metrics ...spec.Metric) slipway.Verdict {
	f.t.Helper()
	v := f.judge.Analyze(f.query(), metrics)
	mustEncode(f.t, v)
	return v
}

// requests records n requests of version with one outcome and latency.
func (f *fixture) requests(version string, n int, o telemetry.Outcome, latency time.Duration) {
	for range n {
		f.rec.Record(telemetry.Observation{Model: "m", Version: version, Outcome: o, Latency: latency})
	}
}

// scored records n answered requests of version, each with one score
// output and a request id, and returns the ids.
func (f *fixture) scored(version string, n int, score float64) []string {
	ids := make([]string, n)
	for i := range ids {
		f.ids++
		ids[i] = "req-" + strconv.Itoa(f.ids)
		f.rec.Record(telemetry.Observation{Model: "m", Version: version, RequestID: ids[i], Latency: time.Millisecond, Outputs: scoreOut(score)})
	}
	return ids
}

// labelled records n requests of version scoring score, each followed by
// feedback with label.
func (f *fixture) labelled(version string, n int, score, label float64) {
	for _, id := range f.scored(version, n, score) {
		f.feedback(telemetry.Feedback{ID: id, Label: &label})
	}
}

// valued records n requests of version, each followed by feedback with
// the business value name.
func (f *fixture) valued(version string, n int, name string, v float64) {
	for _, id := range f.scored(version, n, 0.5) {
		f.feedback(telemetry.Feedback{ID: id, Values: map[string]float64{name: v}})
	}
}

func (f *fixture) feedback(fb telemetry.Feedback) {
	f.t.Helper()
	res, err := f.rec.Feedback("m", fb)
	if err != nil || res.Status != telemetry.Joined {
		f.t.Fatalf("feedback %s: %v, %v", fb.ID, res.Status, err)
	}
}

func scoreOut(scores ...float64) []runtime.Tensor {
	return []runtime.Tensor{{Name: "score", Datatype: runtime.FP64, Shape: []int64{int64(len(scores))}, Data: scores}}
}

func probsOut(k int, probs ...float64) []runtime.Tensor {
	return []runtime.Tensor{{Name: "probabilities", Datatype: runtime.FP64, Shape: []int64{int64(len(probs) / k), int64(k)}, Data: probs}}
}

func classOut(ids ...int64) []runtime.Tensor {
	return []runtime.Tensor{{Name: "class", Datatype: runtime.INT64, Shape: []int64{int64(len(ids))}, Data: ids}}
}

func feature(name string, v ...float64) runtime.Tensor {
	return runtime.Tensor{Name: name, Datatype: runtime.FP64, Shape: []int64{int64(len(v))}, Data: v}
}

func ptr(v float64) *float64 { return &v }

func pct(v spec.Percent) *spec.Percent { return &v }

// Metric conditions, with the spec's default MinSamples.
func threshold(name string, v float64) spec.Metric {
	return spec.Metric{Name: name, Threshold: ptr(v), MinSamples: spec.DefaultMinSamples}
}

func relative(name string, r float64) spec.Metric {
	return spec.Metric{Name: name, Relative: ptr(r), MinSamples: spec.DefaultMinSamples}
}

// mustEncode checks that v encodes as JSON, which it cannot when any
// number is NaN or infinite.
func mustEncode(t testing.TB, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("encode %+v: %v", v, err)
	}
}

// check asserts a metric result's outcome and that its reason contains
// every fragment.
func check(t *testing.T, got slipway.MetricResult, want slipway.VerdictResult, fragments ...string) {
	t.Helper()
	if got.Result != want {
		t.Errorf("%s: %s (%s), want %s", got.Rule, got.Result, got.Reason, want)
	}
	for _, s := range fragments {
		if !strings.Contains(got.Reason, s) {
			t.Errorf("%s: reason %q lacks %q", got.Rule, got.Reason, s)
		}
	}
}

func value(t *testing.T, p *float64, name string) float64 {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: no value", name)
	}
	return *p
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
