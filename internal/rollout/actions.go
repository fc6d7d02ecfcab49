package rollout

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/gate"
	"github.com/slipway-ml/slipway/internal/notify"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
)

// DryRun parses and checks a spec against the registry and describes what
// deploying it would do, changing nothing.
func (c *Controller) DryRun(ctx context.Context, data []byte) (DryRun, error) {
	s, err := c.checked(ctx, data)
	if err != nil {
		return DryRun{}, err
	}
	text, err := s.YAML()
	if err != nil {
		return DryRun{}, err
	}
	p := s.Plan()
	var b bytes.Buffer
	if err := p.Render(&b); err != nil {
		return DryRun{}, err
	}
	return DryRun{Spec: string(text), Plan: b.String(), Steps: views(p), DurationSeconds: p.Duration.Seconds()}, nil
}

// checked parses a spec and checks its model and versions exist.
func (c *Controller) checked(ctx context.Context, data []byte) (*spec.Spec, error) {
	s, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx, c.cfg.Registry); err != nil {
		return nil, err
	}
	if _, err := gate.Parse(s.Deployment.Gates); err != nil {
		return nil, err
	}
	return s, nil
}

// Deploy starts a rollout of the spec's candidate. The candidate and the
// baseline are loaded first, so a version that cannot serve is refused
// before any traffic moves; a model with a live rollout is refused with the
// name of that rollout.
func (c *Controller) Deploy(ctx context.Context, data []byte, actor string) (slipway.Rollout, error) {
	return c.deploy(ctx, data, actor, "")
}

// deploy is Deploy; skipGates, when set, is why the spec's gates are not
// checked (see DeploySkippingGates).
func (c *Controller) deploy(ctx context.Context, data []byte, actor, skipGates string) (slipway.Rollout, error) {
	s, err := c.checked(ctx, data)
	if err != nil {
		return slipway.Rollout{}, err
	}
	if actor == "" {
		actor = "anonymous"
	}
	gateNote, err := c.checkGates(ctx, s, actor, skipGates)
	if err != nil {
		return slipway.Rollout{}, err
	}
	d := s.Deployment
	base, _, err := c.cfg.Registry.Resolve(ctx, slipway.Ref{Model: d.Model, Selector: d.Baseline})
	if err != nil {
		return slipway.Rollout{}, fmt.Errorf("deploy %s: baseline %s: %w", d.Model, d.Baseline, err)
	}
	if d.Strategy == spec.ChampionChallenger && base.Version == d.Baseline {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrInvalid,
			"deploy %s: a champion-challenger's baseline must be an alias (such as production) for the champion to move; %s is a version", d.Model, d.Baseline)
	}
	text, err := s.YAML()
	if err != nil {
		return slipway.Rollout{}, err
	}
	load := []string{d.Version, base.Version}
	if x := d.Experiment; x != nil {
		for _, a := range x.Arms {
			if a.Version != d.Version {
				load = append(load, a.Version) // every arm answers from the start
			}
		}
	}
	for _, v := range load {
		if err := c.cfg.Router.Load(ctx, d.Model, v); err != nil {
			return slipway.Rollout{}, fmt.Errorf("deploy %s@%s: %w", d.Model, v, err)
		}
	}
	if actor == "" {
		actor = "anonymous"
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.live {
		if e.r.Model == d.Model && !e.r.Status.Live() {
			// The model's last rollout ended but its effects are not all
			// applied; finish them so the new rollout starts clean.
			if err := c.apply(ctx, e, ControllerActor, e.r.Reason); err != nil {
				return slipway.Rollout{}, fmt.Errorf("deploy %s: rollout #%d has not finished ending: %w", d.Model, e.r.ID, err)
			}
		}
	}
	now := c.now()
	p := s.Plan()
	r := slipway.Rollout{
		Model: d.Model, Candidate: d.Version, Baseline: base.Version, BaselineRef: d.Baseline,
		Strategy: string(d.Strategy), Spec: string(text), Status: slipway.RolloutProgressing,
		StepStarted: now, CreatedBy: actor,
		Reason: fmt.Sprintf("started by %s: %s → %s, %s, %s", actor, base.Version, d.Version, d.Strategy, plural(len(p.Steps), "step")) + gateNote,
	}
	e := &entry{planned: &planned{r: r, spec: s, plan: p}}
	ev := e.event(now, "started", actor, r.Reason, nil)
	stored, err := c.cfg.Store.CreateRollout(ctx, r, ev)
	if err != nil {
		return slipway.Rollout{}, fmt.Errorf("deploy %s: %w", d.Model, err)
	}
	ev.Rollout = stored.ID
	e.planned = &planned{r: stored, spec: s, plan: p}
	c.live[stored.ID] = e
	if c.cfg.Crash != nil {
		c.cfg.Crash("started")
	}
	c.notify(e, []slipway.RolloutEvent{ev}, false)
	if err := c.apply(ctx, e, actor, r.Reason); err != nil {
		// The record says the rollout runs; the tick applies its routes
		// again until they take.
		return stored, err
	}
	return e.r, nil
}

