package rollout

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// PreviewHeader sends a request to the candidate of a live rollout when its
// value is "true", whatever the weights: the way to smoke-test a blue-green
// candidate at 0% (a pinned /versions/V URL works too).
const PreviewHeader = "X-Slipway-Preview"

// planned is a rollout with its spec parsed and unfolded into steps.
type planned struct {
	r    slipway.Rollout
	spec *spec.Spec
	plan spec.Plan
}

func parsePlanned(r slipway.Rollout) (*planned, error) {
	s, err := spec.Parse([]byte(r.Spec))
	if err != nil {
		return nil, fmt.Errorf("rollout %d: stored spec: %w", r.ID, err)
	}
	p := s.Plan()
	if len(p.Steps) == 0 {
		return nil, fmt.Errorf("rollout %d: stored spec has no steps", r.ID)
	}
	return &planned{r: r, spec: s, plan: p}, nil
}

func (p *planned) step() spec.Step {
	return p.plan.Steps[min(p.r.Step, len(p.plan.Steps)-1)]
}

func (p *planned) last() bool { return p.r.Step >= len(p.plan.Steps)-1 }

// elapsed is how long the current step has served at now; a paused
// rollout's clock stopped at PausedAt.
func (p *planned) elapsed(now time.Time) time.Duration {
	if !p.r.PausedAt.IsZero() {
		now = p.r.PausedAt
	}
	return max(now.Sub(p.r.StepStarted), 0)
}

// weights is the candidate's share of live traffic and of mirrored copies
// in basis points.
func (p *planned) weights() (weight, mirror int) {
	switch {
	case p.r.Status.Live():
		st := p.step()
		return st.Weight, st.Mirror
	case p.r.Status == slipway.RolloutCompleted && p.plan.Promotes:
		return traffic.Total, 0
	}
	return 0, 0
}

// salt seeds the rollout's sticky hashing, so each rollout splits users
// afresh; it also marks a stored route as this rollout's.
func (p *planned) salt() string { return fmt.Sprintf("%s/rollout-%d", p.r.Model, p.r.ID) }

// policy derives the routing policy from the rollout's state; nil means the
// model needs no policy of its own: traffic follows the production alias.
// The split always lists the candidate first and the baseline second, so
// that sticky users only ever move from the baseline to the candidate (see
// traffic.Policy).
func (p *planned) policy(production string, shares map[string][]float64) *traffic.Policy {
	r := p.r
	pin := func(version string) *traffic.Policy {
		if r.Applied && version == production {
			return nil
		}
		return &traffic.Policy{Splits: []traffic.Split{{Version: version, Weight: traffic.Total}}}
	}
	switch r.Status {
	case slipway.RolloutCompleted:
		if !p.plan.Promotes {
			return pin(r.Baseline)
		}
		return pin(r.Candidate)
	case slipway.RolloutRolledBack, slipway.RolloutAborted:
		return pin(r.Baseline)
	case slipway.RolloutUndone:
		return pin(r.Previous)
	}
	st := p.step()
	pol := &traffic.Policy{
		Sticky: p.spec.Deployment.Sticky,
		Salt:   p.salt(),
		Segments: []traffic.Segment{{
			Name:    "preview",
			Match:   []traffic.Rule{{Header: PreviewHeader, Exact: "true"}},
			Version: r.Candidate,
		}},
	}
	switch {
	case st.Kind == spec.StepExperiment || st.Kind == spec.StepBandit:
		p.experimentRoutes(pol, shares)
	case st.Kind == spec.StepShadow:
		pol.Splits = []traffic.Split{{Version: r.Baseline, Weight: traffic.Total}}
		pol.Mirrors = []traffic.Mirror{{Version: r.Candidate, Percent: st.Mirror}}
		// A shadow is a mirror, not a primary: the preview segment would
		// make the candidate answer someone.
		pol.Segments = nil
	case st.Kind == spec.StepSwitch && !p.plan.KeepWarm:
		pol.Splits = []traffic.Split{{Version: r.Candidate, Weight: traffic.Total}}
	default:
		pol.Splits = []traffic.Split{
			{Version: r.Candidate, Weight: st.Weight},
			{Version: r.Baseline, Weight: traffic.Total - st.Weight},
		}
	}
	return pol
}

// views describes the plan's steps for people.
func views(p spec.Plan) []StepView {
	out := make([]StepView, 0, len(p.Steps))
	for _, st := range p.Steps {
		v := StepView{
			Name: st.Name, Kind: string(st.Kind), Weight: st.Weight, Mirror: st.Mirror,
			DurationSeconds: st.Duration.Seconds(), Approval: st.Approval,
		}
		for _, m := range st.Analysis.Metrics {
			v.Analysis = append(v.Analysis, m.String())
		}
		out = append(out, v)
	}
	return out
}

// percent renders basis points as a percentage: 10 → "0.1%", 2500 → "25%".
func percent(bp int) string {
	return spec.PercentFromBasisPoints(bp).String()
}
