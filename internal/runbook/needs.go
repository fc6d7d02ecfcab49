package runbook

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
)

// Observations a metric counts, as the plan names them.
const (
	nounRequests    = "requests"
	nounMirrored    = "mirrored requests"
	nounLabels      = "labelled feedback"
	nounPredictions = "predictions"
)

// Baselines are the baseline's figures the estimates start from, each
// with where it came from, so the plan can say what it assumed.
type Baselines struct {
	// ErrorRate is the baseline's error rate as a fraction; Assumed
	// DefaultErrorRate when live telemetry has none.
	ErrorRate       float64
	ErrorRateSource string
	// Accuracy is the baseline's accuracy as a fraction, from live
	// feedback, else its training metrics, else DefaultAccuracy.
	Accuracy       float64
	AccuracySource string
	// LabelShare is the labelled feedback per request; 1 (every request
	// labelled) unless live telemetry measured it.
	LabelShare       float64
	LabelShareSource string
}

// Assumptions used when the server has no measurement.
const (
	DefaultErrorRate  = 0.01
	DefaultAccuracy   = 0.90
	DefaultLabelShare = 1.0
)

// Need is what one condition (a metric of a step's analysis, or a
// rollback trigger) needs of each version before it can decide.
type Need struct {
	// Rule is the condition as written.
	Rule string
	// Noun names the observations counted: requests, labelled feedback,
	// predictions, mirrored requests.
	Noun string
	// MinSamples is what the spec asks of each version before the
	// condition may pass or fail; BaselineToo says the baseline needs them
	// as well (conditions relative to it, and drift).
	MinSamples  int
	BaselineToo bool
	// Test names the sequential test that fails a worse candidate, empty
	// for conditions judged on their point estimate.
	Test string
	// Scenario is the worse candidate the estimate is for, such as "a
	// candidate at 2% (2× the 1% limit)".
	Scenario string
	// Detect is the candidate observations at which Test, fed the
	// scenario's expected counts, first fails the condition: about the
	// median number it takes (see the package documentation). Zero when
	// there is no Test; -1 when no number of observations suffices at
	// this step's split. DetectBaseline is the baseline's observations at
	// that point.
	Detect, DetectBaseline int64
}

// PassAt is the candidate and baseline observations before a candidate
// that meets the condition can pass.
func (n Need) PassAt() (cand, base int64) {
	if n.BaselineToo {
		return int64(n.MinSamples), int64(n.MinSamples)
	}
	return int64(n.MinSamples), 0
}

// FailAt is the candidate and baseline observations before the scenario's
// worse candidate fails: the test's need, but never fewer than MinSamples.
// ok is false when it never fails at this step's split.
func (n Need) FailAt() (cand, base int64, ok bool) {
	if n.Detect < 0 {
		return 0, 0, false
	}
	cand, base = n.PassAt()
	return max(cand, n.Detect), max(base, n.DetectBaseline), true
}

// maxSearch bounds the observations the estimates search through.
const maxSearch = int64(1) << 40

