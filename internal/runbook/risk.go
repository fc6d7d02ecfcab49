package runbook

import (
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/internal/human"
	"github.com/slipway-ml/slipway/internal/spec"
)

// Level is how risky a deployment looks.
type Level int

// Risk levels, in increasing order.
const (
	Low Level = iota
	Medium
	High
)

func (l Level) String() string {
	switch l {
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "low"
}

// Risk is a deployment's risk level with the reasons behind it.
type Risk struct {
	Level   Level
	Reasons []Reason
}

// Reason is one finding that raises the risk to Level.
type Reason struct {
	Level Level
	Text  string
}

func (r *Risk) add(l Level, format string, args ...any) {
	r.Reasons = append(r.Reasons, Reason{l, fmt.Sprintf(format, args...)})
	r.Level = max(r.Level, l)
}

// Thresholds of the risk rules.
const (
	// LargeMetricChange is the relative change of a training metric that
	// counts as large.
	LargeMetricChange = 0.10
	// LargeSizeChange is the artifact-size ratio (either way) that counts
	// as large: memory and load time change with it.
	LargeSizeChange = 2.0
	// LargeFirstStep is the first canary weight, in basis points, above
	// which a bad candidate reaches many users before any check.
	LargeFirstStep = 2500
)

// assess rates the plan's risk. Every rule says why it fired.
func assess(p Plan) Risk {
	var r Risk
	c := p.Changes
	assessSchema(&r, c)
	if c.Format != "" {
		r.add(Medium, "the model format changes (%s): another runtime answers", c.Format)
	}
	if c.SizeRatio >= LargeSizeChange || c.SizeRatio > 0 && c.SizeRatio <= 1/LargeSizeChange {
		r.add(Medium, "the artifact size changes %s× (%s → %s): memory and latency change with it", num(c.SizeRatio), human.Bytes(p.Baseline.Size), human.Bytes(p.Candidate.Size))
	}
	for _, m := range c.Metrics {
		rel, ok := m.Relative()
		switch {
		case !ok:
		case m.Worse() && abs(rel) >= LargeMetricChange:
			r.add(High, "training %s is %s worse (%s → %s)", m.Name, pct(abs(rel)), num(*m.Baseline), num(*m.Candidate))
		case m.Worse():
			r.add(Medium, "training %s is slightly worse (%s → %s)", m.Name, num(*m.Baseline), num(*m.Candidate))
		case abs(rel) >= LargeMetricChange:
			r.add(Medium, "training %s changes by %s (%s → %s): a large change deserves a close look even when better", m.Name, pct(abs(rel)), num(*m.Baseline), num(*m.Candidate))
		}
	}
	assessGates(&r, p)
	assessStrategy(&r, p)
	return r
}

func assessSchema(r *Risk, c Changes) {
	if c.SchemaUnknown {
		r.add(Medium, "a signature is unknown, so the input schema could not be compared")
		return
	}
	var breaking []string
	for _, s := range c.Schema {
		if s.Breaking {
			breaking = append(breaking, s.String())
		}
	}
	if len(breaking) > 0 {
		r.add(High, "schema change: %s", strings.Join(breaking, "; "))
	} else if len(c.Schema) > 0 {
		r.add(Medium, "the signature changes without breaking callers: %s", c.Schema[0])
	}
}

func assessGates(r *Risk, p Plan) {
	switch {
	case p.Gates == nil:
		r.add(Medium, "no gate report is stored for %s: offline quality, latency and schema are unchecked", p.Candidate.Version)
	case len(p.Gates.Failed()) > 0:
		var names []string
		for _, g := range p.Gates.Failed() {
			names = append(names, g.Gate+" "+g.Metric)
		}
		r.add(High, "failed gates: %s", strings.Join(names, ", "))
	}
}

func assessStrategy(r *Risk, p Plan) {
	analysed := p.Steps.Experiment != nil && len(p.Steps.Experiment.Guardrails) > 0
	for _, st := range p.Steps.Steps {
		analysed = analysed || !st.Analysis.Empty()
	}
	switch {
	case !analysed && len(p.Steps.Triggers) == 0:
		r.add(High, "no analysis and no rollback triggers: nothing stops a bad candidate but a person")
	case len(p.Steps.Triggers) == 0:
		r.add(Medium, "no rollback triggers: a bad candidate is caught only at the end of a stage")
	case !analysed:
		r.add(Medium, "no stage has an analysis: stages advance on time alone")
	}
	for _, st := range p.Steps.Steps {
		if st.Kind == spec.StepCanary && !st.Added {
			if st.Weight > LargeFirstStep {
				r.add(Medium, "the first stage, %s, sends %s of traffic to an unproven candidate", st.Name, spec.PercentFromBasisPoints(st.Weight))
			}
			break
		}
	}
	if p.Steps.Strategy == spec.BlueGreen && !p.Steps.KeepWarm {
		r.add(Medium, "blue-green without keepWarm: a rollback after the switch reloads the baseline")
	}
	if !p.Traffic.Known() {
		r.add(Medium, "the traffic is not stated (--traffic), so whether each stage sees enough requests is unknown")
		return
	}
	for _, s := range p.Stages {
		if s.Decides == NotEnough {
			r.add(Medium, "little traffic: stage %s cannot decide its analysis in time at %s", s.Step.Name, p.Traffic)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
