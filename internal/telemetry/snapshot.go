package telemetry

import (
	"math"
	"sort"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
)

// ModelStats is every version of one model over a look-back window, ready
// for JSON. Figures that are undefined (no data) are nil pointers, never
// NaN, which JSON cannot carry.
type ModelStats struct {
	Model string `json:"model"`
	// WindowSeconds is the window asked for, cut to Config.Retention.
	WindowSeconds float64        `json:"window_seconds"`
	Versions      []VersionStats `json:"versions"`
	Shadows       []ShadowStats  `json:"shadows,omitempty"`
	// Feedback counts the model's feedback by join result over the window.
	Feedback FeedbackCounts `json:"feedback"`
	// Restore says whether the history before the server's last start
	// was restored; nil when there was none to restore.
	Restore *Restore `json:"restore,omitempty"`
}

// FeedbackCounts counts feedback by what became of it.
type FeedbackCounts struct {
	Joined    int64 `json:"joined"`
	Unmatched int64 `json:"unmatched"`
	Expired   int64 `json:"expired"`
}

// VersionStats is one version over the window.
type VersionStats struct {
	Version string `json:"version"`
	// SpanSeconds is the time the figures cover: the window widened to
	// whole buckets, and cut to the version's first record when that is
	// later.
	SpanSeconds  float64 `json:"span_seconds"`
	Requests     int64   `json:"requests"`
	OK           int64   `json:"ok"`
	ClientErrors int64   `json:"client_errors"`
	ServerErrors int64   `json:"server_errors"`
	Timeouts     int64   `json:"timeouts"`
	// ErrorRate is (server errors + timeouts) / requests: client errors
	// are the caller's fault and do not count. Zero without requests.
	ErrorRate     float64 `json:"error_rate"`
	ThroughputRPS float64 `json:"throughput_rps"` // requests / SpanSeconds
	// LatencyMS covers every request, whatever its outcome; zero without
	// requests. Quantiles are within LatencyAccuracy (1%) of the true
	// value; the mean is exact.
	LatencyMS   LatencyStats          `json:"latency_ms"`
	Rows        int64                 `json:"rows"`
	Predictions PredictionStats       `json:"predictions"`
	Quality     QualityStats          `json:"quality"`
	Reward      RewardStats           `json:"reward"`
	Values      map[string]ValueStats `json:"values,omitempty"`
	Features    []FeatureStats        `json:"features,omitempty"`
}

// LatencyStats are latency quantiles and the mean, in milliseconds.
type LatencyStats struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

// PredictionStats describes the distribution of a version's outputs.
type PredictionStats struct {
	// Classes counts rows per predicted class id (index); nil without class
	// outputs. ClassesOther counts rows with no class id below MaxClasses.
	Classes      []int64        `json:"classes,omitempty"`
	ClassesOther int64          `json:"classes_other,omitempty"`
	Confidence   *QuantileStats `json:"confidence,omitempty"` // the largest class probability per row
	Scores       *QuantileStats `json:"scores,omitempty"`
	// ScoreHistogram is ScoreBins counts over [0,1] (see
	// PredictionAggregate); omitted without scores or when any score fell
	// outside [0,1] (ScoresOutside).
	ScoreHistogram []int64 `json:"score_histogram,omitempty"`
	ScoresOutside  int64   `json:"scores_outside,omitempty"`
	ScoresInvalid  int64   `json:"scores_invalid,omitempty"`
}

// QuantileStats describes a distribution: its count, quantiles (within
// ValueAccuracy, 2%) and exact mean.
type QuantileStats struct {
	N    int64   `json:"n"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

// QualityStats are metrics from joined feedback (see QualityAggregate for
// which predictions count toward which metric). Each is nil when
// undefined.
type QualityStats struct {
	Joined    int64    `json:"joined"` // feedback joined, labelled or not
	N         int64    `json:"n"`      // joined feedback with a label
	Accuracy  *float64 `json:"accuracy,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
	AUC       *float64 `json:"auc,omitempty"` // within AUCBins' bin error
	LogLoss   *float64 `json:"log_loss,omitempty"`
	MAE       *float64 `json:"mae,omitempty"`
	RMSE      *float64 `json:"rmse,omitempty"`
}

// RewardStats is the mean reward from joined feedback; Mean is nil
// without rewards.
type RewardStats struct {
	N    int64    `json:"n"`
	Mean *float64 `json:"mean,omitempty"`
}

