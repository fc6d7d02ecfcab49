// Package telemetry measures every model version the gateway serves: request
// outcomes, latency, the distribution of inputs and predictions, quality from
// ground-truth feedback joined by request id, business values, and shadow
// comparisons between two versions. It exports the request-level series to
// Prometheus as well.
//
// Each (model, version) pair is a series: a ring of fixed-width time buckets
// (Config.Bucket wide, Config.Retention deep). Every bucket holds exact counts
// and mergeable DDSketches, so any look-back window is the merge of the
// buckets it covers, with exact counts and quantiles within the sketches'
// relative accuracy (Snapshot for people, Window for the statistics engine).
//
// Save and Load carry the sealed buckets over a restart (persist.go).
//
// Memory is bounded. Only the newest bucket of a series is written; when the
// next one starts, the previous one is sealed: its sketches are encoded in
// ddsketch's binary format (about 250 bytes each instead of 2-3 KiB live)
// and its AUC histograms run-length packed, and the live structures are
// reused by the new bucket. A version serving 1,000 requests per second
// with seven input features and a tenth of its predictions labelled holds
// about 2.3 MB for an hour of 10-second buckets (BenchmarkMemoryPerVersionHour);
// the figure grows with the spread of the values, not with the rate. The
// join table that waits for feedback is bounded by Config.JoinSize (about
// 100 bytes per prediction, request ids up to 40 bytes included, none of
// it scanned by the garbage collector: 21 → 13 MB of live heap and 1.2 →
// 0.8 µs of GC per routed request in bench/routing's setup). The number of series is
// not bounded: models × versions is small, and Forget drops a series.
//
// The gateway calls Record on every request. Record takes no lock shared by
// series: the series table is an immutable map behind an atomic pointer
// (copied when a series is added), each series has its own mutex, held for
// well under a microsecond, and the join table is split into shards with a
// mutex each. Prometheus children are looked up once per series. After
// warm-up Record does not allocate, except to grow the feedback join table
// while it fills.
package telemetry

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// Defaults for the zero values of Config.
const (
	DefaultBucket      = 10 * time.Second
	DefaultRetention   = time.Hour
	DefaultJoinSize    = 100_000
	DefaultJoinTTL     = time.Hour
	DefaultMaxFeatures = 64
)

