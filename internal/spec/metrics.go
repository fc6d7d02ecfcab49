package spec

import (
	"math"
	"regexp"
	"sort"
	"strings"
)

// Unit is what a metric's numbers mean. Conditions are written in the
// metric's unit: error-rate threshold 1 is 1%, latency-p99 threshold 100
// is 100 ms.
type Unit string

// The units of the metric catalogue.
const (
	UnitPercent  Unit = "percent"             // 0..100; 1 is 1%
	UnitMillis   Unit = "milliseconds"        // ≥ 0
	UnitRPS      Unit = "requests per second" // ≥ 0
	UnitFraction Unit = "fraction"            // 0..1, such as an AUC of 0.93
	UnitScore    Unit = "score"               // ≥ 0, in the model's output units (log loss, MAE, RMSE, score differences)
	UnitPSI      Unit = "PSI"                 // population stability index, ≥ 0; 0.1 is worth watching, 0.25 worth acting on
	UnitValue    Unit = "value"               // a business value in its own unit, any sign
)

// Format renders v in unit u for a plan: "1%", "100ms", "0.25 PSI".
func (u Unit) Format(v float64) string {
	s := formatNumber(v)
	switch u {
	case UnitPercent:
		return s + "%"
	case UnitMillis:
		return s + "ms"
	case UnitRPS:
		return s + " rps"
	case UnitPSI:
		return s + " PSI"
	}
	return s
}

// bounds is the range a value in u can take.
func (u Unit) bounds() (lo, hi float64) {
	switch u {
	case UnitPercent:
		return 0, 100
	case UnitFraction:
		return 0, 1
	case UnitValue:
		return math.Inf(-1), math.Inf(1)
	}
	return 0, math.Inf(1)
}

// Better says which way a metric improves. It decides what a bare
// `threshold` bounds and which way `relative` limits the candidate.
type Better int

// Directions of improvement.
const (
	// EitherBetter: the direction is not known (business values), so
	// conditions must say it: min or max, maxIncrease or maxDecrease.
	EitherBetter Better = iota
	LowerBetter         // errors, latency, loss, drift: threshold is an upper bound
	HigherBetter        // throughput, accuracy, AUC, agreement: threshold is a lower bound
)

// Source is where the analysis reads a metric from.
type Source string

// Metric sources.
const (
	SourceRequests    Source = "requests"    // every answered request
	SourceFeedback    Source = "feedback"    // ground truth joined by request id
	SourcePredictions Source = "predictions" // the distribution of outputs or inputs
	SourceShadow      Source = "shadow"      // mirrored requests compared with the primary's answer
	SourceExternal    Source = "external"    // a provider: Prometheus or a webhook
)

// MetricInfo describes one metric of the catalogue.
type MetricInfo struct {
	Name        string
	Unit        Unit
	Better      Better
	Source      Source
	Description string
}

// ShadowOnly reports whether the metric compares mirrored outputs and so
// can be measured only during a shadow.
func (m MetricInfo) ShadowOnly() bool { return m.Source == SourceShadow }

// catalogue is every known metric but the open family values.NAME.
var catalogue = []MetricInfo{
	{"error-rate", UnitPercent, LowerBetter, SourceRequests, "server errors and timeouts per request"},
	{"latency-p50", UnitMillis, LowerBetter, SourceRequests, "median request latency"},
	{"latency-p95", UnitMillis, LowerBetter, SourceRequests, "95th percentile request latency"},
	{"latency-p99", UnitMillis, LowerBetter, SourceRequests, "99th percentile request latency"},
	{"latency-mean", UnitMillis, LowerBetter, SourceRequests, "mean request latency"},
	{"throughput", UnitRPS, HigherBetter, SourceRequests, "requests answered per second"},
	{"accuracy", UnitPercent, HigherBetter, SourceFeedback, "predictions that match the label"},
	{"precision", UnitPercent, HigherBetter, SourceFeedback, "true positives per predicted positive"},
	{"recall", UnitPercent, HigherBetter, SourceFeedback, "true positives per actual positive"},
	{"f1", UnitPercent, HigherBetter, SourceFeedback, "harmonic mean of precision and recall"},
	{"auc", UnitFraction, HigherBetter, SourceFeedback, "area under the ROC curve"},
	{"log-loss", UnitScore, LowerBetter, SourceFeedback, "mean negative log-likelihood of the label, in nats"},
	{"mae", UnitScore, LowerBetter, SourceFeedback, "mean absolute error against the label"},
	{"rmse", UnitScore, LowerBetter, SourceFeedback, "root mean squared error against the label"},
	{"prediction-drift", UnitPSI, LowerBetter, SourcePredictions, "PSI of the candidate's predictions against the baseline's"},
	{"prediction-js", UnitFraction, LowerBetter, SourcePredictions, "Jensen-Shannon divergence in bits (0 to 1) of the candidate's predictions against the baseline's"},
	{"feature-drift", UnitPSI, LowerBetter, SourcePredictions, "PSI of an input feature (the largest over all features unless `feature` names one)"},
	{"score-shift", UnitFraction, LowerBetter, SourcePredictions, "Kolmogorov-Smirnov distance between the candidate's and the baseline's scores"},
	{"confidence-avg", UnitFraction, HigherBetter, SourcePredictions, "mean of the largest class probability"},
	{"agreement", UnitPercent, HigherBetter, SourceShadow, "mirrored requests where the candidate chose the baseline's label"},
	{"score-diff", UnitScore, LowerBetter, SourceShadow, "mean absolute difference between the candidate's and the baseline's scores"},
}

// ValuesPrefix starts a business value's metric name: values.conversion
// is the feedback value "conversion".
const ValuesPrefix = "values."

var valueNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`)

// LookupMetric finds a metric of the catalogue, or a business value
// (values.NAME, in its own unit, with no known direction).
func LookupMetric(name string) (MetricInfo, bool) {
	for _, m := range catalogue {
		if m.Name == name {
			return m, true
		}
	}
	if v, ok := strings.CutPrefix(name, ValuesPrefix); ok && valueNameRE.MatchString(v) {
		return MetricInfo{Name: name, Unit: UnitValue, Better: EitherBetter, Source: SourceFeedback,
			Description: "business value " + v + " from feedback (mean or sum)"}, true
	}
	return MetricInfo{}, false
}

// Metrics lists the catalogue in a stable order; values.NAME is last, as
// a pattern.
func Metrics() []MetricInfo {
	out := append([]MetricInfo(nil), catalogue...)
	return append(out, MetricInfo{Name: ValuesPrefix + "NAME", Unit: UnitValue, Better: EitherBetter,
		Source: SourceFeedback, Description: "a business value from feedback (mean or sum)"})
}

func metricNames() []string {
	names := make([]string, 0, len(catalogue)+1)
	for _, m := range Metrics() {
		names = append(names, m.Name)
	}
	return names
}

// closest returns the known names within a small edit distance of s, or
// that s is a prefix of, best first; at most three.
func closest(s string, known []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	ls := strings.ToLower(s)
	limit := max(2, len(s)/3)
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(ls, lk)
		switch {
		case d <= limit:
		case len(ls) >= 3 && strings.HasPrefix(lk, ls):
			d = limit + 1
		default:
			continue
		}
		cs = append(cs, cand{k, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// suggest is ", did you mean a or b?" for the names closest to s, or "".
func suggest(s string, known []string) string {
	c := closest(s, known)
	if len(c) == 0 {
		return ""
	}
	return "; did you mean " + orList(c) + "?"
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // names are short; do not spend time on garbage
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
