package serving

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// RouteStore persists routing policies; the registry implements it.
type RouteStore interface {
	SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error)
	Routes(ctx context.Context) ([]slipway.RouteChange, error)
	Route(ctx context.Context, model string) (slipway.RouteChange, traffic.Policy, error)
	ClearRoute(ctx context.Context, model, actor, reason string) error
}

// LoadRoutes compiles every stored policy into the router, as a server
// does at start-up. A policy that no longer compiles is reported and
// skipped: its model falls back to the production alias.
func (g *Gateway) LoadRoutes(ctx context.Context) error {
	changes, err := g.reg.Routes(ctx)
	if err != nil {
		return fmt.Errorf("load routes: %w", err)
	}
	var errs []error
	for _, c := range changes {
		_, p, err := g.reg.Route(ctx, c.Model)
		if err == nil {
			var t *traffic.Table
			if t, err = traffic.Compile(p); err == nil {
				g.router.Set(c.Model, t)
				g.observer().SetRouteWeights(c.Model, routeWeights(p))
				continue
			}
		}
		errs = append(errs, fmt.Errorf("routes of %s: %w", c.Model, err))
	}
	return errors.Join(errs...)
}

// Policy returns the model's stored routing policy; false when it has
// none. The rollout controller reads a bandit's allocation back from it
// after a restart.
func (g *Gateway) Policy(ctx context.Context, model string) (traffic.Policy, bool, error) {
	_, p, err := g.reg.Route(ctx, model)
	if errors.Is(err, slipway.ErrNotFound) {
		return traffic.Policy{}, false, nil
	}
	if err != nil {
		return traffic.Policy{}, false, fmt.Errorf("routes of %s: %w", model, err)
	}
	return p, true, nil
}

// SetRoute changes a model's routing policy: it is validated, every
// version it names is loaded (so no request waits for a load, and a
// version that cannot load is refused before any traffic moves), the
// policy is persisted, and only then is the new table swapped in.
func (g *Gateway) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	t, err := traffic.Compile(p)
	if err != nil {
		return slipway.RouteChange{}, fmt.Errorf("routes of %s: %w", model, err)
	}
	for _, v := range p.Versions() {
		if err := g.Load(ctx, model, v); err != nil {
			return slipway.RouteChange{}, fmt.Errorf("routes of %s: %w", model, err)
		}
	}
	g.routeMu.Lock()
	defer g.routeMu.Unlock()
	c, err := g.reg.SetRoute(ctx, model, p, actor, reason)
	if err != nil {
		return slipway.RouteChange{}, err
	}
	g.router.Set(model, t)
	g.observer().SetRouteWeights(model, routeWeights(p))
	return c, nil
}

// ClearRoute removes a model's policy; unpinned traffic goes back to the
// production alias.
func (g *Gateway) ClearRoute(ctx context.Context, model, actor, reason string) error {
	g.routeMu.Lock()
	defer g.routeMu.Unlock()
	if err := g.reg.ClearRoute(ctx, model, actor, reason); err != nil {
		return err
	}
	g.router.Delete(model)
	g.observer().SetRouteWeights(model, nil)
	return nil
}

// routed reports whether the model's live routes use version.
func (g *Gateway) routed(model, version string) bool {
	t, ok := g.router.Table(model)
	return ok && slices.Contains(t.Versions(), version)
}
