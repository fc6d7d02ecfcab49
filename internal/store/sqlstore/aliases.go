package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
)

const (
	aliasColumns   = `model, name, version, updated_at, updated_by`
	historyColumns = `model, alias, from_version, to_version, actor, reason, at`
)

// MoveAlias points the alias named by mv at version mv.To, creating it if
// needed, and appends mv to the history in the same transaction. mv.From
// is filled from the stored state and mv.At set to now when zero; the
// alias's UpdatedAt and UpdatedBy are mv.At and mv.Actor.
// slipway.ErrNotFound when the target version does not exist.
func (s *DB) MoveAlias(ctx context.Context, mv slipway.AliasMove) (slipway.AliasMove, error) {
	if err := validateMove(mv); err != nil {
		return slipway.AliasMove{}, err
	}
	at, err := stamp(mv.At, s.now)
	if err != nil {
		return slipway.AliasMove{}, err
	}
	mv.At = fromNanos(at)
	notFound := fmt.Errorf("version %s %w", ref(mv.Model, mv.To), slipway.ErrNotFound)
	err = s.inTx(ctx, func(tx *sql.Tx) error { return s.moveAlias(ctx, tx, &mv, at, notFound) })
	switch {
	case err == nil:
		return mv, nil
	case isDomainError(err):
		return slipway.AliasMove{}, err
	case s.d.IsForeignKeyViolation(err):
		return slipway.AliasMove{}, notFound // the version was deleted while we looked
	}
	return slipway.AliasMove{}, fmt.Errorf("move alias %s to %s: %w", ref(mv.Model, mv.Alias), mv.To, err)
}

// moveAlias is MoveAlias's transaction; it fills in mv.From.
func (s *DB) moveAlias(ctx context.Context, tx *sql.Tx, mv *slipway.AliasMove, at int64, notFound error) error {
	if err := s.lockModel(ctx, tx, mv.Model, notFound); err != nil {
		return err
	}
	found, err := s.exists(ctx, tx, `SELECT 1 FROM versions WHERE model = ? AND version = ?`, mv.Model, mv.To)
	if err != nil {
		return err
	}
	if !found {
		return notFound
	}
	if mv.From, err = s.aliasTarget(ctx, tx, mv.Model, mv.Alias); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `INSERT INTO aliases (`+aliasColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (model, name) DO UPDATE SET
			version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		mv.Model, mv.Alias, mv.To, at, mv.Actor)
	if err != nil {
		return err
	}
	return s.recordMove(ctx, tx, *mv, at)
}

func validateMove(mv slipway.AliasMove) error {
	if err := slipway.ValidName("model name", mv.Model); err != nil {
		return err
	}
	if err := slipway.ValidName("alias name", mv.Alias); err != nil {
		return err
	}
	return slipway.ValidName("version", mv.To)
}

// lockModel serialises alias changes of one model, so that each reads the
// From its predecessor wrote. It returns notFound for an unknown model.
func (s *DB) lockModel(ctx context.Context, tx *sql.Tx, model string, notFound error) error {
	found, err := s.exists(ctx, tx, `SELECT 1 FROM models WHERE name = ? `+s.d.LockModel, model)
	if err != nil {
		return err
	}
	if !found {
		return notFound
	}
	return nil
}

// aliasTarget returns the version an alias points at, or "" when the
// alias does not exist.
func (s *DB) aliasTarget(ctx context.Context, q querier, model, alias string) (string, error) {
	var version string
	err := s.queryRow(ctx, q, `SELECT version FROM aliases WHERE model = ? AND name = ?`, model, alias).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return version, err
}

func (s *DB) recordMove(ctx context.Context, tx *sql.Tx, mv slipway.AliasMove, at int64) error {
	_, err := s.exec(ctx, tx, `INSERT INTO alias_history (`+historyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		mv.Model, mv.Alias, mv.From, mv.To, mv.Actor, mv.Reason, at)
	return err
}

