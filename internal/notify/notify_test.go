package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

// request is what a receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a webhook on loopback that answers with statuses in turn,
// then 200, and records every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []request
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, request{header: r.Header.Clone(), body: body})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		if status >= 300 {
			io.WriteString(w, "receiver says no\n")
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// events is the X-Slipway-Event of every request, in order.
func (rc *receiver) events() []string {
	var out []string
	for _, r := range rc.requests() {
		out = append(out, r.header.Get("X-Slipway-Event"))
	}
	return out
}

func testConfig() Config {
	return Config{Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
}

func closeNotifier(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func event(kind string, seq int64) Message {
	return Message{Rollout: fraud(), Event: slipway.RolloutEvent{
		Rollout: 42, Seq: seq, Kind: kind, Actor: "controller", At: time.Date(2025, 3, 4, 10, 20, 30, 0, time.UTC),
		Status: slipway.RolloutProgressing, StepName: "canary", Weight: 500, Reason: "because",
	}}
}

func float(f float64) *float64 { return &f }

func TestSlipwayJSON(t *testing.T) {
	rc := newReceiver(t)
	n := New(testConfig())
	at := time.Date(2025, 3, 4, 11, 20, 30, 123456789, time.FixedZone("CET", 3600))
	m := Message{Rollout: fraud(), Event: slipway.RolloutEvent{
		Rollout: 42, Seq: 7, At: at, Actor: "controller", Kind: "rolled-back",
		Status: slipway.RolloutRolledBack, Step: 1, StepName: "canary", Weight: 50,
		Reason: "accuracy 91.2% < 0.98× baseline 96.1%",
		Verdict: &slipway.Verdict{
			Result: slipway.Fail, Reason: "accuracy 91.2% < 0.98× baseline 96.1%", Window: 10 * time.Minute,
			Metrics: []slipway.MetricResult{{
				Metric: "accuracy", Rule: "accuracy ≥ 0.98× baseline", Result: slipway.Fail,
				Candidate: float(91.2), Baseline: float(96.1), CandidateN: 500, BaselineN: 9500, MinSamples: 100,
				Reason: "91.2% < 94.2%",
			}},
		},
	}}
	n.Send([]Target{{URL: rc.URL}}, m)
	closeNotifier(t, n)

	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	want := `{
		"event": "rolled-back",
		"at": "2025-03-04T10:20:30.123456789Z",
		"actor": "controller",
		"reason": "accuracy 91.2% < 0.98× baseline 96.1%",
		"rollout": {
			"id": 42, "model": "fraud", "candidate": "3.0.0", "baseline": "2.0.0",
			"strategy": "canary", "status": "rolled-back", "step": 1, "step_name": "canary",
			"weight_percent": 0.5
		},
		"verdict": {
			"result": "fail", "reason": "accuracy 91.2% < 0.98× baseline 96.1%", "window_seconds": 600,
			"metrics": [{
				"metric": "accuracy", "rule": "accuracy ≥ 0.98× baseline", "result": "fail",
				"candidate": 91.2, "baseline": 96.1, "candidate_n": 500, "baseline_n": 9500,
				"min_samples": 100, "reason": "91.2% < 94.2%"
			}]
		}
	}`
	assertJSON(t, got[0].body, want)
	for h, v := range map[string]string{
		"Content-Type":       "application/json",
		"User-Agent":         "slipway",
		"X-Slipway-Event":    "rolled-back",
		"X-Slipway-Delivery": "42-7",
	} {
		if g := got[0].header.Get(h); g != v {
			t.Errorf("header %s = %q, want %q", h, g, v)
		}
	}
}

func TestSlipwayJSONWithoutVerdict(t *testing.T) {
	rc := newReceiver(t)
	n := New(testConfig())
	m := event("paused", 3)
	m.Event.Actor = "alice"
	n.Send([]Target{{URL: rc.URL}}, m)
	closeNotifier(t, n)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	assertJSON(t, got[0].body, `{
		"event": "paused", "at": "2025-03-04T10:20:30Z", "actor": "alice", "reason": "because",
		"rollout": {"id": 42, "model": "fraud", "candidate": "3.0.0", "baseline": "2.0.0", "strategy": "canary",
		            "status": "progressing", "step": 0, "step_name": "canary", "weight_percent": 5}
	}`)
}

// assertJSON compares JSON documents field by field, so that every field
// of got must be in want with its value, and the other way round.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("payload:\ngot  %s\nwant %s", got, want)
	}
}

func TestSlackOverHTTP(t *testing.T) {
	rc := newReceiver(t)
	n := New(testConfig())
	m := event("rolled-back", 9)
	m.Event.Weight = 0
	m.Event.Reason = "accuracy 91.2% < 0.98× baseline 96.1%"
	n.Send([]Target{{URL: rc.URL, Slack: true}}, m)
	closeNotifier(t, n)

	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	want := `{"text":":rotating_light: fraud 2.0.0 → 3.0.0 rolled back at stage canary: accuracy 91.2% &lt; 0.98× baseline 96.1%"}`
	if string(got[0].body) != want {
		t.Errorf("body:\ngot  %s\nwant %s", got[0].body, want)
	}
	if h := got[0].header.Get("X-Slipway-Delivery"); h != "42-9" {
		t.Errorf("X-Slipway-Delivery = %q, want 42-9", h)
	}
}

func TestEventFilter(t *testing.T) {
	all, bad, slack := newReceiver(t), newReceiver(t), newReceiver(t)
	// One worker keeps each receiver's requests in the order sent.
	cfg := testConfig()
	cfg.Workers = 1
	n := New(cfg)
	targets := []Target{
		{URL: all.URL},
		{URL: bad.URL, Events: []string{"rolled-back", "aborted", "trigger-fired"}},
		{URL: slack.URL, Slack: true, Events: []string{"started", "completed"}},
	}
	kinds := []string{"started", "decision", "stage-advanced", "trigger-fired", "rolled-back", "undone", "completed"}
	for i, k := range kinds {
		n.Send(targets, event(k, int64(i+1)))
	}
	closeNotifier(t, n)

	tests := []struct {
		rc   *receiver
		want []string
	}{
		{all, []string{"started", "stage-advanced", "trigger-fired", "rolled-back", "undone", "completed"}},
		{bad, []string{"trigger-fired", "rolled-back"}},
		{slack, []string{"started", "completed"}},
	}
	for i, tt := range tests {
		if got := tt.rc.events(); !slices.Equal(got, tt.want) {
			t.Errorf("target %d got %q, want %q", i, got, tt.want)
		}
	}
	if st := n.Stats(); st.Sent != 10 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want 10 sent", st)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		attempts int
		sent     bool
	}{
		{"500 then success", []int{500, 200}, 2, true},
		{"503 twice then success", []int{503, 503, 204}, 3, true},
		{"429 retried", []int{429, 200}, 2, true},
		{"400 not retried", []int{400}, 1, false},
		{"404 not retried", []int{404}, 1, false},
		{"500 until out of attempts", []int{500, 500, 500, 500}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.statuses...)
			n := New(testConfig())
			n.Send([]Target{{URL: rc.URL}}, event("completed", 5))
			closeNotifier(t, n)

			got := rc.requests()
			if len(got) != tt.attempts {
				t.Errorf("receiver got %d attempts, want %d", len(got), tt.attempts)
			}
			for i, r := range got {
				if id := r.header.Get("X-Slipway-Delivery"); id != "42-5" {
					t.Errorf("attempt %d: X-Slipway-Delivery = %q, want 42-5 on every attempt", i+1, id)
				}
			}
			st := n.Stats()
			wantSent, wantFailed := int64(0), int64(1)
			if tt.sent {
				wantSent, wantFailed = 1, 0
			}
			if st.Sent != wantSent || st.Failed != wantFailed || st.Dropped != 0 {
				t.Errorf("Stats: sent %d failed %d dropped %d, want sent %d failed %d", st.Sent, st.Failed, st.Dropped, wantSent, wantFailed)
			}
		})
	}
}

