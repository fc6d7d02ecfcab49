// Package store defines how slipway persists its metadata. Two backends
// implement it: sqlite (embedded, the default) and postgres (shared
// deployments). Both run the same contract suite in storetest.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slipway-ml/slipway"
)

// Models persists model families.
type Models interface {
	// PutModel creates the model or updates its description, owner and tags.
	PutModel(ctx context.Context, m slipway.Model) (slipway.Model, error)
	// GetModel returns slipway.ErrNotFound for an unknown name.
	GetModel(ctx context.Context, name string) (slipway.Model, error)
	// ListModels returns every model ordered by name.
	ListModels(ctx context.Context) ([]slipway.Model, error)
	// DeleteModel removes a model with no versions left; slipway.ErrInUse
	// when versions remain.
	DeleteModel(ctx context.Context, name string) error
}

// Versions persists immutable model versions.
type Versions interface {
	// CreateVersion stores v, creating its model if missing, in one
	// transaction. A second version with the same model and version string
	// fails with slipway.ErrExists and leaves the stored one untouched.
	CreateVersion(ctx context.Context, v slipway.Version) (slipway.Version, error)
	// GetVersion returns slipway.ErrNotFound for an unknown model or version.
	GetVersion(ctx context.Context, model, version string) (slipway.Version, error)
	// ListVersions returns a model's versions, oldest first.
	ListVersions(ctx context.Context, model string) ([]slipway.Version, error)
	// SetVersionState changes the one mutable field of a version.
	SetVersionState(ctx context.Context, model, version string, s slipway.VersionState) error
	// DeleteVersion removes a version; slipway.ErrInUse while an alias
	// points at it.
	DeleteVersion(ctx context.Context, model, version string) error
	// DigestInUse reports whether any version references the artifact.
	DigestInUse(ctx context.Context, digest string) (bool, error)
}

// Aliases persists movable names and their history.
type Aliases interface {
	// MoveAlias points the alias named by mv at version mv.To, creating it
	// if needed, and appends mv to the history in the same transaction.
	// mv.From is filled from the stored state; mv.At is set when zero.
	// slipway.ErrNotFound when the target version does not exist.
	MoveAlias(ctx context.Context, mv slipway.AliasMove) (slipway.AliasMove, error)
	// GetAlias returns slipway.ErrNotFound for an unknown alias.
	GetAlias(ctx context.Context, model, name string) (slipway.Alias, error)
	// ListAliases returns a model's aliases ordered by name.
	ListAliases(ctx context.Context, model string) ([]slipway.Alias, error)
	// DeleteAlias removes an alias; its history is kept.
	DeleteAlias(ctx context.Context, model, name, actor, reason string) error
	// AliasHistory returns the moves of one alias (or of all the model's
	// aliases when name is empty), oldest first.
	AliasHistory(ctx context.Context, model, name string) ([]slipway.AliasMove, error)
}

// Routes persists each model's routing policy and every change to it.
type Routes interface {
	// SetRoute stores c.Policy as the model's routing policy and appends c
	// to the history in one transaction; c.At is set when zero.
	// slipway.ErrNotFound for an unknown model.
	SetRoute(ctx context.Context, c slipway.RouteChange) (slipway.RouteChange, error)
	// GetRoute returns the model's current policy as its latest change;
	// slipway.ErrNotFound when the model has none.
	GetRoute(ctx context.Context, model string) (slipway.RouteChange, error)
	// ListRoutes returns every model's current policy, ordered by model.
	ListRoutes(ctx context.Context) ([]slipway.RouteChange, error)
	// DeleteRoute removes the model's policy, recording the removal (an
	// empty Policy) in the history; removing none is not an error.
	DeleteRoute(ctx context.Context, model, actor, reason string) error
	// RouteHistory returns the model's policy changes, oldest first.
	RouteHistory(ctx context.Context, model string) ([]slipway.RouteChange, error)
}

