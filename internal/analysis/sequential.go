package analysis

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
)

// Rates read from counts (error-rate, accuracy) are judged with the
// always-valid sequential tests of package stats, since the controller
// looks at them every tick: a limit fails only when the candidate is beyond
// it with 95% confidence, and a point estimate beyond it without that
// confidence is inconclusive (wait for data), never a failure. Other
// metrics are judged on their point estimate.

// Alpha is the false-alarm budget of one set of conditions (a step's
// metrics, or the rollback triggers): the sequential tests in it share it
// equally (Bonferroni), so that the chance that any of them fails an
// identical candidate over the whole step stays within Alpha.
const Alpha = 0.05

// seqOptions are the tests' options for a set of n conditions judged
// together.
func seqOptions(n int) stats.SeqOptions {
	return stats.SeqOptions{Alpha: Alpha / float64(max(n, 1))}
}

// confidence renders 1 − α as people read it: "95%", "98.3%".
func (j *judgement) confidence() string {
	return fmt.Sprintf("%.3g%%", 100*(1-j.opt.Alpha))
}

// seqBounds judges a counted rate against absolute limits in percent.
func (j *judgement) seqBounds(lo, hi *float64) (condition, bool) {
	c, u := j.ms.cand, j.info.Unit
	var limit float64
	var worse func(s stats.SeqResult) bool
	var beyond func(v float64) bool
	var sign string
	switch {
	case hi != nil && *hi > 0 && *hi < 100 && lo == nil:
		limit, sign = *hi, ">"
		worse = func(s stats.SeqResult) bool { return 100*s.Lower > limit }
		beyond = func(v float64) bool { return above(v, limit) }
	case lo != nil && *lo > 0 && *lo < 100 && hi == nil:
		limit, sign = *lo, "<"
		worse = func(s stats.SeqResult) bool { return 100*s.Upper < limit }
		beyond = func(v float64) bool { return below(v, limit) }
	default:
		return condition{}, false // both bounds, or a limit at 0 or 100%: judged on the point estimate
	}
	s := stats.OneProportion(c.events, c.n, limit/100, j.opt)
	j.seq = &s
	conf := j.confidence()
	interval := fmt.Sprintf("%s interval %s–%s", conf, format(u, 100*s.Lower), format(u, 100*s.Upper))
	switch {
	case worse(s):
		return fail(fmt.Sprintf("%s %s %s with %s confidence (%s)", format(u, c.value), sign, u.Format(limit), conf, interval)), true
	case beyond(c.value):
		return inconclusive(fmt.Sprintf("%s %s %s, but not yet with %s confidence (%s)", format(u, c.value), sign, u.Format(limit), conf, interval)), true
	}
	return condition{}, false // within the limit: the point estimate's pass says it best
}

// seqQuantile judges a latency quantile against r times the baseline's:
// the candidate's requests above that line are tested against the share
// the quantile leaves above it (stats.QuantileExceedance), so a shift
// within the tolerance never fails, however significant.
func (j *judgement) seqQuantile(r float64) (condition, bool) {
	c, b, u := j.ms.cand, j.ms.base, j.info.Unit
	if c.sketch == nil || r <= 1 || b.value <= 0 {
		return condition{}, false
	}
	limit := r * b.value
	nc := int64(c.sketch.GetCount())
	over := min(countAbove(c.sketch, limit), nc)
	s := stats.QuantileExceedance(over, nc, b.n, c.quantile, j.opt)
	j.seq = &s
	rs := fmt.Sprintf("%s× baseline %s", formatRatio(r), format(u, b.value))
	conf := j.confidence()
	share := fmt.Sprintf("%.3g%% of requests above %s where %.3g%% would be, %s interval %.3g%%–%.3g%%",
		100*s.Candidate, format(u, limit), 100*s.Baseline, conf, 100*clamp01(s.Baseline+s.Lower), 100*clamp01(s.Baseline+s.Upper))
	switch {
	case s.Rejects() && s.Z > 0:
		return fail(fmt.Sprintf("%s > %s with %s confidence (%s)", format(u, c.value), rs, conf, share)), true
	case above(c.value, limit):
		return inconclusive(fmt.Sprintf("%s > %s, but not yet with %s confidence (%s)", format(u, c.value), rs, conf, share)), true
	}
	return condition{}, false
}

