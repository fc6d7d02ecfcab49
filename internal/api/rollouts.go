package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/store"
)

// Rollouts is the rollout controller as the API uses it.
type Rollouts interface {
	// Deploy validates spec (a deployment spec in YAML) and starts its
	// rollout on behalf of actor. Spec problems come back as one error
	// matching slipway.ErrInvalid that lists each with its line.
	Deploy(ctx context.Context, spec []byte, actor string) (slipway.Rollout, error)
	// DryRun validates spec and returns its plan without starting anything.
	DryRun(ctx context.Context, spec []byte) (rollout.DryRun, error)
	// Act applies a person's action to the model's live (or, for undo and
	// retry, latest) rollout; slipway.ErrConflict when the rollout's
	// status does not allow it.
	Act(ctx context.Context, req rollout.Request) (slipway.Rollout, error)
	// Status returns the model's latest rollout as people read it;
	// slipway.ErrNotFound when the model never had one.
	Status(ctx context.Context, model string) (rollout.Status, error)
	List(ctx context.Context, f store.RolloutFilter) ([]slipway.Rollout, error)
	Events(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error) // id 0: the model's latest rollout
}

// MaxSpecBytes caps the body of POST /api/v1/deployments.
const MaxSpecBytes = 1 << 20

// ActionRequest is the optional body of POST /api/v1/rollouts/{model}/{action}.
type ActionRequest struct {
	// Reason is recorded in the rollout's event log.
	Reason string `json:"reason,omitempty"`
	// Full, with promote, skips the remaining steps and goes to 100%.
	Full bool `json:"full,omitempty"`
}

// RolloutList is the body of GET /api/v1/rollouts.
type RolloutList struct {
	Rollouts []slipway.Rollout `json:"rollouts"`
}

// EventList is the body of GET /api/v1/rollouts/{model}/events.
type EventList struct {
	Events []slipway.RolloutEvent `json:"events"`
}

func (s *Server) controller() (Rollouts, error) {
	if s.Rollouts == nil {
		return nil, &Error{Status: http.StatusNotImplemented, Message: "this server runs no rollout controller"}
	}
	return s.Rollouts, nil
}

// deploy takes the spec as the raw body, whatever its content type, so
// that `curl --data-binary @deploy.yaml` works as it is.
func (s *Server) deploy(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	dryRun, err := boolParam(r, "dry_run")
	if err != nil {
		return 0, nil, err
	}
	spec, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxSpecBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("read deployment spec (at most %d MiB): %w", MaxSpecBytes>>20, err)
	}
	if len(bytes.TrimSpace(spec)) == 0 {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "empty request body: want a deployment spec in YAML")
	}
	if dryRun {
		plan, err := rc.DryRun(r.Context(), spec)
		return http.StatusOK, plan, err
	}
	if ro, ok, err := s.deployOverride(r, rc, spec); ok || err != nil {
		return http.StatusCreated, ro, err
	}
	ro, err := rc.Deploy(r.Context(), spec, actor(r))
	return http.StatusCreated, ro, err
}

func (s *Server) listRollouts(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	f := store.RolloutFilter{Model: r.URL.Query().Get("model")}
	if f.Live, err = boolParam(r, "live"); err != nil {
		return 0, nil, err
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, nil, slipway.Errorf(slipway.ErrInvalid, "limit %q: want a whole number, 0 for no limit", l)
		}
		f.Limit = n
	}
	list, err := rc.List(r.Context(), f)
	if list == nil {
		list = []slipway.Rollout{}
	}
	return http.StatusOK, RolloutList{Rollouts: list}, err
}

func (s *Server) rolloutStatus(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	st, err := rc.Status(r.Context(), r.PathValue("model"))
	if err != nil {
		return 0, nil, err
	}
	// JSON carries the durations in seconds only.
	if st.ElapsedSeconds == 0 {
		st.ElapsedSeconds = st.Elapsed.Seconds()
	}
	if st.RemainingSeconds == 0 {
		st.RemainingSeconds = st.Remaining.Seconds()
	}
	return http.StatusOK, st, nil
}

func (s *Server) rolloutEvents(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	var id int64
	if v := r.URL.Query().Get("id"); v != "" {
		id, err = strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return 0, nil, slipway.Errorf(slipway.ErrInvalid, "id %q: want a rollout number, 0 for the latest", v)
		}
	}
	events, err := rc.Events(r.Context(), r.PathValue("model"), id)
	if events == nil {
		events = []slipway.RolloutEvent{}
	}
	return http.StatusOK, EventList{Events: events}, err
}

func (s *Server) rolloutAct(r *http.Request) (int, any, error) {
	rc, err := s.controller()
	if err != nil {
		return 0, nil, err
	}
	action := r.PathValue("action")
	if !slices.Contains(rollout.Actions, action) {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "rollout action %q: want one of %s", action, strings.Join(rollout.Actions, ", "))
	}
	var body ActionRequest
	if err := decodeOptionalJSON(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Full && action != rollout.ActionPromote {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "full applies to promote, not %s", action)
	}
	ro, err := rc.Act(r.Context(), rollout.Request{
		Model:  r.PathValue("model"),
		Action: action,
		Full:   body.Full,
		Actor:  actor(r),
		Reason: body.Reason,
	})
	return http.StatusOK, ro, err
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an
// empty body leaves v as it is.
func decodeOptionalJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("content type %q: want application/json", ct)}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return slipway.Errorf(slipway.ErrInvalid, "request body: %v", err)
	}
	return nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, slipway.Errorf(slipway.ErrInvalid, "%s %q: want true or false", name, v)
	}
	return b, nil
}
