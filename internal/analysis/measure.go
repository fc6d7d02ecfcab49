package analysis

import (
	"fmt"
	"math"
	"strings"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// reading is one value of a metric, in the metric's unit, or why there is
// none.
type reading struct {
	value float64
	n     int64 // the observations behind value
	ok    bool
	// why explains a missing value. A hard reason (hard) will not go away
	// with more traffic, so it is shown even when n is short of
	// MinSamples; a soft one (no data yet) gives way to "n of MinSamples".
	why  string
	hard bool
	// floor is the smallest value above zero that n observations can show
	// (one event in n), for count-based rates; a zero baseline counts as
	// its floor in relative conditions. Zero means no floor.
	floor float64
	// counted says value is the percentage of n observations that were
	// events (errors, correct labels), so the sequential tests of
	// proportions can judge it; events is their number.
	counted bool
	events  int64
	// sketch and quantile are the latency distribution and the quantile
	// value was read at, for the sequential quantile test.
	sketch   *ddsketch.DDSketch
	quantile float64
	// moments summarize the values behind a mean (values.NAME), for the
	// sequential test on means; empty for other metrics.
	moments stats.Moments
	// verdict is a webhook's own pass or fail, with why as its reason;
	// nil for a measured value.
	verdict *bool
}

// countedPercent is a rate read from its counts.
func countedPercent(events, n int64) reading {
	r := measured(100*float64(events)/float64(n), n)
	r.counted, r.events = true, events
	return r
}

func measured(v float64, n int64) reading {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return reading{n: n, why: "not a finite number (an overflowed sum)", hard: true}
	}
	return reading{value: v, n: n, ok: true}
}

func missing(n int64, why string) reading { return reading{n: n, why: why} }
func impossible(why string) reading       { return reading{why: why, hard: true} }

// measurement is what a metric's conditions are judged on.
type measurement struct {
	cand reading
	// base is the baseline's value, read only when a condition needs it;
	// for a comparison metric only its n, the baseline's side of the
	// comparison.
	base reading
	// comparison says cand.value already compares the two versions
	// (drift, shadow agreement): there is no baseline value to compare
	// it with.
	comparison bool
	// baseSamples says the baseline needs MinSamples for any condition,
	// since the value depends on it.
	baseSamples bool
	// noun is what n counts, for "37 of 100 labelled samples"; bnoun,
	// when set, what the baseline's n counts.
	noun, bnoun string
	// feature names the input feature measured, for feature-drift.
	feature string
}

// detail is what the reason adds about the measurement: " on feature
// amount".
func (m *measurement) detail() string {
	if m.feature == "" {
		return ""
	}
	return " on feature " + m.feature
}

func (m *measurement) baseNoun() string {
	if m.bnoun != "" {
		return m.bnoun
	}
	return m.noun
}

// target is a metric as a measure is asked for it.
type target struct {
	name, feature, aggregate string
	minSamples               int64
	// provider measures the metric outside slipway; nil for the
	// catalogue's own.
	provider *spec.Provider
	// needBase says a condition compares with the baseline's value, so
	// it must be read; otherwise it is not, to save the time.
	needBase bool
}

// A measure reads one metric of the catalogue from the evidence.
type measure func(e *Evidence, t target) measurement

// measures holds every metric of the catalogue but values.NAME, by name.
var measures = map[string]measure{
	"error-rate":       errorRate,
	"latency-p50":      latency(0.50),
	"latency-p95":      latency(0.95),
	"latency-p99":      latency(0.99),
	"latency-mean":     latencyMean,
	"throughput":       throughput,
	"accuracy":         perVersion(nounLabels, noFeedbackInShadow, accuracy),
	"precision":        perVersion(nounLabels, noFeedbackInShadow, precision),
	"recall":           perVersion(nounLabels, noFeedbackInShadow, recall),
	"f1":               perVersion(nounLabels, noFeedbackInShadow, f1),
	"auc":              perVersion(nounLabels, noFeedbackInShadow, auc),
	"log-loss":         perVersion(nounLabels, noFeedbackInShadow, logLoss),
	"mae":              perVersion(nounLabels, noFeedbackInShadow, mae),
	"rmse":             perVersion(nounLabels, noFeedbackInShadow, rmse),
	"prediction-drift": predictionDrift,
	"prediction-js":    predictionJS,
	"feature-drift":    featureDrift,
	"score-shift":      scoreShift,
	"confidence-avg":   perVersion(nounPredictions, noPredictionsInShadow, confidenceAvg),
	"agreement":        agreement,
	"score-diff":       scoreDiff,
}