// Act carries out a person's action on the model's latest rollout. An
// action that makes no sense in the rollout's status is refused with
// slipway.ErrConflict and a reason, and changes nothing.
func (c *Controller) Act(ctx context.Context, req Request) (slipway.Rollout, error) {
	if !slices.Contains(Actions, req.Action) {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrInvalid, "unknown action %q: want one of %s", req.Action, strings.Join(Actions, ", "))
	}
	if req.Actor == "" {
		req.Actor = "anonymous"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.latest(ctx, req.Model)
	if err != nil {
		return slipway.Rollout{}, err
	}
	r := e.r
	refuse := func(why string) (slipway.Rollout, error) {
		return r, slipway.Errorf(slipway.ErrConflict, "cannot %s rollout #%d of %s (%s → %s): %s", req.Action, r.ID, r.Model, r.Baseline, r.Candidate, why)
	}
	said := func(what string) string {
		if req.Reason == "" {
			return fmt.Sprintf("%s by %s", what, req.Actor)
		}
		return fmt.Sprintf("%s by %s: %s", what, req.Actor, req.Reason)
	}
	live := r.Status.Live()
	switch req.Action {
	case ActionPromote:
		if !live {
			return refuse(fmt.Sprintf("it is %s; only a live rollout can be promoted", r.Status))
		}
		if req.Full {
			err = c.complete(ctx, e, req.Actor, said("promoted to 100%"), nil)
		} else {
			err = c.next(ctx, e, req.Actor, said(fmt.Sprintf("stage %s promoted", e.step().Name)), nil)
		}
	case ActionPause:
		if r.Status != slipway.RolloutProgressing && r.Status != slipway.RolloutAwaitingApproval {
			return refuse(fmt.Sprintf("it is %s; only a progressing rollout can be paused", r.Status))
		}
		err = c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: req.Actor, reason: said("paused")})
	case ActionResume:
		if r.Status != slipway.RolloutPaused {
			return refuse(fmt.Sprintf("it is %s; only a paused rollout can be resumed", r.Status))
		}
		err = c.transition(ctx, e, change{kind: "resumed", status: slipway.RolloutProgressing, actor: req.Actor, reason: said("resumed")})
	case ActionAbort:
		if !live {
			return refuse(fmt.Sprintf("it is %s already", r.Status))
		}
		err = c.transition(ctx, e, change{kind: "aborted", status: slipway.RolloutAborted, actor: req.Actor,
			reason: said("aborted") + fmt.Sprintf("; all traffic back on %s, %s kept for inspection", r.Baseline, r.Candidate)})
	case ActionUndo:
		if r.Status != slipway.RolloutCompleted || !e.plan.Promotes {
			return refuse(fmt.Sprintf("it is %s; undo reverts a completed rollout (abort stops a live one)", r.Status))
		}
		if r.Previous == "" {
			return refuse("production had no version before it")
		}
		prod, perr := c.production(ctx, r.Model)
		if perr != nil {
			return r, perr
		}
		if prod != r.Candidate {
			return refuse(fmt.Sprintf("production has moved on to %s since", prod))
		}
		err = c.transition(ctx, e, change{kind: "undone", status: slipway.RolloutUndone, actor: req.Actor,
			reason: said("undone") + fmt.Sprintf("; production back on %s", r.Previous)})
	case ActionRetry:
		if r.Status != slipway.RolloutRolledBack && r.Status != slipway.RolloutAborted {
			return refuse(fmt.Sprintf("it is %s; retry restarts a rolled-back or aborted rollout", r.Status))
		}
		err = c.transition(ctx, e, change{kind: "retried", status: slipway.RolloutProgressing, restart: true, actor: req.Actor,
			reason: said(fmt.Sprintf("retried from stage %s", e.plan.Steps[0].Name))})
	}
	return e.r, err
}