// ValueStats is one business value from joined feedback.
type ValueStats struct {
	N    int64   `json:"n"`
	Sum  float64 `json:"sum"`
	Mean float64 `json:"mean"`
}

// FeatureStats describes one input feature. Mean, Std (population), Min,
// Max and P50 (within ValueAccuracy) cover the present values and are
// zero when all were missing.
type FeatureStats struct {
	Name    string  `json:"name"`
	Count   int64   `json:"count"`
	Missing int64   `json:"missing"`
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	P50     float64 `json:"p50"`
}

// ShadowStats compares a primary version with its shadow over the window.
type ShadowStats struct {
	Primary      string `json:"primary"`
	Shadow       string `json:"shadow"`
	Compared     int64  `json:"compared"`
	ShadowErrors int64  `json:"shadow_errors"`
	// Paused counts copies held back while the shadow kept failing.
	Paused     int64 `json:"paused"`
	Mismatched int64 `json:"mismatched"`
	Rows       int64 `json:"rows"`
	// Agreement is the share of compared rows where both chose the same
	// label; nil without compared rows.
	Agreement        *float64    `json:"agreement,omitempty"`
	ScoreDiff        DiffStats   `json:"score_diff"`
	PrimaryLatencyMS LatencyPair `json:"primary_latency_ms"`
	ShadowLatencyMS  LatencyPair `json:"shadow_latency_ms"`
}

// DiffStats describes the per-row score differences; zero without any.
type DiffStats struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
}

// LatencyPair is a latency median and 99th percentile in milliseconds.
type LatencyPair struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Snapshot describes every version of model over the window ending now. A
// window of zero or less, or longer than Config.Retention, means
// Retention.
func (r *Recorder) Snapshot(model string, window time.Duration) ModelStats {
	if window <= 0 || window > r.cfg.Retention {
		window = r.cfg.Retention
	}
	now := r.cfg.Now().UnixNano()
	ms := ModelStats{Model: model, WindowSeconds: window.Seconds(), Versions: []VersionStats{}}
	for _, s := range r.versionsOf(model) {
		agg := s.window(now, window)
		ms.Versions = append(ms.Versions, versionStats(s.version, &agg))
		for shadow, sh := range agg.Shadows {
			ms.Shadows = append(ms.Shadows, shadowStats(s.version, shadow, sh))
		}
	}
	sort.Slice(ms.Shadows, func(i, j int) bool {
		a, b := ms.Shadows[i], ms.Shadows[j]
		return a.Primary < b.Primary || (a.Primary == b.Primary && a.Shadow < b.Shadow)
	})
	if m, ok := (*r.models.Load())[model]; ok {
		ms.Feedback = m.window(now, window)
	}
	ms.Restore = r.restore.Load()
	return ms
}

// Window returns the merged raw measurements of one version over the
// window ending now (see Snapshot for the window), and false when the
// version has no series. The Aggregate is a copy the caller owns.
func (r *Recorder) Window(model, version string, window time.Duration) (Aggregate, bool) {
	s, ok := r.lookup(model, version)
	if !ok {
		return Aggregate{}, false
	}
	if window <= 0 || window > r.cfg.Retention {
		window = r.cfg.Retention
	}
	return s.window(r.cfg.Now().UnixNano(), window), true
}

func versionStats(version string, a *Aggregate) VersionStats {
	span := a.End.Sub(a.Start).Seconds()
	v := VersionStats{
		Version:      version,
		SpanSeconds:  span,
		Requests:     a.Requests,
		OK:           a.OK,
		ClientErrors: a.ClientErrors,
		ServerErrors: a.ServerErrors,
		Timeouts:     a.Timeouts,
		Rows:         a.Rows,
		Predictions:  predictionStats(&a.Predictions),
		Quality:      qualityStats(&a.Quality),
		Reward:       RewardStats{N: a.Reward.N, Mean: defined(ratio(a.Reward.Sum, float64(a.Reward.N)))},
	}
	if a.Requests > 0 {
		v.ErrorRate = float64(a.ServerErrors+a.Timeouts) / float64(a.Requests)
		v.LatencyMS = LatencyStats{
			P50:  1000 * quantile(a.Latency, 0.50),
			P95:  1000 * quantile(a.Latency, 0.95),
			P99:  1000 * quantile(a.Latency, 0.99),
			Mean: float64(a.LatencySum) / float64(a.Requests) / float64(time.Millisecond),
		}
	}
	if span > 0 {
		v.ThroughputRPS = float64(a.Requests) / span
	}
	for name, sc := range a.Values {
		if v.Values == nil {
			v.Values = map[string]ValueStats{}
		}
		v.Values[name] = ValueStats{N: sc.N, Sum: safe(sc.Sum), Mean: safe(sc.Sum / float64(sc.N))}
	}
	for i := range a.Features {
		v.Features = append(v.Features, featureStats(&a.Features[i]))
	}
	return v
}

