package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/store"
)

// fakeRollouts stands in for the rollout controller: it keeps one rollout
// per model, checks actions against its status the way the controller
// must, and records what the API handed it.
type fakeRollouts struct {
	mu sync.Mutex // guards every field
	// deployErr, when set, is what Deploy and DryRun answer.
	deployErr error
	rollouts  map[string]*slipway.Rollout
	status    map[string]rollout.Status
	events    []slipway.RolloutEvent

	// What the API passed in.
	spec     []byte
	actor    string
	dryRuns  int
	requests []rollout.Request
	filter   store.RolloutFilter
	eventsOf struct {
		model string
		id    int64
	}
}

func newFakeRollouts() *fakeRollouts {
	return &fakeRollouts{rollouts: map[string]*slipway.Rollout{}, status: map[string]rollout.Status{}}
}

func (f *fakeRollouts) Deploy(ctx context.Context, spec []byte, actor string) (slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec, f.actor = spec, actor
	if f.deployErr != nil {
		return slipway.Rollout{}, f.deployErr
	}
	if r := f.rollouts["fraud"]; r != nil && r.Status.Live() {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrConflict, "fraud has a live rollout (#%d): finish or abort it first", r.ID)
	}
	r := &slipway.Rollout{ID: int64(len(f.rollouts) + 1), Model: "fraud", Candidate: "2.0.0", Baseline: "1.0.0", BaselineRef: "production",
		Strategy: "canary", Spec: string(spec), Status: slipway.RolloutProgressing, CreatedBy: actor}
	f.rollouts["fraud"] = r
	return *r, nil
}

func (f *fakeRollouts) DryRun(ctx context.Context, spec []byte) (rollout.DryRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec = spec
	f.dryRuns++
	if f.deployErr != nil {
		return rollout.DryRun{}, f.deployErr
	}
	return rollout.DryRun{Spec: string(spec), Plan: "1. canary 1% for 30m", DurationSeconds: 1800,
		Steps: []rollout.StepView{{Name: "canary", Kind: "canary", Weight: 100, DurationSeconds: 1800}}}, nil
}

func (f *fakeRollouts) Act(ctx context.Context, req rollout.Request) (slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	r := f.rollouts[req.Model]
	if r == nil {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrNotFound, "%s has no rollout", req.Model)
	}
	if !r.Status.Live() {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrConflict, "rollout #%d of %s is %s: nothing to %s", r.ID, r.Model, r.Status, req.Action)
	}
	switch req.Action {
	case rollout.ActionPause:
		r.Status = slipway.RolloutPaused
	case rollout.ActionAbort:
		r.Status = slipway.RolloutAborted
	case rollout.ActionPromote:
		r.Step++
		if req.Full {
			r.Status = slipway.RolloutCompleted
		}
	}
	r.Reason = req.Action + " by " + req.Actor + ": " + req.Reason
	return *r, nil
}

func (f *fakeRollouts) Status(ctx context.Context, model string) (rollout.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[model]
	if !ok {
		return rollout.Status{}, slipway.Errorf(slipway.ErrNotFound, "%s never had a rollout", model)
	}
	return st, nil
}

