package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/store"
)

// specContentType is what the client sends a deployment spec as; the
// server takes any.
const specContentType = "application/yaml"

// Deploy starts the rollout that spec (a deployment spec in YAML)
// describes. A spec the server refuses comes back as an error matching
// slipway.ErrInvalid whose message names each problem with its line.
func (c *Client) Deploy(ctx context.Context, spec []byte) (slipway.Rollout, error) {
	var out slipway.Rollout
	return out, c.do(ctx, http.MethodPost, "/api/v1/deployments", bytes.NewReader(spec), specContentType, &out)
}

// DryRun validates spec and returns it with every default filled in and
// its plan, without starting anything.
func (c *Client) DryRun(ctx context.Context, spec []byte) (rollout.DryRun, error) {
	var out rollout.DryRun
	return out, c.do(ctx, http.MethodPost, "/api/v1/deployments?dry_run=true", bytes.NewReader(spec), specContentType, &out)
}

// RolloutAct takes action (one of rollout.Actions) on model's rollout;
// full, with promote, goes to 100% at once. A rollout whose status does
// not allow the action answers an error matching slipway.ErrConflict.
func (c *Client) RolloutAct(ctx context.Context, model, action string, full bool, reason string) (slipway.Rollout, error) {
	var out slipway.Rollout
	body := ActionRequest{Reason: reason, Full: full}
	return out, c.sendJSON(ctx, http.MethodPost, "/api/v1/rollouts/"+esc(model)+"/"+esc(action), body, &out)
}

// RolloutStatus returns model's latest rollout with its plan, where it
// stands and its latest judgements; Elapsed and Remaining are set from
// their JSON seconds.
func (c *Client) RolloutStatus(ctx context.Context, model string) (rollout.Status, error) {
	var out rollout.Status
	if err := c.getJSON(ctx, "/api/v1/rollouts/"+esc(model), &out); err != nil {
		return out, err
	}
	out.Elapsed = seconds(out.ElapsedSeconds)
	out.Remaining = seconds(out.RemainingSeconds)
	return out, nil
}

// Rollouts lists rollouts newest first, narrowed by f.
func (c *Client) Rollouts(ctx context.Context, f store.RolloutFilter) ([]slipway.Rollout, error) {
	q := url.Values{}
	if f.Model != "" {
		q.Set("model", f.Model)
	}
	if f.Live {
		q.Set("live", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/api/v1/rollouts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out RolloutList
	return out.Rollouts, c.getJSON(ctx, path, &out)
}

// RolloutEvents returns the event log of model's rollout id (0: its
// latest rollout), oldest first.
func (c *Client) RolloutEvents(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error) {
	path := "/api/v1/rollouts/" + esc(model) + "/events"
	if id != 0 {
		path += "?id=" + strconv.FormatInt(id, 10)
	}
	var out EventList
	return out.Events, c.getJSON(ctx, path, &out)
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
