package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// The tests in this file drive the state machine with a scripted judge and
// a recording router over the real SQLite store and registry, on a fake
// clock, so every transition is exact. The end-to-end tests (e2e_test.go)
// run real models and traffic.

// fakeJudge answers every analysis with result, and fires the triggers
// whose metric is in fire.
type fakeJudge struct {
	mu     sync.Mutex
	result slipway.VerdictResult
	fire   map[string]bool
	calls  int
}

func (j *fakeJudge) set(r slipway.VerdictResult) { j.mu.Lock(); j.result = r; j.mu.Unlock() }

func (j *fakeJudge) fireOn(metric string, on bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fire == nil {
		j.fire = map[string]bool{}
	}
	j.fire[metric] = on
}

func (j *fakeJudge) Judge(q analysis.Query, metrics []spec.Metric, triggers []spec.Trigger) (slipway.Verdict, []analysis.Firing) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls++
	return j.analyze(q, metrics), j.check(triggers)
}

func (j *fakeJudge) analyze(q analysis.Query, metrics []spec.Metric) slipway.Verdict {
	if len(metrics) == 0 {
		return slipway.Verdict{Result: slipway.Pass, Reason: "no metrics", Window: q.Window}
	}
	res := j.result
	if res == "" {
		res = slipway.Pass
	}
	return slipway.Verdict{Result: res, Reason: "scripted " + string(res), Window: q.Window,
		Metrics: []slipway.MetricResult{{Metric: metrics[0].Name, Rule: metrics[0].String(), Result: res, Reason: "scripted"}}}
}

func (j *fakeJudge) check(triggers []spec.Trigger) []analysis.Firing {
	var out []analysis.Firing
	for _, t := range triggers {
		fired := j.fire[t.Metric]
		res := slipway.Pass
		if fired {
			res = slipway.Fail
		}
		out = append(out, analysis.Firing{Trigger: t, Fired: fired,
			Result: slipway.MetricResult{Metric: t.Metric, Rule: t.String(), Result: res, Reason: "scripted " + string(res)}})
	}
	return out
}

// fakeRouter records the policy of each model.
type fakeRouter struct {
	mu       sync.Mutex
	policies map[string]traffic.Policy
	loadErr  error
	setErr   error
	sets     int
}

func (f *fakeRouter) Load(ctx context.Context, model, version string) error { return f.loadErr }

func (f *fakeRouter) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := p.Validate(); err != nil {
		return slipway.RouteChange{}, err
	}
	if f.setErr != nil {
		return slipway.RouteChange{}, f.setErr
	}
	f.sets++
	f.policies[model] = p
	return slipway.RouteChange{Model: model}, nil
}

func (f *fakeRouter) ClearRoute(ctx context.Context, model, actor, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.policies, model)
	return nil
}

// Policy is what a restarted controller reads a bandit's allocation from.
func (f *fakeRouter) Policy(ctx context.Context, model string) (traffic.Policy, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[model]
	return p, ok, nil
}

// weights is the model's split as "version=bp,…", "" without a policy.
func (f *fakeRouter) weights(model string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[model]
	if !ok {
		return ""
	}
	var parts []string
	for _, s := range p.Splits {
		parts = append(parts, fmt.Sprintf("%s=%d", s.Version, s.Weight))
	}
	for _, m := range p.Mirrors {
		parts = append(parts, fmt.Sprintf("mirror:%s=%d", m.Version, m.Percent))
	}
	return strings.Join(parts, ",")
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	store  store.Store
	reg    *registry.Registry
	judge  *fakeJudge
	router *fakeRouter
	ctrl   *Controller
	now    time.Time
	clock  sync.Mutex
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), judge: &fakeJudge{},
		router: &fakeRouter{policies: map[string]traffic.Policy{}},
		now:    time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	h.open()
	exs, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if ex.Model != "fraud" {
			continue
		}
		data, err := ex.Artifact()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.reg.Push(h.ctx, registry.Push{Version: ex.Meta, Artifact: bytes.NewReader(data), Filename: ex.File}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.reg.MoveAlias(h.ctx, "fraud", slipway.AliasProduction, "1.0.0", "test", ""); err != nil {
		t.Fatal(err)
	}
	return h
}

