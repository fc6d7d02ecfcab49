package spec

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// checker validates a decoded deployment. Every check runs, whatever the
// others found, so that one Parse reports every problem.
type checker struct {
	*problems
	strategy Strategy // the deployment's strategy, when known
}

func (c *checker) deployment(d *Deployment) {
	const p = "deployment"
	if c.bad[""] || c.bad[p] {
		return // the document or its body is not a mapping: nothing more to check
	}
	if !c.given(p) {
		c.addf(p, "required: the spec's body, such as deployment: {model: fraud, version: 2.1.0, stages: […]}")
		return
	}
	c.name(p+".model", "model", d.Model, "the model to deploy")
	c.name(p+".version", "version", d.Version, "the candidate version to deploy")
	c.name(p+".baseline", "baseline", d.Baseline, "an alias or version to compare with, such as production")
	if d.Version != "" && d.Version == d.Baseline {
		c.addf(p+".baseline", "%q is the candidate itself; compare with another version or an alias such as production", d.Baseline)
	}
	rule, known := c.strategyRule(p+".strategy", d.Strategy)
	switch err := traffic.CheckSticky(d.Sticky); {
	case d.Sticky == "":
		c.addf(p+".sticky", "empty; use header:NAME or param:NAME")
	case err != nil:
		c.addf(p+".sticky", "%v", err)
	}

	if c.given(p + ".stages") {
		c.stages(p+".stages", d.Stages)
	}
	if d.Linear != nil {
		c.linear(p+".linear", d.Linear)
	}
	if d.BlueGreen != nil {
		c.blueGreen(p+".blueGreen", d.BlueGreen)
	}
	if d.Shadow != nil {
		c.shadow(p+".shadow", d.Shadow)
	}
	if known {
		rule.check(c, d)
	}
	c.rollback(p+".rollback", d.Rollback)
	c.notifications(p+".notifications", d.Notifications)
}

// name checks a required model, version or alias name.
func (c *checker) name(path, kind, v, what string) {
	if v == "" {
		c.addf(path, "required: %s", what)
		return
	}
	if err := slipway.ValidName(kind, v); err != nil {
		c.addf(path, "%v", err)
	}
}

func (c *checker) strategyRule(path string, s Strategy) (strategyRule, bool) {
	if rule, ok := strategies[s]; ok {
		c.strategy = s
		return rule, true
	}
	known := strings.Join(knownStrategies(), ", ")
	switch {
	case s == "":
		c.addf(path, "empty; known strategies: %s", known)
	case isReserved(s):
		c.addf(path, "%s is not supported yet; known strategies: %s", s, known)
	default:
		c.addf(path, "unknown strategy %q%s (known: %s)", s, suggest(string(s), knownStrategies()), known)
	}
	return strategyRule{}, false
}

func (c *checker) stages(path string, stages []Stage) {
	if len(stages) == 0 {
		c.addf(path, "no stages: list at least one, such as - {name: canary, weight: 1, duration: 30m}")
		return
	}
	if len(stages) > MaxStages {
		c.addf(path, "%d stages; the most is %d", len(stages), MaxStages)
	}
	names := make(map[string]string)
	var prev Percent
	var prevPath string
	for i := range stages {
		s := &stages[i]
		sp := fmt.Sprintf("%s[%d]", path, i)
		if err := slipway.ValidName("stage name", s.Name); err != nil {
			c.addf(sp+".name", "%v", err)
		} else if first, dup := names[s.Name]; dup {
			if c.given(first) {
				c.addf(sp+".name", "%q is used twice (also %s, line %d)", s.Name, first, c.at(first).Line)
			} else {
				c.addf(sp+".name", "%q is used twice (%s, line %d, has it by default)", s.Name, parent(first), c.at(first).Line)
			}
		} else {
			names[s.Name] = sp + ".name"
		}
		if c.weight(sp+".weight", s.Weight, prev, prevPath) {
			prev, prevPath = s.Weight, sp
		}
		c.stageDuration(sp+".duration", s)
		c.analysis(sp+".promotion.analysis", &s.Promotion.Analysis, false)
	}
}

