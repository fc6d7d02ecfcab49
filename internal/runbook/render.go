package runbook

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/human"
	"github.com/slipway-ml/slipway/internal/markdown"
	"github.com/slipway-ml/slipway/internal/spec"
)

// Markdown writes the plan as a Markdown runbook: overview and risk, the
// gate tables, the stages with their traffic and what their analysis
// needs, routing, the metrics watched, escalation, rollback, checklists,
// success criteria and a draft message to stakeholders.
func (p Plan) Markdown(w io.Writer) error {
	m := markdown.NewWriter(w)
	d := p.Spec.Deployment
	m.Printf("# Deployment plan: %s %s\n\n", d.Model, d.Version)
	m.Printf("Replaces %s. %s\n\n", p.baselineText(), p.oneLine())
	p.overview(m)
	p.changes(m)
	p.gates(m)
	p.stages(m)
	p.routing(m)
	p.watched(m)
	p.escalation(m)
	p.rollback(m)
	p.checklist(m)
	p.success(m)
	p.message(m)
	p.notes(m)
	return m.Err()
}

// cmd is a slipway command line with the plan's --server.
func (p Plan) cmd(args string) string {
	if p.Server != "" {
		return "slipway --server " + p.Server + " " + args
	}
	return "slipway " + args
}

func (p Plan) specFile() string {
	if p.SpecFile == "" {
		return "deploy.yaml"
	}
	return p.SpecFile
}

func (p Plan) baselineText() string {
	d := p.Spec.Deployment
	if d.Baseline != p.Baseline.Version {
		return fmt.Sprintf("%s (%s)", p.Baseline.Version, d.Baseline)
	}
	return p.Baseline.Version
}

// oneLine says the strategy and its length in a sentence.
func (p Plan) oneLine() string {
	s := fmt.Sprintf("Strategy %s in %d stages, expected to take %s", p.Steps.Strategy, len(p.Steps.Steps), dur(p.Steps.Duration))
	if p.Steps.Approvals > 0 {
		s += fmt.Sprintf(" plus the time %d approval(s) wait", p.Steps.Approvals)
	}
	return s + "."
}

func (p Plan) overview(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Overview\n\n")
	prod := p.Production
	if prod == "" {
		prod = "none yet"
	}
	traffic := "not stated (give --traffic to judge each stage)"
	if p.Traffic.Known() {
		traffic = p.Traffic.String()
	}
	m.Table([]string{"", ""}, [][]string{
		{"Model", d.Model},
		{"Candidate", versionLine(p.Candidate.Version, string(p.Candidate.Format), p.Candidate.Size, p.Candidate.CreatedAt, p.Candidate.CreatedBy)},
		{"Baseline (previous)", versionLine(p.baselineText(), string(p.Baseline.Format), p.Baseline.Size, p.Baseline.CreatedAt, p.Baseline.CreatedBy)},
		{"Production alias now", prod},
		{"Strategy", fmt.Sprintf("%s, %d stages, %s", p.Steps.Strategy, len(p.Steps.Steps), dur(p.Steps.Duration))},
		{"Sticky key", d.Sticky},
		{"Traffic", traffic},
		{"Risk", strings.ToUpper(p.Risk.Level.String())},
	})
	m.Printf("### Risk: %s\n\n", p.Risk.Level)
	if len(p.Risk.Reasons) == 0 {
		m.Printf("No finding raises the risk: the schema, format, size and training metrics hold, gates passed, and every stage can decide at the stated traffic.\n\n")
		return
	}
	for _, r := range p.Risk.Reasons {
		m.Printf("- **%s**: %s\n", r.Level, r.Text)
	}
	m.Printf("\n")
}

func versionLine(v, format string, size int64, at time.Time, by string) string {
	s := v + ", " + format
	if size > 0 {
		s += ", " + human.Bytes(size)
	}
	if !at.IsZero() {
		s += ", pushed " + at.UTC().Format("2006-01-02")
	}
	if by != "" {
		s += " by " + by
	}
	return s
}