// firstFailing is the smallest n in [1, maxSearch] at which fails(n) holds,
// assuming it keeps holding above; -1 when it holds nowhere.
func firstFailing(fails func(n int64) bool) int64 {
	hi := int64(1)
	for !fails(hi) {
		if hi >= maxSearch {
			return -1
		}
		hi *= 2
	}
	lo := hi / 2 // fails(lo) is false, or lo is 0
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// events is the expected number of events at rate p in n observations.
func events(p float64, n int64) int64 {
	return min(n, max(0, int64(math.Round(p*float64(n)))))
}

// twiceAsBad is the scenario value of a counted rate whose limit is l (a
// fraction): twice the limit for an error rate, twice the misses the
// limit allows for accuracy, kept inside (0, 1).
func twiceAsBad(l float64, better spec.Better) float64 {
	if better == spec.HigherBetter {
		return max(1-2*(1-l), l/2)
	}
	return min(2*l, (1+l)/2)
}

// split describes how a step shares observations between the versions:
// ratio is the baseline's observations per candidate observation; zero
// means the baseline gets none.
type split struct{ ratio float64 }

func (s split) baseline(nc int64) int64 { return int64(math.Round(s.ratio * float64(nc))) }

// estimate works out what a metric condition needs at a step whose set
// holds k conditions (they share analysis.Alpha), where sp says how the
// step shares the metric's observations between the versions.
func estimate(m spec.Metric, k int, b Baselines, sp split) Need {
	info := m.Info()
	n := Need{Rule: m.String(), Noun: noun(info), MinSamples: m.MinSamples,
		BaselineToo: m.Relative != nil || m.MaxIncrease != nil || m.MaxDecrease != nil || twoVersion(info)}
	opt := stats.SeqOptions{Alpha: analysis.Alpha / float64(max(k, 1))}
	lo, hi := m.Bounds()
	switch {
	case counted(info) && (hi != nil) != (lo != nil):
		n.absolute(info, lo, hi, opt)
	case counted(info) && m.Relative != nil:
		n.relative(info, *m.Relative, b, sp, opt)
	case latencyQuantile(info) != 0 && m.Relative != nil && *m.Relative > 1:
		n.quantile(info, *m.Relative, sp, opt)
	}
	return n
}

// estimateTrigger is estimate for a rollback trigger.
func estimateTrigger(t spec.Trigger, k int, b Baselines, sp split) Need {
	m := spec.Metric{Name: t.Metric, MinSamples: t.MinSamples, Relative: t.Relative}
	if t.Above != nil {
		m.Max = t.Above
	}
	if t.Below != nil {
		m.Min = t.Below
	}
	n := estimate(m, k, b, sp)
	n.Rule = t.String()
	return n
}

// absolute estimates a counted rate against a one-sided limit in percent:
// stats.OneProportion against the limit, failing when the interval lies
// beyond it, as the analysis judges it.
func (n *Need) absolute(info spec.MetricInfo, lo, hi *float64, opt stats.SeqOptions) {
	limit := hi
	if limit == nil {
		limit = lo
	}
	l := *limit / 100
	if l <= 0 || l >= 1 {
		return // judged on the point estimate
	}
	pc := twiceAsBad(l, info.Better)
	n.Test = stats.TestOneProportion
	n.Scenario = fmt.Sprintf("a candidate at %s (%s the %s limit)", pct(pc), badWord(info), pct(l))
	n.Detect = firstFailing(func(nc int64) bool {
		s := stats.OneProportion(events(pc, nc), nc, l, opt)
		if info.Better == spec.HigherBetter {
			return s.Upper < l
		}
		return s.Lower > l
	})
}

// relative estimates a counted rate against r times the baseline's:
// stats.RiskRatio for error rates (failing when the ratio's interval lies
// above r), stats.TwoProportions for accuracy (failing when the
// difference's interval lies below (r − 1)·baseline).
func (n *Need) relative(info spec.MetricInfo, r float64, b Baselines, sp split, opt stats.SeqOptions) {
	if sp.ratio <= 0 {
		n.Detect = -1
		n.Scenario = "the baseline gets no traffic in this step"
		return
	}
	switch info.Better {
	case spec.LowerBetter:
		pb := b.ErrorRate
		pc := twiceAsBad(min(r*pb, 0.99), info.Better)
		n.Test = stats.TestRiskRatio
		n.Scenario = fmt.Sprintf("a candidate at %s against the baseline's %s (%s the %s× limit)", pct(pc), pct(pb), badWord(info), num(r))
		// The analysis looks for a worse candidate only, on that side.
		ropt := opt
		ropt.Side = stats.Greater
		n.Detect = firstFailing(func(nc int64) bool {
			nb := sp.baseline(nc)
			return stats.RiskRatio(events(pc, nc), nc, events(pb, nb), nb, ropt).Lower > r
		})
	case spec.HigherBetter:
		ab := b.Accuracy
		limit := min(r*ab, 0.999)
		pc := twiceAsBad(limit, info.Better)
		margin := (r - 1) * ab
		n.Test = stats.TestTwoProportions
		n.Scenario = fmt.Sprintf("a candidate at %s against the baseline's %s (%s the %s× limit)", pct(pc), pct(ab), badWord(info), num(r))
		n.Detect = firstFailing(func(nc int64) bool {
			nb := sp.baseline(nc)
			return stats.TwoProportions(events(pc, nc), nc, events(ab, nb), nb, opt).Upper < margin
		})
	}
	if n.Detect > 0 {
		n.DetectBaseline = sp.baseline(n.Detect)
	}
}

// quantile estimates a latency quantile against r times the baseline's:
// stats.QuantileExceedance with twice the share of requests above the
// line that the quantile leaves there.
func (n *Need) quantile(info spec.MetricInfo, r float64, sp split, opt stats.SeqOptions) {
	if sp.ratio <= 0 {
		n.Detect = -1
		n.Scenario = "the baseline gets no traffic in this step"
		return
	}
	p := latencyQuantile(info)
	share := 2 * (1 - p)
	n.Test = stats.TestQuantileExceedance
	n.Scenario = fmt.Sprintf("%s of the candidate's requests above %s× the baseline's %s, twice the %s the quantile leaves there",
		pct(share), num(r), info.Name, pct(1-p))
	n.Detect = firstFailing(func(nc int64) bool {
		s := stats.QuantileExceedance(events(share, nc), nc, sp.baseline(nc), p, opt)
		return s.Rejects() && s.Z > 0
	})
	if n.Detect > 0 {
		n.DetectBaseline = sp.baseline(n.Detect)
	}
}

// counted reports whether the analysis reads a metric from counts and
// judges it with sequential tests.
func counted(info spec.MetricInfo) bool { return info.Name == "error-rate" || info.Name == "accuracy" }

// twoVersion reports whether a metric's value depends on both versions,
// so every condition on it needs MinSamples of each.
func twoVersion(info spec.MetricInfo) bool {
	switch info.Name {
	case "prediction-drift", "feature-drift", "score-shift":
		return true
	}
	return false
}

// latencyQuantile is the quantile a latency metric reads, 0 for others.
func latencyQuantile(info spec.MetricInfo) float64 {
	switch info.Name {
	case "latency-p50":
		return 0.5
	case "latency-p95":
		return 0.95
	case "latency-p99":
		return 0.99
	}
	return 0
}

func noun(info spec.MetricInfo) string {
	switch info.Source {
	case spec.SourceFeedback:
		return nounLabels
	case spec.SourcePredictions:
		return nounPredictions
	case spec.SourceShadow:
		return nounMirrored
	}
	return nounRequests
}

func badWord(info spec.MetricInfo) string {
	if info.Better == spec.HigherBetter {
		return "twice the misses of"
	}
	return "twice"
}

// pct renders a fraction as a percentage with up to three significant
// digits: 0.01 → "1%", 0.0025 → "0.25%".
func pct(f float64) string { return num(100*f) + "%" }

func num(f float64) string { return fmt.Sprintf("%.3g", f) }
