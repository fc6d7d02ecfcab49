package telemetry

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/cow"
)

// Mirror results for MirrorResult.
const (
	MirrorSent    = "sent"    // the mirrored copy was sent to the shadow
	MirrorDropped = "dropped" // the mirror queue was full; the copy was not sent
	MirrorFailed  = "failed"  // the copy was sent and the shadow failed
	MirrorPaused  = "paused"  // the shadow kept failing; copies are held back for a while
)

// metrics is the Prometheus export. Label children used on the hot path
// are looked up once per series and kept (seriesMetrics), so recording
// does not hash label values or allocate.
type metrics struct {
	requests *prometheus.CounterVec   // model, version, outcome
	duration *prometheus.HistogramVec // model, version
	mirror   *prometheus.CounterVec   // model, version, result
	feedback *prometheus.CounterVec   // model, result
	routes   *prometheus.GaugeVec     // model, version

	mirrors cow.Map[mirrorKey, prometheus.Counter]

	mu     sync.Mutex                     // guards routed
	routed map[string]map[string]struct{} // model → versions with a route weight
}

type mirrorKey struct{ model, version, result string }

type seriesMetrics struct {
	requests [numOutcomes]prometheus.Counter
	duration prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_requests_total",
			Help: "Inference requests by model, answering version and outcome (ok, client_error, server_error, timeout).",
		}, []string{"model", "version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "slipway_request_duration_seconds",
			Help: "Inference request latency by model and answering version, every outcome included.",
			// A few classic buckets for scrapers without native histograms.
			Buckets:                         []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"model", "version"}),
		mirror: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_mirror_requests_total",
			Help: "Requests mirrored to shadow versions by result (sent, dropped, failed, paused).",
		}, []string{"model", "version", "result"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_feedback_total",
			Help: "Feedback by model and join result (joined, unmatched, expired).",
		}, []string{"model", "result"}),
		routes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slipway_route_weight",
			Help: "Share of traffic the router sends to each version of a model.",
		}, []string{"model", "version"}),
		routed: map[string]map[string]struct{}{},
	}
	return m
}

func (m *metrics) forSeries(model, version string) seriesMetrics {
	var sm seriesMetrics
	for o := range numOutcomes {
		sm.requests[o] = m.requests.WithLabelValues(model, version, o.String())
	}
	sm.duration = m.duration.WithLabelValues(model, version)
	return sm
}

// forget deletes the Prometheus series of one version (not its route
// weight, which SetRouteWeights owns).
func (m *metrics) forget(model, version string) {
	labels := prometheus.Labels{"model": model, "version": version}
	m.requests.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.mirror.DeletePartialMatch(labels)
	m.mirrors.DeleteFunc(func(k mirrorKey, _ prometheus.Counter) bool { return k.model == model && k.version == version })
}

// Register adds telemetry's metrics to reg: slipway_requests_total,
// slipway_request_duration_seconds (a native histogram with a few classic
// buckets), slipway_mirror_requests_total, slipway_feedback_total and
// slipway_route_weight.
func (r *Recorder) Register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{r.prom.requests, r.prom.duration, r.prom.mirror, r.prom.feedback, r.prom.routes} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return errors.Join(errors.New("register telemetry metrics"), err)
	}
	return nil
}

// MirrorResult counts one mirrored request to version of model, by result:
// MirrorSent, MirrorDropped, MirrorFailed or MirrorPaused.
func (r *Recorder) MirrorResult(model, version, result string) {
	m := r.prom
	m.mirrors.LoadOrCreate(mirrorKey{model, version, result}, func() prometheus.Counter {
		return m.mirror.WithLabelValues(model, version, result)
	}).Inc()
}

// SetRouteWeights replaces model's slipway_route_weight series with
// weights (version → share of traffic); versions no longer listed lose
// their series. Nil or empty weights remove them all.
func (r *Recorder) SetRouteWeights(model string, weights map[string]float64) {
	m := r.prom
	m.mu.Lock()
	defer m.mu.Unlock()
	for v, w := range weights {
		m.routes.WithLabelValues(model, v).Set(w)
	}
	for v := range m.routed[model] {
		if _, ok := weights[v]; !ok {
			m.routes.DeleteLabelValues(model, v)
		}
	}
	if len(weights) == 0 {
		delete(m.routed, model)
		return
	}
	set := make(map[string]struct{}, len(weights))
	for v := range weights {
		set[v] = struct{}{}
	}
	m.routed[model] = set
}
