package telemetry

import (
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// TestSegmentSeries records requests of a measured segment: they count in
// their version's series and in the segment's, feedback joins into both,
// and the segment series stays out of snapshots.
func TestSegmentSeries(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := New(Config{Now: func() time.Time { return now }})
	out := []runtime.Tensor{{Name: "score", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{0.7}}}
	r.Record(Observation{Model: "m", Version: "1", RequestID: "a", Outputs: out})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "b", Outputs: out, Segment: "experiment"})
	for _, id := range []string{"a", "b"} {
		if res, err := r.Feedback("m", Feedback{ID: id, Values: map[string]float64{"conversion": 1}}); err != nil || res.Status != Joined {
			t.Fatalf("feedback %s: %v %v", id, res.Status, err)
		}
	}
	all, ok := r.Window("m", "1", time.Minute)
	seg, segOK := r.Window("m", SegmentSeries("1", "experiment"), time.Minute)
	if !ok || !segOK {
		t.Fatalf("series: version %v, segment %v", ok, segOK)
	}
	if all.Requests != 2 || all.Values["conversion"].N != 2 {
		t.Errorf("version: %d requests, %d values; want 2 and 2", all.Requests, all.Values["conversion"].N)
	}
	if seg.Requests != 1 || seg.Values["conversion"].N != 1 {
		t.Errorf("segment: %d requests, %d values; want 1 and 1", seg.Requests, seg.Values["conversion"].N)
	}
	snap := r.Snapshot("m", time.Minute)
	if len(snap.Versions) != 1 || snap.Versions[0].Version != "1" {
		t.Errorf("snapshot versions %+v; want only 1", snap.Versions)
	}
}
