package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
)

// sentence is a result in words a person reads once, for rollout explain
// and the API: what was measured on how much traffic, the statistical
// evidence when a test was used, the limit and what follows, such as
//
//	error rate 2.1% vs 0.9% baseline over 4,812 requests; ratio 2.3×, at
//	least 1.9× with 98.3% confidence; limit above 1.5× baseline: roll back
//
// outcome is what the result leads to ("pass", "roll back", "wait for
// more data"); limit is the rule without the metric's name.
func (j *judgement) sentence(res *slipway.MetricResult, limit, outcome string) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(res.Metric, "-", " "))
	u := j.info.Unit
	switch {
	case j.ms.cand.verdict != nil:
		b.WriteString(" judged by its provider")
	case res.Candidate != nil:
		b.WriteString(" " + format(u, *res.Candidate))
		if res.Baseline != nil {
			b.WriteString(" vs " + format(u, *res.Baseline) + " baseline")
		}
	default:
		b.WriteString(" not measured yet")
	}
	if res.CandidateN > 0 {
		fmt.Fprintf(&b, " over %s %s", thousands(res.CandidateN), j.ms.noun)
	}
	if ev := j.evidence(); ev != "" {
		b.WriteString("; " + ev)
	}
	if limit != "" {
		b.WriteString("; limit " + limit)
	}
	b.WriteString(": " + outcome)
	return b.String()
}

// evidence is the sequential test behind the result, in words: the
// estimate and the confidence bound on the side that matters.
func (j *judgement) evidence() string {
	s := j.seq
	if s == nil {
		return ""
	}
	conf := j.confidence()
	u := j.info.Unit
	switch s.Test {
	case stats.TestRiskRatio:
		return fmt.Sprintf("ratio %s×, at least %s× with %s confidence", formatRatio(s.Estimate), formatRatio(s.Lower), conf)
	case stats.TestOneProportion:
		return fmt.Sprintf("%s interval %s to %s", conf, format(u, 100*s.Lower), format(u, 100*s.Upper))
	case stats.TestTwoProportions:
		return fmt.Sprintf("difference %s points, %s interval %s to %s", signed(100*s.Estimate), conf, signed(100*s.Lower), signed(100*s.Upper))
	case stats.TestTwoMeans:
		return fmt.Sprintf("difference %s, %s interval %s to %s", signed(s.Estimate), conf, signed(s.Lower), signed(s.Upper))
	case stats.TestQuantileExceedance:
		return fmt.Sprintf("%.3g%% of requests above the limit where %.3g%% would be, at %s confidence", 100*s.Candidate, 100*s.Baseline, conf)
	}
	return ""
}

// outcome words for a metric of a step's analysis.
func metricOutcome(r slipway.VerdictResult) string {
	switch r {
	case slipway.Pass:
		return "pass"
	case slipway.Fail:
		return "fail"
	}
	return "wait for more data"
}

// triggerOutcome is what a trigger's result leads to.
func triggerOutcome(t *spec.Trigger, r slipway.VerdictResult) string {
	switch r {
	case slipway.Fail:
		if t.Action == spec.ActionPause {
			return "pause"
		}
		return "roll back"
	case slipway.Pass:
		return "keep going"
	}
	return "wait for more data"
}

// ruleLimit is a rule without its metric's name and sample note:
// "≤ 1.5× baseline" of "error-rate ≤ 1.5× baseline (n ≥ 100)".
func ruleLimit(rule, metric string) string {
	rule = strings.TrimPrefix(rule, metric)
	if i := strings.LastIndex(rule, " (n ≥ "); i >= 0 {
		rule = rule[:i]
	}
	return strings.TrimSpace(rule)
}

func signed(v float64) string {
	r := roundSignificant(v, 3)
	if r > 0 {
		return "+" + strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// thousands writes n with comma separators: 4,812.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