// weight checks a stage's weight against the bounds and the previous
// stage's; it reports whether the weight is usable as the next "previous".
func (c *checker) weight(path string, w, prev Percent, prevPath string) bool {
	n := formatNumber(float64(w))
	switch {
	case w == 0 && !c.given(path):
		c.addf(path, "required: the candidate's share of traffic, from 0.1 to 100 (percent)")
	case w <= 0:
		c.addf(path, "%s is not a share of traffic; give a percent from 0.1 to 100", n)
	case w < MinWeight:
		c.addf(path, "%s is below the minimum 0.1 (percent)", n)
	case w > 100:
		c.addf(path, "%s is above the maximum 100 (percent)", n)
	case !w.routable():
		c.addf(path, "%s is finer than the router's resolution of 0.01 (percent)", n)
	case prevPath != "" && w <= prev:
		c.addf(path, "%s is not above the previous stage's %s (line %d); weights must increase", n, formatNumber(float64(prev)), c.at(prevPath).Line)
	default:
		return true
	}
	return false
}

func (c *checker) stageDuration(path string, s *Stage) {
	switch {
	case s.Duration != 0:
		c.duration(path, s.Duration)
	case !s.Promotion.Analysis.Empty() && !s.Approval:
		c.addf(path, "required: the analysis needs time to measure, such as 30m")
	case s.Weight != 100 && !s.Approval:
		c.addf(path, "required: how long the stage lasts, such as 30m (only a 100%% stage or one with approval: true may have none)")
	}
}

// duration checks a given, non-zero duration.
func (c *checker) duration(path string, d Duration) {
	switch {
	case d < 0:
		c.addf(path, "%s is negative", d)
	case d > MaxDuration:
		c.addf(path, "%s is longer than the most, 365d", d)
	case d < Duration(1e9):
		c.addf(path, "%s is shorter than a second", d)
	}
}

// requiredDuration checks a duration that must be given and positive.
func (c *checker) requiredDuration(path string, d Duration, what string) {
	if d == 0 {
		if c.given(path) {
			c.addf(path, "must be positive: %s", what)
		} else {
			c.addf(path, "required: %s", what)
		}
		return
	}
	c.duration(path, d)
}

func (c *checker) analysis(path string, a *Analysis, shadow bool) {
	if c.given(path) && a.Empty() && !c.bad[path] && !c.bad[path+".metrics"] {
		c.addf(path+".metrics", "no metrics: list at least one, such as - {name: error-rate, threshold: 1}, or remove the analysis")
	}
	if c.given(path) {
		c.action(path+".inconclusive", a.Inconclusive)
	}
	for i := range a.Metrics {
		c.metric(fmt.Sprintf("%s.metrics[%d]", path, i), &a.Metrics[i], shadow)
	}
}

func (c *checker) action(path string, a Action) {
	if !slices.Contains(actions, string(a)) {
		c.addf(path, "%q is not an action%s (known: pause, rollback)", a, suggest(string(a), actions))
	}
}

// metricName checks a metric's name; shadow says whether the place may use
// the shadow-only metrics.
func (c *checker) metricName(path, name string, shadow bool) (MetricInfo, bool) {
	if name == "" {
		c.addf(path, "required: a metric such as error-rate or latency-p99")
		return MetricInfo{}, false
	}
	info, ok := LookupMetric(name)
	switch {
	case !ok && strings.HasPrefix(name, ValuesPrefix):
		c.addf(path, "%q: a business value is values.NAME, NAME being letters, digits, '_' or '-'", name)
	case !ok:
		if s := suggest(name, metricNames()); s != "" {
			c.addf(path, "unknown metric %q%s", name, s)
		} else {
			c.addf(path, "unknown metric %q; known: %s", name, strings.Join(metricNames(), ", "))
		}
	case info.ShadowOnly() && !shadow:
		c.addf(path, "%s compares a shadow's mirrored answers, so it can be measured only during a shadow", name)
		return info, true
	}
	return info, ok
}

