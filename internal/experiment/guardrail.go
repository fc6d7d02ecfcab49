package experiment

import (
	"errors"
	"fmt"
	"math"
)

// GuardrailState is where a guardrail metric stands for one challenger.
type GuardrailState int

const (
	// Watching: the data cannot tell yet whether the degradation exceeds
	// the allowance.
	Watching GuardrailState = iota
	// Breached: the challenger degrades the metric by more than the
	// allowance, with confidence.
	Breached
	// Held: the challenger's degradation, if any, is within the
	// allowance, with confidence.
	Held
)

func (s GuardrailState) String() string {
	switch s {
	case Watching:
		return "watching"
	case Breached:
		return "breached"
	case Held:
		return "held"
	}
	return fmt.Sprintf("GuardrailState(%d)", int(s))
}

// Guardrail is a metric that must not get worse than an allowance while
// an experiment runs (latency, errors, revenue), whoever wins on the
// primary metric.
type Guardrail struct {
	// Metric is the guarded metric; LowerIsBetter marks those where a
	// rise is the degradation (latency, errors).
	Metric Metric
	// MaxDegradation is the largest degradation allowed, relative to the
	// control's value: 0.05 lets a challenger be up to 5% worse. Zero
	// allows none: any significant degradation breaches.
	MaxDegradation float64
	// Alpha bounds the chance of ever breaching falsely per experiment,
	// split over the challengers (Bonferroni). Zero means DefaultAlpha;
	// otherwise it must lie in (0, 1).
	Alpha float64
	// Tau2 is the mixing variance, as Options.Tau2. Zero means the
	// default.
	Tau2 float64
	// Unit names what Arm.Assigned counts; empty means DefaultUnit.
	Unit string
}

// GuardrailResult is one challenger's guardrail at one look.
type GuardrailResult struct {
	Name  string
	State GuardrailState
	// Degradation is how much worse than the control the challenger is,
	// relative to the control's value (+0.08 for 8% worse, negative when
	// it is better), with its always-valid interval [Lower, Upper],
	// ±Inf while the control's value cannot be told from 0.
	Degradation, Lower, Upper float64
	// Comparison is the underlying test of the challenger against the
	// control.
	Comparison Comparison
	// Summary says it in a sentence.
	Summary string
}

// CheckGuardrail judges a guardrail metric for every challenger
// (arms[1:]) against the control (arms[0]), sequentially: the relative
// degradation's always-valid interval (the Fieller interval of Analyze's
// test, at Alpha/(arms − 1)) lies wholly above MaxDegradation: Breached;
// wholly below it: Held; otherwise Watching. Since the interval holds at
// every look with probability 1 − Alpha/(arms − 1), a challenger whose
// true degradation is within the allowance is ever breached with
// probability at most that, however often the guardrail is checked.
func CheckGuardrail(arms []Arm, g Guardrail) ([]GuardrailResult, error) {
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := validateArms(arms, g.Metric.Kind); err != nil {
		return nil, err
	}
	if g.Alpha == 0 {
		g.Alpha = DefaultAlpha
	}
	opt := Options{Tau2: g.Tau2, Unit: g.Unit, Metric: g.Metric}.withDefaults()
	vals := metricValues(arms, g.Metric.Kind)
	alpha := g.Alpha / float64(len(arms)-1)
	out := make([]GuardrailResult, 0, len(arms)-1)
	for i := 1; i < len(arms); i++ {
		c := compare(vals[i], vals[0], alpha, opt.Tau2)
		r := GuardrailResult{Name: arms[i].Name, Comparison: c}
		// A rise is the degradation when lower is better, a fall otherwise.
		r.Degradation, r.Lower, r.Upper = c.Relative, c.RelLower, c.RelUpper
		if !g.Metric.LowerIsBetter {
			r.Degradation, r.Lower, r.Upper = -c.Relative, -c.RelUpper, -c.RelLower
		}
		switch {
		case r.Lower > g.MaxDegradation:
			r.State = Breached
		case r.Upper < g.MaxDegradation:
			r.State = Held
		}
		r.Summary = guardrailSummary(r, vals[i].Mean(), vals[0].Mean(), arms[i].Assigned+arms[0].Assigned, arms[0].Name, g, opt)
		out = append(out, r)
	}
	return out, nil
}

func (g Guardrail) validate() error {
	errs := validateLevels("guardrail", g.Alpha, g.Tau2, g.Metric.Kind)
	if !(g.MaxDegradation >= 0) || math.IsInf(g.MaxDegradation, 0) {
		errs = append(errs, fmt.Errorf("guardrail.maxDegradation %v: must be a finite fraction ≥ 0 of the control's value (0.05 for 5%%)", g.MaxDegradation))
	}
	return errors.Join(errs...)
}

func guardrailSummary(r GuardrailResult, v, ctl float64, units int64, ctlName string, g Guardrail, opt Options) string {
	ci := "CI unbounded yet"
	if !math.IsInf(r.Lower, 0) && !math.IsInf(r.Upper, 0) {
		ci = fmt.Sprintf("CI %s to %s", formatLift(r.Lower), formatLift(r.Upper))
	}
	worse := "worse"
	if r.Degradation < 0 {
		worse = "better"
	}
	return fmt.Sprintf("%s %s %s vs %s %s (%s %s, %s%% %s) over %s %s: %s (allowed %s worse)",
		r.Name, metricVerb(g.Metric), formatValue(v, g.Metric.Kind), formatValue(ctl, g.Metric.Kind), ctlName,
		formatLift(math.Abs(r.Degradation)), worse, formatLevel(r.Comparison.Alpha), ci,
		formatCount(units), opt.Unit, r.State, formatShare(100*g.MaxDegradation)+"%")
}
