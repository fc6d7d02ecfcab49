package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
)

// condition is the judgement of one condition of a metric or trigger.
type condition struct {
	result slipway.VerdictResult
	text   string
}

func pass(text string) condition         { return condition{slipway.Pass, text} }
func fail(text string) condition         { return condition{slipway.Fail, text} }
func inconclusive(text string) condition { return condition{slipway.Inconclusive, text} }

// judgement holds what every condition of one metric or trigger is judged
// on.
type judgement struct {
	info spec.MetricInfo
	ms   measurement
	min  int64 // MinSamples
	// seq is the sequential test behind the last condition judged on
	// counts, recorded in the result; opt is the tests' options, with
	// this condition's share of Alpha.
	seq *stats.SeqResult
	opt stats.SeqOptions
}

func (e *Evidence) judgeMetric(m *spec.Metric, opt stats.SeqOptions) slipway.MetricResult {
	res := slipway.MetricResult{Metric: m.Name, Rule: m.String(), MinSamples: m.MinSamples}
	info, known := spec.LookupMetric(m.Name)
	if m.Provider != nil {
		info, known = m.Info(), true
	}
	if !known {
		res.Result, res.Reason = slipway.Inconclusive, "not a metric of the catalogue"
		return res
	}
	x, xerr := compileExpr(m.Expr)
	relative := m.Relative != nil || m.MaxIncrease != nil || m.MaxDecrease != nil || (x != nil && x.UsesBaseline)
	j := judgement{info: info, min: int64(m.MinSamples), opt: opt, ms: e.measure(target{
		name: m.Name, feature: m.Feature, aggregate: m.Aggregate, minSamples: int64(m.MinSamples), needBase: relative, provider: m.Provider,
	})}
	j.fill(&res)
	if j.ms.cand.verdict != nil {
		c := j.providerVerdict(m.Provider)
		res.Result, res.Reason = c.result, c.text
		res.Sentence = j.sentence(&res, "", metricOutcome(res.Result))
		return res
	}

	var conds [5]condition
	n := 0
	if m.Expr != "" {
		conds[n] = j.expression(x, xerr, false)
		n++
	}
	if lo, hi := m.Bounds(); lo != nil || hi != nil {
		conds[n] = j.bounds(lo, hi)
		n++
	}
	if m.Relative != nil {
		conds[n] = j.relative(*m.Relative)
		n++
	}
	if m.MaxIncrease != nil {
		conds[n] = j.change(float64(*m.MaxIncrease), true)
		n++
	}
	if m.MaxDecrease != nil {
		conds[n] = j.change(float64(*m.MaxDecrease), false)
		n++
	}
	if n == 0 {
		why, ready := j.ready(false)
		if ready {
			why = "no condition to judge the value by: give min, max, maxIncrease, maxDecrease or expr, or have the webhook answer pass or fail"
		}
		res.Result, res.Reason = slipway.Inconclusive, why
		return res
	}
	res.Result, res.Reason = combine(conds[:n])
	res.Reason += j.ms.detail()
	j.record(&res)
	res.Sentence = j.sentence(&res, ruleLimit(res.Rule, m.Name), metricOutcome(res.Result))
	return res
}

func (e *Evidence) checkTrigger(t *spec.Trigger, opt stats.SeqOptions) Firing {
	f := Firing{Trigger: *t}
	res := slipway.MetricResult{Metric: t.Metric, Rule: t.String(), MinSamples: t.MinSamples}
	info, known := spec.LookupMetric(t.Metric)
	if t.Provider != nil {
		info, known = t.Info(), true
	}
	if !known {
		res.Result, res.Reason = slipway.Inconclusive, "not a metric of the catalogue"
		f.Result = res
		return f
	}
	x, xerr := compileExpr(t.Expr)
	// Triggers take values.NAME as a mean: a sum grows with the window
	// and the traffic share, so a fixed limit on it would fire in time.
	j := judgement{info: info, min: int64(t.MinSamples), opt: opt, ms: e.measure(target{
		name: t.Metric, minSamples: int64(t.MinSamples), needBase: t.Relative != nil || (x != nil && x.UsesBaseline), provider: t.Provider,
	})}
	j.fill(&res)
	var c condition
	switch {
	case j.ms.cand.verdict != nil:
		c = j.providerVerdict(t.Provider)
	case t.Expr != "":
		c = j.expression(x, xerr, true)
	case t.Above != nil:
		c = j.bounds(nil, t.Above)
	case t.Below != nil:
		c = j.bounds(t.Below, nil)
	case t.Relative != nil:
		c = j.relative(*t.Relative)
	default:
		c = inconclusive("no limit to check")
	}
	res.Result, res.Reason = c.result, c.text+j.ms.detail()
	j.record(&res)
	res.Sentence = j.sentence(&res, ruleLimit(t.String(), t.Metric), triggerOutcome(t, res.Result))
	f.Result, f.Fired = res, c.result == slipway.Fail
	return f
}

