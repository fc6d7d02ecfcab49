package serving_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/server"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

func TestRoutesSplitStickySegments(t *testing.T) {
	url, _ := gateway(t)
	c := &api.Client{BaseURL: url, Actor: "tester"}
	ctx := context.Background()
	_, err := c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:   []traffic.Split{{Version: "2.0.0", Weight: 1000}, {Version: "1.0.0", Weight: 9000}},
		Sticky:   "header:X-User-Id",
		Segments: []traffic.Segment{{Name: "internal", Match: []traffic.Rule{{Header: "X-Cohort", Exact: "internal"}}, Version: "3.0.0"}},
	}, "canary 10%")
	if err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	body := inferBody(cols, 0, 1)
	const users = 1500
	first := map[int]string{}
	onCandidate := 0
	for u := range users {
		status, b, v := postRaw(t, url+"/v2/models/fraud/infer", body, "X-User-Id", fmt.Sprintf("user-%d", u))
		if status != 200 {
			t.Fatalf("%d %s", status, b)
		}
		first[u] = v
		if v == "2.0.0" {
			onCandidate++
		} else if v != "1.0.0" {
			t.Fatalf("user %d answered by %q", u, v)
		}
	}
	if share := float64(onCandidate) / users; share < 0.07 || share > 0.13 {
		t.Fatalf("candidate share %.3f, want about 0.10", share)
	}
	for u := range 200 { // sticky: the same user, the same version
		if _, _, v := postRaw(t, url+"/v2/models/fraud/infer", body, "X-User-Id", fmt.Sprintf("user-%d", u)); v != first[u] {
			t.Fatalf("user %d moved from %s to %s", u, first[u], v)
		}
	}
	// Raising the candidate to 25% moves users only onto it.
	_, err = c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits: []traffic.Split{{Version: "2.0.0", Weight: 2500}, {Version: "1.0.0", Weight: 7500}},
		Sticky: "header:X-User-Id",
	}, "canary 25%")
	if err != nil {
		t.Fatal(err)
	}
	for u := range 400 {
		_, _, v := postRaw(t, url+"/v2/models/fraud/infer", body, "X-User-Id", fmt.Sprintf("user-%d", u))
		if first[u] == "2.0.0" && v != "2.0.0" {
			t.Fatalf("user %d left the candidate when its weight rose", u)
		}
	}
	// The segment rule wins over the weights.
	_, err = c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:   []traffic.Split{{Version: "1.0.0", Weight: 10000}},
		Segments: []traffic.Segment{{Name: "internal", Match: []traffic.Rule{{Header: "X-Cohort", Exact: "internal"}}, Version: "3.0.0"}},
	}, "dogfood v3")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, v := postRaw(t, url+"/v2/models/fraud/infer", body, "X-Cohort", "internal"); v != "3.0.0" {
		t.Fatalf("internal cohort answered by %q", v)
	}
	if _, _, v := postRaw(t, url+"/v2/models/fraud/infer", body); v != "1.0.0" {
		t.Fatalf("everyone else answered by %q", v)
	}
	// Pinned requests ignore the routes.
	if _, _, v := postRaw(t, url+"/v2/models/fraud/versions/2.0.0/infer", body, "X-Cohort", "internal"); v != "2.0.0" {
		t.Fatalf("pinned request answered by %q", v)
	}
	hist, err := c.RouteHistory(ctx, "fraud")
	if err != nil || len(hist) != 3 || hist[2].Reason != "dogfood v3" || hist[2].Actor != "tester" {
		t.Fatalf("route history = %+v, %v", hist, err)
	}
	// A routed version cannot be deleted; clearing the routes frees it and
	// sends traffic back to production.
	if err := c.DeleteVersion(ctx, "fraud", "3.0.0"); !errors.Is(err, slipway.ErrInUse) {
		t.Fatalf("delete of a routed version = %v, want in use", err)
	}
	if err := c.ClearRoute(ctx, "fraud", "done"); err != nil {
		t.Fatal(err)
	}
	if _, _, v := postRaw(t, url+"/v2/models/fraud/infer", body, "X-Cohort", "internal"); v != "2.0.0" {
		t.Fatalf("after clearing routes answered by %q, want production 2.0.0", v)
	}
}

