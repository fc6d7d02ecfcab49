package telemetry

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchIDs are request ids for benchmarks: more than DefaultJoinSize, so
// cycling through them never finds an id still in the join table, as with
// real, unique ids.
var benchIDs = func() []string {
	ids := make([]string, 1<<18)
	for i := range ids {
		ids[i] = "7f3c9a2e-" + strconv.Itoa(1_000_000+i)
	}
	return ids
}()

// BenchmarkRecord is the gateway's hot path: a single-row fraud request
// with seven per-feature inputs and one score, remembered for a feedback
// join, at 1,000 requests per second of simulated time (a new bucket every
// 10,000 requests). The warm-up fills the join table and turns the ring.
func BenchmarkRecord(b *testing.B) {
	reqs := fraudRequests(4096, 1)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	r := New(Config{Now: func() time.Time { return time.Unix(0, now.Add(int64(time.Millisecond))) }})
	i := 0
	record := func() {
		o := reqs[i%len(reqs)]
		o.RequestID = benchIDs[i%len(benchIDs)]
		r.Record(o)
		i++
	}
	for range len(benchIDs) {
		record()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		record()
	}
}

// BenchmarkRecordParallel records from every P into two versions, on the
// real clock.
func BenchmarkRecordParallel(b *testing.B) {
	reqs := fraudRequests(4096, 2)
	r := New(Config{})
	var next atomic.Int64
	record := func() {
		i := next.Add(1)
		o := reqs[i%int64(len(reqs))]
		o.Version = strconv.Itoa(1 + int(i%2))
		o.RequestID = benchIDs[i%int64(len(benchIDs))]
		r.Record(o)
	}
	for range len(benchIDs) {
		record()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			record()
		}
	})
}

// BenchmarkSnapshot reads one version over a full hour of buckets.
func BenchmarkSnapshot(b *testing.B) {
	r, c := fillVersionHour(b, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Snapshot("fraud", time.Hour)
	}
	_ = c
}

// fillVersionHour records one version at rps requests per second for an
// hour of simulated time (all 361 buckets of the default ring), with a
// tenth of the requests getting a label back a second later.
func fillVersionHour(tb testing.TB, rps int) (*Recorder, *clock) {
	reqs := fraudRequests(4096, 3)
	c := newClock()
	r := New(Config{Now: c.Now, JoinSize: 4096})
	step := time.Second / time.Duration(rps)
	label := 0.0
	for i := range rps * 3600 {
		o := reqs[i%len(reqs)]
		if i%10 != 0 {
			o.RequestID = ""
		}
		r.Record(o)
		if i%10 == 0 && i >= 10*rps {
			r.Feedback("fraud", Feedback{ID: reqs[(i-10*rps)%len(reqs)].RequestID, Label: &label})
			label = 1 - label
		}
		c.Advance(step)
	}
	return r, c
}

// heapAfterGC is the live heap after a full collection.
func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerVersionHour reports the memory one version's series
// holds after an hour at 1,000 requests per second: 361 buckets of
// realistic fraud traffic (seven features, a score, a tenth of it
// labelled). The join table (JoinSize 4096) is included; it is about 1% of
// the figure.
func BenchmarkMemoryPerVersionHour(b *testing.B) {
	for b.Loop() {
		before := heapAfterGC()
		r, _ := fillVersionHour(b, 1000)
		after := heapAfterGC()
		runtime.KeepAlive(r)
		b.ReportMetric(float64(after-before), "B/version-hour")
	}
}

// TestMemoryIsBounded checks that a series stops growing once its ring
// has wrapped: a second hour adds (almost) nothing.
func TestMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills two hours of buckets")
	}
	reqs := fraudRequests(1024, 4)
	c := newClock()
	r := New(Config{Now: c.Now, Bucket: time.Minute, Retention: 30 * time.Minute, JoinSize: 1024})
	hour := func() {
		for i := range 3600 * 20 { // 20 rps
			r.Record(reqs[i%len(reqs)])
			c.Advance(50 * time.Millisecond)
		}
	}
	hour()
	first := heapAfterGC()
	hour()
	second := heapAfterGC()
	runtime.KeepAlive(r)
	if second > first+first/20 {
		t.Fatalf("heap grew from %d to %d bytes over a second hour; want it bounded", first, second)
	}
	t.Logf("heap after one hour %d B, after two %d B", first, second)
}

// BenchmarkSaveVersionHour times Save of one version's hour at 1,000 rps
// (the state of BenchmarkMemoryPerVersionHour), and Load of what it
// wrote; the file's size per version-hour is reported.
func BenchmarkSaveVersionHour(b *testing.B) {
	r, c := fillVersionHour(b, 1000)
	var buf bytes.Buffer // what load reads, even when save is filtered out
	if _, err := r.Save(&buf); err != nil {
		b.Fatal(err)
	}
	b.Run("save", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if _, err := r.Save(&buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "file-B/version-hour")
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			fresh := New(Config{Now: c.Now})
			if _, err := fresh.Load(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSavePending times Save of a full join table: the default
// 100,000 predictions waiting for feedback, a few minutes of traffic,
// and reports the file's size.
func BenchmarkSavePending(b *testing.B) {
	reqs := fraudRequests(4096, 6)
	c := newClock()
	r := New(Config{Now: c.Now})
	for i := range DefaultJoinSize {
		o := reqs[i%len(reqs)]
		o.RequestID = benchIDs[i]
		r.Record(o)
		c.Advance(time.Millisecond)
	}
	var buf bytes.Buffer // what load reads, even when save is filtered out
	if _, err := r.Save(&buf); err != nil {
		b.Fatal(err)
	}
	b.Run("save", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			st, err := r.Save(&buf)
			if err != nil || st.Pending < DefaultJoinSize*9/10 { // shards evict on their own, so a few less
				b.Fatalf("saved %+v: %v", st, err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "file-B")
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := New(Config{Now: c.Now}).Load(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
