package spec

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// StepKind says how a step exposes the candidate.
type StepKind string

// Step kinds.
const (
	// StepShadow: the candidate gets a copy of Mirror of live traffic and
	// answers nobody.
	StepShadow StepKind = "shadow"
	// StepPreview: the candidate is loaded at 0%, reachable only by a
	// pinned route or header (blue-green, before the switch).
	StepPreview StepKind = "preview"
	// StepCanary: the candidate answers Weight of live traffic.
	StepCanary StepKind = "canary"
	// StepSwitch: the candidate answers all traffic at once (blue-green,
	// after the switch), the baseline kept warm if the spec says so.
	StepSwitch StepKind = "switch"
	// StepExperiment: the control and the challengers answer fixed shares
	// of traffic (an A/B test).
	StepExperiment StepKind = "experiment"
	// StepBandit: the arms' shares follow the evidence.
	StepBandit StepKind = "bandit"
)

// Step is one stage of a plan, in the units the router and controller use.
type Step struct {
	Name string
	Kind StepKind
	// Weight is the candidate's share of live traffic in basis points
	// (10000 is all of it).
	Weight int
	// Mirror is the share of live traffic copied to the candidate, in
	// basis points; zero but for a shadow step.
	Mirror int
	// Duration is how long the step lasts before it may advance; zero
	// means it advances as soon as its approval and analysis allow.
	Duration time.Duration
	// Start is when the step begins, counted from the rollout's start, if
	// every analysis passes on time and every approval is instant.
	Start time.Duration
	// AfterApproval says an earlier step waits for a person, so Start is
	// the earliest the step can begin.
	AfterApproval bool
	Analysis      Analysis
	// Approval makes the step wait, once its duration and analysis are
	// through, for a person to promote it.
	Approval bool
	// Added marks a step the spec did not write out: the final 100% stage
	// or a linear step.
	Added bool
}

// Plan is what a deployment will do, step by step, with the triggers that
// can stop it: what the rollout controller runs and what
// `slipway deploy --dry-run` prints.
type Plan struct {
	Model, Version, Baseline string
	Strategy                 Strategy
	Steps                    []Step
	// Duration is the expected length of the rollout: the sum of the
	// steps' durations, approvals taking no time.
	Duration time.Duration
	// Approvals counts the steps that wait for a person.
	Approvals int
	// Promotes says whether completing the plan moves the production alias
	// to the candidate; a shadow that continues into nothing does not.
	Promotes bool
	// KeepWarm says the baseline stays loaded after a blue-green switch.
	KeepWarm      bool
	Triggers      []Trigger
	Notifications []Notification
	// Experiment is the ab-test or bandit section; nil for the other
	// strategies.
	Experiment *Experiment
}

// Plan unfolds the spec's strategy into steps. The spec must come from
// Parse; for any other spec with an unknown strategy the plan has no steps.
func (s *Spec) Plan() Plan {
	d := &s.Deployment
	p := Plan{
		Model: d.Model, Version: d.Version, Baseline: d.Baseline, Strategy: d.Strategy,
		Triggers: d.Rollback.Triggers, Notifications: d.Notifications,
		Promotes: d.Strategy != Shadow || (d.Shadow != nil && d.Shadow.Then != ""),
		KeepWarm: d.BlueGreen != nil && d.BlueGreen.KeepWarm,
	}
	if d.Experiment != nil {
		p.Promotes, p.Experiment = d.Experiment.Promote, d.Experiment
	}
	rule, ok := strategies[d.Strategy]
	if !ok {
		return p
	}
	p.Steps = rule.steps(d)
	for i := range p.Steps {
		st := &p.Steps[i]
		st.Start, st.AfterApproval = p.Duration, p.Approvals > 0
		p.Duration += st.Duration
		if st.Approval {
			p.Approvals++
		}
	}
	return p
}