func (c *checker) metric(path string, m *Metric, shadow bool) {
	var info MetricInfo
	var ok bool
	if m.Provider != nil {
		info, ok = c.externalName(path+".name", m.Name)
		c.provider(path+".provider", m.Provider)
	} else {
		info, ok = c.metricName(path+".name", m.Name, shadow)
	}
	// A webhook may answer its own pass or fail, which needs no condition.
	webhook := m.Provider != nil && m.Provider.Webhook != nil
	if m.Threshold == nil && m.Min == nil && m.Max == nil && m.Relative == nil && m.MaxIncrease == nil && m.MaxDecrease == nil && m.Expr == "" && !webhook && !c.anyBad(path) {
		c.addf(path, "no condition: give threshold, min, max, relative, maxIncrease, maxDecrease or expr")
	}
	if m.Expr != "" {
		c.expr(path+".expr", m.Expr)
	}
	if m.MinSamples < 0 {
		c.addf(path+".minSamples", "%d is negative", m.MinSamples)
	}
	c.change(path+".maxIncrease", m.MaxIncrease, math.Inf(1))
	c.change(path+".maxDecrease", m.MaxDecrease, 100)
	switch {
	case !ok:
	case m.Provider != nil && m.Feature != "":
		c.addf(path+".feature", "only for feature-drift from slipway's telemetry, not for a provider's metric")
	case m.Provider != nil && m.Aggregate != "":
		c.addf(path+".aggregate", "only for values.NAME from slipway's telemetry; a provider's query aggregates itself")
	default:
		c.metricBounds(path, m, info)
		c.metricExtras(path, m, info)
	}
}

func (c *checker) metricBounds(path string, m *Metric, info MetricInfo) {
	if m.Threshold != nil {
		switch {
		case info.Better == EitherBetter:
			c.addf(path+".threshold", "%s has no better side, so a threshold cannot say which side is bad; use min or max", m.Name)
		case info.Better == LowerBetter && m.Max != nil:
			c.addf(path+".threshold", "threshold and max both set the upper bound of %s; keep one", m.Name)
		case info.Better == HigherBetter && m.Min != nil:
			c.addf(path+".threshold", "threshold and min both set the lower bound of %s; keep one", m.Name)
		default:
			c.value(path+".threshold", *m.Threshold, info, info.Better == HigherBetter)
		}
	}
	if m.Min != nil {
		c.value(path+".min", *m.Min, info, true)
	}
	if m.Max != nil {
		c.value(path+".max", *m.Max, info, false)
	}
	if lo, hi := m.Min, m.Max; lo != nil && hi != nil && *lo > *hi {
		c.addf(path+".min", "%s is above max %s", info.Unit.Format(*lo), info.Unit.Format(*hi))
	}
	if r := m.Relative; r != nil {
		switch {
		case info.Better == EitherBetter:
			c.addf(path+".relative", "%s has no better side, so a ratio cannot say which side is bad; use maxIncrease or maxDecrease", m.Name)
		case *r <= 0:
			c.addf(path+".relative", "%s is not a ratio of candidate to baseline; give a positive number such as 1.5", formatNumber(*r))
		}
	}
}

func (c *checker) metricExtras(path string, m *Metric, info MetricInfo) {
	if m.Feature != "" {
		if m.Name != "feature-drift" {
			c.addf(path+".feature", "only for feature-drift")
		} else if err := slipway.ValidName("feature", m.Feature); err != nil {
			c.addf(path+".feature", "%v", err)
		}
	}
	if m.Aggregate != "" {
		if info.Unit != UnitValue {
			c.addf(path+".aggregate", "only for values.NAME")
		} else if m.Aggregate != "mean" && m.Aggregate != "sum" {
			c.addf(path+".aggregate", "%q: use mean or sum", m.Aggregate)
		}
	}
}

