package rollout

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// The experiment tests run the controller with the real judge over real
// telemetry, fed with requests and conversions whose true rates the test
// sets, on the harness's fake clock.

type experimentHarness struct {
	*harness
	rec *telemetry.Recorder
	rng *rand.Rand
	ids int
}

func newExperimentHarness(t *testing.T) *experimentHarness {
	h := newHarness(t)
	rec := telemetry.New(telemetry.Config{Now: h.clockNow})
	h.ctrl = New(Config{Store: h.store, Registry: h.reg, Router: h.router, Judge: &analysis.Judge{Source: rec}, Now: h.clockNow})
	if err := h.ctrl.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	return &experimentHarness{harness: h, rec: rec, rng: rand.New(rand.NewPCG(7, 11))}
}

// arm is one version's true behaviour.
type arm struct {
	version    string
	segment    string  // the measured route segment that took the requests
	n          int     // requests a tick
	conversion float64 // chance a request converts
	errors     float64 // chance a request fails
}

// serve records one tick of traffic and its conversions.
func (h *experimentHarness) serve(arms ...arm) {
	score := []runtime.Tensor{{Name: "score", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{0.5}}}
	for _, a := range arms {
		for range a.n {
			h.ids++
			id := fmt.Sprintf("r%d", h.ids)
			o := telemetry.Observation{Model: "fraud", Version: a.version, RequestID: id, Latency: time.Millisecond, Outputs: score, Segment: a.segment}
			if h.rng.Float64() < a.errors {
				o.Outcome, o.RequestID, o.Outputs = telemetry.ServerError, "", nil
				h.rec.Record(o)
				continue
			}
			h.rec.Record(o)
			v := 0.0
			if h.rng.Float64() < a.conversion {
				v = 1
			}
			if _, err := h.rec.Feedback("fraud", telemetry.Feedback{ID: id, Values: map[string]float64{"conversion": v}}); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// share is version's weight in the route segment named segment ("" for
// the default split), as a fraction; a segment must be measured.
func (h *experimentHarness) share(segment, version string) float64 {
	h.router.mu.Lock()
	defer h.router.mu.Unlock()
	pol := h.router.policies["fraud"]
	splits := pol.Splits
	for _, seg := range pol.Segments {
		if seg.Name == segment {
			if !seg.Measure {
				h.t.Fatalf("segment %s is not measured", segment)
			}
			splits = seg.Splits
		}
	}
	for _, s := range splits {
		if s.Version == version {
			return float64(s.Weight) / traffic.Total
		}
	}
	return 0
}

// run serves arms and ticks every 10 s until the rollout ends or ticks run
// out, and returns the ended rollout.
func (h *experimentHarness) run(ticks int, arms ...arm) slipway.Rollout {
	h.t.Helper()
	for range ticks {
		h.serve(arms...)
		h.advance(10 * time.Second)
		if st := h.status(); !st.Rollout.Status.Live() {
			return st.Rollout
		}
	}
	return h.status().Rollout
}

const abTest = `
deployment:
  model: fraud
  version: 2.0.0
  strategy: ab-test
  experiment:
    metric: values.conversion
    minSamples: 500
    duration: 1h
    guardrails:
      - {name: error-rate, relative: 1.5}
`

func TestABTestPromotesTheWinner(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(abTest)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=5000,1.0.0=5000")
	r := h.run(300, arm{version: "1.0.0", n: 100, conversion: 0.05}, arm{version: "2.0.0", n: 100, conversion: 0.12})
	if r.Status != slipway.RolloutCompleted || r.Candidate != "2.0.0" || h.production() != "2.0.0" {
		t.Fatalf("rollout %s (%s), candidate %s, production %s; want completed with 2.0.0 in production", r.Status, r.Reason, r.Candidate, h.production())
	}
	for _, want := range []string{"2.0.0 wins: converts", "significantly better than the control", "2.0.0 is now production"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q lacks %q", r.Reason, want)
		}
	}
	evs, err := h.ctrl.Events(h.ctx, "fraud", 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Kind != "completed" || last.Verdict == nil || len(last.Verdict.Metrics) < 2 || last.Verdict.Metrics[1].PValue == nil {
		t.Fatalf("last event %+v: want completed with each arm's result and p-value", last)
	}
}

func TestABTestGuardrailRestoresTheControl(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(abTest)
	r := h.run(100, arm{version: "1.0.0", n: 100, conversion: 0.05, errors: 0.005}, arm{version: "2.0.0", n: 100, conversion: 0.2, errors: 0.1})
	if r.Status != slipway.RolloutRolledBack || !strings.Contains(r.Reason, "guardrail") || !strings.Contains(r.Reason, "error-rate") {
		t.Fatalf("rollout %s: %s; want rolled back by the error-rate guardrail", r.Status, r.Reason)
	}
	if h.production() != "1.0.0" || h.router.weights("fraud") != "" {
		t.Fatalf("production %s, routes %q: want 1.0.0 serving everyone", h.production(), h.router.weights("fraud"))
	}
}

func TestABTestBrokenSplitPauses(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(abTest)
	r := h.run(60, arm{version: "1.0.0", n: 120, conversion: 0.05}, arm{version: "2.0.0", n: 80, conversion: 0.05})
	if r.Status != slipway.RolloutPaused || !strings.Contains(r.Reason, "split is broken") {
		t.Fatalf("rollout %s: %s; want paused for a sample-ratio mismatch", r.Status, r.Reason)
	}
}

// TestABTestThreeArms: the winner is an arm other than the spec's
// version, and becomes production.
func TestABTestThreeArms(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 3.0.0
  strategy: ab-test
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 34}, {version: 3.0.0, share: 33}]
    minSamples: 500
    duration: 2h
`)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=3400,3.0.0=3300,1.0.0=3300")
	r := h.run(400, arm{version: "1.0.0", n: 66, conversion: 0.05}, arm{version: "2.0.0", n: 68, conversion: 0.15}, arm{version: "3.0.0", n: 66, conversion: 0.05})
	if r.Status != slipway.RolloutCompleted || r.Candidate != "2.0.0" || h.production() != "2.0.0" {
		t.Fatalf("rollout %s (%s), candidate %s, production %s; want 2.0.0 promoted", r.Status, r.Reason, r.Candidate, h.production())
	}
}

// TestABTestUsersKeepTheirArm routes a thousand users through the
// experiment's table at its start and again after the production alias
// moved under it: each keeps the arm it had.
func TestABTestUsersKeepTheirArm(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(abTest)
	arms := func() map[string]string {
		h.router.mu.Lock()
		pol := h.router.policies["fraud"]
		h.router.mu.Unlock()
		tab, err := traffic.Compile(pol)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for u := range 1000 {
			user := fmt.Sprintf("user-%d", u)
			d := tab.Route(traffic.Attrs{Header: map[string][]string{"X-User-Id": {user}}}, uint64(u))
			out[user] = d.Version
		}
		return out
	}
	before := arms()
	h.serve(arm{version: "1.0.0", n: 50, conversion: 0.05}, arm{version: "2.0.0", n: 50, conversion: 0.05})
	h.advance(10 * time.Second)
	if _, err := h.reg.MoveAlias(h.ctx, "fraud", slipway.AliasProduction, "3.0.0", "someone", "moved by hand"); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	after := arms()
	moved, on2 := 0, 0
	for u, v := range before {
		if after[u] != v {
			moved++
		}
		if v == "2.0.0" {
			on2++
		}
	}
	if moved != 0 || on2 < 400 || on2 > 600 {
		t.Fatalf("%d of 1000 users changed arm; %d were on 2.0.0 (want about 500)", moved, on2)
	}
}

// bandit is a three-arm bandit over 1.0.0 (the control), 2.0.0 and 3.0.0
// that runs for duration.
func bandit(duration string) string {
	return `
deployment:
  model: fraud
  version: 3.0.0
  strategy: bandit
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 33}, {version: 3.0.0, share: 33}]
    floor: 5
    duration: ` + duration + "\n"
}

// banditRates are the arms' true conversion rates: 3.0.0 is best.
var banditRates = map[string]float64{"1.0.0": 0.03, "2.0.0": 0.04, "3.0.0": 0.15}

// serveByShare serves one tick of 300 requests, each arm getting them in
// proportion to its current weight in the default split.
func (h *experimentHarness) serveByShare(rates map[string]float64) {
	var tick []arm
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		tick = append(tick, arm{version: v, n: int(300 * h.share("", v)), conversion: rates[v]})
	}
	h.serve(tick...)
}

func TestBanditFollowsTheEvidence(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(bandit("30m"))
	share := func(version string) float64 { return h.share("", version) }
	top := 0.0
	for range 200 {
		top = max(top, share("3.0.0"))
		h.serveByShare(banditRates)
		h.advance(10 * time.Second)
		if !h.status().Rollout.Status.Live() {
			break
		}
		if s := share("3.0.0"); s > 0.85 {
			for _, v := range []string{"1.0.0", "2.0.0"} {
				if share(v) < 0.05-1e-4 {
					t.Fatalf("%s has %.3f of traffic, below the 5%% floor", v, share(v))
				}
			}
		}
	}
	if top < 0.8 {
		t.Errorf("the best arm's share peaked at %.2f; want the bandit to give it most of the traffic", top)
	}
	r := h.status().Rollout
	if r.Status != slipway.RolloutCompleted || r.Candidate != "3.0.0" || h.production() != "3.0.0" {
		t.Fatalf("bandit %s (%s), candidate %s, production %s; want 3.0.0 promoted", r.Status, r.Reason, r.Candidate, h.production())
	}
	if k := h.kinds(); !strings.Contains(k, "decision") {
		t.Errorf("events %q: want the reallocations recorded", k)
	}
	evs, _ := h.ctrl.Events(h.ctx, "fraud", 0)
	var why string
	for _, e := range evs {
		if strings.HasPrefix(e.Reason, "bandit reallocated traffic") {
			why = e.Reason
		}
	}
	if !strings.Contains(why, "arm 3.0.0") || !strings.Contains(why, "P(best)") {
		t.Errorf("reallocation reason %q: want each arm's share and why", why)
	}
}

// A restarted controller goes on with the bandit's allocation as it was,
// read back from its route, instead of the spec's shares; and a route
// that is not the bandit's is not taken for one.
func TestBanditResumesAfterRestart(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(bandit("1h"))
	for range 60 {
		if h.share("", "3.0.0") > 0.6 {
			break
		}
		h.serveByShare(banditRates)
		h.advance(10 * time.Second)
	}
	before := h.share("", "3.0.0")
	if before <= 0.6 || !h.status().Rollout.Status.Live() {
		t.Fatalf("the best arm reached %.2f of traffic (rollout %s); want over 0.6 with the bandit still running", before, h.status().Rollout.Status)
	}

	restart := func() {
		h.ctrl = New(Config{Store: h.store, Registry: h.reg, Router: h.router, Judge: &analysis.Judge{Source: h.rec}, Now: h.clockNow})
		if err := h.ctrl.Start(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	restart()
	if after := h.share("", "3.0.0"); math.Abs(after-before) > 1e-4 {
		t.Errorf("after a restart 3.0.0 has %.4f of traffic, want the %.4f it had (the spec says 0.33)", after, before)
	}

	// A route from elsewhere (another salt) says nothing of the bandit.
	h.router.mu.Lock()
	pol := h.router.policies["fraud"]
	pol.Salt = "someone else"
	h.router.policies["fraud"] = pol
	h.router.mu.Unlock()
	restart()
	if after := h.share("", "3.0.0"); math.Abs(after-0.33) > 0.01 {
		t.Errorf("after a restart over a foreign route 3.0.0 has %.4f of traffic, want the spec's 0.33", after)
	}
}

func TestChampionChallenger(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: champion-challenger
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 20}]
    minSamples: 300
    duration: 1h
`)
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=2000,1.0.0=8000")
	r := h.run(200, arm{version: "1.0.0", n: 160, conversion: 0.04}, arm{version: "2.0.0", n: 40, conversion: 0.15})
	if r.Baseline != "2.0.0" || h.production() != "2.0.0" || !strings.Contains(h.kinds(), "champion-changed") {
		t.Fatalf("rollout %s (%s): champion %s, production %s, events %s; want 2.0.0 crowned", r.Status, r.Reason, r.Baseline, h.production(), h.kinds())
	}
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=10000")

	// A new challenger joins the running rollout, loses, and is retired.
	if _, err := h.ctrl.Challenge(h.ctx, "fraud", "3.0.0", 25, "carol", "try the new one"); err != nil {
		t.Fatal(err)
	}
	h.expect(slipway.RolloutProgressing, 0, "3.0.0=2500,2.0.0=7500")
	if _, err := h.ctrl.Challenge(h.ctx, "fraud", "3.0.0", 25, "carol", ""); err == nil || !strings.Contains(err.Error(), "a challenger already") {
		t.Fatalf("second challenge of 3.0.0: %v", err)
	}
	for range 200 {
		h.serve(arm{version: "2.0.0", n: 150, conversion: 0.15}, arm{version: "3.0.0", n: 50, conversion: 0.02})
		h.advance(10 * time.Second)
		if strings.Contains(h.kinds(), "challenger-retired") {
			break
		}
	}
	if k := h.kinds(); !strings.Contains(k, "challenger-added challenger-retired") {
		t.Fatalf("events %s: want 3.0.0 added then retired", k)
	}
	h.expect(slipway.RolloutProgressing, 0, "2.0.0=10000")
	if h.production() != "2.0.0" {
		t.Fatalf("production %s after a losing challenger, want 2.0.0", h.production())
	}
	st := h.status()
	if !strings.Contains(st.Rollout.Reason, "3.0.0 retired: worse than champion 2.0.0") {
		t.Errorf("reason %q", st.Rollout.Reason)
	}
}

