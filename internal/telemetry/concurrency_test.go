package telemetry

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestConcurrentUse records, joins, compares and reads from many
// goroutines at once while the clock moves; run it with -race. Counts must
// come out exact.
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker = 8, 1500
	r, c := newTestRecorder(Config{Bucket: time.Second, Retention: time.Hour, JoinSize: workers * perWorker})
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	reqs := fraudRequests(512, 7)

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() { // readers and the clock
		for {
			select {
			case <-done:
				return
			default:
			}
			c.Advance(10 * time.Millisecond)
			ms := r.Snapshot("fraud", 10*time.Minute)
			if _, err := json.Marshal(ms); err != nil {
				t.Error(err)
			}
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
			r.Window("fraud", "2", time.Minute)
			r.SetRouteWeights("fraud", map[string]float64{"2": 0.5, "3": 0.5})
		}
	})
	var writers sync.WaitGroup
	for w := range workers {
		writers.Go(func() {
			for i := range perWorker {
				o := reqs[(w*perWorker+i)%len(reqs)]
				o.RequestID = strconv.Itoa(w) + "-" + strconv.Itoa(i)
				o.Version = strconv.Itoa(2 + i%2)
				r.Record(o)
				if _, err := r.Feedback("fraud", Feedback{ID: o.RequestID, Label: ptr(float64(i % 2)), Values: map[string]float64{"revenue": 1}}); err != nil {
					t.Error(err)
				}
				var err error
				if i%10 == 0 {
					err = errors.New("shadow failed")
				}
				r.Compare("fraud", o.Version, "4", o.Outputs, o.Outputs, o.Latency, o.Latency, err)
				r.MirrorResult("fraud", "4", MirrorSent)
			}
		})
	}
	writers.Wait()
	close(done)
	wg.Wait()

	ms := r.Snapshot("fraud", time.Hour)
	var requests, joined, values int64
	for _, v := range ms.Versions {
		requests += v.Requests
		joined += v.Quality.Joined
		values += v.Values["revenue"].N
	}
	const total = workers * perWorker
	if requests != total || joined != total || values != total || ms.Feedback.Joined != total {
		t.Fatalf("requests %d, joined %d, values %d, feedback %+v; want %d each", requests, joined, values, ms.Feedback, total)
	}
	var compared, failed int64
	for _, s := range ms.Shadows {
		compared += s.Compared
		failed += s.ShadowErrors
	}
	if compared != total*9/10 || failed != total/10 {
		t.Fatalf("compared %d, shadow errors %d; want %d and %d", compared, failed, total*9/10, total/10)
	}
}