// value checks a bound in the metric's unit; lower says it bounds from
// below (where a percent written as a fraction is a likely slip).
func (c *checker) value(path string, v float64, info MetricInfo, lower bool) {
	lo, hi := info.Unit.bounds()
	switch {
	case v < lo || v > hi:
		rng := fmt.Sprintf("%s to %s", formatNumber(lo), formatNumber(hi))
		if math.IsInf(hi, 1) {
			rng = "at least " + formatNumber(lo)
		}
		c.addf(path, "%s is out of range for %s: %s (%s)", formatNumber(v), info.Name, rng, info.Unit)
	case lower && info.Unit == UnitPercent && v > 0 && v < 1:
		c.addf(path, "%s is in percent: %s means %s%%; write %s for %s%%",
			info.Name, formatNumber(v), formatNumber(v), formatNumber(v*100), formatNumber(v*100))
	}
}

// change checks maxIncrease or maxDecrease.
func (c *checker) change(path string, p *Percent, most float64) {
	if p == nil {
		return
	}
	if *p < 0 || float64(*p) > most {
		c.addf(path, "%s is out of range: 0 to %s (percent of the baseline's value)", p, formatNumber(most))
	}
}

func (c *checker) linear(path string, l *LinearSteps) {
	step := l.Step
	sp := path + ".step"
	switch {
	case step == 0 && !c.given(sp):
		c.addf(sp, "required: each stage's increase, such as 10%%")
	case step < MinWeight || step >= 100:
		c.addf(sp, "%s is out of range: at least 0.1 and below 100 (percent)", formatNumber(float64(step)))
	case !step.routable():
		c.addf(sp, "%s is finer than the router's resolution of 0.01 (percent)", formatNumber(float64(step)))
	case 10000%step.BasisPoints() != 0:
		c.addf(sp, "%s does not divide 100%%, so the last step would not reach 100%%; use a step such as 5, 10, 20 or 25", step)
	case 10000/step.BasisPoints() > MaxStages:
		c.addf(sp, "%s makes %d stages; the most is %d", step, 10000/step.BasisPoints(), MaxStages)
	}
	c.requiredDuration(path+".every", l.Every, "each step's duration, such as 10m")
	c.analysis(path+".analysis", &l.Analysis, false)
}

func (c *checker) blueGreen(path string, b *BlueGreenPhases) {
	pp := path + ".preview"
	if b.Preview.Duration == 0 && !b.Preview.Approval && !c.bad[pp+".duration"] {
		c.addf(pp, "needs a duration, approval: true, or both; otherwise the switch waits for no check")
		c.bad[pp+".duration"] = true // said; the duration check below would repeat it
	}
	c.phase(pp, &b.Preview)
	c.phase(path+".postPromotion", &b.PostPromotion)
}

func (c *checker) phase(path string, ph *Phase) {
	if ph.Duration != 0 {
		c.duration(path+".duration", ph.Duration)
	} else if !ph.Analysis.Empty() && !ph.Approval {
		c.addf(path+".duration", "required: the analysis needs time to measure, such as 10m")
	}
	c.analysis(path+".analysis", &ph.Analysis, false)
}

func (c *checker) shadow(path string, s *ShadowMirror) {
	mp := path + ".mirror"
	switch m := s.Mirror; {
	case m < MinWeight || m > 100:
		c.addf(mp, "%s is out of range: 0.1 to 100 (percent of live traffic copied)", formatNumber(float64(m)))
	case !m.routable():
		c.addf(mp, "%s is finer than the router's resolution of 0.01 (percent)", formatNumber(float64(m)))
	}
	c.requiredDuration(path+".duration", s.Duration, "how long the shadow runs, such as 1h")
	c.analysis(path+".analysis", &s.Analysis, true)
	if s.Then != "" && s.Then != Canary && s.Then != Linear {
		c.addf(path+".then", "%q: a shadow continues into canary or linear, or stops when then is not given", s.Then)
	}
}

