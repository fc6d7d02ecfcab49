package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/notify"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// ControllerActor is the actor of every transition the controller makes on
// its own.
const ControllerActor = "controller"

// DefaultTick is how often the controller advances every rollout.
const DefaultTick = time.Second

// Registry is what the controller needs of the model registry.
type Registry interface {
	Resolve(ctx context.Context, ref slipway.Ref) (slipway.Version, string, error)
	Aliases(ctx context.Context, model string) ([]slipway.Alias, error)
	MoveAlias(ctx context.Context, model, alias, version, actor, reason string) (slipway.AliasMove, error)
}

// Router applies routing policies to the data plane (the gateway).
type Router interface {
	// Load makes a version ready to serve, so a version that cannot load
	// is refused before a rollout starts.
	Load(ctx context.Context, model, version string) error
	SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error)
	ClearRoute(ctx context.Context, model, actor, reason string) error
}

// Judge turns live telemetry into verdicts; analysis.Judge is the
// built-in one, and a statistical engine can take its place.
type Judge interface {
	// Judge judges metrics (the step's analysis) and triggers over the
	// same evidence: one look at telemetry per rollout per tick.
	Judge(q analysis.Query, metrics []spec.Metric, triggers []spec.Trigger) (slipway.Verdict, []analysis.Firing)
}

// Notifier delivers events to the spec's webhooks without blocking.
type Notifier interface {
	Send(targets []notify.Target, m notify.Message)
}

// Config assembles a controller.
type Config struct {
	Store    store.Rollouts
	Registry Registry
	Router   Router
	Judge    Judge
	// Notifier is optional: nil sends no notifications.
	Notifier Notifier
	// Tick is how often every rollout is advanced; zero means DefaultTick.
	Tick time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Crash, when set, is called after each transition is persisted and
	// before its effect is applied, with the event kind: fault injection
	// for the crash tests, which kill the process there.
	Crash func(kind string)
}

// Controller runs rollouts. Every change of a rollout, by the tick or by a
// person, goes through it under one lock, so decisions never interleave.
type Controller struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// live holds the live rollouts and the ended ones whose effects are
	// not applied yet, by ID.
	live map[int64]*entry
}

// entry is a rollout the controller drives, with its latest judgements.
type entry struct {
	*planned
	verdict  *slipway.Verdict
	triggers []slipway.MetricResult
	// waitingNoted records that the step's "waiting for data" decision is
	// in the log, so that it is written once per step, not every tick.
	waitingNoted bool
	// unapplied records that applying the stored state failed; the next
	// tick tries again before anything else.
	unapplied bool
	// shares is a bandit's current allocation over its arms (the control
	// first) by context ("" for everyone outside the spec's contexts),
	// empty until its first tick. After a restart it is read back from
	// the route the bandit last set (see resumeShares), so the bandit
	// goes on from where it was rather than from the spec's shares.
	// noted is the allocation last written to the log.
	shares, noted map[string][]float64
}

// New returns a controller; call Start before serving traffic.
func New(cfg Config) *Controller {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Controller{cfg: cfg, log: log, live: map[int64]*entry{}}
}

func (c *Controller) now() time.Time { return c.cfg.Now().UTC() }