func TestRoutesRefused(t *testing.T) {
	url, _ := gateway(t)
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	for _, tc := range []struct {
		model string
		p     traffic.Policy
		want  string
		kind  error
	}{
		{"fraud", traffic.Policy{Splits: []traffic.Split{{Version: "2.0.0", Weight: 1000}}}, "weights sum to 1000 basis points", slipway.ErrInvalid},
		{"fraud", traffic.Policy{Splits: []traffic.Split{{Version: "9.9.9", Weight: 10000}}}, "9.9.9", slipway.ErrNotFound},
		{"nosuch", traffic.Policy{Splits: []traffic.Split{{Version: "1.0.0", Weight: 10000}}}, "nosuch", slipway.ErrNotFound},
		{"fraud", traffic.Policy{Splits: []traffic.Split{{Version: "1.0.0", Weight: 10000}}, Sticky: "cookie:x"}, "sticky", slipway.ErrInvalid},
	} {
		if _, err := c.SetRoute(ctx, tc.model, tc.p, ""); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetRoute(%s, %+v) = %v, want %v containing %q", tc.model, tc.p, err, tc.kind, tc.want)
		}
	}
	if _, err := c.Route(ctx, "fraud"); !errors.Is(err, slipway.ErrNotFound) {
		t.Fatalf("refused policies were stored: %v", err)
	}
}

// Routes survive a restart: the server loads them before it answers.
func TestRoutesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() (string, func()) {
		srv, err := server.Open(context.Background(), server.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		addrc, errc := make(chan string, 1), make(chan error, 1)
		go func() { errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
		return "http://" + <-addrc, func() { cancel(); <-errc }
	}
	url, stop := open()
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	for _, v := range []string{"1", "2"} {
		if _, err := c.PushFile(ctx, "fraud", slipway.Version{Version: v}, examples+"fraud/v"+v+"/model.json"); err != nil {
			t.Fatal(err)
		}
	}
	c.MoveAlias(ctx, "fraud", "production", "1", "")
	if _, err := c.SetRoute(ctx, "fraud", traffic.Policy{Splits: []traffic.Split{{Version: "2", Weight: 10000}}}, "all on 2"); err != nil {
		t.Fatal(err)
	}
	stop()
	url, stop = open()
	defer stop()
	body := `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,7],"data":[1,2,3,4,5,6,7]}]}`
	if status, b, v := postRaw(t, url+"/v2/models/fraud/infer", []byte(body)); status != 200 || v != "2" {
		t.Fatalf("after restart: %d %s answered by %q, want 2", status, b, v)
	}
}

// A shadow that is ten times slower changes nothing the user sees: the
// answers are byte-identical and do not wait; a full queue drops copies.
func TestMirrorNeverSlowsOrChangesThePrimary(t *testing.T) {
	url, srv := gateway(t)
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"model_name":"fraud","model_version":"s","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.5]}]}`))
	}))
	defer slow.Close()
	if _, err := c.Push(ctx, "fraud", slipway.Version{Version: "slow-shadow", URL: slow.URL + "/v2/models/fraud"}, "", nil); err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	body := inferBody(cols, 0, 1)
	baseline := map[int][]byte{}
	for i := range 20 {
		b := inferBody(cols, i, i+1)
		_, out, _ := postRaw(t, url+"/v2/models/fraud/infer", b, "X-Request-Id", fmt.Sprint(i))
		baseline[i] = out
	}
	_, err := c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:  []traffic.Split{{Version: "2.0.0", Weight: 10000}},
		Mirrors: []traffic.Mirror{{Version: "slow-shadow", Percent: 10000}},
	}, "shadow")
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Gateway.MirrorStats()
	start := time.Now()
	for i := range 20 {
		_, out, v := postRaw(t, url+"/v2/models/fraud/infer", inferBody(cols, i, i+1), "X-Request-Id", fmt.Sprint(i))
		if v != "2.0.0" || !bytes.Equal(out, baseline[i]) {
			t.Fatalf("request %d with a shadow answered %q by %s, without %q", i, out, v, baseline[i])
		}
	}
	// 20 requests would take a second if they waited for the shadow.
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("20 mirrored requests took %s: the primary waited for the shadow", d)
	}
	// Flood: the bounded queue (128 by default, 2 workers at 50 ms) must
	// drop instead of blocking.
	for range 1500 {
		postRaw(t, url+"/v2/models/fraud/infer", body)
	}
	after := srv.Gateway.MirrorStats()
	if after.Sent-before.Sent < 20 || after.Dropped-before.Dropped == 0 {
		t.Fatalf("mirror stats %+v -> %+v: want copies sent and, once the queue filled, dropped", before, after)
	}
}

