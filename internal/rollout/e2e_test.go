package rollout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/server"
	"github.com/slipway-ml/slipway/internal/simulate"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// These tests run rollouts end to end: a real server on loopback with the
// fraud XGBoost models, traffic played from the holdout with user ids and
// delayed ground truth, and the real controller and analysis. Stage
// durations are seconds, and telemetry buckets 100 ms, so that each test
// takes seconds.

type e2e struct {
	t      *testing.T
	ctx    context.Context
	srv    *server.Server
	url    string
	client *api.Client

	mu        sync.Mutex
	responses []simulate.Response
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end rollout; skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, server.Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", ControllerTick: 50 * time.Millisecond,
		Telemetry: telemetry.Config{Bucket: 100 * time.Millisecond, Retention: 5 * time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	url := "http://" + <-addrc
	e := &e2e{t: t, ctx: ctx, srv: srv, url: url, client: &api.Client{BaseURL: url, Actor: "e2e"}}
	exs, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if ex.Model != "fraud" {
			continue
		}
		data, _ := ex.Artifact()
		if _, err := srv.Registry.Push(ctx, registry.Push{Version: ex.Meta, Artifact: bytes.NewReader(data), Filename: ex.File}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Registry.MoveAlias(ctx, "fraud", slipway.AliasProduction, "1.0.0", "e2e", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// play sends fraud traffic until the returned stop is called.
func (e *e2e) play() (stop func()) { return e.playWith(nil) }

// playWith is play with the traffic adjusted by configure first.
func (e *e2e) playWith(configure func(*simulate.Traffic)) (stop func()) {
	raw, err := examples.Holdout("fraud")
	if err != nil {
		e.t.Fatal(err)
	}
	ds, err := simulate.ParseCSV(raw, "", "region")
	if err != nil {
		e.t.Fatal(err)
	}
	tr := &simulate.Traffic{BaseURL: e.url, Model: "fraud", Data: ds, Users: 300, Rate: 250, Workers: 8,
		FeedbackDelay: 50 * time.Millisecond, IDPrefix: e.t.Name() + "-",
		OnResponse: func(r simulate.Response) { e.mu.Lock(); e.responses = append(e.responses, r); e.mu.Unlock() }}
	if configure != nil {
		configure(tr)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	return func() {
		cancel()
		<-done
		if sent, failed, _ := tr.Counts(); failed > 0 {
			e.t.Errorf("%d of %d requests failed", failed, sent)
		}
	}
}

// since returns the responses to requests sent at or after t.
func (e *e2e) since(t time.Time) []simulate.Response {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []simulate.Response
	for _, r := range e.responses {
		if !r.Sent.Before(t) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sent.Before(out[j].Sent) })
	return out
}

// waitFor polls the model's rollout until it reaches one of the statuses
// with its effects applied, and returns it.
func (e *e2e) waitFor(model string, timeout time.Duration, statuses ...slipway.RolloutStatus) rollout.Status {
	e.t.Helper()
	var st rollout.Status
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, err = e.client.RolloutStatus(e.ctx, model)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range statuses {
			if st.Rollout.Status == s && (s.Live() || st.Rollout.Applied) {
				return st
			}
		}
	}
	evs, _ := e.client.RolloutEvents(e.ctx, model, 0)
	var log strings.Builder
	for _, ev := range evs {
		log.WriteString("\n  " + ev.Kind + ": " + ev.Reason)
	}
	e.t.Fatalf("rollout of %s is %s (%s), want %v; waiting for %q; events:%s", model, st.Rollout.Status, st.Rollout.Reason, statuses, st.Waiting, log.String())
	return st
}

func (e *e2e) production(model string) string {
	e.t.Helper()
	v, _, err := e.srv.Registry.Resolve(e.ctx, slipway.Ref{Model: model})
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Version
}

// TestCanaryPromotedThenRolledBack is the demo's story: 1.0.0 → 2.0.0 is
// promoted on the evidence, 2.0.0 → 3.0.0 (trained on flipped labels) is
// rolled back on its own by a quality trigger.
func TestCanaryPromotedThenRolledBack(t *testing.T) {
	e := startE2E(t)
	stop := e.play()
	defer stop()

	start := time.Now()
	r, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 30
      duration: 2s
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
            - {name: log-loss, relative: 1.3}
    - name: half
      weight: 60
      duration: 1s
  rollback:
    triggers:
      - {metric: error-rate, above: 5, minSamples: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Baseline != "1.0.0" || r.Status != slipway.RolloutProgressing {
		t.Fatalf("deployed %+v", r)
	}
	st := e.waitFor("fraud", 40*time.Second, slipway.RolloutCompleted)
	if p := e.production("fraud"); p != "2.0.0" || st.Rollout.Previous != "1.0.0" {
		t.Fatalf("production %s, previous %q", p, st.Rollout.Previous)
	}
	// Sticky and monotone: a user who got 2.0.0 never went back to 1.0.0.
	onCandidate := map[string]bool{}
	counts := map[string]int{}
	for _, resp := range e.since(start) {
		counts[resp.Version]++
		if resp.Version == "2.0.0" {
			onCandidate[resp.User] = true
		} else if onCandidate[resp.User] && resp.Version == "1.0.0" && resp.Sent.After(start) {
			t.Fatalf("user %s went back from 2.0.0 to 1.0.0", resp.User)
		}
	}
	if counts["1.0.0"] == 0 || counts["2.0.0"] == 0 {
		t.Fatalf("responses by version %v", counts)
	}
	evs, err := e.client.RolloutEvents(e.ctx, "fraud", 0)
	if err != nil {
		t.Fatal(err)
	}
	var advanced *slipway.RolloutEvent
	for i := range evs {
		if evs[i].Kind == "stage-advanced" && evs[i].StepName == "half" {
			advanced = &evs[i]
		}
	}
	if advanced == nil || advanced.Verdict == nil || advanced.Verdict.Result != slipway.Pass || len(advanced.Verdict.Metrics) != 2 {
		t.Fatalf("the advance from canary carries no passing verdict: %+v", advanced)
	}
	for _, m := range advanced.Verdict.Metrics {
		if m.CandidateN < 100 || m.Candidate == nil {
			t.Fatalf("metric %s passed on %d samples (value %v)", m.Metric, m.CandidateN, m.Candidate)
		}
	}

	// 2.0.0 → 3.0.0: worse only in quality.
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 3.0.0
  stages:
    - {name: canary, weight: 30, duration: 30s}
  rollback:
    triggers:
      - {metric: log-loss, relative: 1.5}
`)); err != nil {
		t.Fatal(err)
	}
	st = e.waitFor("fraud", 30*time.Second, slipway.RolloutRolledBack)
	if !strings.Contains(st.Rollout.Reason, "log-loss") || e.production("fraud") != "2.0.0" {
		t.Fatalf("rolled back because %q; production %s", st.Rollout.Reason, e.production("fraud"))
	}
	after := time.Now()
	time.Sleep(500 * time.Millisecond)
	late := e.since(after)
	if len(late) < 20 {
		t.Fatalf("only %d responses after the rollback", len(late))
	}
	for _, resp := range late {
		if resp.Version != "2.0.0" {
			t.Fatalf("a request sent after the rollback was answered by %s", resp.Version)
		}
	}
	evs, _ = e.client.RolloutEvents(e.ctx, "fraud", 0)
	var fired *slipway.RolloutEvent
	for i := range evs {
		if evs[i].Kind == "trigger-fired" {
			fired = &evs[i]
		}
	}
	if fired == nil || fired.Verdict == nil || fired.Verdict.Metrics[0].Baseline == nil || *fired.Verdict.Metrics[0].Candidate <= 1.5**fired.Verdict.Metrics[0].Baseline {
		t.Fatalf("trigger event without the numbers that fired it: %+v", fired)
	}
}

func TestBlueGreenPreviewSwitchUndo(t *testing.T) {
	e := startE2E(t)
	stop := e.play()
	defer stop()
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: blue-green
  blueGreen:
    preview: {duration: 2s}
    postPromotion: {duration: 1s}
`)); err != nil {
		t.Fatal(err)
	}
	// In preview the candidate answers only those who ask for it.
	previewAt := time.Now()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v2/models/fraud/infer", strings.NewReader(
		`{"inputs":[{"name":"amount","datatype":"FP32","shape":[1],"data":[10]},{"name":"hour","datatype":"FP32","shape":[1],"data":[3]},{"name":"merchant_risk","datatype":"FP32","shape":[1],"data":[0.2]},{"name":"distance_from_home","datatype":"FP32","shape":[1],"data":[5]},{"name":"tx_count_24h","datatype":"FP32","shape":[1],"data":[1]},{"name":"is_foreign","datatype":"FP32","shape":[1],"data":[0]},{"name":"card_age_days","datatype":"FP32","shape":[1],"data":[100]}]}`))
	req.Header.Set(rollout.PreviewHeader, "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := resp.Header.Get("X-Slipway-Version"); v != "2.0.0" {
		t.Fatalf("preview request answered by %q", v)
	}
	time.Sleep(300 * time.Millisecond)
	for _, r := range e.since(previewAt) {
		if r.Version != "1.0.0" && r.Received.Before(previewAt.Add(time.Second)) {
			t.Fatalf("in preview a user got %s", r.Version)
		}
	}
	e.waitFor("fraud", 30*time.Second, slipway.RolloutCompleted)
	if p := e.production("fraud"); p != "2.0.0" {
		t.Fatalf("production %s", p)
	}
	r, err := e.client.RolloutAct(e.ctx, "fraud", rollout.ActionUndo, false, "e2e undo")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != slipway.RolloutUndone || e.production("fraud") != "1.0.0" {
		t.Fatalf("after undo: %s, production %s", r.Status, e.production("fraud"))
	}
	undone := time.Now()
	time.Sleep(300 * time.Millisecond)
	for _, r := range e.since(undone) {
		if r.Version != "1.0.0" {
			t.Fatalf("after undo a request went to %s", r.Version)
		}
	}
}