func (p Plan) changes(m *markdown.Writer) {
	c := p.Changes
	m.Printf("### Change summary\n\n")
	switch {
	case c.SameArtifact:
		m.Printf("- Artifact: the same digest as the baseline (%s): only metadata differs.\n", p.Candidate.Digest)
	case p.Candidate.Digest != "":
		m.Printf("- Artifact: %s.\n", p.Candidate.Digest)
	}
	if c.Format != "" {
		m.Printf("- Format: %s.\n", c.Format)
	} else {
		m.Printf("- Format: %s, unchanged.\n", p.Candidate.Format)
	}
	if c.SizeRatio > 0 {
		m.Printf("- Size: %s → %s (%s×).\n", human.Bytes(p.Baseline.Size), human.Bytes(p.Candidate.Size), num(c.SizeRatio))
	}
	switch {
	case c.SchemaUnknown:
		m.Printf("- Schema: not compared; a version has no signature.\n")
	case len(c.Schema) == 0:
		m.Printf("- Schema: the same inputs and outputs (%d inputs, %d outputs).\n", len(p.Candidate.Signature.Inputs), len(p.Candidate.Signature.Outputs))
	default:
		for _, s := range c.Schema {
			tag := ""
			if s.Breaking {
				tag = " **breaking**"
			}
			m.Printf("- Schema: %s%s.\n", s, tag)
		}
	}
	for _, l := range c.Lineage {
		m.Printf("- Lineage: %s.\n", l)
	}
	m.Printf("\n")
	if len(c.Metrics) == 0 {
		m.Printf("Neither version records training metrics.\n\n")
		return
	}
	m.Printf("Training metrics, as pushed with each version:\n\n")
	var rows [][]string
	for _, mc := range c.Metrics {
		change, judgement := "-", "-"
		if rel, ok := mc.Relative(); ok {
			change = fmt.Sprintf("%+.4g (%+.1f%%)", *mc.Candidate-*mc.Baseline, 100*rel)
			switch {
			case mc.Worse():
				judgement = "worse"
			case rel != 0 && mc.Better != spec.EitherBetter:
				judgement = "better"
			case rel == 0:
				judgement = "same"
			}
		}
		rows = append(rows, []string{mc.Name, optNum(mc.Baseline), optNum(mc.Candidate), change, judgement})
	}
	m.Table([]string{"Metric", "baseline " + p.Baseline.Version, "candidate " + p.Candidate.Version, "change", ""}, rows)
}

func optNum(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *f)
}

func (p Plan) gates(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Gates\n\n")
	g := p.Gates
	if g == nil {
		m.Printf("No gate report stored — run `%s` before deploying.\n\n", p.cmd(fmt.Sprintf("gate %s@%s --data HOLDOUT -f %s", d.Model, d.Version, p.specFile())))
		return
	}
	when := ""
	if !g.RanAt.IsZero() {
		when = " on " + g.RanAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	m.Printf("Stored gate report of %s%s", d.Version, when)
	if g.Baseline != "" {
		m.Printf(", compared with %s", g.Baseline)
	}
	m.Printf(": %d gates, %d failed.\n\n", len(g.Gates), len(g.Failed()))
	var rows [][]string
	for _, r := range g.Gates {
		rows = append(rows, []string{r.Gate, r.Metric, r.Required, r.Actual, r.Status})
	}
	m.Table([]string{"Gate", "Metric", "Required", "Actual", "Status"}, rows)
	if len(g.Comparison) > 0 {
		rows = rows[:0]
		for _, r := range g.Comparison {
			rows = append(rows, []string{r.Metric, r.Previous, r.Candidate, r.Change, r.Acceptable})
		}
		prev := g.Baseline
		if prev == "" {
			prev = "previous"
		}
		m.Table([]string{"Metric", prev, d.Version, "change", "acceptable"}, rows)
	}
}

func (p Plan) stages(m *markdown.Writer) {
	m.Printf("## Strategy and stages\n\n")
	var rows [][]string
	for i, s := range p.Stages {
		st := s.Step
		cand, base, decides := "-", "-", s.Decides.String()
		if p.Traffic.Known() && st.Duration > 0 {
			cand, base = Count(s.CandidateRequests()), Count(s.BaselineRequests())
			if st.Kind == spec.StepShadow {
				cand += " mirrored"
			}
		}
		if st.Kind == spec.StepPreview {
			cand = "preview requests only"
		}
		if st.Analysis.Empty() {
			decides = "no analysis"
		}
		if p.Steps.Experiment != nil {
			decides = "see the experiment below"
		}
		start := dur(st.Start)
		if st.AfterApproval {
			start = "≥ " + start
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), name(st), string(st.Kind), weight(st), durOrDash(st.Duration), start, approval(st), cand, base, decides})
	}
	m.Table([]string{"#", "Stage", "Kind", "Weight", "Duration", "Starts at", "Approval", "Requests to candidate", "Requests to baseline", "Enough to decide"}, rows)
	if p.Traffic.Known() {
		m.Printf("Requests are at %s over each stage's duration; a stage whose analysis is still inconclusive when its time is up waits up to its duration again for data, then does what the spec says (pause unless `inconclusive: rollback`).\n\n", p.Traffic)
	}
	for _, s := range p.Stages {
		if len(s.Conditions) == 0 {
			continue
		}
		st := s.Step
		m.Printf("### Stage %s: %s for %s\n\n", st.Name, weight(st), durOrDash(st.Duration))
		var rows [][]string
		for _, c := range s.Conditions {
			rows = append(rows, conditionRow(c, c.Need.Rule))
		}
		m.Table([]string{"Condition", "To pass", "To fail a worse candidate", "Test", "Enough"}, rows)
		m.Printf("If the analysis has no verdict when the stage ends: %s.\n\n", inconclusiveAction(st))
	}
	p.experiment(m)
	p.assumptions(m)
}

