package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/experiment"
	"github.com/slipway-ml/slipway/internal/spec"
)

// A champion-challenger rollout runs until a person aborts it. Its
// champion is the rollout's baseline, which its alias (the spec's
// baseline, production by default) points at; its challengers are the
// arms of the stored spec. Every change of either is a transition that
// rewrites the record and restarts the step clock, so each set of arms is
// judged on the traffic it split alone.

// judgeChallengers acts on one look at a champion-challenger: a guardrail
// breach or a significant loss retires a challenger, a winner is crowned,
// and at the end of the round every challenger left is retired as no
// better.
func (c *Controller) judgeChallengers(ctx context.Context, e *entry, res analysis.ExperimentResult, roundOver bool) error {
	v := res.Verdict
	champion := e.r.Baseline
	switch {
	case res.Breach != nil:
		arm, _, _ := strings.Cut(res.Breach.Rule, ":")
		return c.retire(ctx, e, []string{arm}, fmt.Sprintf("challenger %s retired: guardrail breached: %s", arm, res.Breach.Reason), &v)
	case res.Decision == experiment.Winner:
		return c.crownWinner(ctx, e, res.Winner, v.Reason, &v)
	}
	var losers []string
	for i := 1; i < len(v.Metrics); i++ {
		m := v.Metrics[i]
		if m.Result == slipway.Fail && strings.HasPrefix(m.Rule, "arm ") {
			arm, _, _ := strings.Cut(strings.TrimPrefix(m.Rule, "arm "), " ")
			losers = append(losers, arm)
		}
	}
	if len(losers) > 0 && !roundOver {
		return c.retire(ctx, e, losers, fmt.Sprintf("challenger %s retired: worse than champion %s: %s", strings.Join(losers, ", "), champion, v.Reason), &v)
	}
	if roundOver {
		all := []string{}
		for _, a := range e.spec.Deployment.Experiment.Arms {
			all = append(all, a.Version)
		}
		return c.retire(ctx, e, all, fmt.Sprintf("challenger %s retired: no better than champion %s after %s: %s",
			strings.Join(all, ", "), champion, e.step().Duration, v.Reason), &v)
	}
	return nil
}

// withArms is the rollout's spec with its challengers replaced, as the
// YAML the record stores.
func (p *planned) withArms(arms []spec.Arm) (string, error) {
	s := *p.spec
	x := *s.Deployment.Experiment
	x.Arms = arms
	s.Deployment.Experiment = &x
	text, err := s.YAML()
	if err != nil {
		return "", fmt.Errorf("rollout %d: render its spec: %w", p.r.ID, err)
	}
	return string(text), nil
}

// retire removes challengers.
func (c *Controller) retire(ctx context.Context, e *entry, versions []string, reason string, v *slipway.Verdict) error {
	var keep []spec.Arm
	for _, a := range e.spec.Deployment.Experiment.Arms {
		if !slices.Contains(versions, a.Version) {
			keep = append(keep, a)
		}
	}
	text, err := e.withArms(keep)
	if err != nil {
		return err
	}
	return c.transition(ctx, e, change{kind: "challenger-retired", status: slipway.RolloutProgressing, actor: ControllerActor,
		newStep: true, step: e.r.Step, spec: text, reason: reason, verdict: v})
}

// crownWinner makes a challenger the champion: it leaves the arms, the
// old champion is retired, and the alias moves (see crown).
func (c *Controller) crownWinner(ctx context.Context, e *entry, winner, reason string, v *slipway.Verdict) error {
	var keep []spec.Arm
	for _, a := range e.spec.Deployment.Experiment.Arms {
		if a.Version != winner {
			keep = append(keep, a)
		}
	}
	text, err := e.withArms(keep)
	if err != nil {
		return err
	}
	return c.transition(ctx, e, change{kind: "champion-changed", status: slipway.RolloutProgressing, actor: ControllerActor,
		newStep: true, step: e.r.Step, spec: text, baseline: winner, previous: e.r.Baseline,
		reason:  fmt.Sprintf("%s beat champion %s and is champion now (%s → %s); %s retired: %s", winner, e.r.Baseline, e.r.BaselineRef, winner, e.r.Baseline, reason),
		verdict: v})
}

// crown makes the champion alias point at a live champion-challenger's
// champion: the effect of champion-changed, applied again after a crash.
func (c *Controller) crown(ctx context.Context, e *entry, actor, reason string) error {
	r := e.r
	if e.plan.Strategy != spec.ChampionChallenger || r.BaselineRef == "" || r.BaselineRef == r.Baseline {
		return nil
	}
	as, err := c.cfg.Registry.Aliases(ctx, r.Model)
	if err != nil {
		return fmt.Errorf("read aliases of %s: %w", r.Model, err)
	}
	for _, a := range as {
		if a.Name == r.BaselineRef && a.Version == r.Baseline {
			return nil
		}
	}
	if _, err := c.cfg.Registry.MoveAlias(ctx, r.Model, r.BaselineRef, r.Baseline, actor, fmt.Sprintf("rollout #%d: %s", r.ID, reason)); err != nil {
		return fmt.Errorf("rollout %d: move %s to champion %s: %w", r.ID, r.BaselineRef, r.Baseline, err)
	}
	return nil
}

// Challenge adds a challenger with share percent of the traffic to the
// model's live champion-challenger rollout.
func (c *Controller) Challenge(ctx context.Context, model, version string, share float64, actor, reason string) (slipway.Rollout, error) {
	if actor == "" {
		actor = "anonymous"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.latest(ctx, model)
	if err != nil {
		return slipway.Rollout{}, err
	}
	r := e.r
	refuse := func(format string, args ...any) (slipway.Rollout, error) {
		return r, slipway.Errorf(slipway.ErrConflict, "cannot add challenger %s to rollout #%d of %s: %s", version, r.ID, model, fmt.Sprintf(format, args...))
	}
	if e.plan.Strategy != spec.ChampionChallenger || !r.Status.Live() {
		return refuse("it is a %s rollout, %s; challengers join a live champion-challenger", r.Strategy, r.Status)
	}
	x := e.spec.Deployment.Experiment
	arms := slices.Clone(x.Arms)
	if version == r.Baseline {
		return refuse("%s is the champion", version)
	}
	for _, a := range arms {
		if a.Version == version {
			return refuse("%s is a challenger already", version)
		}
	}
	arms = append(arms, spec.Arm{Version: version, Share: spec.Percent(share)})
	cs := 10000
	for _, a := range arms {
		cs -= a.Share.BasisPoints()
	}
	if share <= 0 || cs <= 0 {
		return refuse("share %v%%: the challengers' shares must leave the champion some traffic", share)
	}
	if err := c.cfg.Router.Load(ctx, model, version); err != nil {
		return refuse("%v", err)
	}
	text, err := e.withArms(arms)
	if err != nil {
		return r, err
	}
	why := fmt.Sprintf("challenger %s added at %v%% by %s", version, share, actor)
	if reason != "" {
		why += ": " + reason
	}
	if err := c.transition(ctx, e, change{kind: "challenger-added", status: r.Status, actor: actor,
		newStep: true, step: r.Step, spec: text, reason: why}); err != nil {
		return r, err
	}
	return e.r, nil
}