func TestShadowComparesAndNeverAnswers(t *testing.T) {
	e := startE2E(t)
	stop := e.play()
	defer stop()
	start := time.Now()
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: shadow
  shadow:
    mirror: 100
    duration: 2s
    analysis:
      metrics:
        - {name: agreement, threshold: 90}
        - {name: error-rate, threshold: 1}
`)); err != nil {
		t.Fatal(err)
	}
	st := e.waitFor("fraud", 30*time.Second, slipway.RolloutCompleted)
	for _, r := range e.since(start) {
		if r.Version != "1.0.0" {
			t.Fatalf("a shadow answered a user: %+v", r)
		}
	}
	if e.production("fraud") != "1.0.0" {
		t.Fatal("a shadow without then moved production")
	}
	evs, _ := e.client.RolloutEvents(e.ctx, "fraud", st.Rollout.ID)
	last := evs[len(evs)-1]
	if last.Kind != "completed" || last.Verdict == nil || last.Verdict.Metrics[0].Metric != "agreement" || last.Verdict.Metrics[0].CandidateN < 100 {
		t.Fatalf("completion without the shadow's agreement: %+v", last)
	}
}

func TestLinearAndManualControls(t *testing.T) {
	e := startE2E(t)
	stop := e.play()
	defer stop()
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: linear
  linear: {step: 25%, every: 1h}
`)); err != nil {
		t.Fatal(err)
	}
	// The steps last an hour: a person drives it.
	for _, step := range []struct {
		action string
		want   slipway.RolloutStatus
		weight int
	}{
		{rollout.ActionPause, slipway.RolloutPaused, 2500},
		{rollout.ActionPromote, slipway.RolloutProgressing, 5000},
		{rollout.ActionPromote, slipway.RolloutProgressing, 7500},
	} {
		r, err := e.client.RolloutAct(e.ctx, "fraud", step.action, false, "")
		if err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		st, _ := e.client.RolloutStatus(e.ctx, "fraud")
		if r.Status != step.want || st.Weight != step.weight {
			t.Fatalf("after %s: %s at %d bp, want %s at %d", step.action, r.Status, st.Weight, step.want, step.weight)
		}
	}
	// A person cannot edit the routes of a live rollout by hand.
	_, err := e.client.SetRoute(e.ctx, "fraud", traffic.Policy{Splits: []traffic.Split{{Version: "3.0.0", Weight: traffic.Total}}}, "by hand")
	if !errors.Is(err, slipway.ErrConflict) || !strings.Contains(err.Error(), "belong to rollout") {
		t.Fatalf("route set during a rollout: %v", err)
	}
	if err := e.client.ClearRoute(e.ctx, "fraud", "by hand"); !errors.Is(err, slipway.ErrConflict) {
		t.Fatalf("route clear during a rollout: %v", err)
	}
	if _, err := e.client.RolloutAct(e.ctx, "fraud", rollout.ActionResume, false, ""); err == nil || !strings.Contains(err.Error(), "only a paused rollout") {
		t.Fatalf("resume of a progressing rollout: %v", err)
	}
	r, err := e.client.RolloutAct(e.ctx, "fraud", rollout.ActionAbort, false, "enough")
	if err != nil || r.Status != slipway.RolloutAborted {
		t.Fatalf("abort: %v %+v", err, r)
	}
	aborted := time.Now() // the abort's answer comes once all traffic is back

	time.Sleep(300 * time.Millisecond)
	for _, resp := range e.since(aborted) {
		if resp.Version != "1.0.0" {
			t.Fatalf("after abort a request went to %s", resp.Version)
		}
	}
	if _, err := e.client.RolloutAct(e.ctx, "fraud", rollout.ActionUndo, false, ""); err == nil || !strings.Contains(err.Error(), "undo reverts a completed rollout") {
		t.Fatalf("undo of an aborted rollout: %v", err)
	}
}

