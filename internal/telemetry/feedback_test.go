package telemetry

import (
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// readColumn reads one numeric column of a CSV file with a header.
func readColumn(t *testing.T, path, name string) []float64 {
	t.Helper()
	records := csvtest.Read(t, path)
	col := -1
	for i, h := range records[0] {
		if h == name {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no column %q", path, name)
	}
	out := make([]float64, 0, len(records)-1)
	for _, rec := range records[1:] {
		v, err := strconv.ParseFloat(rec[col], 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// binaryMetrics computes the metrics directly, the textbook way.
type binaryMetrics struct{ accuracy, precision, recall, f1, logLoss, auc float64 }

func computeBinary(scores, labels []float64) binaryMetrics {
	var tp, fp, tn, fn, ll float64
	for i, s := range scores {
		pred := s >= 0.5
		switch y := labels[i]; {
		case y == 1 && pred:
			tp++
		case y == 1:
			fn++
		case pred:
			fp++
		default:
			tn++
		}
		p := math.Min(math.Max(s, 1e-15), 1-1e-15)
		ll += -(labels[i]*math.Log(p) + (1-labels[i])*math.Log(1-p))
	}
	m := binaryMetrics{
		accuracy:  (tp + tn) / float64(len(scores)),
		precision: tp / (tp + fp),
		recall:    tp / (tp + fn),
		logLoss:   ll / float64(len(scores)),
	}
	m.f1 = 2 * m.precision * m.recall / (m.precision + m.recall)
	// Exact AUC: the share of positive-negative pairs ranked correctly,
	// ties counting one half.
	var pos, neg []float64
	for i, s := range scores {
		if labels[i] == 1 {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	var wins float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				wins++
			case p == n:
				wins += 0.5
			}
		}
	}
	m.auc = wins / float64(len(pos)*len(neg))
	return m
}

func TestQualityFromJoinsEqualsDirectMetrics(t *testing.T) {
	scores := readColumn(t, "../../examples/fraud/v2/reference.csv", "score")
	labels := readColumn(t, "../../examples/fraud/holdout.csv", "label")
	if len(scores) != len(labels) {
		t.Fatalf("%d scores, %d labels", len(scores), len(labels))
	}
	r, c := newTestRecorder(Config{JoinSize: 5000})
	for i, s := range scores {
		if i%10 == 0 {
			c.Advance(time.Second) // spread over 20 buckets
		}
		r.Record(Observation{Model: "fraud", Version: "2", RequestID: "r" + strconv.Itoa(i), Outputs: scoreOut(s)})
	}
	for i, y := range labels {
		if i%50 == 0 {
			c.Advance(time.Second)
		}
		res, err := r.Feedback("fraud", Feedback{ID: "r" + strconv.Itoa(i), Label: ptr(y)})
		if err != nil || res != (FeedbackResult{Status: Joined, Version: "2"}) {
			t.Fatalf("feedback %d: %+v, %v", i, res, err)
		}
	}
	ms := r.Snapshot("fraud", time.Hour)
	if ms.Feedback != (FeedbackCounts{Joined: 2000}) {
		t.Fatalf("feedback counts %+v, want 2000 joined", ms.Feedback)
	}
	q := version(t, ms, "2").Quality
	want := computeBinary(scores, labels)
	for _, m := range []struct {
		name      string
		got       *float64
		want, tol float64
	}{
		{"accuracy", q.Accuracy, want.accuracy, 1e-12},
		{"precision", q.Precision, want.precision, 1e-12},
		{"recall", q.Recall, want.recall, 1e-12},
		{"f1", q.F1, want.f1, 1e-12},
		{"log loss", q.LogLoss, want.logLoss, 1e-12},
		{"auc", q.AUC, want.auc, 1e-3},
	} {
		if m.got == nil || !within(*m.got, m.want, m.tol) {
			t.Errorf("%s = %v, want %v within %g", m.name, m.got, m.want, m.tol)
		} else {
			t.Logf("%s = %.12f (direct %.12f)", m.name, *m.got, m.want)
		}
	}
	if q.N != 2000 || q.Joined != 2000 {
		t.Errorf("n %d joined %d, want 2000", q.N, q.Joined)
	}
	// The direct AUC is the example's own recorded AUC.
	if !within(want.auc, 0.9178110944527738, 1e-12) {
		t.Errorf("direct AUC %v differs from examples/fraud/v2/metrics.json", want.auc)
	}
}

func TestFeedbackJoinStatuses(t *testing.T) {
	r, c := newTestRecorder(Config{JoinTTL: time.Minute})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "a", Outputs: scoreOut(0.9)})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "b", Outputs: scoreOut(0.1)})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "batch", Outputs: scoreOut(0.1, 0.2)}) // two rows: not remembered
	r.Record(Observation{Model: "m", Version: "1", RequestID: "failed", Outcome: ServerError})

	check := func(id string, want JoinStatus) {
		t.Helper()
		res, err := r.Feedback("m", Feedback{ID: id, Label: ptr(1)})
		if err != nil || res.Status != want {
			t.Fatalf("feedback %q: %v (%v), want %v", id, res.Status, err, want)
		}
	}
	check("a", Joined)
	check("a", Unmatched) // joins once
	check("nobody", Unmatched)
	check("batch", Unmatched)
	check("failed", Unmatched)
	c.Advance(time.Minute + time.Second)
	check("b", Expired)
	check("b", Unmatched) // an expired prediction is gone too

	if _, err := r.Feedback("m", Feedback{}); !errors.Is(err, slipway.ErrInvalid) {
		t.Fatalf("feedback without an id: %v, want ErrInvalid", err)
	}
	if _, err := r.Feedback("m", Feedback{ID: "x", Label: ptr(math.NaN())}); !errors.Is(err, slipway.ErrInvalid) {
		t.Fatalf("feedback with a NaN label: %v, want ErrInvalid", err)
	}
	got := r.Snapshot("m", time.Hour).Feedback
	if want := (FeedbackCounts{Joined: 1, Unmatched: 5, Expired: 1}); got != want {
		t.Fatalf("feedback counts %+v, want %+v (malformed feedback not counted)", got, want)
	}
	if got := r.Snapshot("m", 30*time.Second).Feedback; got != (FeedbackCounts{Unmatched: 1, Expired: 1}) {
		t.Fatalf("feedback counts over the last 30s %+v, want the 2 after the clock moved", got)
	}
}

