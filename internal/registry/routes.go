package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// SetRoute validates a routing policy against the registry (every version
// it names must exist) and stores it with who set it and why.
func (r *Registry) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	if _, err := r.store.GetModel(ctx, model); err != nil {
		return slipway.RouteChange{}, fmt.Errorf("set routes of %s: %w", model, err)
	}
	if err := p.Validate(); err != nil {
		return slipway.RouteChange{}, fmt.Errorf("routes of %s: %w", model, err)
	}
	for _, v := range p.Versions() {
		if _, err := r.store.GetVersion(ctx, model, v); err != nil {
			return slipway.RouteChange{}, fmt.Errorf("routes of %s: version %s: %w", model, v, err)
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return slipway.RouteChange{}, err
	}
	return r.store.SetRoute(ctx, slipway.RouteChange{Model: model, Policy: raw, Actor: actor, Reason: reason, At: r.now()})
}

// Route returns a model's current routing policy.
func (r *Registry) Route(ctx context.Context, model string) (slipway.RouteChange, traffic.Policy, error) {
	c, err := r.store.GetRoute(ctx, model)
	if err != nil {
		return c, traffic.Policy{}, err
	}
	p, err := decodePolicy(c)
	return c, p, err
}

// Routes returns every model's current policy.
func (r *Registry) Routes(ctx context.Context) ([]slipway.RouteChange, error) {
	return r.store.ListRoutes(ctx)
}

// ClearRoute removes a model's policy; unpinned traffic goes back to the
// production alias.
func (r *Registry) ClearRoute(ctx context.Context, model, actor, reason string) error {
	return r.store.DeleteRoute(ctx, model, actor, reason)
}

// RouteHistory lists every change of a model's routes.
func (r *Registry) RouteHistory(ctx context.Context, model string) ([]slipway.RouteChange, error) {
	return r.store.RouteHistory(ctx, model)
}

func decodePolicy(c slipway.RouteChange) (traffic.Policy, error) {
	var p traffic.Policy
	if err := json.Unmarshal(c.Policy, &p); err != nil {
		return p, fmt.Errorf("stored routes of %s: %w: %v", c.Model, slipway.ErrCorrupt, err)
	}
	return p, nil
}

// routedBy reports whether the model's routes send traffic or mirrors to
// version.
func (r *Registry) routedBy(ctx context.Context, model, version string) (bool, error) {
	_, p, err := r.Route(ctx, model)
	if errors.Is(err, slipway.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.Contains(p.Versions(), version), nil
}