// seqRelative judges a counted rate against r times the baseline's.
func (j *judgement) seqRelative(r float64) (condition, bool) {
	c, b, u := j.ms.cand, j.ms.base, j.info.Unit
	rs := fmt.Sprintf("%s× baseline %s", formatRatio(r), format(u, b.value))
	conf := j.confidence()
	switch j.info.Better {
	case spec.LowerBetter:
		// Only a worse candidate matters here, so the mixture looks on
		// that side alone.
		opt := j.opt
		opt.Side = stats.Greater
		s := stats.RiskRatio(c.events, c.n, b.events, b.n, opt)
		j.seq = &s
		interval := fmt.Sprintf("ratio %s, %s interval %s–%s", formatRatio(s.Estimate), conf, formatRatio(s.Lower), formatRatio(s.Upper))
		switch {
		case s.Lower > r:
			return fail(fmt.Sprintf("%s > %s with %s confidence (%s)", format(u, c.value), rs, conf, interval)), true
		case above(c.value, r*b.value) && !(b.value == 0 && c.value <= r*b.floor):
			return inconclusive(fmt.Sprintf("%s > %s, but not yet with %s confidence (%s)", format(u, c.value), rs, conf, interval)), true
		}
	case spec.HigherBetter:
		// c ≥ r·b is c − b ≥ (r − 1)·b: a difference of proportions.
		s := stats.TwoProportions(c.events, c.n, b.events, b.n, j.opt)
		j.seq = &s
		margin := (r - 1) * b.value / 100
		interval := fmt.Sprintf("difference %s, %s interval %s–%s", format(u, 100*s.Estimate), conf, format(u, 100*s.Lower), format(u, 100*s.Upper))
		switch {
		case s.Upper < margin:
			return fail(fmt.Sprintf("%s < %s with %s confidence (%s)", format(u, c.value), rs, conf, interval)), true
		case below(c.value, r*b.value):
			return inconclusive(fmt.Sprintf("%s < %s, but not yet with %s confidence (%s)", format(u, c.value), rs, conf, interval)), true
		}
	}
	return condition{}, false
}

// seqChange judges a mean (values.NAME) against the baseline's plus
// (increase) or minus delta with the normal-mixture test on the difference
// of the means: it fails only when the difference is beyond delta with
// confidence. limit names the limit in the reason.
func (j *judgement) seqChange(delta float64, increase bool, limit string) (condition, bool) {
	cm, bm := j.ms.cand.moments, j.ms.base.moments
	if cm.N == 0 || bm.N == 0 {
		return condition{}, false
	}
	s := stats.TwoMeans(cm, bm, j.opt)
	if math.IsInf(s.Lower, -1) && math.IsInf(s.Upper, 1) {
		return condition{}, false // no spread yet: the point estimate decides
	}
	j.seq = &s
	u, conf := j.info.Unit, j.confidence()
	v, b := j.ms.cand.value, j.ms.base.value
	interval := fmt.Sprintf("difference %s, %s interval %s to %s", format(u, s.Estimate), conf, format(u, s.Lower), format(u, s.Upper))
	switch {
	case increase && s.Lower > delta:
		return fail(fmt.Sprintf("%s > %s with %s confidence (%s)", format(u, v), limit, conf, interval)), true
	case !increase && s.Upper < -delta:
		return fail(fmt.Sprintf("%s < %s with %s confidence (%s)", format(u, v), limit, conf, interval)), true
	case increase && above(v, b+delta):
		return inconclusive(fmt.Sprintf("%s > %s, but not yet with %s confidence (%s)", format(u, v), limit, conf, interval)), true
	case !increase && below(v, b-delta):
		return inconclusive(fmt.Sprintf("%s < %s, but not yet with %s confidence (%s)", format(u, v), limit, conf, interval)), true
	}
	return condition{}, false // within the limit: the point estimate's pass says it best
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

func formatRatio(r float64) string {
	if math.IsInf(r, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.3g", r)
}

// record copies the sequential test behind a result into it.
func (j *judgement) record(res *slipway.MetricResult) {
	s := j.seq
	if s == nil {
		return
	}
	res.Test = s.Test
	res.PValue = finite(s.PValue)
	res.Lower, res.Upper = finite(s.Lower), finite(s.Upper)
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