func TestMulticlassQuality(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	cases := []struct {
		probs []float64
		label float64
	}{
		{[]float64{0.7, 0.2, 0.1}, 0},
		{[]float64{0.1, 0.3, 0.6}, 1},
		{[]float64{0.2, 0.2, 0.6}, 2},
		{[]float64{0.0, 1.0, 0.0}, 0}, // the label's probability is 0: clipped
		{[]float64{0.3, 0.3, 0.4}, 7}, // not a class: wrong, probability 0
	}
	var correct, ll float64
	for i, tc := range cases {
		id := strconv.Itoa(i)
		r.Record(Observation{Model: "m", Version: "1", RequestID: id, Outputs: probsOut(3, tc.probs...)})
		if _, err := r.Feedback("m", Feedback{ID: id, Label: ptr(tc.label)}); err != nil {
			t.Fatal(err)
		}
		best := 0
		for j, p := range tc.probs {
			if p > tc.probs[best] {
				best = j
			}
		}
		if float64(best) == tc.label {
			correct++
		}
		p := 0.0
		if tc.label < 3 {
			p = tc.probs[int(tc.label)]
		}
		ll -= math.Log(math.Min(math.Max(p, 1e-15), 1-1e-15))
	}
	q := version(t, r.Snapshot("m", time.Minute), "1").Quality
	if q.Accuracy == nil || *q.Accuracy != correct/5 {
		t.Errorf("accuracy %v, want %v", q.Accuracy, correct/5)
	}
	if q.LogLoss == nil || !within(*q.LogLoss, ll/5, 1e-12) {
		t.Errorf("log loss %v, want %v", q.LogLoss, ll/5)
	}
	if q.AUC != nil || q.Precision != nil || q.MAE != nil {
		t.Errorf("binary and regression metrics defined for a multiclass model: %+v", q)
	}
}

func TestRegressionQuality(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	preds := []float64{12.5, 3, 0.5, -4}
	labels := []float64{10, 3, 1, -1}
	var abs, sq float64
	for i := range preds {
		id := strconv.Itoa(i)
		r.Record(Observation{Model: "m", Version: "1", RequestID: id, Outputs: scoreOut(preds[i])})
		if _, err := r.Feedback("m", Feedback{ID: id, Label: ptr(labels[i])}); err != nil {
			t.Fatal(err)
		}
		abs += math.Abs(preds[i] - labels[i])
		sq += (preds[i] - labels[i]) * (preds[i] - labels[i])
	}
	q := version(t, r.Snapshot("m", time.Minute), "1").Quality
	if q.MAE == nil || !within(*q.MAE, abs/4, 1e-12) || q.RMSE == nil || !within(*q.RMSE, math.Sqrt(sq/4), 1e-12) {
		t.Errorf("mae %v rmse %v, want %v and %v", q.MAE, q.RMSE, abs/4, math.Sqrt(sq/4))
	}
	// (0.5, 1) looks binary, but the other pairs do not: no binary metrics.
	if q.Accuracy != nil || q.AUC != nil || q.LogLoss != nil {
		t.Errorf("binary metrics defined for a regression: %+v", q)
	}
}