// fill records the measured values and sample counts.
func (j *judgement) fill(res *slipway.MetricResult) {
	c, b := j.ms.cand, j.ms.base
	res.CandidateN, res.BaselineN = c.n, b.n
	if c.ok && c.verdict == nil {
		v := c.value
		res.Candidate = &v
	}
	if b.ok && !j.ms.comparison {
		v := b.value
		res.Baseline = &v
	}
}

// ready reports whether the candidate (and, with base or for a metric
// whose value depends on both versions, the baseline) has a value and
// enough samples, or says why not.
func (j *judgement) ready(base bool) (string, bool) {
	c, b := &j.ms.cand, &j.ms.base
	base = base || j.ms.baseSamples
	if c.hard {
		return c.why, false
	}
	if base && b.hard {
		return "baseline: " + b.why, false
	}
	cShort, bShort := c.n < j.min, base && b.n < j.min
	switch {
	case cShort && bShort:
		return fmt.Sprintf("%d of %d %s, baseline %d of %d", c.n, j.min, j.ms.noun, b.n, j.min), false
	case cShort:
		return fmt.Sprintf("%d of %d %s", c.n, j.min, j.ms.noun), false
	case bShort:
		return fmt.Sprintf("baseline %d of %d %s", b.n, j.min, j.ms.baseNoun()), false
	case !c.ok:
		return c.why, false
	case base && !j.ms.comparison && !b.ok:
		return "baseline: " + b.why, false
	}
	return "", true
}

// bounds judges the candidate's value against absolute limits, either of
// which may be nil.
func (j *judgement) bounds(lo, hi *float64) condition {
	if why, ok := j.ready(false); !ok {
		return inconclusive(why)
	}
	if j.ms.cand.counted {
		if c, decided := j.seqBounds(lo, hi); decided {
			return c
		}
	}
	v, u := j.ms.cand.value, j.info.Unit
	switch {
	case lo != nil && below(v, *lo):
		return fail(formatNear(u, v, *lo) + " < " + u.Format(*lo))
	case hi != nil && above(v, *hi):
		return fail(formatNear(u, v, *hi) + " > " + u.Format(*hi))
	case lo != nil && hi != nil:
		return pass(u.Format(*lo) + " ≤ " + format(u, v) + " ≤ " + u.Format(*hi))
	case lo != nil:
		return pass(formatNear(u, v, *lo) + " ≥ " + u.Format(*lo))
	}
	return pass(formatNear(u, v, *hi) + " ≤ " + u.Format(*hi))
}

// relative judges the candidate against r times the baseline on the side
// where the metric gets worse. The comparison is multiplied out (c ≤ r·b
// rather than c/b ≤ r), which settles a zero baseline: see the package
// documentation.
func (j *judgement) relative(r float64) condition {
	if why, ok := j.comparable(); !ok {
		return inconclusive(why)
	}
	if j.ms.cand.counted && j.ms.base.counted {
		if c, decided := j.seqRelative(r); decided {
			return c
		}
	}
	if j.ms.cand.sketch != nil && j.ms.base.sketch != nil {
		if c, decided := j.seqQuantile(r); decided {
			return c
		}
	}
	v, u := j.ms.cand.value, j.info.Unit
	b, btext := j.baseline()
	limit := r * b
	rs := strconv.FormatFloat(r, 'f', -1, 64) + "× baseline " + btext
	switch j.info.Better {
	case spec.LowerBetter:
		if above(v, limit) {
			return fail(formatNear(u, v, limit) + " > " + rs)
		}
		return pass(formatNear(u, v, limit) + " ≤ " + rs)
	case spec.HigherBetter:
		if below(v, limit) {
			return fail(formatNear(u, v, limit) + " < " + rs)
		}
		return pass(formatNear(u, v, limit) + " ≥ " + rs)
	}
	return inconclusive(j.info.Name + " has no better side, so a ratio cannot say which side is bad")
}

// change judges the candidate against the baseline plus (increase) or
// minus p percent of the baseline's magnitude.
func (j *judgement) change(p float64, increase bool) condition {
	if why, ok := j.comparable(); !ok {
		return inconclusive(why)
	}
	v, u := j.ms.cand.value, j.info.Unit
	b, btext := j.baseline()
	delta := math.Abs(b) * p / 100
	ps := strconv.FormatFloat(p, 'f', -1, 64) + "%"
	sign := " −"
	if increase {
		sign = " +"
	}
	if c, decided := j.seqChange(delta, increase, "baseline "+btext+sign+ps); decided {
		return c
	}
	if increase {
		limit := b + delta
		if above(v, limit) {
			return fail(formatNear(u, v, limit) + " > baseline " + btext + " +" + ps)
		}
		return pass(formatNear(u, v, limit) + " ≤ baseline " + btext + " +" + ps)
	}
	limit := b - delta
	if below(v, limit) {
		return fail(formatNear(u, v, limit) + " < baseline " + btext + " −" + ps)
	}
	return pass(formatNear(u, v, limit) + " ≥ baseline " + btext + " −" + ps)
}

// comparable reports whether a condition relative to the baseline can be
// judged, or says why not.
func (j *judgement) comparable() (string, bool) {
	if j.ms.comparison {
		return j.info.Name + " already compares the candidate with the baseline, so there is no baseline value to compare with; use threshold, min or max", false
	}
	return j.ready(true)
}