func (c *checker) rollback(path string, r Rollback) {
	if len(r.Triggers) > MaxStages {
		c.addf(path+".triggers", "%d triggers; the most is %d", len(r.Triggers), MaxStages)
	}
	for i := range r.Triggers {
		c.trigger(fmt.Sprintf("%s.triggers[%d]", path, i), r.Triggers[i])
	}
}

func (c *checker) trigger(path string, t Trigger) {
	var info MetricInfo
	var ok bool
	if t.Provider != nil {
		info, ok = c.externalName(path+".metric", t.Metric)
		c.provider(path+".provider", t.Provider)
	} else {
		info, ok = c.metricName(path+".metric", t.Metric, c.strategy == Shadow)
	}
	given := 0
	for _, v := range []*float64{t.Above, t.Below, t.Relative} {
		if v != nil {
			given++
		}
	}
	if t.Expr != "" {
		given++
		c.expr(path+".expr", t.Expr)
	}
	webhook := t.Provider != nil && t.Provider.Webhook != nil
	if (given > 1 || given == 0 && !webhook) && !c.anyBad(path) {
		c.addf(path, "give exactly one of above, below, relative or expr (split two conditions into two triggers)")
	}
	c.action(path+".action", t.Action)
	if t.MinSamples < 0 {
		c.addf(path+".minSamples", "%d is negative", t.MinSamples)
	}
	if !ok || given != 1 {
		return // a webhook's own verdict, or an error already reported
	}
	switch {
	case t.Above != nil && info.Better == HigherBetter:
		c.addf(path+".above", "%s gets worse downwards; use below", t.Metric)
	case t.Below != nil && info.Better == LowerBetter:
		c.addf(path+".below", "%s gets worse upwards; use above", t.Metric)
	case t.Above != nil:
		c.value(path+".above", *t.Above, info, false)
	case t.Below != nil:
		c.value(path+".below", *t.Below, info, true)
	case t.Relative != nil:
		c.relativeTrigger(path+".relative", *t.Relative, info)
	}
}

func (c *checker) relativeTrigger(path string, r float64, info MetricInfo) {
	n := formatNumber(r)
	switch {
	case info.Better == EitherBetter:
		c.addf(path, "%s has no better side, so a ratio cannot say which side is bad; use above or below", info.Name)
	case r <= 0:
		c.addf(path, "%s is not a ratio of candidate to baseline; give a positive number such as 2", n)
	case info.Better == LowerBetter && r < 1:
		c.addf(path, "%s would fire on a candidate better than the baseline; for %s the ratio is at least 1, such as 2", n, info.Name)
	case info.Better == HigherBetter && r > 1:
		c.addf(path, "%s would fire on a candidate as good as the baseline; for %s the ratio is at most 1, such as 0.9", n, info.Name)
	}
}

func (c *checker) notifications(path string, ns []Notification) {
	if len(ns) > 20 {
		c.addf(path, "%d notifications; the most is 20", len(ns))
	}
	for i, n := range ns {
		np := fmt.Sprintf("%s[%d]", path, i)
		if n.Webhook == "" {
			c.addf(np+".webhook", "required: an http or https URL")
		} else if u, err := url.Parse(n.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.addf(np+".webhook", "%q is not an http or https URL", n.Webhook)
		}
		for j, e := range n.Events {
			if !slices.Contains(Events, e) {
				c.addf(fmt.Sprintf("%s.events[%d]", np, j), "unknown event %q%s (known: %s)", e, suggest(e, Events), strings.Join(Events, ", "))
			}
		}
	}
}