func TestRewardsAndBusinessValues(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	for i, fb := range []Feedback{
		{Reward: ptr(1), Values: map[string]float64{"revenue": 10, "clicks": 1}},
		{Reward: ptr(0), Values: map[string]float64{"revenue": 25.5}},
		{Values: map[string]float64{"clicks": 3}},
	} {
		id := strconv.Itoa(i)
		r.Record(Observation{Model: "m", Version: "1", RequestID: id, Outputs: scoreOut(0.5)})
		fb.ID = id
		if _, err := r.Feedback("m", fb); err != nil {
			t.Fatal(err)
		}
	}
	vs := version(t, r.Snapshot("m", time.Minute), "1")
	if vs.Reward.N != 2 || vs.Reward.Mean == nil || *vs.Reward.Mean != 0.5 {
		t.Errorf("reward %+v, want n 2 mean 0.5", vs.Reward)
	}
	want := map[string]ValueStats{"revenue": {N: 2, Sum: 35.5, Mean: 17.75}, "clicks": {N: 2, Sum: 4, Mean: 2}}
	for name, w := range want {
		if vs.Values[name] != w {
			t.Errorf("value %s = %+v, want %+v", name, vs.Values[name], w)
		}
	}
	if vs.Quality.Joined != 3 || vs.Quality.N != 0 || vs.Quality.Accuracy != nil {
		t.Errorf("quality %+v: want 3 joined, none labelled", vs.Quality)
	}
}

func TestJoinTableIsBounded(t *testing.T) {
	const size, extra = 100, 30
	r, _ := newTestRecorder(Config{JoinSize: size})
	for i := range size + extra {
		r.Record(Observation{Model: "m", Version: "1", RequestID: strconv.Itoa(i), Outputs: scoreOut(0.5)})
	}
	for i := range size + extra {
		res, _ := r.Feedback("m", Feedback{ID: strconv.Itoa(i), Label: ptr(1)})
		if want := map[bool]JoinStatus{true: Unmatched, false: Joined}[i < extra]; res.Status != want {
			t.Fatalf("prediction %d: %v, want %v (the oldest %d evicted)", i, res.Status, want, extra)
		}
	}
	if got := r.Snapshot("m", time.Minute).Feedback; got != (FeedbackCounts{Joined: size, Unmatched: extra}) {
		t.Fatalf("counts %+v", got)
	}
}

func TestShardedJoinTableIsBounded(t *testing.T) {
	const size = 3 * joinShardSize // three shards
	r, _ := newTestRecorder(Config{JoinSize: size})
	if n := len(r.joins.shards); n != 3 {
		t.Fatalf("%d shards, want 3", n)
	}
	for i := range 2 * size {
		r.Record(Observation{Model: "m", Version: "1", RequestID: strconv.Itoa(i), Outputs: scoreOut(0.5)})
	}
	var live int
	for i := range r.joins.shards {
		live += len(r.joins.shards[i].index)
	}
	if live != size {
		t.Fatalf("%d predictions remembered, want JoinSize %d", live, size)
	}
	var joined []int
	for i := range 2 * size {
		if res, _ := r.Feedback("m", Feedback{ID: strconv.Itoa(i)}); res.Status == Joined {
			joined = append(joined, i)
		}
	}
	if len(joined) != size || joined[0] < size/2 {
		t.Fatalf("%d joined, the oldest %d; want %d, all from the newer half", len(joined), joined[0], size)
	}
}

func TestRepeatedRequestIDKeepsTheLatest(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "x", Outputs: scoreOut(0.9)})
	r.Record(Observation{Model: "m", Version: "2", RequestID: "x", Outputs: scoreOut(0.9)})
	r.Record(Observation{Model: "other", Version: "1", RequestID: "x", Outputs: scoreOut(0.9)})
	if res, _ := r.Feedback("m", Feedback{ID: "x", Label: ptr(1)}); res.Version != "2" {
		t.Fatalf("joined to %q, want the latest prediction's version 2", res.Version)
	}
	if res, _ := r.Feedback("other", Feedback{ID: "x"}); res.Status != Joined {
		t.Fatalf("ids are per model, but other's x is %v", res.Status)
	}
}

func TestClassIDOutputQuality(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	out := func(c int64) []runtime.Tensor {
		return []runtime.Tensor{{Name: "class", Datatype: runtime.INT64, Shape: []int64{1}, Data: []int64{c}}}
	}
	for i, pair := range [][2]float64{{1, 1}, {2, 1}, {0, 0}, {2, 2}} {
		id := strconv.Itoa(i)
		r.Record(Observation{Model: "m", Version: "1", RequestID: id, Outputs: out(int64(pair[0]))})
		r.Feedback("m", Feedback{ID: id, Label: ptr(pair[1])})
	}
	q := version(t, r.Snapshot("m", time.Minute), "1").Quality
	if q.Accuracy == nil || *q.Accuracy != 0.75 || q.LogLoss != nil {
		t.Fatalf("accuracy %v log loss %v, want 0.75 and none", q.Accuracy, q.LogLoss)
	}
}