// Start loads every live rollout, moves their step clocks past the time
// the controller was down, and applies each one's routing policy (and
// finishes the effects of any that ended just before a crash). Call it
// before the server takes traffic, so that no request is routed by a
// policy the stored state no longer says.
func (c *Controller) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	prev, err := c.cfg.Store.Heartbeat(ctx, now)
	if err != nil {
		return fmt.Errorf("rollout controller: %w", err)
	}
	var down time.Duration
	if !prev.IsZero() && now.After(prev) {
		down = now.Sub(prev)
	}
	rs, err := c.cfg.Store.ListRollouts(ctx, store.RolloutFilter{})
	if err != nil {
		return fmt.Errorf("rollout controller: %w", err)
	}
	var errs []error
	for _, r := range rs {
		if !r.Status.Live() && r.Applied {
			continue
		}
		p, err := parsePlanned(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e := &entry{planned: p}
		if r.Status.Live() {
			e.shares = c.resumeShares(ctx, p)
		}
		if r.Status.Live() && r.PausedAt.IsZero() && down > 0 {
			// The step served nothing while the controller was down.
			r.StepStarted = r.StepStarted.Add(down)
			if e.r, err = c.cfg.Store.UpdateRollout(ctx, r); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		c.live[r.ID] = e
		if err := c.apply(ctx, e, ControllerActor, "resumed after restart: "+e.r.Reason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run advances every rollout each tick until ctx ends, and keeps the
// heartbeat that measures downtime.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Tick(ctx)
		}
	}
}

// Tick advances every live rollout once.
func (c *Controller) Tick(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, err := c.cfg.Store.Heartbeat(ctx, now); err != nil {
		c.log.Error("rollout controller heartbeat", "error", err)
	}
	ids := make([]int64, 0, len(c.live))
	for id := range c.live {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		e := c.live[id]
		if err := c.advance(ctx, e, now); err != nil {
			c.log.Error("rollout", "id", id, "model", e.r.Model, "error", err)
		}
	}
}

// advance takes one rollout one tick forward.
func (c *Controller) advance(ctx context.Context, e *entry, now time.Time) error {
	if !e.r.Status.Live() || e.unapplied {
		// Effects left from an earlier failure come first.
		if err := c.apply(ctx, e, ControllerActor, e.r.Reason); err != nil || !e.r.Status.Live() {
			return err
		}
	}
	st := e.step()
	if st.Kind == spec.StepExperiment || st.Kind == spec.StepBandit {
		return c.advanceExperiment(ctx, e, now)
	}
	elapsed := e.elapsed(now)
	q := analysis.Query{
		Model: e.r.Model, Candidate: e.r.Candidate, Baseline: e.r.Baseline,
		Window: max(elapsed, time.Second), Shadow: st.Kind == spec.StepShadow,
	}
	var metrics []spec.Metric
	if e.r.Status == slipway.RolloutProgressing {
		metrics = st.Analysis.Metrics
	}
	v, firings := c.cfg.Judge.Judge(q, metrics, e.plan.Triggers)
	if len(firings) > 0 {
		e.triggers = e.triggers[:0]
		for _, f := range firings {
			e.triggers = append(e.triggers, f.Result)
		}
		for _, f := range firings {
			if !f.Fired {
				continue
			}
			if done, err := c.fire(ctx, e, f, q.Window); done || err != nil {
				return err
			}
		}
	}
	if e.r.Status != slipway.RolloutProgressing {
		return nil
	}
	e.verdict = &v
	switch {
	case elapsed < st.Duration:
		// The analysis gates the step's end, over all of the step's
		// traffic; early verdicts on a few samples are noise. What must
		// act at once is a rollback trigger.
		return nil
	case v.Result == slipway.Fail:
		return c.transition(ctx, e, change{
			kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor,
			reason:  fmt.Sprintf("stage %s failed its analysis: %s", st.Name, v.Reason),
			verdict: &v,
		})
	case v.Result == slipway.Pass && st.Approval:
		return c.transition(ctx, e, change{
			kind: "approval-needed", status: slipway.RolloutAwaitingApproval, actor: ControllerActor,
			reason:  fmt.Sprintf("stage %s passed (%s); waiting for a person to promote", st.Name, v.Reason),
			verdict: &v,
		})
	case v.Result == slipway.Pass:
		return c.next(ctx, e, ControllerActor, passed(st, e.r.Candidate, v), &v)
	}
	// Inconclusive with the step's time served: wait for data, up to the
	// step's duration again, then do what the spec says.
	if elapsed < 2*st.Duration {
		if !e.waitingNoted {
			e.waitingNoted = true
			return c.note(ctx, e, fmt.Sprintf("stage %s served %s but its analysis is inconclusive (%s); waiting for data", st.Name, st.Duration, v.Reason), &v)
		}
		return nil
	}
	reason := fmt.Sprintf("stage %s still inconclusive after %s (%s)", st.Name, elapsed.Round(time.Second), v.Reason)
	if st.Analysis.Inconclusive == spec.ActionRollback {
		return c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor, reason: reason, verdict: &v})
	}
	return c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: ControllerActor, reason: reason, verdict: &v})
}