// valuesMeasure is values.NAME, for any NAME.
var valuesMeasure = perVersion(nounValues, noFeedbackInShadow, businessValue)

const (
	nounRequests    = "requests"
	nounMirrored    = "mirrored requests"
	nounLabels      = "labelled samples"
	nounPredictions = "predictions"
	nounValues      = "feedback values"

	noFeedbackInShadow    = "in a shadow step the candidate's answers never reach callers, so they get no feedback; judge the shadow by agreement, score-diff, error-rate or latency"
	noPredictionsInShadow = "in a shadow step the candidate's predictions are compared with the baseline's, not recorded on their own; judge the shadow by agreement, score-diff, error-rate or latency"
	noTelemetry           = "no telemetry recorded"
)

func (e *Evidence) measure(t target) measurement {
	if t.provider != nil {
		return e.external(t)
	}
	if f, ok := measures[t.name]; ok {
		return f(e, t)
	}
	if strings.HasPrefix(t.name, spec.ValuesPrefix) {
		return valuesMeasure(e, t)
	}
	return measurement{cand: impossible("not a metric of the catalogue")}
}

// version reads one version's value with read; a version without
// telemetry has no value and no samples.
func (e *Evidence) version(baseline bool, t target, read func(*telemetry.Aggregate, target) reading) reading {
	a := e.Candidate
	if baseline {
		a = e.Baseline
	}
	if a == nil {
		return missing(0, noTelemetry)
	}
	return read(a, t)
}

// perVersion is a measure of one version at a time, read from the
// version's own telemetry. In a shadow step the candidate has none of its
// own, which shadowNote explains.
func perVersion(noun, shadowNote string, read func(*telemetry.Aggregate, target) reading) measure {
	return func(e *Evidence, t target) measurement {
		ms := measurement{noun: noun, cand: e.version(false, t, read)}
		if e.Query.Shadow && ms.cand.n == 0 && !ms.cand.hard {
			ms.cand = impossible(shadowNote)
		}
		if t.needBase {
			ms.base = e.version(true, t, read)
		}
		return ms
	}
}

// shadow is the baseline's comparison with the shadowed candidate; nil
// when none was recorded.
func (e *Evidence) shadow() *telemetry.ShadowAggregate {
	if e.Baseline == nil {
		return nil
	}
	return e.Baseline.Shadows[e.Query.Candidate]
}

// Request metrics.

func errorRate(e *Evidence, t target) measurement {
	ms := measurement{noun: nounRequests}
	if e.Query.Shadow {
		ms.noun, ms.bnoun = nounMirrored, nounRequests
		ms.cand = missing(0, "no mirrored requests yet")
		if sh := e.shadow(); sh != nil {
			n := sh.Compared + sh.ShadowErrors + sh.Mismatched
			if n > 0 {
				ms.cand = countedPercent(sh.ShadowErrors, n)
			}
		}
	} else {
		ms.cand = e.version(false, t, requestErrors)
	}
	if t.needBase {
		// In a shadow the baseline's errors on the mirrored requests are
		// none by construction (only answered requests are mirrored), so
		// the baseline is its error rate on all its traffic.
		ms.base = e.version(true, t, requestErrors)
	}
	return ms
}

func requestErrors(a *telemetry.Aggregate, _ target) reading {
	if _, ok := a.ErrorRate(); !ok {
		return missing(0, "no requests yet")
	}
	r := countedPercent(a.ServerErrors+a.Timeouts, a.Requests)
	r.floor = 100 / float64(a.Requests)
	return r
}

func latency(q float64) measure {
	return func(e *Evidence, t target) measurement {
		ms := measurement{noun: nounRequests}
		if e.Query.Shadow {
			// The shadow's latency against the primary's on the same
			// requests.
			ms.noun = nounMirrored
			var cand, base *ddsketch.DDSketch
			if sh := e.shadow(); sh != nil {
				cand, base = sh.ShadowLatency, sh.PrimaryLatency
			}
			ms.cand = quantileMillis(cand, q)
			if t.needBase {
				ms.base = quantileMillis(base, q)
			}
			return ms
		}
		read := func(a *telemetry.Aggregate, _ target) reading { return quantileMillis(a.Latency, q) }
		ms.cand = e.version(false, t, read)
		if t.needBase {
			ms.base = e.version(true, t, read)
		}
		return ms
	}
}