// String renders a metric's conditions in its unit, such as
// "error-rate ≤ 1% (n ≥ 100)" or "latency-p99 ≤ 1.5× baseline (n ≥ 100)".
func (m Metric) String() string {
	info := m.Info()
	u := info.Unit
	var conds []string
	lo, hi := m.Bounds()
	switch {
	case lo != nil && hi != nil:
		conds = append(conds, fmt.Sprintf("%s to %s", u.Format(*lo), u.Format(*hi)))
	case lo != nil:
		conds = append(conds, "≥ "+u.Format(*lo))
	case hi != nil:
		conds = append(conds, "≤ "+u.Format(*hi))
	}
	if r := m.Relative; r != nil {
		op := "≤"
		if info.Better == HigherBetter {
			op = "≥"
		}
		conds = append(conds, fmt.Sprintf("%s %s× baseline", op, formatNumber(*r)))
	}
	if p := m.MaxIncrease; p != nil {
		conds = append(conds, "≤ baseline +"+p.String())
	}
	if p := m.MaxDecrease; p != nil {
		conds = append(conds, "≥ baseline −"+p.String())
	}
	if m.Expr != "" {
		conds = append(conds, "expr `"+m.Expr+"`")
	}
	name := m.Name
	if m.Feature != "" {
		name += "[" + m.Feature + "]"
	}
	if info.Unit == UnitValue && m.Aggregate != "" {
		name = m.Aggregate + "(" + name + ")"
	}
	if m.Provider != nil {
		name += " from " + m.Provider.String()
	}
	return fmt.Sprintf("%s %s (n ≥ %d)", name, strings.Join(conds, ", "), m.MinSamples)
}

// String renders a trigger's condition, such as "error-rate above 5%" or
// "latency-p99 above 2× baseline".
func (t Trigger) String() string {
	s := t.condition()
	if t.Provider != nil {
		s += " from " + t.Provider.String()
	}
	return s
}

func (t Trigger) condition() string {
	u := t.Info().Unit
	switch {
	case t.Above != nil:
		return fmt.Sprintf("%s above %s", t.Metric, u.Format(*t.Above))
	case t.Below != nil:
		return fmt.Sprintf("%s below %s", t.Metric, u.Format(*t.Below))
	case t.Relative != nil:
		side := "above"
		if t.Info().Better == HigherBetter {
			side = "below"
		}
		return fmt.Sprintf("%s %s %s× baseline", t.Metric, side, formatNumber(*t.Relative))
	case t.Expr != "":
		return fmt.Sprintf("%s when `%s`", t.Metric, t.Expr)
	}
	return t.Metric
}

// Render writes the plan as people read it: a table of the steps, the
// notes that explain it, the rollback triggers and the notifications.
func (p Plan) Render(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Deployment plan: %s version %s against baseline %s, strategy %s\n\n", p.Model, p.Version, p.Baseline, p.Strategy)
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tWEIGHT\tDURATION\tSTARTS AT\tANALYSIS\tAPPROVAL")
	for _, st := range p.Steps {
		p.renderStep(tw, st)
	}
	_ = tw.Flush() // a bytes.Buffer does not fail
	for line := range strings.Lines(table.String()) {
		fmt.Fprintln(ew, strings.TrimRight(line, " \n")) // continuation rows end in padding
	}
	fmt.Fprintln(ew)
	for _, n := range p.notes() {
		fmt.Fprintln(ew, n)
	}
	p.renderTriggers(ew)
	p.renderNotifications(ew)
	return ew.err
}

func (p Plan) renderStep(tw io.Writer, st Step) {
	name := st.Name
	if st.Added {
		name += "*"
	}
	lines := []string{"-"}
	if x := p.Experiment; x != nil && (st.Kind == StepExperiment || st.Kind == StepBandit) {
		lines = x.Describe(p.Baseline, st.Kind == StepBandit)
	}
	if !st.Analysis.Empty() {
		lines = lines[:0]
		for _, m := range st.Analysis.Metrics {
			lines = append(lines, m.String())
		}
		if st.Analysis.Inconclusive != ActionPause {
			lines = append(lines, fmt.Sprintf("no verdict at the end: %s", st.Analysis.Inconclusive))
		}
	}
	start := Duration(st.Start).String()
	if st.AfterApproval {
		start = "≥ " + start
	}
	dur := "-"
	if st.Duration > 0 {
		dur = Duration(st.Duration).String()
	}
	approval := "-"
	if st.Approval {
		approval = "yes"
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, weightCell(st), dur, start, lines[0], approval)
	for _, l := range lines[1:] {
		fmt.Fprintf(tw, "\t\t\t\t%s\t\n", l)
	}
}