// passed says why a step that passed may end.
func passed(st spec.Step, candidate string, v slipway.Verdict) string {
	switch {
	case len(v.Metrics) > 0:
		return fmt.Sprintf("stage %s passed: %s", st.Name, v.Reason)
	case st.Duration == 0 && st.Weight == traffic.Total:
		return fmt.Sprintf("all traffic on %s", candidate)
	}
	return fmt.Sprintf("stage %s served its %s", st.Name, st.Duration)
}

// fire acts on a rollback trigger that fired; done reports that the
// rollout changed status, so the tick should stop there.
func (c *Controller) fire(ctx context.Context, e *entry, f analysis.Firing, window time.Duration) (done bool, err error) {
	res := f.Result
	verdict := &slipway.Verdict{Result: slipway.Fail, Reason: res.Reason, Metrics: []slipway.MetricResult{res}, Window: window}
	reason := fmt.Sprintf("trigger %s fired: %s", res.Rule, res.Reason)
	switch f.Trigger.Action {
	case spec.ActionPause:
		if e.r.Status == slipway.RolloutPaused {
			return false, nil
		}
		err = c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: ControllerActor,
			reason: reason, verdict: verdict, trigger: true, alert: f.Trigger.Notify})
	default:
		err = c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor,
			reason: reason, verdict: verdict, trigger: true, alert: f.Trigger.Notify})
	}
	return true, err
}

// next moves a rollout to its next step, or completes it after the last.
func (c *Controller) next(ctx context.Context, e *entry, actor, reason string, v *slipway.Verdict) error {
	if e.last() {
		return c.complete(ctx, e, actor, reason, v)
	}
	nxt := e.plan.Steps[e.r.Step+1]
	what := fmt.Sprintf("%s (%s)", nxt.Name, percent(nxt.Weight))
	if nxt.Kind == spec.StepShadow {
		what = fmt.Sprintf("%s (mirror %s)", nxt.Name, percent(nxt.Mirror))
	}
	return c.transition(ctx, e, change{
		kind: "stage-advanced", status: slipway.RolloutProgressing, step: e.r.Step + 1, newStep: true,
		actor: actor, reason: reason + "; advancing to " + what, verdict: v,
	})
}

func (c *Controller) complete(ctx context.Context, e *entry, actor, reason string, v *slipway.Verdict) error {
	// A completed rollout stands at its last step, however it got there.
	ch := change{kind: "completed", status: slipway.RolloutCompleted, actor: actor, verdict: v,
		step: len(e.plan.Steps) - 1, newStep: true}
	if e.plan.Promotes {
		prod, err := c.production(ctx, e.r.Model)
		if err != nil {
			return err
		}
		ch.previous = prod
		ch.reason = reason + fmt.Sprintf("; %s is now production", e.r.Candidate)
	} else {
		ch.reason = reason + fmt.Sprintf("; the shadow is over and %s stays a candidate (the spec has no then:)", e.r.Candidate)
	}
	return c.transition(ctx, e, ch)
}

// production is the version the production alias points at, "" when the
// model has none. It reads the aliases in one query: it sits on the path
// of every rollback and undo.
func (c *Controller) production(ctx context.Context, model string) (string, error) {
	as, err := c.cfg.Registry.Aliases(ctx, model)
	if err != nil {
		return "", fmt.Errorf("read aliases of %s: %w", model, err)
	}
	for _, a := range as {
		if a.Name == slipway.AliasProduction {
			return a.Version, nil
		}
	}
	return "", nil
}