// quantileMillis reads quantile q of a latency sketch (in seconds), in
// milliseconds.
func quantileMillis(sk *ddsketch.DDSketch, q float64) reading {
	if sk == nil || sk.IsEmpty() {
		return missing(0, "no requests yet")
	}
	v, err := sk.GetValueAtQuantile(q)
	if err != nil {
		return missing(0, "no requests yet")
	}
	r := measured(1000*v, int64(sk.GetCount()))
	r.sketch, r.quantile = sk, q
	return r
}

// countAbove is how many of a latency sketch's values lie above ms
// milliseconds, within the sketch's relative accuracy.
func countAbove(sk *ddsketch.DDSketch, ms float64) int64 {
	limit := ms / 1000
	var n float64
	sk.ForEach(func(value, count float64) bool {
		if value > limit {
			n += count
		}
		return false
	})
	return int64(math.Round(n))
}

func latencyMean(e *Evidence, t target) measurement {
	ms := measurement{noun: nounRequests}
	if e.Query.Shadow {
		// Mirrored requests keep no exact latency sum; the sketches'
		// mean is within their 1% accuracy.
		ms.noun = nounMirrored
		var cand, base *ddsketch.DDSketch
		if sh := e.shadow(); sh != nil {
			cand, base = sh.ShadowLatency, sh.PrimaryLatency
		}
		ms.cand = sketchMeanMillis(cand)
		if t.needBase {
			ms.base = sketchMeanMillis(base)
		}
		return ms
	}
	read := func(a *telemetry.Aggregate, _ target) reading {
		if a.Requests == 0 {
			return missing(0, "no requests yet")
		}
		return measured(a.LatencySum.Seconds()*1000/float64(a.Requests), a.Requests)
	}
	ms.cand = e.version(false, t, read)
	if t.needBase {
		ms.base = e.version(true, t, read)
	}
	return ms
}

func sketchMeanMillis(sk *ddsketch.DDSketch) reading {
	if sk == nil || sk.IsEmpty() {
		return missing(0, "no requests yet")
	}
	n := sk.GetCount()
	return measured(1000*sketchSum(sk)/n, int64(n))
}

func throughput(e *Evidence, t target) measurement {
	ms := measurement{noun: nounRequests}
	if e.Query.Shadow {
		// Mirrored requests per second of the baseline's span.
		ms.noun, ms.bnoun = nounMirrored, nounRequests
		ms.cand = missing(0, "no mirrored requests yet")
		if sh := e.shadow(); sh != nil {
			ms.cand = rate(e.Baseline, sh.Compared+sh.ShadowErrors+sh.Mismatched)
		}
	} else {
		ms.cand = e.version(false, t, requestRate)
	}
	if t.needBase {
		ms.base = e.version(true, t, requestRate)
	}
	return ms
}

func requestRate(a *telemetry.Aggregate, _ target) reading { return rate(a, a.Requests) }

// rate is n per second of a's span.
func rate(a *telemetry.Aggregate, n int64) reading {
	span := a.End.Sub(a.Start).Seconds()
	switch {
	case n == 0:
		return missing(0, "no requests yet")
	case span <= 0:
		return missing(n, "no time has passed to measure a rate over")
	}
	return measured(float64(n)/span, n)
}

// Quality metrics, from joined feedback. A metric undefined for a reason
// more labels will not mend (a regression model's labels, for precision)
// says so rather than waiting for MinSamples that never come.

const (
	noLabels        = "no labelled feedback yet"
	notBinaryLabels = "undefined: some labelled scores are not binary (a score outside [0,1] or a label other than 0 and 1)"
)

func accuracy(a *telemetry.Aggregate, _ target) reading {
	q := &a.Quality
	n := q.AccuracyN()
	v, ok := q.Accuracy()
	switch {
	case ok:
		return countedPercent(int64(math.Round(v*float64(n))), n)
	case q.Labeled > 0 && q.NotBinary > 0:
		return reading{n: n, why: notBinaryLabels, hard: true}
	}
	return missing(n, noLabels)
}

