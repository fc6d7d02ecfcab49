package serving

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/cow"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Registry is what the gateway needs from the model registry: finding a
// version and reading its verified artifact. Both do I/O, so the gateway
// calls them only when a version is not loaded yet.
type Registry interface {
	Resolve(ctx context.Context, ref slipway.Ref) (slipway.Version, string, error)
	ReadArtifact(ctx context.Context, v slipway.Version) ([]byte, error)
	Model(ctx context.Context, name string) (slipway.Model, error)
	RouteStore
}

// Gateway answers inference requests with loaded model versions.
type Gateway struct {
	reg Registry

	// MaxBatch caps the rows of one request; zero means 10,000.
	MaxBatch int
	// RetryFailedAfter is how long a version that failed to load is left
	// failed before a request tries again; zero means 10 s.
	RetryFailedAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// defaults maps a model name to the version that answers unpinned
	// requests. It is replaced whole on change (copy on write), so the
	// hot path reads it without a lock.
	defaults cow.Map[string, string]

	// models holds one *entry per "model@version" ever requested.
	models sync.Map

	// router holds each routed model's compiled policy; models without
	// one send unpinned traffic to their production alias.
	router *traffic.Router
	// routeMu serialises route changes (persist, then swap).
	routeMu sync.Mutex

	mirror mirrorPool
	obs    Observer // nil: measurements are dropped
}

// NewGateway returns a gateway over reg.
func NewGateway(reg Registry) *Gateway {
	g := &Gateway{reg: reg, router: traffic.NewRouter()}
	return g
}

// entry is one model version's place in the gateway: loading, loaded or
// failed. ready is closed when loading ends either way.
type entry struct {
	version  slipway.Version
	ready    chan struct{}
	pred     runtime.Predictor
	err      error
	failedAt time.Time
	lastUse  atomic.Int64 // unix nanos of the last request
}

// State names where a version stands in the gateway.
type State string

// Load states reported by Status.
const (
	StateNotLoaded State = "not-loaded"
	StateLoading   State = "loading"
	StateReady     State = "ready"
	StateFailed    State = "failed"
)

