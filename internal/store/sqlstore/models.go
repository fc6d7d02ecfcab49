package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
)

const modelColumns = `name, description, owner, tags, created_at`

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// PutModel creates the model or updates its description, owner and tags.
// CreatedAt is set on creation (to now when zero) and kept on update; the
// stored model is returned.
func (s *DB) PutModel(ctx context.Context, m slipway.Model) (slipway.Model, error) {
	if err := slipway.ValidName("model name", m.Name); err != nil {
		return slipway.Model{}, err
	}
	normalizeModel(&m)
	created, err := stamp(m.CreatedAt, s.now)
	if err != nil {
		return slipway.Model{}, err
	}
	tags, err := jsonColumn(m.Tags, m.Tags == nil)
	if err != nil {
		return slipway.Model{}, fmt.Errorf("put model %s: encode tags: %w", m.Name, err)
	}
	var stored int64
	err = s.queryRow(ctx, s.db, `INSERT INTO models (`+modelColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			description = excluded.description, owner = excluded.owner, tags = excluded.tags
		RETURNING created_at`,
		m.Name, m.Description, m.Owner, tags, created).Scan(&stored)
	if err != nil {
		return slipway.Model{}, fmt.Errorf("put model %s: %w", m.Name, err)
	}
	m.CreatedAt = fromNanos(stored)
	return m, nil
}

// GetModel returns slipway.ErrNotFound for an unknown name.
func (s *DB) GetModel(ctx context.Context, name string) (slipway.Model, error) {
	row := s.queryRow(ctx, s.db, `SELECT `+modelColumns+` FROM models WHERE name = ?`, name)
	m, err := scanModel(row)
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Model{}, fmt.Errorf("model %s %w", name, slipway.ErrNotFound)
	}
	if err != nil {
		return slipway.Model{}, fmt.Errorf("get model %s: %w", name, err)
	}
	return m, nil
}

// ListModels returns every model ordered by name.
func (s *DB) ListModels(ctx context.Context) ([]slipway.Model, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+modelColumns+` FROM models ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	models, err := collect(rows, scanModel)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return models, nil
}

// DeleteModel removes a model with no versions left, and its alias
// history; slipway.ErrInUse when versions remain.
func (s *DB) DeleteModel(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM versions WHERE model = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n == 1 {
			return fmt.Errorf("model %s is %w by 1 version: delete it first", name, slipway.ErrInUse)
		}
		if n > 1 {
			return fmt.Errorf("model %s is %w by %d versions: delete them first", name, slipway.ErrInUse, n)
		}
		for _, table := range []string{"alias_history", "route_history", "routes"} {
			if _, err := s.exec(ctx, tx, `DELETE FROM `+table+` WHERE model = ?`, name); err != nil {
				return err
			}
		}
		res, err := s.exec(ctx, tx, `DELETE FROM models WHERE name = ?`, name)
		if err != nil {
			return err
		}
		return requireRow(res, fmt.Errorf("model %s %w", name, slipway.ErrNotFound))
	})
	switch {
	case err == nil || isDomainError(err):
		return err
	case s.d.IsForeignKeyViolation(err):
		// A version was created after the count above.
		return fmt.Errorf("model %s is %w by versions", name, slipway.ErrInUse)
	}
	return fmt.Errorf("delete model %s: %w", name, err)
}

func scanModel(r rowScanner) (slipway.Model, error) {
	var m slipway.Model
	var tags []byte
	var created int64
	if err := r.Scan(&m.Name, &m.Description, &m.Owner, &tags, &created); err != nil {
		return slipway.Model{}, err
	}
	if err := fromJSONColumn(tags, &m.Tags); err != nil {
		return slipway.Model{}, fmt.Errorf("decode tags of model %s: %w", m.Name, err)
	}
	m.CreatedAt = fromNanos(created)
	return m, nil
}

// requireRow returns notFound when res affected no row.
func requireRow(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// isDomainError reports whether err already says what went wrong in
// slipway's terms and needs no further context.
func isDomainError(err error) bool {
	for _, target := range []error{slipway.ErrNotFound, slipway.ErrExists, slipway.ErrInvalid, slipway.ErrInUse, slipway.ErrConflict} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
