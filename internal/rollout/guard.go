package rollout

import (
	"context"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// RouteGuard passes a person's route changes on to the gateway, except for
// a model with a live rollout: its routes are derived from the rollout's
// state, and an edit by hand would be overwritten at its next step.
type RouteGuard struct {
	Controller *Controller
	Router     interface {
		SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error)
		ClearRoute(ctx context.Context, model, actor, reason string) error
	}
}

// SetRoute refuses a model with a live rollout, naming it.
func (g RouteGuard) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	if err := g.check(model); err != nil {
		return slipway.RouteChange{}, err
	}
	return g.Router.SetRoute(ctx, model, p, actor, reason)
}

// ClearRoute refuses a model with a live rollout, naming it.
func (g RouteGuard) ClearRoute(ctx context.Context, model, actor, reason string) error {
	if err := g.check(model); err != nil {
		return err
	}
	return g.Router.ClearRoute(ctx, model, actor, reason)
}

func (g RouteGuard) check(model string) error {
	if r, ok := g.Controller.LiveModel(model); ok {
		return slipway.Errorf(slipway.ErrConflict, "the routes of %s belong to rollout #%d (%s → %s, %s); pause, promote or abort it instead", model, r.ID, r.Baseline, r.Candidate, r.Status)
	}
	return nil
}