// open opens (or reopens, as after a crash) the store and a new controller.
func (h *harness) open() {
	h.t.Helper()
	st, err := sqlite.Open(h.ctx, filepath.Join(h.dir, "slipway.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	blobs, err := blob.OpenDir(filepath.Join(h.dir, "blobs"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { blobs.Close() })
	h.store = st
	h.reg = registry.New(st, blobs)
	h.ctrl = New(Config{Store: st, Registry: h.reg, Router: h.router, Judge: h.judge, Now: h.clockNow})
	if err := h.ctrl.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) clockNow() time.Time {
	h.clock.Lock()
	defer h.clock.Unlock()
	return h.now
}

// advance moves the clock and runs one tick.
func (h *harness) advance(d time.Duration) {
	h.clock.Lock()
	h.now = h.now.Add(d)
	h.clock.Unlock()
	h.ctrl.Tick(h.ctx)
}

func (h *harness) deploy(yaml string) slipway.Rollout {
	h.t.Helper()
	r, err := h.ctrl.Deploy(h.ctx, []byte(yaml), "alice")
	if err != nil {
		h.t.Fatalf("deploy: %v", err)
	}
	return r
}

func (h *harness) status() Status {
	h.t.Helper()
	st, err := h.ctrl.Status(h.ctx, "fraud")
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) act(action string, full bool) (slipway.Rollout, error) {
	return h.ctrl.Act(h.ctx, Request{Model: "fraud", Action: action, Full: full, Actor: "bob", Reason: "test"})
}

func (h *harness) production() string {
	h.t.Helper()
	v, _, err := h.reg.Resolve(h.ctx, slipway.Ref{Model: "fraud"})
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Version
}

func (h *harness) kinds() string {
	h.t.Helper()
	evs, err := h.ctrl.Events(h.ctx, "fraud", 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var ks []string
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return strings.Join(ks, " ")
}

func (h *harness) expect(status slipway.RolloutStatus, step int, weights string) {
	h.t.Helper()
	st := h.status()
	if st.Rollout.Status != status || st.Rollout.Step != step {
		h.t.Fatalf("rollout is %s at step %d (%s), want %s at step %d", st.Rollout.Status, st.Rollout.Step, st.Rollout.Reason, status, step)
	}
	if got := h.router.weights("fraud"); got != weights {
		h.t.Fatalf("routes %q, want %q", got, weights)
	}
}

const canarySpec = `
deployment:
  model: fraud
  version: 2.0.0
  strategy: canary
  stages:
    - name: canary
      weight: 5
      duration: 10m
      promotion:
        analysis:
          metrics:
            - name: error-rate
              threshold: 1
    - name: half
      weight: 50
      duration: 10m
  rollback:
    triggers:
      - {metric: latency-p99, relative: 2, action: pause}
      - {metric: error-rate, above: 5}
`

func TestCanaryPromotes(t *testing.T) {
	h := newHarness(t)
	r := h.deploy(canarySpec)
	if r.Baseline != "1.0.0" || r.Candidate != "2.0.0" || r.BaselineRef != "production" {
		t.Fatalf("rollout %+v", r)
	}
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	h.advance(9 * time.Minute)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	if st := h.status(); st.Remaining != time.Minute || !strings.Contains(st.Waiting, "1m0s more of stage canary") {
		t.Fatalf("remaining %s, waiting %q", st.Remaining, st.Waiting)
	}
	h.advance(time.Minute)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
	h.advance(10 * time.Minute)
	h.expect(slipway.RolloutProgressing, 2, "2.0.0=10000,1.0.0=0")
	h.advance(time.Second)
	h.expect(slipway.RolloutCompleted, 2, "")
	if p := h.production(); p != "2.0.0" {
		t.Fatalf("production is %s", p)
	}
	st := h.status()
	if st.Rollout.Previous != "1.0.0" || !st.Rollout.Applied {
		t.Fatalf("completed rollout %+v", st.Rollout)
	}
	if k := h.kinds(); k != "started stage-advanced stage-advanced completed" {
		t.Fatalf("events %q", k)
	}
}

func TestCanaryFailsAtTheEndOfItsStage(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.advance(time.Minute)
	h.judge.set(slipway.Fail)
	h.advance(time.Second)
	// A failing verdict mid-stage is shown, not acted on.
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	if st := h.status(); st.Verdict == nil || st.Verdict.Result != slipway.Fail {
		t.Fatalf("status verdict %+v", st.Verdict)
	}
	h.advance(9 * time.Minute)
	h.expect(slipway.RolloutRolledBack, 0, "")
	if p := h.production(); p != "1.0.0" {
		t.Fatalf("production moved to %s", p)
	}
	st := h.status()
	if !strings.Contains(st.Rollout.Reason, "stage canary failed its analysis: scripted fail") {
		t.Fatalf("reason %q", st.Rollout.Reason)
	}
	evs, _ := h.ctrl.Events(h.ctx, "fraud", 0)
	last := evs[len(evs)-1]
	if last.Kind != "rolled-back" || last.Actor != ControllerActor || last.Verdict == nil || last.Verdict.Metrics[0].Metric != "error-rate" {
		t.Fatalf("last event %+v", last)
	}
}

func TestInconclusiveWaitsThenPauses(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.judge.set(slipway.Inconclusive)
	h.advance(10 * time.Minute)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	if k := h.kinds(); k != "started decision" {
		t.Fatalf("events %q: the waiting decision is logged once", k)
	}
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutPaused, 0, "2.0.0=500,1.0.0=9500")
	// Data arrives; a person resumes, and the stage passes at once: its
	// time was served.
	h.judge.set(slipway.Pass)
	if _, err := h.act(ActionResume, false); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
}

func TestTriggers(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.judge.fireOn("latency-p99", true)
	h.advance(time.Second)
	h.expect(slipway.RolloutPaused, 0, "2.0.0=500,1.0.0=9500")
	if k := h.kinds(); k != "started trigger-fired paused" {
		t.Fatalf("events %q", k)
	}
	// Paused, the pause trigger changes nothing; the rollback one still fires.
	h.advance(time.Minute)
	h.expect(slipway.RolloutPaused, 0, "2.0.0=500,1.0.0=9500")
	h.judge.fireOn("error-rate", true)
	h.advance(time.Second)
	h.expect(slipway.RolloutRolledBack, 0, "")
	if st := h.status(); !strings.Contains(st.Rollout.Reason, "trigger error-rate") {
		t.Fatalf("reason %q", st.Rollout.Reason)
	}
}

func TestPauseStopsTheClock(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.advance(4 * time.Minute)
	if _, err := h.act(ActionPause, false); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	h.expect(slipway.RolloutPaused, 0, "2.0.0=500,1.0.0=9500")
	if st := h.status(); st.Elapsed != 4*time.Minute {
		t.Fatalf("elapsed while paused %s, want 4m", st.Elapsed)
	}
	if _, err := h.act(ActionResume, false); err != nil {
		t.Fatal(err)
	}
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	h.advance(time.Minute)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
}

func TestApproval(t *testing.T) {
	h := newHarness(t)
	h.deploy(strings.Replace(canarySpec, "      duration: 10m\n      promotion:", "      duration: 10m\n      approval: true\n      promotion:", 1))
	h.advance(10 * time.Minute)
	h.expect(slipway.RolloutAwaitingApproval, 0, "2.0.0=500,1.0.0=9500")
	h.advance(time.Hour)
	h.expect(slipway.RolloutAwaitingApproval, 0, "2.0.0=500,1.0.0=9500")
	if st := h.status(); !strings.Contains(st.Waiting, "approval of stage canary") {
		t.Fatalf("waiting %q", st.Waiting)
	}
	if _, err := h.act(ActionPromote, false); err != nil {
		t.Fatal(err)
	}
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
}

// TestManualCommandsInEveryState runs every action in every status: the
// ones that make sense change the state as documented, the others are
// refused with ErrConflict and a reason, and change nothing.
func TestManualCommandsInEveryState(t *testing.T) {
	reach := map[slipway.RolloutStatus]func(h *harness){
		slipway.RolloutProgressing: func(h *harness) {},
		slipway.RolloutPaused:      func(h *harness) { mustAct(h, ActionPause, false) },
		slipway.RolloutAwaitingApproval: func(h *harness) {
			h.judge.set(slipway.Pass)
			id := h.status().Rollout.ID
			h.ctrl.mu.Lock()
			e := h.ctrl.live[id]
			e.plan.Steps[0].Approval = true
			h.ctrl.mu.Unlock()
			h.advance(10 * time.Minute)
		},
		slipway.RolloutCompleted:  func(h *harness) { mustAct(h, ActionPromote, true) },
		slipway.RolloutRolledBack: func(h *harness) { h.judge.fireOn("error-rate", true); h.advance(time.Second) },
		slipway.RolloutAborted:    func(h *harness) { mustAct(h, ActionAbort, false) },
		slipway.RolloutUndone:     func(h *harness) { mustAct(h, ActionPromote, true); mustAct(h, ActionUndo, false) },
	}
	// allowed[status][action] is the status the action leads to.
	allowed := map[slipway.RolloutStatus]map[string]slipway.RolloutStatus{
		slipway.RolloutProgressing: {ActionPromote: slipway.RolloutProgressing, ActionPause: slipway.RolloutPaused, ActionAbort: slipway.RolloutAborted},
		slipway.RolloutPaused:      {ActionPromote: slipway.RolloutProgressing, ActionResume: slipway.RolloutProgressing, ActionAbort: slipway.RolloutAborted},
		slipway.RolloutAwaitingApproval: {ActionPromote: slipway.RolloutProgressing, ActionPause: slipway.RolloutPaused,
			ActionAbort: slipway.RolloutAborted},
		slipway.RolloutCompleted:  {ActionUndo: slipway.RolloutUndone},
		slipway.RolloutRolledBack: {ActionRetry: slipway.RolloutProgressing},
		slipway.RolloutAborted:    {ActionRetry: slipway.RolloutProgressing},
		slipway.RolloutUndone:     {},
	}
	for status, setup := range reach {
		for _, action := range Actions {
			t.Run(string(status)+"/"+action, func(t *testing.T) {
				h := newHarness(t)
				h.deploy(canarySpec)
				setup(h)
				before := h.status()
				if before.Rollout.Status != status {
					t.Fatalf("set-up reached %s, want %s", before.Rollout.Status, status)
				}
				beforeRoutes := h.router.weights("fraud")
				got, err := h.act(action, false)
				want, ok := allowed[status][action]
				if !ok {
					if !errors.Is(err, slipway.ErrConflict) || !strings.Contains(err.Error(), "cannot "+action) {
						t.Fatalf("%s in %s: err %v, want a conflict", action, status, err)
					}
					after := h.status()
					if after.Rollout.Rev != before.Rollout.Rev || h.router.weights("fraud") != beforeRoutes {
						t.Fatalf("refused %s changed the rollout: rev %d → %d, routes %q → %q", action, before.Rollout.Rev, after.Rollout.Rev, beforeRoutes, h.router.weights("fraud"))
					}
					return
				}
				if err != nil {
					t.Fatalf("%s in %s: %v", action, status, err)
				}
				if got.Status != want {
					t.Fatalf("%s in %s led to %s, want %s", action, status, got.Status, want)
				}
				switch action {
				case ActionAbort:
					if w := h.router.weights("fraud"); w != "" || h.production() != "1.0.0" {
						t.Fatalf("after abort routes %q, production %s", w, h.production())
					}
				case ActionUndo:
					if w := h.router.weights("fraud"); w != "" || h.production() != "1.0.0" {
						t.Fatalf("after undo routes %q, production %s", w, h.production())
					}
				case ActionRetry:
					if got.Step != 0 || h.router.weights("fraud") != "2.0.0=500,1.0.0=9500" {
						t.Fatalf("after retry step %d routes %q", got.Step, h.router.weights("fraud"))
					}
				case ActionPromote:
					if got.Step != 1 || h.router.weights("fraud") != "2.0.0=5000,1.0.0=5000" {
						t.Fatalf("after promote step %d routes %q", got.Step, h.router.weights("fraud"))
					}
				}
			})
		}
	}
}

func mustAct(h *harness, action string, full bool) {
	h.t.Helper()
	if _, err := h.act(action, full); err != nil {
		h.t.Fatalf("%s: %v", action, err)
	}
}

func TestStickyKeyFromTheSpec(t *testing.T) {
	h := newHarness(t)
	h.deploy(strings.Replace(canarySpec, "  strategy: canary\n", "  strategy: canary\n  sticky: param:customer\n", 1))
	h.router.mu.Lock()
	p := h.router.policies["fraud"]
	h.router.mu.Unlock()
	if p.Sticky != "param:customer" || !strings.HasPrefix(p.Salt, "fraud/rollout-") {
		t.Fatalf("policy sticky %q salt %q", p.Sticky, p.Salt)
	}
}

func TestSecondLiveRolloutRefused(t *testing.T) {
	h := newHarness(t)
	first := h.deploy(canarySpec)
	_, err := h.ctrl.Deploy(h.ctx, []byte(strings.Replace(canarySpec, "2.0.0", "3.0.0", 1)), "carol")
	if !errors.Is(err, slipway.ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("#%d", first.ID)) {
		t.Fatalf("second deploy: %v", err)
	}
	if w := h.router.weights("fraud"); w != "2.0.0=500,1.0.0=9500" {
		t.Fatalf("routes changed to %q", w)
	}
}

func TestDeployRefusals(t *testing.T) {
	h := newHarness(t)
	for name, tc := range map[string]struct{ spec, want string }{
		"unknown version": {strings.Replace(canarySpec, "2.0.0", "9.9.9", 1), `line 4: deployment.version: fraud: no version or alias "9.9.9"`},
		"unknown model":   {strings.Replace(canarySpec, "model: fraud", "model: nope", 1), "line 3: deployment.model: model nope not found"},
		"bad weight":      {strings.Replace(canarySpec, "weight: 5", "weight: 500", 1), "line 8: deployment.stages[0].weight: 500 is above the maximum 100"},
		"unknown metric": {strings.Replace(canarySpec, "name: error-rate", "name: eror-rate", 1),
			`line 13: deployment.stages[0].promotion.analysis.metrics[0].name: unknown metric "eror-rate"; did you mean error-rate?`},
		"missing baseline": {strings.Replace(canarySpec, "  version: 2.0.0", "  version: 2.0.0\n  baseline: staging", 1),
			`line 5: deployment.baseline: fraud: no version or alias "staging"`},
		"decreasing weights": {strings.Replace(canarySpec, "weight: 50", "weight: 2", 1),
			"line 16: deployment.stages[1].weight: 2 is not above the previous stage's 5 (line 7); weights must increase"},
		"negative duration": {strings.Replace(canarySpec, "duration: 10m", "duration: -10m", 1), "line 9: deployment.stages[0].duration: -10m is negative"},
		"duplicate stages": {strings.Replace(canarySpec, "name: half", "name: canary", 1),
			`line 15: deployment.stages[1].name: "canary" is used twice (also deployment.stages[0].name, line 7)`},
		"same version": {strings.Replace(canarySpec, "version: 2.0.0", "version: 1.0.0", 1),
			"deployment.baseline: production is version 1.0.0, the candidate itself; nothing to compare with"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.ctrl.Deploy(h.ctx, []byte(tc.spec), "alice")
			if !errors.Is(err, slipway.ErrInvalid) && !errors.Is(err, slipway.ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
			if rs, _ := h.ctrl.List(h.ctx, store.RolloutFilter{}); len(rs) != 0 {
				t.Fatalf("a refused deploy stored %d rollouts", len(rs))
			}
		})
	}
	h.router.loadErr = errors.New("onnxruntime library missing")
	if _, err := h.ctrl.Deploy(h.ctx, []byte(canarySpec), "alice"); err == nil || !strings.Contains(err.Error(), "onnxruntime library missing") {
		t.Fatalf("deploy of a version that cannot load: %v", err)
	}
}

// TestRestartResumes reopens the store and the controller mid-stage, as
// after a crash: the rollout resumes at its step with the remaining time,
// the downtime not counted.
func TestRestartResumes(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.advance(4 * time.Minute)
	h.router.policies = map[string]traffic.Policy{} // a fresh process has no routes yet
	h.clock.Lock()
	h.now = h.now.Add(30 * time.Minute) // down for half an hour
	h.clock.Unlock()
	h.open()
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=500,1.0.0=9500")
	if st := h.status(); st.Elapsed != 4*time.Minute+time.Second*0 {
		t.Fatalf("elapsed after restart %s, want 4m (downtime not counted)", st.Elapsed)
	}
	h.advance(6 * time.Minute)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
}

func TestBlueGreen(t *testing.T) {
	h := newHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: blue-green
  blueGreen:
    preview: {duration: 5m}
    postPromotion: {duration: 10m}
`)
	st := h.status()
	if st.Weight != 0 {
		t.Fatalf("preview weight %d", st.Weight)
	}
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=0,1.0.0=10000")
	h.router.mu.Lock()
	seg := h.router.policies["fraud"].Segments
	h.router.mu.Unlock()
	if len(seg) != 1 || seg[0].Version != "2.0.0" || seg[0].Match[0].Header != PreviewHeader {
		t.Fatalf("preview segment %+v", seg)
	}
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=10000,1.0.0=0") // baseline kept warm at 0
	h.advance(10 * time.Minute)
	h.expect(slipway.RolloutCompleted, 1, "")
	if p := h.production(); p != "2.0.0" {
		t.Fatalf("production %s", p)
	}
	// Undo goes straight back: no steps, no analysis.
	calls := h.judge.calls
	mustAct(h, ActionUndo, false)
	h.expect(slipway.RolloutUndone, 1, "")
	if p := h.production(); p != "1.0.0" || h.judge.calls != calls {
		t.Fatalf("after undo production %s, analyses %d → %d", p, calls, h.judge.calls)
	}
}

func TestShadowThenCanary(t *testing.T) {
	h := newHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: shadow
  shadow:
    mirror: 50
    duration: 5m
    then: canary
  stages:
    - {name: canary, weight: 10, duration: 5m}
`)
	h.expect(slipway.RolloutProgressing, 0, "1.0.0=10000,mirror:2.0.0=5000")
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=1000,1.0.0=9000")
	h.advance(5 * time.Minute)
	h.advance(time.Second)
	h.expect(slipway.RolloutCompleted, 2, "")
}

func TestShadowOnlyDoesNotPromote(t *testing.T) {
	h := newHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: shadow
  shadow: {duration: 5m}
`)
	h.advance(5 * time.Minute)
	h.expect(slipway.RolloutCompleted, 0, "")
	if p := h.production(); p != "1.0.0" {
		t.Fatalf("a shadow moved production to %s", p)
	}
	if _, err := h.act(ActionUndo, false); !errors.Is(err, slipway.ErrConflict) {
		t.Fatalf("undo of a shadow: %v", err)
	}
}

func TestLinear(t *testing.T) {
	h := newHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: linear
  linear: {step: 25%, every: 1m}
`)
	for i, w := range []int{2500, 5000, 7500, 10000} {
		h.expect(slipway.RolloutProgressing, i, fmt.Sprintf("2.0.0=%d,1.0.0=%d", w, 10000-w))
		h.advance(time.Minute)
	}
	h.expect(slipway.RolloutCompleted, 3, "")
}

// TestRoutesFailThenHeal: a route that cannot be applied leaves the stored
// state as it is, and the tick applies it once the gateway takes it.
func TestRoutesFailThenHeal(t *testing.T) {
	h := newHarness(t)
	h.deploy(canarySpec)
	h.router.setErr = errors.New("gateway busy")
	h.advance(10 * time.Minute)
	st := h.status()
	if st.Rollout.Step != 1 {
		t.Fatalf("step %d", st.Rollout.Step)
	}
	if w := h.router.weights("fraud"); w != "2.0.0=500,1.0.0=9500" {
		t.Fatalf("routes %q while the gateway refuses", w)
	}
	h.router.setErr = nil
	h.advance(time.Second)
	h.expect(slipway.RolloutProgressing, 1, "2.0.0=5000,1.0.0=5000")
}
