package experiment

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/stats"
)

// Decision is what an experiment's data says to do now.
type Decision int

const (
	// Continue: no arm is significantly better than the control (and,
	// with three or more arms, than every other arm) yet; keep the split.
	Continue Decision = iota
	// Waiting: the minimum sample per arm or the minimum duration is not
	// reached, so nothing is decided whatever the data say.
	Waiting
	// Winner: Result.Winner beat the control and every other challenger.
	Winner
	// KeepControl: every challenger is significantly worse than the
	// control.
	KeepControl
	// SampleRatioMismatch: the assigned units do not match the
	// configured shares, so the comparison cannot be trusted and nothing
	// is decided until the split is fixed.
	SampleRatioMismatch
)

func (d Decision) String() string {
	switch d {
	case Continue:
		return "continue"
	case Waiting:
		return "waiting"
	case Winner:
		return "winner"
	case KeepControl:
		return "keep-control"
	case SampleRatioMismatch:
		return "sample-ratio-mismatch"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Verdict is one arm's standing against the control.
type Verdict int

const (
	// NoDifference: the arm cannot be told from the control yet.
	NoDifference Verdict = iota
	// Better: significantly better than the control, but not the winner
	// (the minimums are not met, or another arm is not significantly
	// worse than it).
	Better
	// Worse: significantly worse than the control.
	Worse
	// Won: the experiment's winner.
	Won
	// IsControl marks the control arm.
	IsControl
)

func (v Verdict) String() string {
	switch v {
	case NoDifference:
		return "no significant difference yet"
	case Better:
		return "better than control, not the winner yet"
	case Worse:
		return "worse than control"
	case Won:
		return "winner"
	case IsControl:
		return "control"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Result is the analysis of an experiment at one look.
type Result struct {
	// Decision is what to do now, and Winner the index of the winning
	// arm when Decision is Winner (−1 otherwise).
	Decision Decision
	Winner   int
	// Arms holds one result per arm, the control first.
	Arms []ArmResult
	// SRM is the sample-ratio check of the assigned units.
	SRM SRM
	// Alpha is the family-wise level, and ComparisonAlpha the level of
	// each test and interval: Alpha/(arms − 1).
	Alpha, ComparisonAlpha float64
	// Summary says the decision in a sentence.
	Summary string
}

// ArmResult is one arm at one look.
type ArmResult struct {
	Name string
	// Value is the arm's rate (Binary) or mean (Continuous), from N
	// observations; Assigned is the units routed to it.
	Value    float64
	N        int64
	Assigned int64
	// ProbBest is the posterior probability that the arm's rate or mean
	// is the best of all arms: under a uniform Beta(1, 1) prior for
	// rates, a flat prior with the normal approximation for means (equal
	// for every arm while any arm has fewer than two observations).
	// It is not always-valid: it describes, and the decision does not use
	// it.
	ProbBest float64
	// VsControl compares the arm with the control; zero for the control.
	VsControl Comparison
	Verdict   Verdict
	// Summary says it in a sentence: "v2 converts 5.4% vs 4.9% control
	// (+10.2%, 95% CI +2.1% to +18.9%, always-valid p=0.004) over 41,200
	// users: winner".
	Summary string
}

// Analyze compares every challenger (arms[1:]) with the control
// (arms[0]) on the primary metric, after elapsed time since the
// experiment started, and decides:
//
//   - a challenger is Better (Worse) than the control when the
//     always-valid p-value of their difference is at most
//     Alpha/(arms − 1) and the difference favours (disfavours) it;
//   - it is the Winner when it is Better, and, with three or more arms,
//     also significantly better than every other challenger by the same
//     test at the same level, when every arm has MinSamples observations,
//     elapsed is at least MinDuration, and the split passes the
//     sample-ratio check;
//   - KeepControl when every challenger is Worse, with the same
//     minimums and check.
//
// Declaring a winner requires a rejection of "equal to the control", so
// the chance of ever declaring a false one, however often Analyze is
// called, is at most Alpha (Bonferroni over the arms − 1 tests, each
// valid at every look). Analyze is pure: the same input gives the same
// result. It returns an error naming every bad field.
func Analyze(arms []Arm, elapsed time.Duration, opt Options) (Result, error) {
	if err := opt.validate(); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if elapsed < 0 {
		return Result{}, fmt.Errorf("%w: elapsed %v: must not be negative", ErrInvalid, elapsed)
	}
	if err := validateArms(arms, opt.Metric.Kind); err != nil {
		return Result{}, err
	}
	opt = opt.withDefaults()
	r, vals := assess(arms, elapsed, opt)
	best := equalChances(len(arms))
	if post, ok := posteriors(vals, opt.Metric.Kind); ok {
		best = probBest(post, opt.Metric.LowerIsBetter)
	}
	for i := range r.Arms {
		r.Arms[i].ProbBest = best[i]
		r.Arms[i].Summary = armSummary(r.Arms, i, opt)
	}
	r.Summary = r.summary(elapsed, opt)
	return r, nil
}

// assess is Analyze without the chances to be best and the sentences:
// the sample-ratio check, the comparisons and the decision, on valid
// input and options with their defaults.
func assess(arms []Arm, elapsed time.Duration, opt Options) (Result, []stats.Moments) {
	vals := metricValues(arms, opt.Metric.Kind)
	r := Result{
		Winner: -1, Alpha: opt.Alpha, ComparisonAlpha: opt.Alpha / float64(len(arms)-1),
		Arms: make([]ArmResult, len(arms)),
	}
	var err error
	r.SRM, err = CheckSRM(assignedCounts(arms), armShares(arms), opt.SRMThreshold, opt.Unit)
	if err != nil {
		panic("experiment: validated arms failed the sample-ratio check: " + err.Error())
	}
	for i, a := range arms {
		ar := ArmResult{Name: a.Name, Value: vals[i].Mean(), N: vals[i].N, Assigned: a.Assigned, Verdict: IsControl}
		if i > 0 {
			ar.VsControl = compare(vals[i], vals[0], r.ComparisonAlpha, opt.Tau2)
			ar.Verdict = verdictOf(ar.VsControl, opt.Metric.LowerIsBetter)
		}
		r.Arms[i] = ar
	}
	r.decide(vals, elapsed, opt)
	return r, vals
}

func metricValues(arms []Arm, kind Kind) []stats.Moments {
	vals := make([]stats.Moments, len(arms))
	for i, a := range arms {
		vals[i] = a.Values
		if kind == Binary {
			vals[i] = binaryValues(a.Values)
		}
	}
	return vals
}

func assignedCounts(arms []Arm) []int64 {
	out := make([]int64, len(arms))
	for i, a := range arms {
		out[i] = a.Assigned
	}
	return out
}

func armShares(arms []Arm) []float64 {
	out := make([]float64, len(arms))
	for i, a := range arms {
		out[i] = a.Share
	}
	return out
}

// posteriors are the arms' posteriors of their rates or means; ok is
// false while an arm of a Continuous metric has fewer than two
// observations, and so no variance, or no arm's values vary.
//
// A Continuous arm whose values all agree would have a point mass; its
// standard error is raised to a hundredth of the largest arm's, which
// keeps the integration finite and moves its chances by well under 1%.
func posteriors(vals []stats.Moments, kind Kind) (post []posterior, ok bool) {
	post = make([]posterior, len(vals))
	if kind == Binary {
		for i, m := range vals {
			post[i] = newBetaPosterior(m.Sum, float64(m.N))
		}
		return post, true
	}
	sds := make([]float64, len(vals))
	widest := 0.0
	for i, m := range vals {
		if m.N < 2 {
			return nil, false
		}
		sds[i] = math.Sqrt(m.Variance() / float64(m.N))
		widest = max(widest, sds[i])
	}
	if !(widest > 0) || math.IsInf(widest, 0) {
		return nil, false
	}
	for i, m := range vals {
		post[i] = normalPosterior{mean: m.Mean(), sd: max(sds[i], widest/100)}
	}
	return post, true
}

// equalChances gives each of k arms the same chance to be best.
func equalChances(k int) []float64 {
	out := make([]float64, k)
	for i := range out {
		out[i] = 1 / float64(k)
	}
	return out
}

// verdictOf is a challenger's standing from its comparison with the
// control.
func verdictOf(c Comparison, lowerIsBetter bool) Verdict {
	if !c.Significant() || c.Z == 0 {
		return NoDifference
	}
	if (c.Z > 0) != lowerIsBetter {
		return Better
	}
	return Worse
}

// decide sets the decision and the winner from the verdicts.
func (r *Result) decide(vals []stats.Moments, elapsed time.Duration, opt Options) {
	if r.SRM.Mismatch {
		r.Decision = SampleRatioMismatch
		return
	}
	if minN(vals) < opt.MinSamples || elapsed < opt.MinDuration {
		r.Decision = Waiting
		return
	}
	allWorse := true
	for i := 1; i < len(r.Arms); i++ {
		allWorse = allWorse && r.Arms[i].Verdict == Worse
		if r.Arms[i].Verdict == Better && beatsOthers(vals, i, r.ComparisonAlpha, opt) {
			r.Decision, r.Winner = Winner, i
			r.Arms[i].Verdict = Won
		}
	}
	if r.Decision != Winner && allWorse {
		r.Decision = KeepControl
	}
}

// beatsOthers reports whether challenger j is significantly better than
// every other challenger. At most one challenger can be, since the
// pairwise test is symmetric.
func beatsOthers(vals []stats.Moments, j int, alpha float64, opt Options) bool {
	for i := 1; i < len(vals); i++ {
		if i == j {
			continue
		}
		if verdictOf(compare(vals[j], vals[i], alpha, opt.Tau2), opt.Metric.LowerIsBetter) != Better {
			return false
		}
	}
	return true
}

func minN(vals []stats.Moments) int64 {
	n := vals[0].N
	for _, v := range vals[1:] {
		n = min(n, v.N)
	}
	return n
}

// armSummary is arm i's sentence.
func armSummary(arms []ArmResult, i int, opt Options) string {
	a, ctl := arms[i], arms[0]
	verb := metricVerb(opt.Metric)
	if i == 0 {
		return fmt.Sprintf("%s %s %s over %s %s: control", a.Name, verb,
			formatValue(a.Value, opt.Metric.Kind), formatCount(a.Assigned), opt.Unit)
	}
	c := a.VsControl
	ci := "CI unbounded yet"
	if !math.IsInf(c.RelLower, 0) && !math.IsInf(c.RelUpper, 0) {
		ci = fmt.Sprintf("CI %s to %s", formatLift(c.RelLower), formatLift(c.RelUpper))
	}
	return fmt.Sprintf("%s %s %s vs %s %s (%s, %s%% %s, always-valid p=%s) over %s %s: %s",
		a.Name, verb, formatValue(a.Value, opt.Metric.Kind), formatValue(ctl.Value, opt.Metric.Kind), ctl.Name,
		formatLift(c.Relative), formatLevel(c.Alpha), ci, formatP(c.PValue),
		formatCount(a.Assigned+ctl.Assigned), opt.Unit, a.Verdict)
}

func metricVerb(m Metric) string {
	switch {
	case m.Name != "":
		return m.Name
	case m.Kind == Binary:
		return "converts"
	}
	return "averages"
}

// summary is the decision in a sentence.
func (r Result) summary(elapsed time.Duration, opt Options) string {
	switch r.Decision {
	case SampleRatioMismatch:
		return r.SRM.Summary + "; nothing is decided until it is fixed"
	case Waiting:
		return "waiting: " + r.unmet(elapsed, opt)
	case Winner:
		w := r.Arms[r.Winner]
		return fmt.Sprintf("%s wins: %s %s vs %s %s (%s), significantly better than %s",
			w.Name, metricVerb(opt.Metric), formatValue(w.Value, opt.Metric.Kind),
			formatValue(r.Arms[0].Value, opt.Metric.Kind), r.Arms[0].Name, formatLift(w.VsControl.Relative), beaten(len(r.Arms)))
	case KeepControl:
		return fmt.Sprintf("keep %s: every challenger is significantly worse", r.Arms[0].Name)
	}
	return "continue: no challenger is significantly better than " + beaten(len(r.Arms)) + " yet"
}

// unmet names the minimums not reached yet.
func (r Result) unmet(elapsed time.Duration, opt Options) string {
	smallest := r.Arms[0].N
	for _, a := range r.Arms[1:] {
		smallest = min(smallest, a.N)
	}
	var parts []string
	if smallest < opt.MinSamples {
		parts = append(parts, fmt.Sprintf("the smallest arm has %s of %s observations",
			formatCount(smallest), formatCount(opt.MinSamples)))
	}
	if elapsed < opt.MinDuration {
		parts = append(parts, fmt.Sprintf("ran %s of %s", formatDuration(elapsed), formatDuration(opt.MinDuration)))
	}
	return strings.Join(parts, ", ")
}

func beaten(arms int) string {
	if arms > 2 {
		return "the control and every other challenger"
	}
	return "the control"
}