func precision(a *telemetry.Aggregate, _ target) reading {
	return binaryPercent(&a.Quality, a.Quality.Precision, "undefined: no positive predictions (score ≥ 0.5)")
}

func recall(a *telemetry.Aggregate, _ target) reading {
	return binaryPercent(&a.Quality, a.Quality.Recall, "undefined: no positive labels")
}

func f1(a *telemetry.Aggregate, _ target) reading {
	return binaryPercent(&a.Quality, a.Quality.F1, "undefined: no positive predictions or labels")
}

func binaryPercent(q *telemetry.QualityAggregate, metric func() (float64, bool), undefined string) reading {
	v, ok := metric()
	if !ok {
		return binaryUndefined(q, undefined)
	}
	return measured(100*v, q.BinaryN())
}

func auc(a *telemetry.Aggregate, _ target) reading {
	q := &a.Quality
	v, ok := q.AUC()
	if !ok {
		return binaryUndefined(q, "undefined: every label is of one class")
	}
	return measured(v, q.BinaryN())
}

// binaryUndefined says why a binary metric (precision, recall, F1, AUC)
// has no value; otherwise is the reason when it has binary labels.
func binaryUndefined(q *telemetry.QualityAggregate, otherwise string) reading {
	n := q.BinaryN()
	switch {
	case q.Labeled == 0:
		return missing(0, noLabels)
	case q.NotBinary > 0:
		return impossible(notBinaryLabels)
	case n == 0:
		return impossible("undefined: binary metrics need score predictions, and the labelled predictions are classes")
	}
	return missing(n, otherwise)
}

func logLoss(a *telemetry.Aggregate, _ target) reading {
	q := &a.Quality
	n := q.LogLossN()
	v, ok := q.LogLoss()
	switch {
	case ok:
		return measured(v, n)
	case q.Labeled > 0 && q.NotBinary > 0:
		return reading{n: n, why: notBinaryLabels, hard: true}
	case q.Labeled > 0 && q.ClassN > 0:
		return impossible("undefined: log-loss needs probabilities, and the labelled predictions are class ids")
	}
	return missing(n, noLabels)
}

func mae(a *telemetry.Aggregate, _ target) reading {
	q := &a.Quality
	return regression(q, q.MAE)
}

func rmse(a *telemetry.Aggregate, _ target) reading {
	q := &a.Quality
	return regression(q, q.RMSE)
}

func regression(q *telemetry.QualityAggregate, metric func() (float64, bool)) reading {
	v, ok := metric()
	switch {
	case ok:
		return measured(v, q.RegressionN)
	case q.Labeled > 0:
		return impossible("undefined: mae and rmse need score predictions, and the labelled predictions are classes")
	}
	return missing(0, noLabels)
}

// businessValue is values.NAME: the mean per feedback, or the sum when
// the metric asks for it.
func businessValue(a *telemetry.Aggregate, t target) reading {
	name := strings.TrimPrefix(t.name, spec.ValuesPrefix)
	sc, ok := a.Values[name]
	if !ok || sc.N == 0 {
		if a.ValuesDropped > 0 {
			return reading{why: fmt.Sprintf("no value %q: telemetry keeps the first 64 value names of a version and dropped %d values", name, a.ValuesDropped), hard: true}
		}
		return missing(0, "no feedback with this value yet")
	}
	if t.aggregate == "sum" {
		return measured(sc.Sum, sc.N)
	}
	r := measured(sc.Sum/float64(sc.N), sc.N)
	r.moments = stats.Moments{N: sc.N, Sum: sc.Sum, SumSq: sc.SumSq}
	return r
}

// Prediction metrics.

func confidenceAvg(a *telemetry.Aggregate, _ target) reading {
	p := &a.Predictions
	if p.Confidence == nil || p.Confidence.IsEmpty() {
		if p.ScoreCount > 0 || len(p.Classes) > 0 {
			return impossible("confidence is the largest class probability of a [rows,k] probability output; this version outputs scores or class ids")
		}
		return missing(0, "no predictions yet")
	}
	n := p.Confidence.GetCount()
	return measured(p.ConfidenceSum/n, int64(n))
}
