package telemetry

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The join table's slots must stay free of pointers, or a full table
// (most of a busy server's live heap) is scanned by every garbage
// collection again: a string or slice field added to pending fails here.
func TestJoinSlotsHoldNoPointers(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		case reflect.Array:
			walk(typ.Elem(), path+"[]")
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface,
			reflect.Func, reflect.Chan, reflect.UnsafePointer:
			t.Errorf("%s is a %s: slots must hold no pointers", path, typ.Kind())
		}
	}
	walk(reflect.TypeFor[pending](), "pending")
}

// Ids too long to sit in a slot are kept aside, and a slot goes from a
// long id to a short one and back as the ring turns, joining only the
// prediction it holds.
func TestJoinLongAndShortIDs(t *testing.T) {
	r, _ := newTestRecorder(Config{JoinSize: 2}) // one shard of two slots
	long := func(tail string) string { return strings.Repeat("x", maxInlineID) + tail }
	record := func(model, id string) {
		r.Record(Observation{Model: model, Version: "v-" + id, RequestID: id, Outputs: scoreOut(0.5)})
	}
	record("m", long("1"))
	record("m", "s1")
	record("m", "s2")      // evicts long("1"): its slot now holds a short id
	record("m", long("2")) // evicts s1: its slot now holds a long id
	for _, tc := range []struct {
		model, id string
		want      JoinStatus
	}{
		{"m", long("1"), Unmatched},
		{"m", "s1", Unmatched},
		{"m", long("3"), Unmatched}, // the same first 40 bytes as a live id
		{"other", long("2"), Unmatched},
		{"other", "s2", Unmatched},
		{"m", "s2", Joined},
		{"m", long("2"), Joined},
	} {
		res, err := r.Feedback(tc.model, Feedback{ID: tc.id, Label: ptr(1)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tc.want {
			t.Errorf("%s %q: %v, want %v", tc.model, tc.id, res.Status, tc.want)
		}
		if tc.want == Joined && res.Version != "v-"+tc.id {
			t.Errorf("%s %q joined version %q, want %q", tc.model, tc.id, res.Version, "v-"+tc.id)
		}
	}
}

// A slot reused for another multiclass prediction joins with that
// prediction's probabilities, not the earlier one's.
func TestJoinReusedSlotKeepsItsOwnProbabilities(t *testing.T) {
	r, _ := newTestRecorder(Config{JoinSize: 1})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "a", Outputs: probsOut(3, 0.05, 0.05, 0.9)})
	r.Record(Observation{Model: "m", Version: "1", RequestID: "b", Outputs: probsOut(3, 0.1, 0.1, 0.8)})
	if res, _ := r.Feedback("m", Feedback{ID: "a", Label: ptr(2)}); res.Status != Unmatched {
		t.Fatalf("evicted prediction a: %v", res.Status)
	}
	if res, _ := r.Feedback("m", Feedback{ID: "b", Label: ptr(2)}); res.Status != Joined {
		t.Fatalf("prediction b: %v", res.Status)
	}
	q := version(t, r.Snapshot("m", time.Minute), "1").Quality
	if want := -math.Log(0.8); q.LogLoss == nil || !within(*q.LogLoss, want, 1e-12) {
		t.Errorf("log loss %v, want %v (b's probability of class 2)", q.LogLoss, want)
	}
}