func TestRetryAfterNetworkError(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			// Hang up without an answer: the client sees a network error.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	n := New(testConfig())
	n.Send([]Target{{URL: srv.URL}}, event("started", 1))
	closeNotifier(t, n)
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("receiver saw %d attempts, want 2", calls)
	}
	if st := n.Stats(); st.Sent != 1 {
		t.Errorf("Stats = %+v, want 1 sent", st)
	}
}

func TestStatsLastError(t *testing.T) {
	ok := newReceiver(t)
	broken := newReceiver(t, 500, 500, 500, 400)
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Now = func() time.Time { return now }
	n := New(cfg)
	targets := []Target{{URL: ok.URL}, {URL: broken.URL}}
	n.Send(targets, event("started", 1))
	closeNotifier(t, n)

	st := n.Stats()
	if st.Sent != 1 || st.Failed != 1 {
		t.Errorf("Stats: sent %d failed %d, want 1 and 1", st.Sent, st.Failed)
	}
	good := st.Targets[ok.URL]
	if good.Sent != 1 || good.LastError != "" || !good.LastSuccess.Equal(now) {
		t.Errorf("healthy target stats = %+v", good)
	}
	bad := st.Targets[broken.URL]
	if bad.Failed != 1 || !bad.LastErrorAt.Equal(now) || !bad.LastSuccess.IsZero() {
		t.Errorf("failing target stats = %+v", bad)
	}
	for _, want := range []string{broken.URL, "500 Internal Server Error", "receiver says no"} {
		if !strings.Contains(bad.LastError, want) {
			t.Errorf("LastError %q does not contain %q", bad.LastError, want)
		}
	}
}

