package rollout

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/experiment"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Experimenter judges A/B tests and bandits from every arm's telemetry;
// analysis.Judge is one. A controller whose Judge is not one pauses such
// rollouts, saying why.
type Experimenter interface {
	Experiment(q analysis.ExperimentQuery) (analysis.ExperimentResult, error)
}

// arms are an experiment's versions, the control (the baseline) first,
// with their configured shares of its traffic as fractions.
func (p *planned) arms() (versions []string, shares []float64) {
	x := p.spec.Deployment.Experiment
	versions = []string{p.r.Baseline}
	shares = []float64{float64(x.ControlShare()) / traffic.Total}
	for _, a := range x.Arms {
		versions = append(versions, a.Version)
		shares = append(shares, float64(a.Share.BasisPoints())/traffic.Total)
	}
	return versions, shares
}

// experimentRoutes splits the experiment's traffic over its arms by
// shares (by context, "" for the default; the spec's shares where none),
// challengers first and the control last in a fixed order, so that each
// user's sticky bucket keeps them on one arm while the shares hold. An
// audience takes the split into a measured segment and everyone else
// stays on the control; a contextual bandit's contexts are measured
// segments with splits of their own.
func (p *planned) experimentRoutes(pol *traffic.Policy, shares map[string][]float64) {
	x := p.spec.Deployment.Experiment
	pol.Segments = nil
	if len(x.Audience) > 0 {
		pol.Segments = []traffic.Segment{{Name: audienceSegment, Match: rules(x.Audience), Splits: p.armSplits(shares[""]), Measure: true}}
		pol.Splits = []traffic.Split{{Version: p.r.Baseline, Weight: traffic.Total}}
		return
	}
	for _, c := range x.Contexts {
		pol.Segments = append(pol.Segments, traffic.Segment{Name: c.Name, Match: rules(c.Match), Splits: p.armSplits(shares[c.Name]), Measure: true})
	}
	pol.Splits = p.armSplits(shares[""])
}

// armSplits are the arms' weights for shares, the spec's when shares does
// not fit the arms.
func (p *planned) armSplits(shares []float64) []traffic.Split {
	versions, configured := p.arms()
	if len(shares) != len(versions) {
		shares = configured
	}
	splits := make([]traffic.Split, 0, len(versions))
	left := traffic.Total
	for i := 1; i < len(versions); i++ {
		w := min(int(math.Round(shares[i]*traffic.Total)), left)
		splits = append(splits, traffic.Split{Version: versions[i], Weight: w})
		left -= w
	}
	return append(splits, traffic.Split{Version: versions[0], Weight: left})
}

func rules(rs []spec.AudienceRule) []traffic.Rule {
	out := make([]traffic.Rule, len(rs))
	for i, a := range rs {
		out[i] = a.Rule()
	}
	return out
}

// audienceSegment names the route segment of an experiment's audience,
// whose traffic telemetry keeps apart.
const audienceSegment = "experiment"

// advanceExperiment is one tick of an A/B test or a bandit: guardrails
// first, then the decision (A/B) or the next allocation (bandit).
func (c *Controller) advanceExperiment(ctx context.Context, e *entry, now time.Time) error {
	st := e.step()
	ex, ok := c.cfg.Judge.(Experimenter)
	if !ok {
		if e.r.Status != slipway.RolloutProgressing {
			return nil
		}
		return c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: ControllerActor,
			reason: "this controller's judge cannot judge experiments"})
	}
	versions, configured := e.arms()
	elapsed := e.elapsed(now)
	bandit := st.Kind == spec.StepBandit
	if len(versions) < 2 {
		e.verdict = &slipway.Verdict{Result: slipway.Inconclusive, Window: elapsed,
			Reason: fmt.Sprintf("%s is champion with no challenger; add one with slipway rollout challenge %s VERSION", versions[0], e.r.Model)}
		return nil
	}
	q := analysis.ExperimentQuery{
		Model: e.r.Model, Arms: versions, Shares: configured, Experiment: e.spec.Deployment.Experiment,
		Bandit: bandit, Window: max(elapsed, time.Second), Seed: uint64(e.r.ID)<<32 | uint64(elapsed/time.Second),
	}
	if len(e.spec.Deployment.Experiment.Audience) > 0 {
		q.Segment = audienceSegment
	}
	res, err := ex.Experiment(q)
	if err != nil {
		return err
	}
	v := res.Verdict
	e.verdict = &v
	if e.r.Status != slipway.RolloutProgressing {
		return nil
	}
	control := versions[0]
	if e.plan.Strategy == spec.ChampionChallenger {
		return c.judgeChallengers(ctx, e, res, elapsed >= st.Duration)
	}
	switch {
	case res.Breach != nil:
		return c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor,
			reason:  fmt.Sprintf("guardrail breached by %s; every user is back on %s", v.Reason, control),
			verdict: &v})
	case bandit && elapsed >= st.Duration:
		return c.finishExperiment(ctx, e, res.Winner, fmt.Sprintf("bandit served its %s: %s", st.Duration, v.Reason), &v)
	case bandit:
		if err := c.reallocate(ctx, e, "", res); err != nil {
			return err
		}
		for _, cx := range e.spec.Deployment.Experiment.Contexts {
			q.Segment = cx.Name
			cres, err := ex.Experiment(q)
			if err != nil {
				return err
			}
			if err := c.reallocate(ctx, e, cx.Name, cres); err != nil {
				return err
			}
		}
		return nil
	case res.Decision == experiment.Winner:
		return c.finishExperiment(ctx, e, res.Winner, v.Reason, &v)
	case res.Decision == experiment.KeepControl:
		return c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor,
			reason: "the control wins: " + v.Reason, verdict: &v})
	case res.Decision == experiment.SampleRatioMismatch:
		return c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: ControllerActor,
			reason: "the traffic split is broken, so no result can be trusted: " + v.Reason, verdict: &v})
	case elapsed >= st.Duration:
		reason := fmt.Sprintf("no winner after %s: %s", st.Duration, v.Reason)
		if e.spec.Deployment.Experiment.Inconclusive == spec.ActionRollback {
			return c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor, reason: reason + "; the control stays", verdict: &v})
		}
		return c.transition(ctx, e, change{kind: "paused", status: slipway.RolloutPaused, actor: ControllerActor, reason: reason, verdict: &v})
	}
	return nil
}

