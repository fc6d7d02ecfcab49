package api

import (
	"context"
	"net/http"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Router changes routing policies and applies them to live traffic; the
// gateway implements it.
type Router interface {
	SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error)
	ClearRoute(ctx context.Context, model, actor, reason string) error
}

// RouteRequest sets a model's routing policy.
type RouteRequest struct {
	Policy traffic.Policy `json:"policy"`
	Reason string         `json:"reason,omitempty"`
}

func (s *Server) router() (Router, error) {
	if s.Routes == nil {
		return nil, &Error{Status: http.StatusNotImplemented, Message: "this server does not route traffic"}
	}
	return s.Routes, nil
}

func (s *Server) getRoute(r *http.Request) (int, any, error) {
	c, _, err := s.reg.Route(r.Context(), r.PathValue("model"))
	return http.StatusOK, c, err
}

func (s *Server) setRoute(r *http.Request) (int, any, error) {
	rt, err := s.router()
	if err != nil {
		return 0, nil, err
	}
	var body RouteRequest
	if err := decodeJSON(r, &body); err != nil {
		return 0, nil, err
	}
	c, err := rt.SetRoute(r.Context(), r.PathValue("model"), body.Policy, actor(r), body.Reason)
	return http.StatusOK, c, err
}

func (s *Server) clearRoute(r *http.Request) (int, any, error) {
	rt, err := s.router()
	if err != nil {
		return 0, nil, err
	}
	m := r.PathValue("model")
	if err := rt.ClearRoute(r.Context(), m, actor(r), r.URL.Query().Get("reason")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"cleared": m}, nil
}

func (s *Server) routeHistory(r *http.Request) (int, any, error) {
	h, err := s.reg.RouteHistory(r.Context(), r.PathValue("model"))
	return http.StatusOK, h, err
}
