package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
)

const (
	routeColumns        = `model, policy, updated_by, reason, updated_at`
	routeHistoryColumns = `model, policy, actor, reason, at`
)

// SetRoute stores c.Policy as the model's routing policy and appends c to
// the history in one transaction.
func (s *DB) SetRoute(ctx context.Context, c slipway.RouteChange) (slipway.RouteChange, error) {
	if err := slipway.ValidName("model name", c.Model); err != nil {
		return slipway.RouteChange{}, err
	}
	if len(c.Policy) == 0 || !json.Valid(c.Policy) {
		return slipway.RouteChange{}, slipway.Errorf(slipway.ErrInvalid, "route of %s: policy is not JSON", c.Model)
	}
	at, err := stamp(c.At, s.now)
	if err != nil {
		return slipway.RouteChange{}, err
	}
	c.At = fromNanos(at)
	notFound := fmt.Errorf("model %s %w", c.Model, slipway.ErrNotFound)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockModel(ctx, tx, c.Model, notFound); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO routes (`+routeColumns+`) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (model) DO UPDATE SET
				policy = excluded.policy, updated_by = excluded.updated_by,
				reason = excluded.reason, updated_at = excluded.updated_at`,
			c.Model, string(c.Policy), c.Actor, c.Reason, at)
		if err != nil {
			return err
		}
		return s.recordRoute(ctx, tx, c, at)
	})
	switch {
	case err == nil:
		return c, nil
	case isDomainError(err):
		return slipway.RouteChange{}, err
	case s.d.IsForeignKeyViolation(err):
		return slipway.RouteChange{}, notFound // the model was deleted while we looked
	}
	return slipway.RouteChange{}, fmt.Errorf("set route of %s: %w", c.Model, err)
}

func (s *DB) recordRoute(ctx context.Context, tx *sql.Tx, c slipway.RouteChange, at int64) error {
	var policy any // NULL records a removal
	if len(c.Policy) > 0 {
		policy = string(c.Policy)
	}
	_, err := s.exec(ctx, tx, `INSERT INTO route_history (`+routeHistoryColumns+`) VALUES (?, ?, ?, ?, ?)`,
		c.Model, policy, c.Actor, c.Reason, at)
	return err
}

// GetRoute returns the model's current policy; slipway.ErrNotFound when
// it has none.
func (s *DB) GetRoute(ctx context.Context, model string) (slipway.RouteChange, error) {
	c, err := scanRoute(s.queryRow(ctx, s.db, `SELECT `+routeColumns+` FROM routes WHERE model = ?`, model))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.RouteChange{}, fmt.Errorf("route of model %s %w", model, slipway.ErrNotFound)
	}
	if err != nil {
		return slipway.RouteChange{}, fmt.Errorf("read route of %s: %w", model, err)
	}
	return c, nil
}

// ListRoutes returns every model's current policy, ordered by model.
func (s *DB) ListRoutes(ctx context.Context) ([]slipway.RouteChange, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+routeColumns+` FROM routes ORDER BY model`)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	out, err := collect(rows, scanRoute)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	return out, nil
}

// DeleteRoute removes the model's policy and records the removal.
func (s *DB) DeleteRoute(ctx context.Context, model, actor, reason string) error {
	at, err := stamp(s.now(), s.now)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM routes WHERE model = ?`, model)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // nothing to remove, nothing to record
		}
		return s.recordRoute(ctx, tx, slipway.RouteChange{Model: model, Actor: actor, Reason: reason}, at)
	})
	if err != nil {
		return fmt.Errorf("delete route of %s: %w", model, err)
	}
	return nil
}

// RouteHistory returns the model's policy changes, oldest first.
func (s *DB) RouteHistory(ctx context.Context, model string) ([]slipway.RouteChange, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+routeHistoryColumns+` FROM route_history WHERE model = ? ORDER BY id`, model)
	if err != nil {
		return nil, fmt.Errorf("read route history of %s: %w", model, err)
	}
	out, err := collect(rows, scanRoute)
	if err != nil {
		return nil, fmt.Errorf("read route history of %s: %w", model, err)
	}
	if len(out) == 0 {
		return nil, s.requireModel(ctx, model)
	}
	return out, nil
}

func scanRoute(r rowScanner) (slipway.RouteChange, error) {
	var c slipway.RouteChange
	var policy []byte
	var at int64
	if err := r.Scan(&c.Model, &policy, &c.Actor, &c.Reason, &at); err != nil {
		return c, err
	}
	if len(policy) > 0 {
		c.Policy = json.RawMessage(policy)
	}
	c.At = fromNanos(at)
	return c, nil
}