func weightCell(st Step) string {
	w := PercentFromBasisPoints(st.Weight).String()
	switch st.Kind {
	case StepShadow:
		return "mirror " + PercentFromBasisPoints(st.Mirror).String()
	case StepPreview:
		return w + " (preview)"
	}
	return w
}

// notes explain what the table cannot: added stages, waiting, what
// completion does.
func (p Plan) notes() []string {
	var out []string
	for _, st := range p.Steps {
		if st.Added && st.Weight == 10000 {
			out = append(out, fmt.Sprintf("* %s: added, as the last stage goes to 100%%.", st.Name))
			break
		}
	}
	for _, st := range p.Steps {
		if st.Added && st.Weight < 10000 {
			out = append(out, "* step-N: expanded from linear.")
			break
		}
	}
	d := "Expected duration: " + Duration(p.Duration).String()
	if p.Approvals > 0 {
		d += ", plus the time the approval waits"
		if p.Approvals > 1 {
			d = fmt.Sprintf("%s, plus the time the %d approvals wait", d[:strings.LastIndex(d, ", plus")], p.Approvals)
		}
	}
	out = append(out, d+".")
	for _, st := range p.Steps {
		switch st.Kind {
		case StepShadow:
			out = append(out, fmt.Sprintf("%s: %s answers nobody; its answers to mirrored requests are compared with %s's.", st.Name, p.Version, p.Baseline))
		case StepPreview:
			out = append(out, fmt.Sprintf("%s: %s is loaded at 0%%, reachable by a pinned version (/versions/%s) or the header X-Slipway-Preview: true for smoke tests; then all traffic switches at once.", st.Name, p.Version, p.Version))
		case StepSwitch:
			if p.KeepWarm {
				out = append(out, fmt.Sprintf("%s: baseline %s stays loaded until %s passes, so a rollback is instant; then it is released.", st.Name, p.Baseline, st.Name))
			} else {
				out = append(out, fmt.Sprintf("%s: baseline %s is released at the switch (keepWarm: false); a rollback reloads it.", st.Name, p.Baseline))
			}
		}
	}
	if x := p.Experiment; x != nil {
		return append(out, x.Notes(p)...)
	}
	if p.Promotes {
		out = append(out, fmt.Sprintf("On completion the production alias moves to %s.", p.Version))
	} else {
		out = append(out, fmt.Sprintf("When the shadow ends, %s is not promoted (then: canary would continue into stages).", p.Version))
	}
	out = append(out, "A stage advances when its duration is over and its analysis passes; a failed analysis rolls back;",
		"an analysis without a verdict when its stage ends waits for data for up to the stage's duration again,",
		"then pauses the rollout unless the stage says otherwise.")
	return out
}

func (p Plan) renderTriggers(w io.Writer) {
	if len(p.Triggers) == 0 {
		fmt.Fprintln(w, "\nRollback triggers: none.")
		return
	}
	fmt.Fprintln(w, "\nRollback triggers, checked at every tick of every stage:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tACTION\tNOTIFY\tMIN SAMPLES")
	for _, t := range p.Triggers {
		notify := "-"
		if t.Notify {
			notify = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", t, t.Action, notify, t.MinSamples)
	}
	_ = tw.Flush() // errors stick in the errWriter below
}

func (p Plan) renderNotifications(w io.Writer) {
	if len(p.Notifications) == 0 {
		fmt.Fprintln(w, "\nNotifications: none.")
		return
	}
	fmt.Fprintln(w, "\nNotifications:")
	for _, n := range p.Notifications {
		kind := "JSON"
		if n.Slack {
			kind = "Slack"
		}
		events := strings.Join(n.Events, ", ")
		if len(n.Events) == len(Events) {
			events = "all events"
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", n.Webhook, kind, events)
	}
}

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}
