package telemetry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// fillForSave records ten minutes of a fraud model's life at one request
// a second: two versions, one mirrored to a third, seven input features,
// feedback with labels, rewards and business values, and a segment.
func fillForSave(r *Recorder, c *clock) {
	reqs := fraudRequests(600, 7)
	for i, o := range reqs {
		c.Set(time.Duration(i) * time.Second)
		if i%5 == 0 {
			o.Version = "3"
		}
		if i%7 == 0 {
			o.Segment = "internal"
		}
		if i%50 == 1 {
			o.Outcome = ServerError
		}
		r.Record(o)
		if i%3 == 0 {
			label, reward := float64(i%2), float64(i%4)/4
			r.Feedback("fraud", Feedback{ID: o.RequestID, Label: &label, Reward: &reward, Values: map[string]float64{"revenue": float64(i)}})
		}
		if o.Version == "2" && i%4 == 0 {
			r.Compare("fraud", "2", "4", o.Outputs, scoreOut(0.1), o.Latency, 2*o.Latency, nil)
		}
	}
	r.Feedback("fraud", Feedback{ID: "never-recorded"})
}

// What Save writes, Load restores: after a restart, every window reads
// the same as before it, field by field, and the restored series go on
// recording.
func TestSaveLoadRoundTrip(t *testing.T) {
	before, c := newTestRecorder(Config{})
	fillForSave(before, c)
	// One more request for each series at 600 s seals the bucket of
	// 590–599 s; the one it opens is still being written, so it is not
	// saved, and the comparison below ends before it.
	for _, v := range []string{"2", "3"} {
		c.Set(600 * time.Second)
		o := fraudRequests(1, 8)[0]
		o.Version, o.Segment, o.RequestID = v, "internal", ""
		before.Record(o)
	}
	var buf bytes.Buffer
	saved, err := before.Save(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// 2, 3 and their segment series (shadow 4 is kept in 2's buckets);
	// 2 and 3 had traffic in each of the 60 buckets, the segments in
	// fewer.
	if saved.Series != 4 || saved.Buckets < 2*60 || saved.Buckets > 4*60 || saved.Skipped != 0 {
		t.Fatalf("saved %+v, want 4 series and 120 to 240 buckets", saved)
	}
	t.Logf("saved %+v in %d bytes", saved, buf.Len())

	after, c2 := newTestRecorder(Config{})
	c2.Set(600 * time.Second)
	loaded, err := after.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Series != saved.Series || loaded.Buckets != saved.Buckets {
		t.Fatalf("loaded %+v, saved %+v", loaded, saved)
	}
	end := 600*time.Second - time.Millisecond
	c.Set(end)
	c2.Set(end)
	for _, w := range []time.Duration{30 * time.Second, 5 * time.Minute, time.Hour} {
		want, got := before.Snapshot("fraud", w), after.Snapshot("fraud", w)
		if r := got.Restore; r == nil || r.Buckets != saved.Buckets || r.Pending != saved.Pending || !r.SavedAt.Equal(t0.Add(600*time.Second)) {
			t.Errorf("restore after Load: %+v, want %d buckets and %d predictions saved at 600 s", r, saved.Buckets, saved.Pending)
		}
		got.Restore = nil // the one difference: before had nothing to restore
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) {
			t.Errorf("window %v after Load:\n%s\nbefore:\n%s", w, gj, wj)
		}
	}
	// The comparison covered every kind of measurement.
	full := before.Snapshot("fraud", time.Hour)
	v2 := version(t, full, "2")
	if v2.Requests == 0 || v2.ServerErrors == 0 || v2.Quality.Joined == 0 || v2.Reward.N == 0 ||
		len(v2.Values) == 0 || len(v2.Features) != len(fraudFeatures) || len(full.Shadows) == 0 ||
		full.Feedback.Joined == 0 || full.Feedback.Unmatched == 0 {
		t.Fatalf("the saved snapshot lacks a kind of measurement: %+v", full)
	}
	if w, ok := after.Window("fraud", SegmentSeries("2", "internal"), time.Hour); !ok || w.Requests == 0 {
		t.Fatalf("segment series not restored: %v %+v", ok, w)
	}

	c2.Set(600 * time.Second)
	after.Record(fraudRequests(1, 9)[0])
	if got := version(t, after.Snapshot("fraud", time.Hour), "2").Requests; got != v2.Requests+1 {
		t.Errorf("after one more request version 2 has %d requests, want %d", got, v2.Requests+1)
	}
}