// A shadow that keeps failing stops getting copies for a while, instead of
// costing every routed request a call; once it answers again, copies
// resume.
func TestFailingShadowPaused(t *testing.T) {
	url, srv := gateway(t)
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	var down atomic.Bool
	var hits, refused atomic.Int64
	down.Store(true)
	shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost { // metadata and readiness
			http.Error(w, `{"error":"warming up"}`, http.StatusServiceUnavailable)
			return
		}
		hits.Add(1)
		if down.Load() {
			refused.Add(1)
			http.Error(w, `{"error":"warming up"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"model_name":"fraud","model_version":"s","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.5]}]}`))
	}))
	defer shadow.Close()
	if _, err := c.Push(ctx, "fraud", slipway.Version{Version: "flaky", URL: shadow.URL + "/v2/models/fraud"}, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:  []traffic.Split{{Version: "2.0.0", Weight: 10000}},
		Mirrors: []traffic.Mirror{{Version: "flaky", Percent: 10000}},
	}, "shadow"); err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	send := func(n int) {
		for i := range n {
			if status, out, _ := postRaw(t, url+"/v2/models/fraud/infer", inferBody(cols, i, i+1)); status != http.StatusOK {
				t.Fatalf("primary answered %d: %s", status, out)
			}
		}
	}
	// settled waits until every copy queued reached the shadow and every
	// refusal was counted.
	settled := func() serving.MirrorStats {
		t.Helper()
		for range 1000 {
			s := srv.Gateway.MirrorStats()
			if hits.Load() == s.Sent && refused.Load() == s.Failed {
				return s
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("the shadow copies never settled: %+v, shadow hit %d times", srv.Gateway.MirrorStats(), hits.Load())
		return serving.MirrorStats{}
	}

	// Ten copies trip the breaker (copies queued before it tripped still
	// run); the next 190 find the shadow paused.
	send(10)
	settled()
	send(190)
	s := settled()
	if s.Failed < 5 || s.Failed > 20 || s.Paused < 150 || s.Sent+s.Paused+s.Dropped != 200 {
		t.Fatalf("200 copies to a failing shadow: %+v; want 5 to 20 failed and the rest paused", s)
	}
	// The pair's telemetry says so, for model stats.
	st, err := c.Telemetry(ctx, "fraud", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var pair *telemetry.ShadowStats
	for i := range st.Shadows {
		if st.Shadows[i].Shadow == "flaky" && st.Shadows[i].Primary == "2.0.0" {
			pair = &st.Shadows[i]
		}
	}
	if pair == nil || pair.Paused != s.Paused || pair.ShadowErrors != s.Failed {
		t.Fatalf("telemetry for flaky vs 2.0.0: %+v; want %d paused and %d errors", pair, s.Paused, s.Failed)
	}

	// Once the shadow answers, the first copy after the pause (a second,
	// or longer if probes failed meanwhile) finds it up, and copies flow.
	down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for srv.Gateway.MirrorStats().Sent == s.Sent {
		if time.Now().After(deadline) {
			t.Fatalf("no copy reached the recovered shadow in 10s: %+v", srv.Gateway.MirrorStats())
		}
		send(1)
		time.Sleep(20 * time.Millisecond)
	}
	before := settled()
	send(20)
	after := settled()
	if after.Paused != before.Paused || after.Sent-before.Sent != 20 || after.Failed != before.Failed {
		t.Fatalf("after the shadow recovered: %+v -> %+v; want all 20 copies sent and answered", before, after)
	}
}

// Policy reads the stored policy back, as the rollout controller does
// after a restart; a model without one has none.
func TestPolicyReadBack(t *testing.T) {
	url, srv := gateway(t)
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	if _, ok, err := srv.Gateway.Policy(ctx, "fraud"); ok || err != nil {
		t.Fatalf("before any route: ok %v, err %v; want none", ok, err)
	}
	want := traffic.Policy{Salt: "s", Splits: []traffic.Split{{Version: "1.0.0", Weight: 9000}, {Version: "2.0.0", Weight: 1000}}}
	if _, err := c.SetRoute(ctx, "fraud", want, "test"); err != nil {
		t.Fatal(err)
	}
	got, ok, err := srv.Gateway.Policy(ctx, "fraud")
	if err != nil || !ok || got.Salt != "s" || len(got.Splits) != 2 || got.Splits[1] != want.Splits[1] {
		t.Fatalf("policy %+v, ok %v, err %v; want %+v", got, ok, err, want)
	}
}
