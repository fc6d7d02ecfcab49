package serving

import (
	"testing"
	"time"
)

func TestBreakerPausesAndBacksOff(t *testing.T) {
	var b breaker
	now := time.Unix(1000, 0)
	for i := range tripAfter - 1 {
		if p := b.record(now, true); p != 0 || b.paused(now) {
			t.Fatalf("failure %d paused (%v) before %d in a row", i+1, p, tripAfter)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if p := b.record(now, true); p != w {
			t.Fatalf("trip %d: pause %v, want %v", i+1, p, w)
		}
		if !b.paused(now.Add(w-time.Millisecond)) || b.paused(now.Add(w)) {
			t.Fatalf("trip %d: paused until the wrong time", i+1)
		}
		// Copies sent before the pause and failing within it do not
		// lengthen it.
		if p := b.record(now.Add(w/2), true); p != 0 || b.paused(now.Add(w)) {
			t.Fatalf("trip %d: a failure within the pause paused again (%v)", i+1, p)
		}
		now = now.Add(w) // the probe after the pause fails again
	}
	if p := b.record(now, false); p != 0 || b.paused(now) {
		t.Fatal("a success did not resume the copies")
	}
	for range tripAfter - 1 {
		b.record(now, true)
	}
	if p := b.record(now, true); p != time.Second {
		t.Fatalf("after a success the next trip pauses %v, want it to start again at 1s", p)
	}
}
