package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway"
)

const versionColumns = `model, version, format, digest, size, url, signature, metrics, meta,
	parent, data_ref, data_hash, card, state, created_at, created_by`

// CreateVersion stores v, creating its model if missing, in one
// transaction. An empty State means registered and a zero CreatedAt means
// now. A second version with the same model and version string fails with
// slipway.ErrExists and leaves the stored one untouched. The returned
// version is what GetVersion will return.
func (s *DB) CreateVersion(ctx context.Context, v slipway.Version) (slipway.Version, error) {
	normalizeVersion(&v)
	if err := validateVersion(v); err != nil {
		return slipway.Version{}, err
	}
	created, err := stamp(v.CreatedAt, s.now)
	if err != nil {
		return slipway.Version{}, err
	}
	v.CreatedAt = fromNanos(created)
	args, err := versionArgs(v, created)
	if err != nil {
		return slipway.Version{}, fmt.Errorf("create version %s: %w", ref(v.Model, v.Version), err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO models (`+modelColumns+`) VALUES (?, '', '', NULL, ?)
			ON CONFLICT (name) DO NOTHING`, v.Model, created)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO versions (`+versionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return err
	})
	switch {
	case err == nil:
		return v, nil
	case s.d.IsUniqueViolation(err):
		return slipway.Version{}, fmt.Errorf("version %s %w", ref(v.Model, v.Version), slipway.ErrExists)
	}
	return slipway.Version{}, fmt.Errorf("create version %s: %w", ref(v.Model, v.Version), err)
}

// versionArgs lists v's column values in versionColumns order.
func versionArgs(v slipway.Version, created int64) ([]any, error) {
	sig, err := jsonColumn(v.Signature, v.Signature.Inputs == nil && v.Signature.Outputs == nil)
	if err != nil {
		return nil, fmt.Errorf("encode signature: %w", err)
	}
	metrics, err := jsonColumn(v.Metrics, v.Metrics == nil)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	meta, err := jsonColumn(v.Meta, v.Meta == nil)
	if err != nil {
		return nil, fmt.Errorf("encode meta: %w", err)
	}
	return []any{
		v.Model, v.Version, string(v.Format), v.Digest, v.Size, v.URL, sig, metrics, meta,
		v.Lineage.Parent, v.Lineage.DataRef, v.Lineage.DataHash, v.Card, string(v.State),
		created, v.CreatedBy,
	}, nil
}

// GetVersion returns slipway.ErrNotFound for an unknown model or version.
func (s *DB) GetVersion(ctx context.Context, model, version string) (slipway.Version, error) {
	row := s.queryRow(ctx, s.db, `SELECT `+versionColumns+` FROM versions WHERE model = ? AND version = ?`,
		model, version)
	v, err := scanVersion(row)
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Version{}, fmt.Errorf("version %s %w", ref(model, version), slipway.ErrNotFound)
	}
	if err != nil {
		return slipway.Version{}, fmt.Errorf("get version %s: %w", ref(model, version), err)
	}
	return v, nil
}

// ListVersions returns a model's versions, oldest first (by CreatedAt,
// then by insertion); slipway.ErrNotFound for an unknown model.
func (s *DB) ListVersions(ctx context.Context, model string) ([]slipway.Version, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+versionColumns+` FROM versions
		WHERE model = ? ORDER BY created_at, id`, model)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", model, err)
	}
	versions, err := collect(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", model, err)
	}
	if len(versions) == 0 {
		return nil, s.requireModel(ctx, model)
	}
	return versions, nil
}

// SetVersionState changes the one mutable field of a version.
func (s *DB) SetVersionState(ctx context.Context, model, version string, st slipway.VersionState) error {
	if err := validateState(st); err != nil {
		return err
	}
	res, err := s.exec(ctx, s.db, `UPDATE versions SET state = ? WHERE model = ? AND version = ?`,
		string(st), model, version)
	if err == nil {
		err = requireRow(res, fmt.Errorf("version %s %w", ref(model, version), slipway.ErrNotFound))
	}
	if err != nil && !isDomainError(err) {
		return fmt.Errorf("set state of version %s: %w", ref(model, version), err)
	}
	return err
}