// Config tunes a Recorder. The zero value is usable.
type Config struct {
	// Bucket is the width of one time bucket: the resolution of every
	// window. Zero means DefaultBucket (10s).
	Bucket time.Duration
	// Retention is how much history each series keeps; longer windows are
	// cut to it. Each series holds Retention/Bucket+1 buckets, so a window
	// of Retention is always covered in full. Zero means DefaultRetention
	// (1h).
	Retention time.Duration
	// JoinSize bounds how many predictions wait for feedback across all
	// models; when full, the oldest is forgotten and its feedback counts
	// as unmatched. Size it to at least requests per second × JoinTTL.
	// Zero means DefaultJoinSize (100,000).
	JoinSize int
	// JoinTTL is how long a prediction waits for its feedback; feedback
	// that arrives later counts as expired. Zero means DefaultJoinTTL (1h).
	JoinTTL time.Duration
	// MaxFeatures bounds the input features summarised per series; further
	// features are ignored. Zero means DefaultMaxFeatures (64).
	MaxFeatures int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Bucket <= 0 {
		c.Bucket = DefaultBucket
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Retention < c.Bucket {
		c.Retention = c.Bucket
	}
	if c.JoinSize <= 0 {
		c.JoinSize = DefaultJoinSize
	}
	if c.JoinTTL <= 0 {
		c.JoinTTL = DefaultJoinTTL
	}
	if c.MaxFeatures <= 0 {
		c.MaxFeatures = DefaultMaxFeatures
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Outcome is how a request ended.
type Outcome uint8

// Request outcomes. The zero value is OK.
const (
	OK          Outcome = iota // answered
	ClientError                // rejected as the caller's fault (HTTP 4xx)
	ServerError                // failed on our side (HTTP 5xx other than a timeout)
	Timeout                    // the model did not answer in time (HTTP 504)
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "client_error", "server_error", "timeout"}

// String returns the outcome's Prometheus label value: "ok",
// "client_error", "server_error" or "timeout".
func (o Outcome) String() string {
	if o >= numOutcomes {
		return fmt.Sprintf("Outcome(%d)", uint8(o))
	}
	return outcomeNames[o]
}

// Observation is one request as the gateway saw it.
type Observation struct {
	Model   string
	Version string // the version that answered
	// RequestID joins later feedback to this prediction; "" means the
	// prediction is not remembered. Feedback joins one row per request id,
	// so only single-row requests are remembered.
	RequestID string
	// Outcome is how the request ended; values beyond Timeout count as
	// ServerError.
	Outcome Outcome
	Latency time.Duration
	// Segment names the measured route segment that took the request (see
	// SegmentSeries); "" for none.
	Segment string
	// Inputs are summarised per feature, for OK requests only (a rejected
	// request's inputs say nothing about the traffic the model scored):
	// one tensor per feature ([rows] or [rows,1]) named by the tensor, or a
	// [rows,k] matrix whose columns are named name[0] … name[k-1]. Numeric
	// datatypes only; BYTES inputs and tensors of rank above 2 are skipped.
	// Nil means none.
	Inputs []runtime.Tensor
	// Outputs: only the first tensor is read. [rows] (or [rows,1]) floats
	// are scores; [rows] integers or booleans are class ids; [rows,k]
	// floats with k ≥ 2 are class probabilities (for k = 2, column 1 is
	// also the score). Read for OK requests only. Nil means none.
	Outputs []runtime.Tensor
}

// Recorder holds the live measurements of every series. It is safe for
// concurrent use; create one with New.
type Recorder struct {
	cfg   Config
	width int64 // bucket width in nanoseconds
	slots int   // buckets per ring
	joins *joinTable
	prom  *metrics
	// quiet holds the Prometheus series of segment series, which are
	// never collected.
	quiet  *metrics
	layout *sketchLayout

	restore atomic.Pointer[Restore] // what became of the previous run's measurements; nil: nothing to restore

	mu     sync.Mutex                             // serialises adding and removing series and models
	series atomic.Pointer[map[seriesKey]*series]  // copy on write under mu; read without locks
	models atomic.Pointer[map[string]*modelState] // copy on write under mu; read without locks
}

// New returns a Recorder with cfg's zero values replaced by defaults.
func New(cfg Config) *Recorder {
	cfg = cfg.withDefaults()
	r := &Recorder{
		cfg:    cfg,
		width:  int64(cfg.Bucket),
		slots:  int(cfg.Retention/cfg.Bucket) + 1,
		joins:  newJoinTable(cfg.JoinSize, cfg.JoinTTL),
		prom:   newMetrics(),
		quiet:  newMetrics(),
		layout: newSketchLayout(),
	}
	r.series.Store(&map[seriesKey]*series{})
	r.models.Store(&map[string]*modelState{})
	return r
}

type seriesKey struct{ model, version string }

// Record adds one request to its version's current bucket and, when the
// request has an id, one row and outputs, remembers its prediction for a
// feedback join.
func (r *Recorder) Record(o Observation) {
	r.record(o)
	if o.Segment != "" {
		seg := o
		seg.Version, seg.Segment, seg.RequestID = SegmentSeries(o.Version, o.Segment), "", ""
		r.record(seg)
	}
}

func (r *Recorder) record(o Observation) {
	now := r.cfg.Now().UnixNano()
	s := r.seriesFor(o.Model, o.Version)
	outcome := o.Outcome
	if outcome >= numOutcomes {
		outcome = ServerError
	}
	s.prom.requests[outcome].Inc()
	s.prom.duration.Observe(o.Latency.Seconds())

	var row rowPrediction
	s.mu.Lock()
	b := s.bucketAt(now)
	b.addRequest(outcome, o.Latency, &s.pool)
	rows := requestRows(o.Inputs, o.Outputs)
	b.Rows += int64(rows)
	if outcome == OK {
		s.addInputs(b, o.Inputs, &s.pool)
		if len(o.Outputs) > 0 {
			b.Predictions.add(&o.Outputs[0], &s.pool, &row)
		}
	}
	s.mu.Unlock()

	if o.RequestID != "" && rows == 1 && row.kind != predNone {
		r.joins.put(joinKey{o.Model, o.RequestID}, o.Version, o.Segment, now, &row)
	}
}

// requestRows is the batch size: the first input's first dimension, or the
// first output's when there are no inputs.
func requestRows(inputs, outputs []runtime.Tensor) int {
	switch {
	case len(inputs) > 0:
		return inputs[0].Rows()
	case len(outputs) > 0:
		return outputs[0].Rows()
	}
	return 0
}

// Forget drops a version's series and its Prometheus series, releasing
// their memory. Series are never dropped otherwise: models × versions is
// small, and each idle series costs its ring (about 220 KiB with the
// defaults) plus whatever its buckets still hold. Feedback that later
// joins a prediction of the forgotten version starts a new series.
func (r *Recorder) Forget(model, version string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.series.Load()
	key := seriesKey{model, version}
	if _, ok := old[key]; !ok {
		return
	}
	next := make(map[seriesKey]*series, len(old))
	for k, s := range old {
		if k != key {
			next[k] = s
		}
	}
	r.series.Store(&next)
	r.prom.forget(model, version)
}

// seriesFor returns the series of (model, version), creating it and its
// model's state on first use.
func (r *Recorder) seriesFor(model, version string) *series {
	key := seriesKey{model, version}
	if s, ok := (*r.series.Load())[key]; ok {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.series.Load()
	if s, ok := old[key]; ok {
		return s
	}
	prom := r.prom
	if isSegmentSeries(version) {
		prom = r.quiet // segment series stay out of /metrics
	}
	s := newSeries(model, version, r.slots, r.width, r.cfg.MaxFeatures, r.cfg.Now().UnixNano(), prom, r.layout)
	next := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = s
	r.series.Store(&next)
	r.modelLocked(model)
	return s
}

// lookup returns the series of (model, version) if it exists.
func (r *Recorder) lookup(model, version string) (*series, bool) {
	s, ok := (*r.series.Load())[seriesKey{model, version}]
	return s, ok
}

// versionsOf lists the series of model, sorted by version.
func (r *Recorder) versionsOf(model string) []*series {
	var out []*series
	for k, s := range *r.series.Load() {
		if k.model == model && !isSegmentSeries(k.version) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// modelFor returns model's state, creating it on first use.
func (r *Recorder) modelFor(model string) *modelState {
	if m, ok := (*r.models.Load())[model]; ok {
		return m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.modelLocked(model)
}

// modelLocked returns model's state, creating it; r.mu must be held.
func (r *Recorder) modelLocked(model string) *modelState {
	old := *r.models.Load()
	if m, ok := old[model]; ok {
		return m
	}
	m := newModelState(model, r.slots, r.width, r.prom)
	next := make(map[string]*modelState, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[model] = m
	r.models.Store(&next)
	return m
}
