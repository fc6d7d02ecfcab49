package serving

import (
	"context"
	"errors"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Observer receives the gateway's measurements; telemetry.Recorder
// implements it. All methods are called on the request path or from the
// shadow workers and must not block.
type Observer interface {
	Record(o telemetry.Observation)
	Compare(model, primary, shadow string, primaryOut, shadowOut []runtime.Tensor, primaryLatency, shadowLatency time.Duration, shadowErr error)
	MirrorResult(model, version, result string)
	// ShadowPaused counts a copy held back from a shadow that kept
	// failing, beside the pair's comparisons.
	ShadowPaused(model, primary, shadow string)
	SetRouteWeights(model string, weights map[string]float64)
}

// nopObserver is used when the gateway has no Observer.
type nopObserver struct{}

func (nopObserver) Record(telemetry.Observation) {}
func (nopObserver) Compare(string, string, string, []runtime.Tensor, []runtime.Tensor, time.Duration, time.Duration, error) {
}
func (nopObserver) MirrorResult(string, string, string)        {}
func (nopObserver) ShadowPaused(string, string, string)        {}
func (nopObserver) SetRouteWeights(string, map[string]float64) {}

// SetObserver sets where measurements go; call it before serving.
func (g *Gateway) SetObserver(o Observer) { g.obs = o }

func (g *Gateway) observer() Observer {
	if g.obs == nil {
		return nopObserver{}
	}
	return g.obs
}

// outcome classifies a request's error the way the HTTP status does.
func outcome(err error) telemetry.Outcome {
	if err == nil {
		return telemetry.OK // before be, which escapes: no allocation per answer
	}
	var be *runtime.BackendError
	switch {
	case errors.As(err, &be) && be.Timeout, errors.Is(err, context.DeadlineExceeded):
		return telemetry.Timeout
	case errors.Is(err, slipway.ErrInvalid), errors.Is(err, context.Canceled):
		// A client that hung up is not the version's failure: counted
		// as a server error it would count against a canary.
		return telemetry.ClientError
	}
	return telemetry.ServerError
}

// routeWeights reports a policy's default split, in percent, for the
// route-weight gauge.
func routeWeights(p traffic.Policy) map[string]float64 {
	w := make(map[string]float64, len(p.Splits))
	for _, s := range p.Splits {
		w[s.Version] += float64(s.Weight) / 100
	}
	return w
}