// DeleteVersion removes a version; slipway.ErrInUse, naming the aliases,
// while any alias points at it.
func (s *DB) DeleteVersion(ctx context.Context, model, version string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		aliases, err := s.aliasesOf(ctx, tx, model, version)
		if err != nil {
			return err
		}
		if len(aliases) > 0 {
			return errVersionInUse(model, version, aliases)
		}
		res, err := s.exec(ctx, tx, `DELETE FROM versions WHERE model = ? AND version = ?`, model, version)
		if err != nil {
			return err
		}
		return requireRow(res, fmt.Errorf("version %s %w", ref(model, version), slipway.ErrNotFound))
	})
	switch {
	case err == nil || isDomainError(err):
		return err
	case s.d.IsForeignKeyViolation(err):
		// An alias moved onto the version after aliasesOf looked.
		return fmt.Errorf("version %s is %w by an alias", ref(model, version), slipway.ErrInUse)
	}
	return fmt.Errorf("delete version %s: %w", ref(model, version), err)
}

func errVersionInUse(model, version string, aliases []string) error {
	noun := "alias"
	if len(aliases) > 1 {
		noun = "aliases"
	}
	return fmt.Errorf("version %s is %w by %s %s", ref(model, version), slipway.ErrInUse, noun, strings.Join(aliases, ", "))
}

// aliasesOf returns the names of the aliases pointing at a version.
func (s *DB) aliasesOf(ctx context.Context, q querier, model, version string) ([]string, error) {
	rows, err := s.query(ctx, q, `SELECT name FROM aliases WHERE model = ? AND version = ? ORDER BY name`,
		model, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// DigestInUse reports whether any version references the artifact. The
// empty digest (remote versions have none) is never in use.
func (s *DB) DigestInUse(ctx context.Context, digest string) (bool, error) {
	if digest == "" {
		return false, nil
	}
	found, err := s.exists(ctx, s.db, `SELECT 1 FROM versions WHERE digest = ? LIMIT 1`, digest)
	if err != nil {
		return false, fmt.Errorf("look up digest %s: %w", digest, err)
	}
	return found, nil
}

// requireModel returns slipway.ErrNotFound unless the model exists. List
// calls use it to tell an empty list from an unknown model.
func (s *DB) requireModel(ctx context.Context, model string) error {
	found, err := s.exists(ctx, s.db, `SELECT 1 FROM models WHERE name = ?`, model)
	if err != nil {
		return fmt.Errorf("look up model %s: %w", model, err)
	}
	if !found {
		return fmt.Errorf("model %s %w", model, slipway.ErrNotFound)
	}
	return nil
}

func scanVersion(r rowScanner) (slipway.Version, error) {
	var v slipway.Version
	var format, state string
	var sig, metrics, meta []byte
	var created int64
	err := r.Scan(&v.Model, &v.Version, &format, &v.Digest, &v.Size, &v.URL, &sig, &metrics, &meta,
		&v.Lineage.Parent, &v.Lineage.DataRef, &v.Lineage.DataHash, &v.Card, &state, &created, &v.CreatedBy)
	if err != nil {
		return slipway.Version{}, err
	}
	v.Format, v.State, v.CreatedAt = slipway.Format(format), slipway.VersionState(state), fromNanos(created)
	for _, c := range []struct {
		name string
		raw  []byte
		dst  any
	}{{"signature", sig, &v.Signature}, {"metrics", metrics, &v.Metrics}, {"meta", meta, &v.Meta}} {
		if err := fromJSONColumn(c.raw, c.dst); err != nil {
			return slipway.Version{}, fmt.Errorf("decode %s of version %s: %w", c.name, ref(v.Model, v.Version), err)
		}
	}
	return v, nil
}