func TestUnreachableAndMalformedTargets(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	n := New(testConfig())
	malformed := "http://[::1"
	n.Send([]Target{{URL: gone.URL}, {URL: malformed}}, event("started", 1))
	closeNotifier(t, n)

	st := n.Stats()
	if st.Failed != 2 {
		t.Fatalf("Stats = %+v, want 2 failed", st)
	}
	if e := st.Targets[gone.URL].LastError; !strings.Contains(e, gone.URL) {
		t.Errorf("LastError of an unreachable target %q does not name it", e)
	}
	if e := st.Targets[malformed].LastError; !strings.Contains(e, "malformed URL") {
		t.Errorf("LastError of a malformed URL = %q", e)
	}
}

// A receiver that never answers must cost notifications, not Send calls.
func TestSendNeverBlocks(t *testing.T) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client hanging up only once the body
		// is read.
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		select { // hang until the client gives up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // before srv.Close, which waits for handlers
	cfg := testConfig()
	cfg.QueueSize, cfg.Workers = 16, 2
	n := New(cfg)
	targets := []Target{{URL: srv.URL}}

	// Tie both workers up in requests that hang, so that the queue is
	// empty and nothing takes from it.
	n.Send(targets, event("started", 1))
	n.Send(targets, event("started", 2))
	<-arrived
	<-arrived

	const sends = 10_000
	for i := range sends {
		n.Send(targets, event("stage-advanced", int64(i+3)))
	}
	if st := n.Stats(); st.Dropped != sends-16 {
		t.Errorf("dropped %d of %d with a queue of 16, want %d", st.Dropped, sends, sends-16)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a hanging receiver = %v, want deadline exceeded", err)
	}
	// Close gave up on the 2 in flight and the 16 queued.
	if st := n.Stats(); st.Dropped != sends+2 || st.Sent != 0 || st.Failed != 0 {
		t.Errorf("after Close: %+v, want all %d dropped", st, sends+2)
	}
	if e := n.Stats().Targets[srv.URL].LastError; e != "" {
		t.Errorf("an abandoned delivery recorded an error: %q", e)
	}
}

func TestCloseDrains(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // slower than Send, so a queue builds up
		mu.Lock()
		got = append(got, r.Header.Get("X-Slipway-Delivery"))
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := testConfig()
	cfg.QueueSize = 100
	n := New(cfg)
	for i := range 100 {
		n.Send([]Target{{URL: srv.URL}}, event("stage-advanced", int64(i+1)))
	}
	closeNotifier(t, n)

	mu.Lock()
	delivered := len(got)
	mu.Unlock()
	if delivered != 100 {
		t.Errorf("receiver got %d deliveries by the time Close returned, want 100", delivered)
	}
	if st := n.Stats(); st.Sent != 100 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want 100 sent", st)
	}

	n.Send([]Target{{URL: srv.URL}}, event("completed", 101))
	if st := n.Stats(); st.Dropped != 1 {
		t.Errorf("Send after Close: dropped %d, want 1", st.Dropped)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