// TestABTestAudience: the control also answers everyone outside the
// audience, who must count neither in the comparison nor in the split
// check.
func TestABTestAudience(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(abTest + `    audience:
      - {header: X-Country, exact: de}
`)
	h.router.mu.Lock()
	pol := h.router.policies["fraud"]
	h.router.mu.Unlock()
	if len(pol.Segments) != 1 || !pol.Segments[0].Measure || pol.Splits[0].Version != "1.0.0" {
		t.Fatalf("policy %+v: want everyone on 1.0.0 but a measured audience segment", pol)
	}
	r := h.run(300,
		arm{version: "1.0.0", n: 400, conversion: 0.30}, // outside the audience
		arm{version: "1.0.0", segment: "experiment", n: 100, conversion: 0.05},
		arm{version: "2.0.0", segment: "experiment", n: 100, conversion: 0.12})
	if r.Status != slipway.RolloutCompleted || h.production() != "2.0.0" {
		t.Fatalf("rollout %s (%s); want 2.0.0 to win within the audience", r.Status, r.Reason)
	}
	var control float64
	if _, after, ok := strings.Cut(r.Reason, " vs "); !ok {
		t.Fatalf("reason %q names no control rate", r.Reason)
	} else if _, err := fmt.Sscanf(after, "%g%%", &control); err != nil || control > 10 {
		t.Errorf("reason %q: the control converts %v%%; want the audience's rate (about 5%%), not everyone's (about 25%%)", r.Reason, control)
	}
}

