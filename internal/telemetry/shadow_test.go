package telemetry

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

func TestShadowComparisons(t *testing.T) {
	r, c := newTestRecorder(Config{})
	ms := time.Millisecond
	// Scores: rows agree when both are on the same side of 0.5.
	r.Compare("m", "1", "2", scoreOut(0.1, 0.7), scoreOut(0.2, 0.4), 10*ms, 30*ms, nil) // agree, disagree; diffs 0.1, 0.3
	c.Advance(15 * time.Second)                                                         // the next bucket
	r.Compare("m", "1", "2", scoreOut(0.9), scoreOut(0.9), 20*ms, 40*ms, nil)           // agree; diff 0
	r.Compare("m", "1", "2", scoreOut(0.9), nil, 20*ms, 0, errors.New("timeout"))
	r.Compare("m", "1", "2", scoreOut(0.9), scoreOut(0.9, 0.1), 20*ms, 40*ms, nil) // rows differ
	r.Compare("m", "1", "2", scoreOut(0.9), probsOut(2, 0.1, 0.9), 20*ms, 40*ms, nil)
	// Probabilities: argmax agreement, largest absolute difference.
	r.Compare("m", "1", "3", probsOut(3, 0.6, 0.3, 0.1, 0.2, 0.3, 0.5), probsOut(3, 0.5, 0.4, 0.1, 0.6, 0.3, 0.1), 10*ms, 10*ms, nil)

	stats := r.Snapshot("m", time.Minute)
	if len(stats.Shadows) != 2 {
		t.Fatalf("%d shadow pairs, want 2: %+v", len(stats.Shadows), stats.Shadows)
	}
	s := stats.Shadows[0]
	if s.Primary != "1" || s.Shadow != "2" || s.Compared != 2 || s.ShadowErrors != 1 || s.Mismatched != 2 || s.Rows != 3 {
		t.Fatalf("1 vs 2: %+v, want 2 compared, 1 error, 2 mismatched, 3 rows", s)
	}
	if s.Agreement == nil || !within(*s.Agreement, 2.0/3, 1e-15) {
		t.Errorf("agreement %v, want 2/3", s.Agreement)
	}
	if !within(s.ScoreDiff.Mean, 0.4/3, 1e-15) || !relWithin(s.ScoreDiff.P99, 0.1, ValueAccuracy) {
		t.Errorf("score diff %+v, want mean 0.1333 and p99 ≈ 0.1 (rank 1.98 of [0, 0.1, 0.3])", s.ScoreDiff)
	}
	if !relWithin(s.PrimaryLatencyMS.P99, 20, LatencyAccuracy) || !relWithin(s.ShadowLatencyMS.P50, 40, LatencyAccuracy) {
		t.Errorf("latencies %+v / %+v, want primary p99 20ms, shadow p50 40ms", s.PrimaryLatencyMS, s.ShadowLatencyMS)
	}
	p := stats.Shadows[1]
	if p.Shadow != "3" || p.Agreement == nil || *p.Agreement != 0.5 || !within(p.ScoreDiff.Mean, 0.25, 1e-15) {
		t.Errorf("1 vs 3: %+v, want agreement 0.5, mean diff 0.25", p)
	}
	// The first bucket alone.
	c.Advance(-15 * time.Second)
	if s := r.Snapshot("m", time.Second).Shadows[0]; s.Compared != 1 || s.Rows != 2 {
		t.Errorf("first bucket: %+v, want 1 compared request of 2 rows", s)
	}
}

func TestShadowClassIDs(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	ids := func(v ...int64) []runtime.Tensor {
		return []runtime.Tensor{{Name: "class", Datatype: runtime.INT64, Shape: []int64{int64(len(v))}, Data: v}}
	}
	r.Compare("m", "1", "2", ids(1, 2, 3, 4), ids(1, 2, 0, 4), time.Millisecond, time.Millisecond, nil)
	s := r.Snapshot("m", time.Minute).Shadows[0]
	if s.Agreement == nil || *s.Agreement != 0.75 || s.ScoreDiff != (DiffStats{}) {
		t.Fatalf("%+v, want agreement 0.75 and no score diffs", s)
	}
	r.Compare("m", "1", "2", scoreOut(math.NaN()), scoreOut(0.2), time.Millisecond, time.Millisecond, nil)
	if s := r.Snapshot("m", time.Minute).Shadows[0]; s.Compared != 2 || s.ScoreDiff != (DiffStats{}) {
		t.Fatalf("%+v, want the NaN row compared but without a score difference", s)
	}
}

// Paused copies count beside the pair's comparisons, merge across
// buckets, and make a pair that only had pauses show up.
func TestShadowPaused(t *testing.T) {
	r, c := newTestRecorder(Config{})
	r.Compare("m", "1", "2", nil, nil, time.Millisecond, 0, errors.New("connection refused"))
	r.ShadowPaused("m", "1", "2")
	c.Advance(15 * time.Second)
	r.ShadowPaused("m", "1", "2")
	r.ShadowPaused("m", "1", "3")
	stats := r.Snapshot("m", time.Minute)
	if len(stats.Shadows) != 2 {
		t.Fatalf("%d shadow pairs, want 2: %+v", len(stats.Shadows), stats.Shadows)
	}
	if s := stats.Shadows[0]; s.Shadow != "2" || s.ShadowErrors != 1 || s.Paused != 2 || s.Compared != 0 {
		t.Errorf("1 vs 2: %+v, want 1 error and 2 paused", s)
	}
	if s := stats.Shadows[1]; s.Shadow != "3" || s.Paused != 1 {
		t.Errorf("1 vs 3: %+v, want 1 paused", s)
	}
}