// latest is the model's newest rollout, as the controller's entry when it
// drives it.
func (c *Controller) latest(ctx context.Context, model string) (*entry, error) {
	rs, err := c.cfg.Store.ListRollouts(ctx, store.RolloutFilter{Model: model, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("model %s has no rollouts: %w", model, slipway.ErrNotFound)
	}
	if e, ok := c.live[rs[0].ID]; ok {
		return e, nil
	}
	p, err := parsePlanned(rs[0])
	if err != nil {
		return nil, err
	}
	return &entry{planned: p}, nil
}

// Status describes the model's latest rollout.
func (c *Controller) Status(ctx context.Context, model string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.latest(ctx, model)
	if err != nil {
		return Status{}, err
	}
	now := c.now()
	st := Status{Rollout: e.r, Steps: views(e.plan)}
	st.Weight, st.Mirror = e.weights()
	st.Notifications = c.notificationStatus(e.plan.Notifications)
	if !e.r.Status.Live() {
		return st, nil
	}
	step := e.step()
	st.Elapsed = e.elapsed(now)
	st.Remaining = max(step.Duration-st.Elapsed, 0)
	st.ElapsedSeconds, st.RemainingSeconds = st.Elapsed.Seconds(), st.Remaining.Seconds()
	st.Verdict = e.verdict
	st.Triggers = slices.Clone(e.triggers)
	st.Waiting = e.waiting(now)
	return st, nil
}

// notificationStatus reports the deliveries to each webhook, when the
// notifier keeps count.
func (c *Controller) notificationStatus(targets []spec.Notification) []NotificationStatus {
	n, ok := c.cfg.Notifier.(interface{ Stats() notify.Stats })
	if !ok || len(targets) == 0 {
		return nil
	}
	stats := n.Stats()
	out := make([]NotificationStatus, 0, len(targets))
	for _, t := range targets {
		ts := stats.Targets[t.Webhook]
		masked := maskURL(t.Webhook)
		out = append(out, NotificationStatus{
			Webhook: masked, Slack: t.Slack, Sent: ts.Sent, Failed: ts.Failed, Dropped: ts.Dropped,
			Failing:   ts.LastErrorAt.After(ts.LastSuccess),
			LastError: strings.ReplaceAll(ts.LastError, t.Webhook, masked),
		})
	}
	return out
}

// maskURL keeps a URL's scheme and host: enough to tell webhooks apart,
// not enough to post to one.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(webhook)"
	}
	if u.Path == "" || u.Path == "/" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// waiting says what a live rollout waits for.
func (e *entry) waiting(now time.Time) string {
	step := e.step()
	switch e.r.Status {
	case slipway.RolloutPaused:
		return "a person to resume, promote or abort it"
	case slipway.RolloutAwaitingApproval:
		return fmt.Sprintf("approval of stage %s (slipway rollout promote %s)", step.Name, e.r.Model)
	}
	if left := step.Duration - e.elapsed(now); left > 0 {
		return fmt.Sprintf("%s more of stage %s", left.Round(time.Second), step.Name)
	}
	if e.verdict != nil && e.verdict.Result == slipway.Inconclusive {
		return "data for the analysis: " + e.verdict.Reason
	}
	return "the next tick"
}

// List lists rollouts, newest first.
func (c *Controller) List(ctx context.Context, f store.RolloutFilter) ([]slipway.Rollout, error) {
	return c.cfg.Store.ListRollouts(ctx, f)
}

// Events returns a rollout's log: rollout id of model, or its latest when
// id is zero.
func (c *Controller) Events(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error) {
	if id == 0 {
		rs, err := c.cfg.Store.ListRollouts(ctx, store.RolloutFilter{Model: model, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			return nil, fmt.Errorf("model %s has no rollouts: %w", model, slipway.ErrNotFound)
		}
		id = rs[0].ID
	} else {
		r, err := c.cfg.Store.GetRollout(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.Model != model {
			return nil, fmt.Errorf("rollout #%d is of model %s, not %s: %w", id, r.Model, model, slipway.ErrNotFound)
		}
	}
	return c.cfg.Store.RolloutEvents(ctx, id)
}

// LiveModel reports the live rollout of model, if any: the routes of such
// a model belong to the controller.
func (c *Controller) LiveModel(model string) (slipway.Rollout, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.live {
		if e.r.Model == model && e.r.Status.Live() {
			return e.r, true
		}
	}
	return slipway.Rollout{}, false
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
