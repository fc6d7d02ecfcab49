package runbook

import (
	"github.com/slipway-ml/slipway/internal/markdown"
	"github.com/slipway-ml/slipway/internal/spec"
)

// experiment writes an A/B test's, bandit's or champion-challenger's
// section: its arms, what decides, its guardrails, and how it ends, as
// the spec's plan words them.
func (p Plan) experiment(m *markdown.Writer) {
	x := p.Steps.Experiment
	if x == nil || len(p.Stages) == 0 {
		return
	}
	m.Printf("### Experiment\n\n")
	for _, l := range x.Describe(p.Steps.Baseline, p.Stages[0].Step.Kind == spec.StepBandit) {
		m.Printf("- %s\n", l)
	}
	m.Printf("\n")
	for _, n := range x.Notes(p.Steps) {
		m.Printf("%s\n", n)
	}
	m.Printf("\n")
}