// A file saved with another bucket width, a damaged file, or a Load into
// a recorder already in use is refused with an error that says so, and
// restores nothing.
func TestLoadRefusals(t *testing.T) {
	src, c := newTestRecorder(Config{})
	fillForSave(src, c)
	var buf bytes.Buffer
	if _, err := src.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()

	other, _ := newTestRecorder(Config{Bucket: 5 * time.Second})
	if _, err := other.Load(bytes.NewReader(good)); err == nil || !strings.Contains(err.Error(), "10s buckets, this server uses 5s") {
		t.Errorf("load with another bucket width: %v", err)
	}
	if len(other.Snapshot("fraud", time.Hour).Versions) != 0 {
		t.Error("a refused load restored series")
	}

	damaged, _ := newTestRecorder(Config{})
	if _, err := damaged.Load(bytes.NewReader(good[:len(good)/2])); err == nil || !strings.Contains(err.Error(), "not a saved telemetry file") {
		t.Errorf("load of half a file: %v", err)
	}

	// Pending predictions that are not whole restore nothing either.
	for _, bad := range []string{
		`{"rows":[[0,"a",1,1,0]],"labels":[["fraud","2",""]]}`,
		`{"rows":[[3,"a",1,1,0,0]],"labels":[["fraud","2",""]]}`,
		`{"rows":[[0,"a",1,3,0,0]],"labels":[["fraud","2",""]]}`,
		`{"rows":[[0,"",1,1,0,0]],"labels":[["fraud","2",""]]}`,
		`{"rows":[[0,"a",1,1,"x",0]],"labels":[["fraud","2",""]]}`,
		`{"rows":[[0,"a",1,1,0,0]],"labels":[["","2",""]]}`,
	} {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		fmt.Fprintf(zw, `{"format":%d,"bucket_ns":%d,"saved_at":"2025-01-01T00:00:00Z","series":[],"models":[],"pending":%s}`, savedFormat, int64(DefaultBucket), bad)
		zw.Close()
		r, _ := newTestRecorder(Config{})
		if _, err := r.Load(&b); err == nil || !strings.Contains(err.Error(), "pending prediction") {
			t.Errorf("load of pending %s: %v, want an error naming the pending predictions", bad, err)
		}
	}

	busy, _ := newTestRecorder(Config{})
	busy.Record(fraudRequests(1, 1)[0])
	if _, err := busy.Load(bytes.NewReader(good)); err == nil || !strings.Contains(err.Error(), "has measurements already") {
		t.Errorf("load into a recorder in use: %v", err)
	}
}

// Save runs while requests are recorded (the server saves every minute
// while serving): under the race detector, it reads nothing a Record
// writes without the series' lock, and every file it writes loads.
func TestSaveWhileRecording(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: time.Second, Retention: time.Minute})
	reqs := fraudRequests(2000, 5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, o := range reqs {
			c.Advance(10 * time.Millisecond)
			if i%2 == 0 {
				o.Version = "3"
			}
			r.Record(o)
		}
	}()
	saves := 0
	for running := true; running; saves++ {
		select {
		case <-done:
			running = false
		default:
		}
		var buf bytes.Buffer
		if _, err := r.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{Bucket: time.Second, Retention: time.Minute, Now: c.Now}).Load(&buf); err != nil {
			t.Fatalf("save %d does not load: %v", saves, err)
		}
	}
	t.Logf("%d saves during 2,000 requests", saves)
}

// Predictions waiting for feedback survive a restart: ground truth that
// arrives after it joins as it would have without it, for scores and
// class probabilities, short ids and long, and one that waited past the
// TTL counts as expired.
func TestPendingPredictionsSurviveRestart(t *testing.T) {
	cfg := Config{JoinTTL: time.Hour}
	before, c := newTestRecorder(cfg)
	long := strings.Repeat("x", 60)
	var ids []string
	for i := range 40 {
		c.Set(time.Duration(i) * time.Second)
		id := fmt.Sprintf("r%d", i)
		switch {
		case i%4 == 0:
			id = long + id
		case i%5 == 0:
			id = `quote"back\\slash-é-` + id // written through encoding/json
		}
		ids = append(ids, id)
		o := Observation{Model: "m", Version: "score", RequestID: id, Latency: time.Millisecond,
			Inputs: []runtime.Tensor{feature("x", float64(i))}, Outputs: scoreOut(float64(i%10) / 10)}
		if i%2 == 1 {
			o.Version, o.Outputs = "probs", probsOut(3, 0.2, 0.3, 0.5)
		}
		before.Record(o)
	}
	old := Observation{Model: "m", Version: "score", RequestID: "old", Outputs: scoreOut(0.5)}
	c.Set(-2 * time.Hour)
	before.Record(old)

	var buf bytes.Buffer
	saved, err := before.Save(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Pending != 41 {
		t.Fatalf("saved %d pending predictions, want 41", saved.Pending)
	}
	after, c2 := newTestRecorder(cfg)
	c.Set(2 * time.Minute)
	c2.Set(2 * time.Minute)
	if _, err := after.Load(&buf); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		label := float64(i % 3)
		if i%2 == 0 {
			label = float64(i % 2)
		}
		f := Feedback{ID: id, Label: &label}
		want, err1 := before.Feedback("m", f)
		got, err2 := after.Feedback("m", f)
		if err1 != nil || err2 != nil || got != want || got.Status != Joined {
			t.Fatalf("feedback for %s: after restart %+v (%v), before %+v (%v)", id, got, err2, want, err1)
		}
	}
	if res, _ := after.Feedback("m", Feedback{ID: "old"}); res.Status != Expired {
		t.Errorf("feedback past the TTL after a restart: %+v, want expired", res)
	}
	for _, v := range []string{"score", "probs"} {
		w, _ := json.Marshal(version(t, before.Snapshot("m", time.Minute), v).Quality)
		g, _ := json.Marshal(version(t, after.Snapshot("m", time.Minute), v).Quality)
		if !bytes.Equal(w, g) || bytes.Contains(g, []byte(`"n":0`)) {
			t.Errorf("%s quality after restart %s, before %s", v, g, w)
		}
	}
}