// change is one transition of a rollout.
type change struct {
	kind   string
	status slipway.RolloutStatus
	// step is the new step when newStep is set.
	step    int
	newStep bool
	actor   string
	reason  string
	verdict *slipway.Verdict
	// previous is recorded for undo when the rollout completes.
	previous string
	// trigger logs a trigger-fired event before the change's own;
	// alert sends it to the notifications too.
	trigger, alert bool
	// restart resets the rollout to its first step (retry).
	restart bool
	// candidate, when set, becomes the rollout's candidate: the winner of
	// an experiment, which need not be the version its spec named.
	candidate string
	// baseline and spec, when set, replace the rollout's: a new champion,
	// and the challengers a champion-challenger runs now.
	baseline, spec string
}

// transition persists a change with its event, then applies its effect.
// The store write comes first: if it fails nothing happens; if the process
// dies after it, Start applies the effect.
func (c *Controller) transition(ctx context.Context, e *entry, ch change) error {
	now := c.now()
	r := e.r
	prevStatus := r.Status
	switch {
	case ch.restart:
		r.Step, r.StepStarted, r.PausedAt = 0, now, time.Time{}
	case ch.newStep:
		r.Step, r.StepStarted, r.PausedAt = ch.step, now, time.Time{}
	case ch.status == slipway.RolloutPaused && prevStatus != slipway.RolloutPaused:
		r.PausedAt = now
	case prevStatus == slipway.RolloutPaused && ch.status != slipway.RolloutPaused:
		// The clock restarts where it stopped.
		r.StepStarted = r.StepStarted.Add(now.Sub(r.PausedAt))
		r.PausedAt = time.Time{}
	}
	if ch.previous != "" {
		r.Previous = ch.previous
	}
	if ch.candidate != "" {
		r.Candidate = ch.candidate
	}
	if ch.baseline != "" {
		r.Baseline = ch.baseline
	}
	if ch.spec != "" {
		r.Spec = ch.spec
	}
	r.Status, r.Reason = ch.status, ch.reason
	r.Applied = false
	after := &planned{r: r, spec: e.spec, plan: e.plan}
	if ch.spec != "" {
		p, err := parsePlanned(r)
		if err != nil {
			return err
		}
		after = p
	}
	var events []slipway.RolloutEvent
	if ch.trigger {
		events = append(events, after.event(c.now(), "trigger-fired", ch.actor, ch.reason, ch.verdict))
	}
	events = append(events, after.event(c.now(), ch.kind, ch.actor, ch.reason, ch.verdict))
	stored, err := c.cfg.Store.UpdateRollout(ctx, r, events...)
	if err != nil {
		return fmt.Errorf("rollout %d: %s: %w", r.ID, ch.kind, err)
	}
	if c.cfg.Crash != nil {
		c.cfg.Crash(ch.kind)
	}
	e.planned = &planned{r: stored, spec: after.spec, plan: after.plan}
	if ch.newStep || ch.restart {
		e.verdict, e.triggers, e.waitingNoted = nil, nil, false
	}
	c.live[stored.ID] = e
	c.notify(e, events, ch.alert)
	return c.apply(ctx, e, ch.actor, ch.reason)
}

// note records a decision that changes nothing, so that explain can show
// why the rollout is waiting.
func (c *Controller) note(ctx context.Context, e *entry, reason string, v *slipway.Verdict) error {
	ev := e.event(c.now(), "decision", ControllerActor, reason, v)
	stored, err := c.cfg.Store.UpdateRollout(ctx, e.r, ev)
	if err != nil {
		return fmt.Errorf("rollout %d: note: %w", e.r.ID, err)
	}
	e.planned = &planned{r: stored, spec: e.spec, plan: e.plan}
	return nil
}