func (f *fakeRollouts) List(ctx context.Context, flt store.RolloutFilter) ([]slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filter = flt
	var out []slipway.Rollout
	for _, r := range f.rollouts {
		if (flt.Model == "" || r.Model == flt.Model) && (!flt.Live || r.Status.Live()) {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (f *fakeRollouts) Events(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventsOf.model, f.eventsOf.id = model, id
	if _, ok := f.rollouts[model]; !ok {
		return nil, slipway.Errorf(slipway.ErrNotFound, "%s has no rollout", model)
	}
	return f.events, nil
}

var _ Rollouts = (*fakeRollouts)(nil)

// serveRollouts runs the API over fake on a real HTTP server and returns
// a client for it that acts as alice.
func serveRollouts(t *testing.T, fake Rollouts) (*Client, string) {
	t.Helper()
	s := NewServer(nil)
	if fake != nil {
		s.Rollouts = fake
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &Client{BaseURL: ts.URL, Actor: "alice", HTTP: ts.Client()}, ts.URL
}

// call makes a raw request and returns the status and the decoded error
// body, if the answer is one.
func call(t *testing.T, method, url, contentType string, body []byte) (int, Error, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set(ActorHeader, "bob")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e Error
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s %s: error body %q is not JSON: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode, e, raw
}

const testSpec = `deployment:
  model: fraud
  version: 2.0.0
  strategy: canary
`

func TestRolloutEndpointsWithoutController(t *testing.T) {
	_, url := serveRollouts(t, nil)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/deployments"},
		{"POST", "/api/v1/deployments?dry_run=true"},
		{"GET", "/api/v1/rollouts"},
		{"GET", "/api/v1/rollouts/fraud"},
		{"GET", "/api/v1/rollouts/fraud/events"},
		{"POST", "/api/v1/rollouts/fraud/promote"},
	} {
		code, e, _ := call(t, tc.method, url+tc.path, "", []byte(testSpec))
		if code != http.StatusNotImplemented || !strings.Contains(e.Message, "no rollout controller") {
			t.Errorf("%s %s = %d %q; want 501 naming the missing controller", tc.method, tc.path, code, e.Message)
		}
	}
}

func TestDeploySendsSpecAndActor(t *testing.T) {
	fake := newFakeRollouts()
	c, url := serveRollouts(t, fake)

	// Any content type: the body is the spec as it is.
	code, _, raw := call(t, "POST", url+"/api/v1/deployments", "text/plain", []byte(testSpec))
	if code != http.StatusCreated {
		t.Fatalf("deploy = %d %s; want 201", code, raw)
	}
	var r slipway.Rollout
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != 1 || r.Status != slipway.RolloutProgressing || r.CreatedBy != "bob" {
		t.Fatalf("deploy answered %+v", r)
	}
	if string(fake.spec) != testSpec || fake.actor != "bob" {
		t.Fatalf("controller got spec %q from %q", fake.spec, fake.actor)
	}

	// A second live rollout of the model is a conflict.
	_, err := c.Deploy(context.Background(), []byte(testSpec))
	if !errors.Is(err, slipway.ErrConflict) || !strings.Contains(err.Error(), "live rollout (#1)") {
		t.Fatalf("second deploy: %v; want a conflict naming the live rollout", err)
	}
	if fake.actor != "alice" {
		t.Fatalf("client actor %q reached the controller; want alice", fake.actor)
	}
}

func TestDeployDryRun(t *testing.T) {
	fake := newFakeRollouts()
	c, url := serveRollouts(t, fake)
	plan, err := c.DryRun(context.Background(), []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Plan != "1. canary 1% for 30m" || plan.DurationSeconds != 1800 || len(plan.Steps) != 1 || plan.Spec != testSpec {
		t.Fatalf("dry run = %+v", plan)
	}
	if len(fake.rollouts) != 0 || fake.dryRuns != 1 {
		t.Fatalf("dry run started %d rollouts, ran %d dry runs; want 0 and 1", len(fake.rollouts), fake.dryRuns)
	}
	if code, _, _ := call(t, "POST", url+"/api/v1/deployments?dry_run=1", "", []byte(testSpec)); code != http.StatusOK {
		t.Fatalf("dry_run=1 = %d; want 200", code)
	}
	if code, e, _ := call(t, "POST", url+"/api/v1/deployments?dry_run=perhaps", "", []byte(testSpec)); code != http.StatusBadRequest || !strings.Contains(e.Message, "dry_run") {
		t.Fatalf("dry_run=perhaps = %d %q; want 400 naming the parameter", code, e.Message)
	}
}

func TestDeployErrors(t *testing.T) {
	specErr := slipway.Errorf(slipway.ErrInvalid, "deployment spec:\nspec:7: deployment.stages[0].weight: 250 is over 100\nspec:12: deployment.stages[1].duration: \"soon\" is not a duration")
	for _, tc := range []struct {
		name     string
		err      error
		body     []byte
		dryRun   bool
		wantCode int
		wantKind string
		wantMsg  string
	}{
		{"invalid spec", specErr, []byte(testSpec), false, 400, "invalid", specErr.Error()},
		{"invalid spec, dry run", specErr, []byte(testSpec), true, 400, "invalid", specErr.Error()},
		{"unknown model", slipway.Errorf(slipway.ErrNotFound, "model %q not found", "fraud"), []byte(testSpec), false, 404, "not_found", `model "fraud" not found`},
		{"conflict", slipway.Errorf(slipway.ErrConflict, "fraud has a live rollout (#3)"), []byte(testSpec), false, 409, "conflict", "fraud has a live rollout (#3)"},
		{"empty body", nil, []byte("  \n"), false, 400, "invalid", "empty request body"},
		{"too large", nil, bytes.Repeat([]byte("#"), MaxSpecBytes+1), false, 413, "", "1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRollouts()
			fake.deployErr = tc.err
			_, url := serveRollouts(t, fake)
			path := url + "/api/v1/deployments"
			if tc.dryRun {
				path += "?dry_run=true"
			}
			code, e, _ := call(t, "POST", path, "application/yaml", tc.body)
			if code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) {
				t.Fatalf("= %d %q; want %d containing %q", code, e.Message, tc.wantCode, tc.wantMsg)
			}
			detail, _ := e.Detail.(map[string]any)
			kind, _ := detail["kind"].(string)
			if kind != tc.wantKind {
				t.Fatalf("kind %q; want %q", kind, tc.wantKind)
			}
		})
	}
}

func TestDeployInvalidSpecThroughClient(t *testing.T) {
	fake := newFakeRollouts()
	fake.deployErr = slipway.Errorf(slipway.ErrInvalid, "spec:7: deployment.stages[0].weight: 250 is over 100\nspec:9: deployment.strategy: \"yolo\": want canary, blue-green, shadow, ab or bandit")
	c, _ := serveRollouts(t, fake)
	_, err := c.Deploy(context.Background(), []byte(testSpec))
	if !errors.Is(err, slipway.ErrInvalid) || err.Error() != fake.deployErr.Error() {
		t.Fatalf("deploy: %v; want the controller's message unchanged, matching ErrInvalid", err)
	}
}

func TestRolloutActions(t *testing.T) {
	fake := newFakeRollouts()
	c, url := serveRollouts(t, fake)
	ctx := context.Background()
	if _, err := c.Deploy(ctx, []byte(testSpec)); err != nil {
		t.Fatal(err)
	}

	r, err := c.RolloutAct(ctx, "fraud", "pause", false, "latency looks odd")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != slipway.RolloutPaused || r.Reason != "pause by alice: latency looks odd" {
		t.Fatalf("pause answered %+v", r)
	}
	want := rollout.Request{Model: "fraud", Action: "pause", Actor: "alice", Reason: "latency looks odd"}
	if got := fake.requests[0]; got != want {
		t.Fatalf("controller got %+v; want %+v", got, want)
	}

	// No body at all is a request without a reason.
	code, _, raw := call(t, "POST", url+"/api/v1/rollouts/fraud/promote", "", nil)
	if code != http.StatusOK {
		t.Fatalf("promote without a body = %d %s", code, raw)
	}
	if got := fake.requests[1]; got.Actor != "bob" || got.Reason != "" || got.Full {
		t.Fatalf("controller got %+v", got)
	}

	if _, err := c.RolloutAct(ctx, "fraud", "promote", true, "looks good"); err != nil {
		t.Fatal(err)
	}
	if got := fake.requests[2]; !got.Full || got.Action != "promote" {
		t.Fatalf("promote --full reached the controller as %+v", got)
	}

	// The rollout has completed: the controller refuses, the client
	// sees a conflict with its message.
	_, err = c.RolloutAct(ctx, "fraud", "abort", false, "")
	if !errors.Is(err, slipway.ErrConflict) || !strings.Contains(err.Error(), "is completed: nothing to abort") {
		t.Fatalf("abort of a completed rollout: %v", err)
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.Err.Status != http.StatusConflict {
		t.Fatalf("abort of a completed rollout: %#v; want a 409", err)
	}
	_, err = c.RolloutAct(ctx, "digits", "pause", false, "")
	if !errors.Is(err, slipway.ErrNotFound) {
		t.Fatalf("pause of a model without rollouts: %v; want not found", err)
	}
	n := len(fake.requests)

	for _, tc := range []struct {
		path, ct, body string
		code           int
		msg            string
	}{
		{"/api/v1/rollouts/fraud/explode", "", "", 400, `rollout action "explode": want one of promote, pause, resume, abort, undo, retry`},
		{"/api/v1/rollouts/fraud/pause", "application/json", `{"full": true}`, 400, "full applies to promote"},
		{"/api/v1/rollouts/fraud/pause", "application/json", `{"reason": 3}`, 400, "request body"},
		{"/api/v1/rollouts/fraud/pause", "application/json", `{"why": "x"}`, 400, `unknown field "why"`},
		{"/api/v1/rollouts/fraud/pause", "text/plain", `{"reason": "x"}`, 415, "want application/json"},
	} {
		code, e, _ := call(t, "POST", url+tc.path, tc.ct, []byte(tc.body))
		if code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("POST %s %s = %d %q; want %d containing %q", tc.path, tc.body, code, e.Message, tc.code, tc.msg)
		}
	}
	if len(fake.requests) != n {
		t.Fatalf("refused requests reached the controller: %+v", fake.requests[n:])
	}
}

func f64(x float64) *float64 { return &x }

func testStatus() rollout.Status {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return rollout.Status{
		Rollout: slipway.Rollout{ID: 7, Model: "fraud", Candidate: "2.0.0", Baseline: "1.0.0", BaselineRef: "production",
			Strategy: "canary", Status: slipway.RolloutProgressing, Step: 1, StepStarted: at, Reason: "stage canary passed",
			Rev: 4, CreatedBy: "alice", CreatedAt: at.Add(-time.Hour), UpdatedAt: at},
		Steps: []rollout.StepView{
			{Name: "canary", Kind: "canary", Weight: 100, DurationSeconds: 1800, Analysis: []string{"error-rate ≤ 1% (n ≥ 100)"}},
			{Name: "limited", Kind: "canary", Weight: 1000, Mirror: 500, DurationSeconds: 3600, Approval: true},
		},
		Weight: 1000, Mirror: 500,
		Elapsed: 750 * time.Second, Remaining: 2850 * time.Second,
		Verdict: &slipway.Verdict{Result: slipway.Inconclusive, Reason: "error-rate has 37 of 100 samples", Window: 5 * time.Minute,
			Metrics: []slipway.MetricResult{
				{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Inconclusive, Candidate: f64(0.4), Baseline: f64(0.5),
					CandidateN: 37, BaselineN: 412, MinSamples: 100, Reason: "37 of 100 samples"},
			}},
		Triggers: []slipway.MetricResult{{Metric: "error-rate", Rule: "trigger: error-rate > 5% → rollback", Result: slipway.Pass, Candidate: f64(0.4), CandidateN: 37}},
		Waiting:  "47m30s of stage limited",
	}
}

func TestRolloutStatusRoundTrip(t *testing.T) {
	fake := newFakeRollouts()
	want := testStatus()
	fake.status["fraud"] = want
	c, url := serveRollouts(t, fake)

	code, _, raw := call(t, "GET", url+"/api/v1/rollouts/fraud", "", nil)
	if code != http.StatusOK {
		t.Fatalf("status = %d %s", code, raw)
	}
	for _, field := range []string{`"window_seconds": 300`, `"elapsed_seconds": 750`, `"remaining_seconds": 2850`, `"candidate_n": 37`} {
		if !bytes.Contains(raw, []byte(field)) {
			t.Errorf("status JSON lacks %s:\n%s", field, raw)
		}
	}

	got, err := c.RolloutStatus(context.Background(), "fraud")
	if err != nil {
		t.Fatal(err)
	}
	want.ElapsedSeconds, want.RemainingSeconds = 750, 2850
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}

	_, err = c.RolloutStatus(context.Background(), "digits")
	if !errors.Is(err, slipway.ErrNotFound) || !strings.Contains(err.Error(), "digits never had a rollout") {
		t.Fatalf("status of a model without rollouts: %v", err)
	}
}

func TestRolloutListAndEvents(t *testing.T) {
	fake := newFakeRollouts()
	c, url := serveRollouts(t, fake)
	ctx := context.Background()

	list, err := c.Rollouts(ctx, store.RolloutFilter{})
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty list = %#v, %v; want an empty slice", list, err)
	}
	if _, _, raw := call(t, "GET", url+"/api/v1/rollouts", "", nil); !bytes.Contains(raw, []byte(`"rollouts": []`)) {
		t.Fatalf("empty list JSON: %s", raw)
	}

	if _, err := c.Deploy(ctx, []byte(testSpec)); err != nil {
		t.Fatal(err)
	}
	flt := store.RolloutFilter{Model: "fraud", Live: true, Limit: 5}
	list, err = c.Rollouts(ctx, flt)
	if err != nil || len(list) != 1 || list[0].Model != "fraud" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if fake.filter != flt {
		t.Fatalf("controller got filter %+v; want %+v", fake.filter, flt)
	}
	if code, e, _ := call(t, "GET", url+"/api/v1/rollouts?limit=-1", "", nil); code != 400 || !strings.Contains(e.Message, "limit") {
		t.Fatalf("limit=-1 = %d %q", code, e.Message)
	}

	fake.events = []slipway.RolloutEvent{
		{Rollout: 1, Seq: 1, Actor: "alice", Kind: "started", Status: slipway.RolloutProgressing, Weight: 100, Reason: "deployed"},
		{Rollout: 1, Seq: 2, Actor: "controller", Kind: "decision", Status: slipway.RolloutProgressing, Weight: 100,
			Verdict: &slipway.Verdict{Result: slipway.Inconclusive, Window: 90 * time.Second}},
	}
	events, err := c.RolloutEvents(ctx, "fraud", 0)
	if err != nil || len(events) != 2 || events[1].Verdict.Window != 90*time.Second {
		t.Fatalf("events = %+v, %v", events, err)
	}
	if fake.eventsOf.model != "fraud" || fake.eventsOf.id != 0 {
		t.Fatalf("controller asked for %+v", fake.eventsOf)
	}
	if _, err := c.RolloutEvents(ctx, "fraud", 12); err != nil || fake.eventsOf.id != 12 {
		t.Fatalf("events of #12: %v, controller asked for %+v", err, fake.eventsOf)
	}
	if _, err := c.RolloutEvents(ctx, "digits", 0); !errors.Is(err, slipway.ErrNotFound) {
		t.Fatalf("events of a model without rollouts: %v", err)
	}
	if code, _, _ := call(t, "GET", url+"/api/v1/rollouts/fraud/events?id=x", "", nil); code != 400 {
		t.Fatalf("id=x = %d; want 400", code)
	}
}
