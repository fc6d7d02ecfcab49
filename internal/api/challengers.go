package api

import (
	"context"
	"net/http"

	"github.com/slipway-ml/slipway"
)

// Challenger adds challengers to a running champion-challenger rollout;
// *rollout.Controller is one.
type Challenger interface {
	Challenge(ctx context.Context, model, version string, share float64, actor, reason string) (slipway.Rollout, error)
}

// ChallengeRequest is the body of POST /api/v1/rollouts/{model}/challengers.
type ChallengeRequest struct {
	Version string `json:"version"`
	// Share is the challenger's share of traffic, in percent.
	Share  float64 `json:"share"`
	Reason string  `json:"reason,omitempty"`
}

func (s *Server) challenge(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	ch, ok := rc.(Challenger)
	if !ok {
		return 0, nil, &Error{Status: http.StatusNotImplemented, Message: "this server's controller runs no champion-challenger rollouts"}
	}
	var body ChallengeRequest
	if err := decodeOptionalJSON(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Version == "" {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "version: required, the challenger to add")
	}
	ro, err := ch.Challenge(r.Context(), r.PathValue("model"), body.Version, body.Share, actor(r), body.Reason)
	return http.StatusOK, ro, err
}

// Challenge adds version as a challenger with share percent of the traffic
// to model's live champion-challenger rollout.
func (c *Client) Challenge(ctx context.Context, model, version string, share float64, reason string) (slipway.Rollout, error) {
	var out slipway.Rollout
	body := ChallengeRequest{Version: version, Share: share, Reason: reason}
	return out, c.sendJSON(ctx, http.MethodPost, "/api/v1/rollouts/"+esc(model)+"/challengers", body, &out)
}