// finishExperiment ends an experiment with winner: promoted when it is a
// challenger (and the spec promotes), the control kept otherwise.
func (c *Controller) finishExperiment(ctx context.Context, e *entry, winner, reason string, v *slipway.Verdict) error {
	if winner == "" || winner == e.r.Baseline {
		return c.transition(ctx, e, change{kind: "rolled-back", status: slipway.RolloutRolledBack, actor: ControllerActor,
			reason: fmt.Sprintf("%s; the control %s stays", reason, e.r.Baseline), verdict: v})
	}
	ch := change{kind: "completed", status: slipway.RolloutCompleted, actor: ControllerActor, verdict: v,
		step: len(e.plan.Steps) - 1, newStep: true, candidate: winner}
	if !e.plan.Promotes {
		ch.reason = fmt.Sprintf("%s; %s won, and production stays (promote: false)", reason, winner)
		return c.transition(ctx, e, ch)
	}
	prod, err := c.production(ctx, e.r.Model)
	if err != nil {
		return err
	}
	ch.previous = prod
	ch.reason = fmt.Sprintf("%s; %s is now production", reason, winner)
	return c.transition(ctx, e, ch)
}

// Shares move the routes when an arm's share changes by at least
// reallocateStep, and the log records the allocation when one moved by
// at least noteStep since it was last recorded: a bandit moves a little
// every tick, and neither the routing table nor the log should churn.
const (
	reallocateStep = 0.01
	noteStep       = 0.05
)

// reallocate applies a bandit's next allocation in context ("" for the
// default split).
func (c *Controller) reallocate(ctx context.Context, e *entry, context string, res analysis.ExperimentResult) error {
	if old, ok := e.shares[context]; ok && maxShift(old, res.Shares) < reallocateStep {
		return nil
	}
	if e.shares == nil {
		e.shares, e.noted = map[string][]float64{}, map[string][]float64{}
	}
	e.shares[context] = res.Shares
	if err := c.applyRoute(ctx, e, ControllerActor, "bandit reallocation", ""); err != nil {
		return err
	}
	if old, ok := e.noted[context]; ok && maxShift(old, res.Shares) < noteStep {
		return nil
	}
	e.noted[context] = res.Shares
	v := res.Verdict
	what := "bandit reallocated traffic"
	if context != "" {
		what += " in context " + context
	}
	return c.note(ctx, e, what+": "+strings.Join(res.Why, "; "), &v)
}

func maxShift(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// PolicyReader reads a model's current routing policy; a Router that
// implements it lets a bandit resume its allocation after a restart.
type PolicyReader interface {
	Policy(ctx context.Context, model string) (traffic.Policy, bool, error)
}

// resumeShares reads a live bandit's allocation back from the route it
// last set, by context, as experimentRoutes wrote it. It returns nil, and
// the spec's shares apply, when the step is no bandit, the router cannot
// say, or the route is not this rollout's bandit route (another salt, or
// other versions).
func (c *Controller) resumeShares(ctx context.Context, p *planned) map[string][]float64 {
	pr, ok := c.cfg.Router.(PolicyReader)
	if !ok || p.step().Kind != spec.StepBandit {
		return nil
	}
	pol, ok, err := pr.Policy(ctx, p.r.Model)
	if err != nil || !ok || pol.Salt != p.salt() {
		return nil
	}
	versions, _ := p.arms()
	x := p.spec.Deployment.Experiment
	out := map[string][]float64{}
	put := func(context string, splits []traffic.Split) {
		if s := sharesOf(versions, splits); s != nil {
			out[context] = s
		}
	}
	if len(x.Audience) == 0 {
		put("", pol.Splits)
	}
	for _, seg := range pol.Segments {
		switch {
		case seg.Name == audienceSegment && len(x.Audience) > 0:
			put("", seg.Splits)
		case seg.Measure && seg.Name != audienceSegment:
			put(seg.Name, seg.Splits)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sharesOf is the fraction of splits each of versions has, in order; nil
// unless splits name exactly those versions.
func sharesOf(versions []string, splits []traffic.Split) []float64 {
	if len(splits) != len(versions) {
		return nil
	}
	shares := make([]float64, len(versions))
	for i, v := range versions {
		j := slices.IndexFunc(splits, func(s traffic.Split) bool { return s.Version == v })
		if j < 0 {
			return nil
		}
		shares[i] = float64(splits[j].Weight) / traffic.Total
	}
	return shares
}