// Rollouts persists rollouts and their event logs.
type Rollouts interface {
	// CreateRollout stores r as a new rollout (ID, Rev 1, CreatedAt and
	// UpdatedAt assigned) with its first events, in one transaction.
	// slipway.ErrConflict, naming the live rollout, when r is live and the
	// model has a live rollout already; slipway.ErrNotFound for an unknown
	// model.
	CreateRollout(ctx context.Context, r slipway.Rollout, events ...slipway.RolloutEvent) (slipway.Rollout, error)
	// UpdateRollout replaces the stored rollout r.ID with r and appends
	// events, in one transaction, if the stored Rev equals r.Rev; the
	// stored and returned Rev is r.Rev+1. slipway.ErrConflict when Rev is
	// stale, or when r becomes live while the model has another live
	// rollout; slipway.ErrNotFound for an unknown ID. Model and CreatedAt
	// never change; Candidate does when an experiment's winner is another
	// of its arms.
	UpdateRollout(ctx context.Context, r slipway.Rollout, events ...slipway.RolloutEvent) (slipway.Rollout, error)
	// GetRollout returns slipway.ErrNotFound for an unknown ID.
	GetRollout(ctx context.Context, id int64) (slipway.Rollout, error)
	// ListRollouts returns rollouts newest first, filtered by f.
	ListRollouts(ctx context.Context, f RolloutFilter) ([]slipway.Rollout, error)
	// RolloutEvents returns a rollout's events in Seq order;
	// slipway.ErrNotFound for an unknown ID.
	RolloutEvents(ctx context.Context, id int64) ([]slipway.RolloutEvent, error)
	// Heartbeat records that the controller was running at at, and returns
	// the previous heartbeat (zero the first time), so that a restarted
	// controller knows how long it was down.
	Heartbeat(ctx context.Context, at time.Time) (previous time.Time, err error)
}

// RolloutFilter narrows ListRollouts. The zero value lists every rollout.
type RolloutFilter struct {
	// Model keeps one model's rollouts; "" keeps all.
	Model string
	// Live keeps live rollouts only (progressing, paused, awaiting
	// approval).
	Live bool
	// Limit caps the number returned; 0 means no cap.
	Limit int
}

// GateReport is one stored run of a version's pre-deployment gates.
// Report is the run as JSON (the gate package owns its shape); Passed is
// kept beside it so that a rollout can be refused without decoding it.
type GateReport struct {
	ID      int64           `json:"id"`
	Model   string          `json:"model"`
	Version string          `json:"version"`
	Passed  bool            `json:"passed"`
	Report  json.RawMessage `json:"report"`
	Actor   string          `json:"actor"`
	At      time.Time       `json:"at"`
}

// Approval records that someone in a role approved a version for
// deployment.
type Approval struct {
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Role    string    `json:"role"`
	Actor   string    `json:"actor"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// Gates persists gate reports and approvals, both append-only and
// deleted with their version.
type Gates interface {
	// AddGateReport stores r (ID assigned, At set when zero).
	// slipway.ErrNotFound for an unknown version; slipway.ErrInvalid
	// when Report is not JSON.
	AddGateReport(ctx context.Context, r GateReport) (GateReport, error)
	// LatestGateReport returns the version's newest report;
	// slipway.ErrNotFound when it has none.
	LatestGateReport(ctx context.Context, model, version string) (GateReport, error)
	// AddApproval stores a (At set when zero); slipway.ErrNotFound for
	// an unknown version.
	AddApproval(ctx context.Context, a Approval) (Approval, error)
	// Approvals returns the version's approvals, oldest first (none is
	// not an error).
	Approvals(ctx context.Context, model, version string) ([]Approval, error)
}

// Store is everything a slipway server persists.
type Store interface {
	Models
	Versions
	Aliases
	Routes
	Rollouts
	Gates
	// Ping checks the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases connections; the store is unusable afterwards.
	Close() error
}