// GetAlias returns slipway.ErrNotFound for an unknown alias.
func (s *DB) GetAlias(ctx context.Context, model, name string) (slipway.Alias, error) {
	row := s.queryRow(ctx, s.db, `SELECT `+aliasColumns+` FROM aliases WHERE model = ? AND name = ?`, model, name)
	a, err := scanAlias(row)
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Alias{}, fmt.Errorf("alias %s %w", ref(model, name), slipway.ErrNotFound)
	}
	if err != nil {
		return slipway.Alias{}, fmt.Errorf("get alias %s: %w", ref(model, name), err)
	}
	return a, nil
}

// ListAliases returns a model's aliases ordered by name; slipway.ErrNotFound
// for an unknown model.
func (s *DB) ListAliases(ctx context.Context, model string) ([]slipway.Alias, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+aliasColumns+` FROM aliases WHERE model = ? ORDER BY name`, model)
	if err != nil {
		return nil, fmt.Errorf("list aliases of %s: %w", model, err)
	}
	aliases, err := collect(rows, scanAlias)
	if err != nil {
		return nil, fmt.Errorf("list aliases of %s: %w", model, err)
	}
	if len(aliases) == 0 {
		return nil, s.requireModel(ctx, model)
	}
	return aliases, nil
}

// DeleteAlias removes an alias. Its history is kept, and the deletion is
// appended to it as a move with an empty To.
func (s *DB) DeleteAlias(ctx context.Context, model, name, actor, reason string) error {
	at, err := toNanos(s.now())
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		notFound := fmt.Errorf("alias %s %w", ref(model, name), slipway.ErrNotFound)
		if err := s.lockModel(ctx, tx, model, notFound); err != nil {
			return err
		}
		from, err := s.aliasTarget(ctx, tx, model, name)
		if err != nil {
			return err
		}
		if from == "" {
			return notFound
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM aliases WHERE model = ? AND name = ?`, model, name); err != nil {
			return err
		}
		mv := slipway.AliasMove{Model: model, Alias: name, From: from, Actor: actor, Reason: reason}
		return s.recordMove(ctx, tx, mv, at)
	})
	if err != nil && !isDomainError(err) {
		return fmt.Errorf("delete alias %s: %w", ref(model, name), err)
	}
	return err
}

// AliasHistory returns the moves of one alias (or of all the model's
// aliases when name is empty) in the order they happened; slipway.ErrNotFound
// for an unknown model. A deletion appears as a move with an empty To.
func (s *DB) AliasHistory(ctx context.Context, model, name string) ([]slipway.AliasMove, error) {
	query, args := `SELECT `+historyColumns+` FROM alias_history WHERE model = ? ORDER BY id`, []any{model}
	if name != "" {
		query, args = `SELECT `+historyColumns+` FROM alias_history WHERE model = ? AND alias = ? ORDER BY id`,
			[]any{model, name}
	}
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read alias history of %s: %w", model, err)
	}
	moves, err := collect(rows, scanMove)
	if err != nil {
		return nil, fmt.Errorf("read alias history of %s: %w", model, err)
	}
	if len(moves) == 0 {
		return nil, s.requireModel(ctx, model)
	}
	return moves, nil
}

func scanAlias(r rowScanner) (slipway.Alias, error) {
	var a slipway.Alias
	var updated int64
	if err := r.Scan(&a.Model, &a.Name, &a.Version, &updated, &a.UpdatedBy); err != nil {
		return slipway.Alias{}, err
	}
	a.UpdatedAt = fromNanos(updated)
	return a, nil
}

func scanMove(r rowScanner) (slipway.AliasMove, error) {
	var mv slipway.AliasMove
	var at int64
	if err := r.Scan(&mv.Model, &mv.Alias, &mv.From, &mv.To, &mv.Actor, &mv.Reason, &at); err != nil {
		return slipway.AliasMove{}, err
	}
	mv.At = fromNanos(at)
	return mv, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