// baseline is the baseline's value as relative conditions use it, and as
// reasons show it: a zero baseline with a resolution floor counts as the
// floor.
func (j *judgement) baseline() (float64, string) {
	b, u := j.ms.base, j.info.Unit
	if b.value == 0 && b.floor > 0 {
		return b.floor, fmt.Sprintf("%s (taken as %s, 1 in %d %s)", u.Format(0), format(u, b.floor), b.n, j.ms.baseNoun())
	}
	return b.value, format(u, b.value)
}

// Values within a billionth of a limit meet it, so that rounding in a
// ratio (96% computed as 0.96 × 100) does not decide a verdict.
const tolerance = 1e-9

func above(v, limit float64) bool { return v > limit+tolerance*math.Abs(limit) }
func below(v, limit float64) bool { return v < limit-tolerance*math.Abs(limit) }

// combine folds a metric's conditions: it fails when any fails (naming
// each that failed), is inconclusive when any is (naming the first
// reason), and passes otherwise (naming each).
func combine(conds []condition) (slipway.VerdictResult, string) {
	for _, want := range []slipway.VerdictResult{slipway.Fail, slipway.Inconclusive} {
		var texts []string
		for _, c := range conds {
			if c.result == want {
				texts = append(texts, c.text)
			}
		}
		if len(texts) > 0 {
			if want == slipway.Inconclusive {
				texts = texts[:1] // the others mostly repeat the shortage of samples
			}
			return want, strings.Join(texts, ", ")
		}
	}
	if len(conds) == 1 {
		return slipway.Pass, conds[0].text
	}
	texts := make([]string, len(conds))
	for i, c := range conds {
		texts[i] = c.text
	}
	return slipway.Pass, strings.Join(texts, ", ")
}

// summarize folds the metrics into a verdict and the sentence that
// explains it, naming the deciding metric with its numbers.
func summarize(results []slipway.MetricResult) (slipway.VerdictResult, string) {
	for _, want := range []slipway.VerdictResult{slipway.Fail, slipway.Inconclusive} {
		first := -1
		var others []string
		for i := range results {
			if results[i].Result != want {
				continue
			}
			if first < 0 {
				first = i
			} else {
				others = append(others, results[i].Metric)
			}
		}
		if first < 0 {
			continue
		}
		r := &results[first]
		var s string
		if want == slipway.Fail {
			s = r.Metric + " " + r.Reason + samples(r)
		} else {
			s = r.Metric + " inconclusive: " + r.Reason
		}
		if len(others) > 0 {
			s += fmt.Sprintf("; also %s: %s", want, strings.Join(others, ", "))
		}
		return want, s
	}
	parts := make([]string, len(results))
	for i := range results {
		parts[i] = results[i].Metric + " " + results[i].Reason + samples(&results[i])
	}
	if len(results) == 1 {
		return slipway.Pass, parts[0]
	}
	return slipway.Pass, fmt.Sprintf("all %d metrics pass: %s", len(results), strings.Join(parts, "; "))
}

// samples is " (n 412/405)": the candidate's and, when the judgement read
// it, the baseline's sample counts.
func samples(r *slipway.MetricResult) string {
	if r.Baseline != nil || r.BaselineN > 0 {
		return fmt.Sprintf(" (n %d/%d)", r.CandidateN, r.BaselineN)
	}
	return fmt.Sprintf(" (n %d)", r.CandidateN)
}

// format renders a measured value in its unit with three significant
// digits (every integer digit of larger numbers): "91.2%", "0.0412 PSI".
func format(u spec.Unit, v float64) string { return u.Format(roundSignificant(v, 3)) }

// formatNear renders v with as many digits as it takes to show on which
// side of limit it lies, at least three: "1.0004%" rather than "1%"
// against a limit of 1%.
func formatNear(u spec.Unit, v, limit float64) string {
	r := roundSignificant(v, 3)
	for d := 4; d <= 12 && v != limit && (r == limit || (r > limit) != (v > limit)); d++ {
		r = roundSignificant(v, d)
	}
	return u.Format(r)
}

// roundSignificant rounds v to d significant digits, keeping every digit
// before the decimal point; the result prints in its shortest form.
func roundSignificant(v float64, d int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	decimals := min(max(d-1-int(math.Floor(math.Log10(math.Abs(v)))), 0), 15)
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'f', decimals, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Judge gathers the evidence once and judges both a step's metrics and the
// rollback triggers on it: what the rollout controller asks every tick.
func (j *Judge) Judge(q Query, metrics []spec.Metric, triggers []spec.Trigger) (slipway.Verdict, []Firing) {
	if len(metrics) == 0 && len(triggers) == 0 {
		return slipway.Verdict{Result: slipway.Pass, Reason: "no metrics to judge", Window: q.Window}, nil
	}
	ev := j.Gather(q)
	var firings []Firing
	if len(triggers) > 0 {
		firings = ev.Check(triggers)
	}
	return ev.Analyze(metrics), firings
}