// TestNotificationsReachWebhooks runs a rollout whose spec names two
// webhooks, one of them Slack-compatible and filtered to completion.
func TestNotificationsReachWebhooks(t *testing.T) {
	e := startE2E(t)
	stop := e.play()
	defer stop()
	var mu sync.Mutex
	got := map[string][]string{} // path → event kinds or texts
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Event string `json:"event"`
			Text  string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		if strings.HasPrefix(r.URL.Path, "/broken/") {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], body.Event+body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: linear
  linear: {step: 50%, every: 1s}
  notifications:
    - webhook: `+hook.URL+`/json
    - {webhook: "`+hook.URL+`/slack", slack: true, events: [completed]}
    - {webhook: "`+hook.URL+`/broken/secret-token", events: [started]}
`)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("fraud", 30*time.Second, slipway.RolloutCompleted)
	// The failing webhook shows in the status, its secret path hidden.
	var broken rollout.NotificationStatus
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !broken.Failing; time.Sleep(100 * time.Millisecond) {
		st, err := e.client.RolloutStatus(e.ctx, "fraud")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Notifications) != 3 {
			t.Fatalf("status shows %d notification targets, want 3", len(st.Notifications))
		}
		broken = st.Notifications[2]
	}
	if !broken.Failing || broken.Failed != 1 || !strings.Contains(broken.LastError, "500") ||
		strings.Contains(broken.LastError+broken.Webhook, "secret-token") || !strings.HasSuffix(broken.Webhook, "/…") {
		t.Fatalf("failing webhook in the status: %+v", broken)
	}
	want := "started stage-advanced completed" // step-1 (50%), then full (100%)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		done := strings.Join(got["/json"], " ") == want && len(got["/slack"]) == 1
		mu.Unlock()
		if done {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if g := strings.Join(got["/json"], " "); g != want {
		t.Fatalf("JSON webhook got %q, want %q", g, want)
	}
	if len(got["/slack"]) != 1 || !strings.Contains(got["/slack"][0], "fraud") || !strings.Contains(got["/slack"][0], "2.0.0") {
		t.Fatalf("Slack webhook got %q", got["/slack"])
	}
}