// conditionRow is a condition's need and timing as table cells.
func conditionRow(c Condition, rule string) []string {
	n := c.Need
	pc, pb := n.PassAt()
	pass := fmt.Sprintf("%s %s", Count(float64(pc)), n.Noun)
	if pb > 0 {
		pass += " of each"
	}
	pass += timingText(c.Pass)
	failText := "the point estimate beyond the limit with " + Count(float64(pc)) + " " + n.Noun
	switch {
	case n.Detect < 0:
		failText = "never: " + n.Scenario
	case n.Test != "":
		if fc, fb, ok := n.FailAt(); ok {
			failText = fmt.Sprintf("~%s %s", Count(float64(fc)), n.Noun)
			if fb > 0 {
				failText += fmt.Sprintf(" (baseline %s)", Count(float64(fb)))
			}
			failText += " for " + n.Scenario
			if int64(n.MinSamples) >= n.Detect {
				failText += fmt.Sprintf("; minSamples %d, not the test, sets the pace", n.MinSamples)
			}
		}
	}
	if n.Detect >= 0 {
		failText += timingText(c.Fail)
	}
	test := n.Test
	if test == "" {
		test = "point estimate"
	}
	return []string{rule, pass, failText, test, c.Verdict.String()}
}

func timingText(t Timing) string {
	switch {
	case t.Unknown:
		return ""
	case t.Never:
		return "; never at this stage's split"
	}
	return "; after " + about(t.After)
}

// about renders an estimated time: "~42m30s", "under 1s".
func about(d time.Duration) string {
	if d < time.Second {
		return "under 1s"
	}
	return "~" + dur(d)
}

func inconclusiveAction(st spec.Step) string {
	if st.Analysis.Inconclusive == spec.ActionRollback {
		return fmt.Sprintf("wait up to %s more for data, then roll back", durOrDash(st.Duration))
	}
	return fmt.Sprintf("wait up to %s more for data, then pause for a person", durOrDash(st.Duration))
}

// assumptions say where the estimates' starting figures came from, and
// how the estimates are made.
func (p Plan) assumptions(m *markdown.Writer) {
	b := p.Baselines
	m.Printf("How the needs are estimated: for each condition the analysis judges with a sequential test (internal/stats), the number of observations at which that test, fed the expected counts of a worse candidate (the scenario named), first fails the condition; that is close to the median a real rollout needs, so about half of such candidates are caught later. Conditions judged on their point estimate decide once both versions have minSamples. The test's confidence is shared by the conditions of one stage (Bonferroni), as the analysis does.\n\n")
	m.Printf("Starting figures:\n\n")
	m.Printf("- baseline error rate %s: %s;\n", pct(b.ErrorRate), b.ErrorRateSource)
	m.Printf("- baseline accuracy %s: %s;\n", pct(b.Accuracy), b.AccuracySource)
	m.Printf("- labelled feedback per request %s: %s.\n\n", pct(b.LabelShare), b.LabelShareSource)
}

func name(st spec.Step) string {
	if st.Added {
		return st.Name + " (added)"
	}
	return st.Name
}

func weight(st spec.Step) string {
	w := spec.PercentFromBasisPoints(st.Weight).String()
	switch st.Kind {
	case spec.StepShadow:
		return "mirror " + spec.PercentFromBasisPoints(st.Mirror).String()
	case spec.StepPreview:
		return w + " (preview)"
	}
	return w
}

func approval(st spec.Step) string {
	if st.Approval {
		return "required"
	}
	return "-"
}

// dur renders a duration as a spec would: 30m, 1h30m, 45s.
func dur(d time.Duration) string { return spec.Duration(d.Round(time.Second)).String() }

func durOrDash(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return dur(d)
}