// event describes p's state as an entry of its log.
func (p *planned) event(at time.Time, kind, actor, reason string, v *slipway.Verdict) slipway.RolloutEvent {
	weight, _ := p.weights()
	return slipway.RolloutEvent{
		Rollout: p.r.ID, At: at, Actor: actor, Kind: kind, Status: p.r.Status,
		Step: p.r.Step, StepName: p.step().Name, Weight: weight, Reason: reason, Verdict: v,
	}
}

// apply makes the data plane and the registry match the stored state: the
// derived routing policy and, once a rollout ended, the production alias.
// It is idempotent, so Start and the tick can call it again after a
// failure or a crash.
func (c *Controller) apply(ctx context.Context, e *entry, actor, reason string) error {
	err := c.applyState(ctx, e, actor, reason)
	e.unapplied = err != nil
	return err
}

func (c *Controller) applyState(ctx context.Context, e *entry, actor, reason string) error {
	r := e.r
	if r.Status == slipway.RolloutCompleted && e.plan.Promotes || r.Status == slipway.RolloutUndone {
		if err := c.applyRoute(ctx, e, actor, reason, ""); err != nil {
			return err
		}
		target := r.Candidate
		if r.Status == slipway.RolloutUndone {
			target = r.Previous
		}
		prod, err := c.production(ctx, r.Model)
		if err != nil {
			return err
		}
		if prod != target {
			if _, err := c.cfg.Registry.MoveAlias(ctx, r.Model, slipway.AliasProduction, target, actor, fmt.Sprintf("rollout #%d %s: %s", r.ID, r.Status, reason)); err != nil {
				return fmt.Errorf("rollout %d: move production to %s: %w", r.ID, target, err)
			}
		}
	}
	if r.Status.Live() {
		if err := c.applyRoute(ctx, e, actor, reason, ""); err != nil {
			return err
		}
		return c.crown(ctx, e, actor, reason)
	}
	prod, err := c.production(ctx, r.Model)
	if err != nil {
		return err
	}
	// The rollout ended: its own policy goes, unless the version it ended
	// on is not the production one.
	r.Applied = true
	done := &entry{planned: &planned{r: r, spec: e.spec, plan: e.plan}}
	if err := c.applyRoute(ctx, done, actor, reason, prod); err != nil {
		return err
	}
	stored, err := c.cfg.Store.UpdateRollout(ctx, r)
	if err != nil {
		return fmt.Errorf("rollout %d: record its effects as applied: %w", r.ID, err)
	}
	e.planned = &planned{r: stored, spec: e.spec, plan: e.plan}
	delete(c.live, r.ID)
	return nil
}

// applyRoute sets the policy derived from e's state, or clears the model's
// policy when e needs none.
func (c *Controller) applyRoute(ctx context.Context, e *entry, actor, reason, production string) error {
	r := e.r
	why := fmt.Sprintf("rollout #%d %s: %s", r.ID, r.Status, reason)
	pol := e.policy(production, e.shares)
	if pol == nil {
		if err := c.cfg.Router.ClearRoute(ctx, r.Model, actor, why); err != nil {
			return fmt.Errorf("rollout %d: release routes of %s: %w", r.ID, r.Model, err)
		}
		return nil
	}
	if _, err := c.cfg.Router.SetRoute(ctx, r.Model, *pol, actor, why); err != nil {
		return fmt.Errorf("rollout %d: route %s: %w", r.ID, r.Model, err)
	}
	return nil
}

func (c *Controller) notify(e *entry, events []slipway.RolloutEvent, alert bool) {
	if c.cfg.Notifier == nil || len(e.plan.Notifications) == 0 {
		return
	}
	targets := make([]notify.Target, 0, len(e.plan.Notifications))
	for _, n := range e.plan.Notifications {
		targets = append(targets, notify.Target{URL: n.Webhook, Slack: n.Slack, Events: n.Events})
	}
	for _, ev := range events {
		if ev.Kind == "trigger-fired" && !alert {
			continue
		}
		c.cfg.Notifier.Send(targets, notify.Message{Rollout: e.r, Event: ev})
	}
}