func predictionStats(p *PredictionAggregate) PredictionStats {
	ps := PredictionStats{ClassesOther: p.ClassesOther, ScoresOutside: p.ScoresOutside, ScoresInvalid: p.ScoresInvalid}
	if len(p.Classes) > 0 {
		ps.Classes = append([]int64(nil), p.Classes...)
	}
	if p.Confidence != nil && !p.Confidence.IsEmpty() {
		n := int64(p.Confidence.GetCount())
		ps.Confidence = quantileStats(p.Confidence, n, p.ConfidenceSum)
	}
	if p.ScoreCount > 0 {
		ps.Scores = quantileStats(p.Scores, p.ScoreCount, p.ScoreSum)
		if p.ScoresOutside == 0 {
			ps.ScoreHistogram = append([]int64(nil), p.ScoreHistogram[:]...)
		}
	}
	return ps
}

func quantileStats(sk *ddsketch.DDSketch, n int64, sum float64) *QuantileStats {
	return &QuantileStats{
		N:    n,
		P50:  quantile(sk, 0.50),
		P90:  quantile(sk, 0.90),
		P99:  quantile(sk, 0.99),
		Mean: safe(sum / float64(n)),
	}
}

func qualityStats(q *QualityAggregate) QualityStats {
	return QualityStats{
		Joined:    q.Joined,
		N:         q.Labeled,
		Accuracy:  defined(q.Accuracy()),
		Precision: defined(q.Precision()),
		Recall:    defined(q.Recall()),
		F1:        defined(q.F1()),
		AUC:       defined(q.AUC()),
		LogLoss:   defined(q.LogLoss()),
		MAE:       defined(q.MAE()),
		RMSE:      defined(q.RMSE()),
	}
}

func featureStats(f *FeatureAggregate) FeatureStats {
	fs := FeatureStats{Name: f.Name, Count: f.Count, Missing: f.Missing}
	n := float64(f.Present())
	if n == 0 {
		return fs
	}
	mean := f.Sum / n
	fs.Mean = safe(mean)
	fs.Std = safe(math.Sqrt(max(0, f.SumSquares/n-mean*mean)))
	fs.Min, fs.Max = f.Min, f.Max
	fs.P50 = quantile(f.Sketch, 0.5)
	return fs
}

func shadowStats(primary, shadow string, a *ShadowAggregate) ShadowStats {
	s := ShadowStats{
		Primary:      primary,
		Shadow:       shadow,
		Compared:     a.Compared,
		ShadowErrors: a.ShadowErrors,
		Paused:       a.Paused,
		Mismatched:   a.Mismatched,
		Rows:         a.Rows,
		Agreement:    defined(ratio(float64(a.Agreements), float64(a.Rows))),
		PrimaryLatencyMS: LatencyPair{
			P50: 1000 * quantile(a.PrimaryLatency, 0.50),
			P99: 1000 * quantile(a.PrimaryLatency, 0.99),
		},
		ShadowLatencyMS: LatencyPair{
			P50: 1000 * quantile(a.ShadowLatency, 0.50),
			P99: 1000 * quantile(a.ShadowLatency, 0.99),
		},
	}
	if a.ScoreDiffN > 0 {
		s.ScoreDiff = DiffStats{
			Mean: safe(a.ScoreDiffSum / float64(a.ScoreDiffN)),
			P50:  quantile(a.ScoreDiff, 0.50),
			P99:  quantile(a.ScoreDiff, 0.99),
		}
	}
	return s
}

// quantile reads q from a sketch; zero for a nil or empty sketch.
func quantile(sk *ddsketch.DDSketch, q float64) float64 {
	if sk == nil || sk.IsEmpty() {
		return 0
	}
	v, err := sk.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return safe(v)
}

// defined turns a (value, ok) pair into a JSON-safe pointer: nil when
// undefined or not finite.
func defined(v float64, ok bool) *float64 {
	if !ok || !finite(v) {
		return nil
	}
	return &v
}

// safe replaces a non-finite result (an overflowed sum) with zero, which
// JSON can carry.
func safe(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}