// LoadStatus is a version's runtime state, shown by `slipway model show`.
type LoadStatus struct {
	State State  `json:"state"`
	Error string `json:"error,omitempty"`
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func key(model, version string) string { return model + "@" + version }

// Status reports whether a version is loaded, loading or failed.
func (g *Gateway) Status(model, version string) LoadStatus {
	v, ok := g.models.Load(key(model, version))
	if !ok {
		return LoadStatus{State: StateNotLoaded}
	}
	e := v.(*entry)
	select {
	case <-e.ready:
	default:
		return LoadStatus{State: StateLoading}
	}
	if e.err != nil {
		return LoadStatus{State: StateFailed, Error: e.err.Error()}
	}
	return LoadStatus{State: StateReady}
}

// version picks the version that answers: the pinned one, else the
// model's current default (the production alias until routing decides).
func (g *Gateway) version(ctx context.Context, model, pinned string) (string, error) {
	if pinned != "" {
		return pinned, nil
	}
	if d, ok := g.router.Route(model, traffic.Attrs{}, 0); ok {
		return d.Version, nil
	}
	return g.defaultVersion(ctx, model)
}

// defaultVersion is the version answering a model without routes: its
// production alias, cached until the alias moves.
func (g *Gateway) defaultVersion(ctx context.Context, model string) (string, error) {
	if v, ok := g.defaults.Load(model); ok {
		return v, nil
	}
	v, _, err := g.reg.Resolve(ctx, slipway.Ref{Model: model, Selector: slipway.AliasProduction})
	if err != nil {
		return "", fmt.Errorf("model %s has no production version to answer unpinned requests (pin a version, or set the alias): %w", model, err)
	}
	g.setDefault(model, v.Version)
	return v.Version, nil
}

func (g *Gateway) setDefault(model, version string) {
	if version == "" {
		g.defaults.DeleteFunc(func(m, _ string) bool { return m == model })
		return
	}
	g.defaults.Store(model, version)
}

// AliasMoved tells the gateway a model's aliases changed: unpinned
// requests re-resolve the production alias on their next arrival.
func (g *Gateway) AliasMoved(model string) { g.setDefault(model, "") }

// Load loads a version now (at deploy time) instead of on first use, and
// reports the load error if any.
func (g *Gateway) Load(ctx context.Context, model, version string) error {
	_, err := g.loaded(ctx, model, version)
	return err
}

// loaded returns the ready entry of a version, loading it on first use.
// Concurrent first requests share one load.
func (g *Gateway) loaded(ctx context.Context, model, version string) (*entry, error) {
	k := key(model, version)
	for {
		if v, ok := g.models.Load(k); ok {
			e := v.(*entry)
			select {
			case <-e.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if e.err == nil {
				return e, nil
			}
			if g.now().Sub(e.failedAt) < g.retryAfter() {
				return nil, e.err
			}
			g.models.CompareAndDelete(k, e) // retry the failed load
			continue
		}
		e := &entry{ready: make(chan struct{})}
		if _, raced := g.models.LoadOrStore(k, e); raced {
			continue
		}
		g.load(ctx, e, model, version)
		if e.err != nil {
			return nil, e.err
		}
		return e, nil
	}
}

func (g *Gateway) retryAfter() time.Duration {
	if g.RetryFailedAfter > 0 {
		return g.RetryFailedAfter
	}
	return 10 * time.Second
}

func (g *Gateway) load(ctx context.Context, e *entry, model, version string) {
	defer close(e.ready)
	// Loading outlives the request that triggered it: other requests wait
	// for the same load.
	ctx = context.WithoutCancel(ctx)
	v, _, err := g.reg.Resolve(ctx, slipway.Ref{Model: model, Selector: version})
	if err == nil && v.Version != version {
		err = slipway.Errorf(slipway.ErrNotFound, "%s is an alias, not a version: name the version (%s), or leave it out to let the gateway choose", key(model, version), v.Version)
	}
	var artifact []byte
	if err == nil && v.Digest != "" {
		artifact, err = g.reg.ReadArtifact(ctx, v)
	}
	if err == nil {
		e.pred, err = runtime.Load(ctx, v, artifact)
		e.lastUse.Store(g.now().UnixNano())
	}
	e.version, e.err = v, err
	if err != nil && !errors.Is(err, slipway.ErrNotFound) {
		e.err = &LoadError{Model: model, Version: version, Err: err}
	}
	if err != nil {
		e.failedAt = g.now()
		if errors.Is(err, slipway.ErrNotFound) {
			// An unknown version is not a load failure to remember.
			g.models.CompareAndDelete(key(model, version), e)
		}
	}
}

// LoadError reports a version that exists but could not be loaded; it
// fails alone, and the gateway retries it after RetryFailedAfter.
type LoadError struct {
	Model, Version string
	Err            error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("version %s@%s failed to load: %v", e.Model, e.Version, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Unload releases a loaded version; requests for it load it again.
func (g *Gateway) Unload(model, version string) error {
	v, ok := g.models.LoadAndDelete(key(model, version))
	if !ok {
		return nil
	}
	e := v.(*entry)
	<-e.ready
	if e.pred != nil {
		return e.pred.Close()
	}
	return nil
}

// Close stops the shadow workers and unloads every version.
func (g *Gateway) Close() error {
	g.mirror.stop()
	var errs []error
	g.models.Range(func(k, v any) bool {
		e := v.(*entry)
		if err := g.Unload(e.version.Model, e.version.Version); err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return errors.Join(errs...)
}

// Infer runs one request.
func (g *Gateway) Infer(ctx context.Context, req *Request) (*Response, error) {
	if req.ID == "" {
		req.ID = NewRequestID()
	}
	version, decision, err := g.choose(ctx, req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	outs, err := g.predict(ctx, req, version)
	latency := time.Since(start)
	if !errors.Is(err, slipway.ErrNotFound) { // no series for versions that do not exist
		o := telemetry.Observation{
			Model: req.Model, Version: version, RequestID: req.ID,
			Outcome: outcome(err), Latency: latency, Inputs: req.Inputs, Outputs: outs,
		}
		if decision.Measured {
			o.Segment = decision.Segment
		}
		g.observer().Record(o)
	}
	if err != nil {
		return nil, err
	}
	// Shadows get the request only after the primary answered, and never
	// make it wait: a full queue drops the copy.
	for i := range decision.NMirrors {
		g.sendMirror(mirrorJob{model: req.Model, primary: version, shadow: decision.Mirrors[i], inputs: req.Inputs, outputs: outs, primaryLatency: latency})
	}
	if outs, err = selectOutputs(outs, req.Outputs); err != nil {
		return nil, err
	}
	return &Response{ID: req.ID, Model: req.Model, Version: version, Outputs: outs, Parameters: req.Parameters}, nil
}

// predict runs the request on version, loading it if needed.
func (g *Gateway) predict(ctx context.Context, req *Request, version string) ([]runtime.Tensor, error) {
	if err := g.checkBatch(req.Inputs); err != nil {
		return nil, err
	}
	e, err := g.loaded(ctx, req.Model, version)
	if err != nil {
		return nil, err
	}
	e.lastUse.Store(g.now().UnixNano())
	if err := checkMissing(e.pred, req.Inputs); err != nil {
		return nil, err
	}
	return e.pred.Predict(ctx, req.Inputs)
}

// choose picks the version that answers, and the shadows that get a copy:
// a pinned version answers alone; a routed model follows its policy;
// otherwise the production alias answers.
func (g *Gateway) choose(ctx context.Context, req *Request) (string, traffic.Decision, error) {
	if req.Version != "" {
		return req.Version, traffic.Decision{}, nil
	}
	attrs := traffic.Attrs{Header: req.Header, Params: req.Parameters}
	if d, ok := g.router.Route(req.Model, attrs, rand.Uint64()); ok {
		return d.Version, d, nil
	}
	v, err := g.defaultVersion(ctx, req.Model)
	return v, traffic.Decision{}, err
}

func (g *Gateway) checkBatch(inputs []runtime.Tensor) error {
	limit := g.MaxBatch
	if limit <= 0 {
		limit = 10000
	}
	for _, t := range inputs {
		if t.Rows() > limit {
			return &BatchError{Tensor: t.Name, Rows: t.Rows(), Limit: limit}
		}
	}
	return nil
}

// BatchError refuses a request with more rows than the gateway allows.
type BatchError struct {
	Tensor      string
	Rows, Limit int
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("input %q: batch of %d rows is over the limit of %d", e.Tensor, e.Rows, e.Limit)
}

// Is makes a *BatchError match slipway.ErrInvalid.
func (e *BatchError) Is(target error) bool { return target == slipway.ErrInvalid }

// MissingValues is implemented by predictors that state whether NaN
// (JSON null) inputs are meaningful, as they are for tree models.
type MissingValues interface {
	AcceptsMissing() bool
}

// checkMissing refuses NaN and infinities for models that do not handle
// missing values: they would silently turn into NaN scores.
func checkMissing(p runtime.Predictor, inputs []runtime.Tensor) error {
	if mv, ok := p.(MissingValues); ok && mv.AcceptsMissing() {
		return nil
	}
	for _, t := range inputs {
		switch d := t.Data.(type) {
		case []float32:
			for i, v := range d {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return &runtime.InputError{Tensor: t.Name, Msg: fmt.Sprintf("element %d is %v; this model does not accept missing or infinite values", i, v)}
				}
			}
		case []float64:
			for i, v := range d {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return &runtime.InputError{Tensor: t.Name, Msg: fmt.Sprintf("element %d is %v; this model does not accept missing or infinite values", i, v)}
				}
			}
		}
	}
	return nil
}

func selectOutputs(outs []runtime.Tensor, want []string) ([]runtime.Tensor, error) {
	if len(want) == 0 {
		return outs, nil
	}
	sel := make([]runtime.Tensor, 0, len(want))
	for _, name := range want {
		found := false
		for _, o := range outs {
			if o.Name == name {
				sel = append(sel, o)
				found = true
				break
			}
		}
		if !found {
			names := make([]string, len(outs))
			for i, o := range outs {
				names[i] = o.Name
			}
			return nil, slipway.Errorf(slipway.ErrInvalid, "requested output %q: the model has %v", name, names)
		}
	}
	return sel, nil
}

// Metadata describes a version (the default one when version is empty)
// from its registered signature, or from the model itself when the
// version was pushed without one.
func (g *Gateway) Metadata(ctx context.Context, model, version string) (ModelMetadata, error) {
	version, err := g.version(ctx, model, version)
	if err != nil {
		return ModelMetadata{}, err
	}
	v, _, err := g.reg.Resolve(ctx, slipway.Ref{Model: model, Selector: version})
	if err != nil {
		return ModelMetadata{}, err
	}
	sig := v.Signature
	if len(sig.Inputs) == 0 {
		// Pushed without a signature: the loaded model knows its own.
		if e, err := g.loaded(ctx, model, v.Version); err == nil {
			sig = e.pred.Signature()
		}
	}
	return ModelMetadata{Name: model, Versions: []string{v.Version}, Platform: string(v.Format), Inputs: sig.Inputs, Outputs: sig.Outputs}, nil
}

// Ready loads the version if needed and reports nil once it can answer.
func (g *Gateway) Ready(ctx context.Context, model, version string) error {
	version, err := g.version(ctx, model, version)
	if err != nil {
		return err
	}
	_, err = g.loaded(ctx, model, version)
	return err
}

// NewRequestID returns a random 128-bit id in hex. math/rand/v2's
// generator is ChaCha8, seeded per thread from the OS: unpredictable
// enough for ids and cheaper than a system call per request.
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// Sweep unloads every version that no unpinned traffic goes to (it is not
// its model's current default) and that has not answered for idle. It
// returns the versions unloaded. Until routing exists the default is the
// production alias; routes will widen what counts as in use.
func (g *Gateway) Sweep(idle time.Duration) []string {
	defaults := g.defaults.Snapshot()
	cutoff := g.now().Add(-idle).UnixNano()
	var unloaded []string
	g.models.Range(func(k, v any) bool {
		e := v.(*entry)
		select {
		case <-e.ready:
		default:
			return true // still loading
		}
		m, ver := e.version.Model, e.version.Version
		if e.pred == nil || defaults[m] == ver || g.routed(m, ver) || e.lastUse.Load() > cutoff {
			return true
		}
		if g.models.CompareAndDelete(k, e) {
			e.pred.Close()
			unloaded = append(unloaded, k.(string))
		}
		return true
	})
	return unloaded
}