// TestContextualBandit: mobile users convert best on 2.0.0, desktop users
// on 3.0.0; each context's allocation follows its own evidence, so the two
// audiences end up on different versions.
func TestContextualBandit(t *testing.T) {
	h := newExperimentHarness(t)
	h.deploy(`
deployment:
  model: fraud
  version: 3.0.0
  strategy: bandit
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 33}, {version: 3.0.0, share: 33}]
    duration: 2h
    contexts:
      - {name: mobile, match: [{header: X-Device, exact: mobile}]}
      - {name: desktop, match: [{header: X-Device, exact: desktop}]}
`)
	share := h.share
	rates := map[string]map[string]float64{
		"mobile":  {"1.0.0": 0.03, "2.0.0": 0.15, "3.0.0": 0.03},
		"desktop": {"1.0.0": 0.03, "2.0.0": 0.03, "3.0.0": 0.15},
	}
	for range 120 {
		var tick []arm
		for _, cx := range []string{"mobile", "desktop"} {
			for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
				tick = append(tick, arm{version: v, segment: cx, n: int(200 * share(cx, v)), conversion: rates[cx][v]})
			}
		}
		h.serve(tick...)
		h.advance(10 * time.Second)
	}
	if m, d := share("mobile", "2.0.0"), share("desktop", "3.0.0"); m < 0.8 || d < 0.8 {
		t.Fatalf("after 20 minutes mobile gives 2.0.0 %.2f and desktop gives 3.0.0 %.2f; want each context on its own best version", m, d)
	}
	evs, _ := h.ctrl.Events(h.ctx, "fraud", 0)
	var sawMobile bool
	for _, e := range evs {
		sawMobile = sawMobile || strings.HasPrefix(e.Reason, "bandit reallocated traffic in context mobile")
	}
	if !sawMobile {
		t.Errorf("no reallocation recorded for context mobile")
	}
}
