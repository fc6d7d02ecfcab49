package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Migration is one step of a dialect's schema. Applied migrations are
// recorded in schema_migrations and never run again, so a released
// migration must not be edited: add a new one instead.
type Migration struct {
	// Version orders the migrations and identifies them once applied; > 0.
	Version int
	// Name says what the migration does, for error messages.
	Name string
	// Statements run in order, in one transaction with the version's
	// schema_migrations row.
	Statements []string
}

// The bookkeeping table is the one piece of schema every dialect shares,
// so its DDL uses types both SQLite and PostgreSQL accept.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`

// errApplied means another process applied the migration first.
var errApplied = errors.New("migration already applied")

// migrate applies the dialect's pending migrations, each in its own
// transaction, so an interrupted upgrade resumes where it stopped.
func (s *DB) migrate(ctx context.Context) error {
	if err := s.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	if err := s.checkNotNewer(applied); err != nil {
		return err
	}
	for _, m := range s.d.Migrations {
		if applied[m.Version] {
			continue
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error { return s.apply(ctx, tx, m) })
		if err != nil && !errors.Is(err, errApplied) {
			return fmt.Errorf("apply migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// createMigrationsTable creates the bookkeeping table unless it exists.
// Two PostgreSQL sessions running CREATE TABLE IF NOT EXISTS at once can
// still collide in the catalog, and the loser fails (duplicate type or key)
// although the table now exists; a second attempt then finds it.
func (s *DB) createMigrationsTable(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, createMigrationsTable)
	if err != nil {
		_, err = s.db.ExecContext(ctx, createMigrationsTable)
	}
	return err
}

func (s *DB) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

// checkNotNewer refuses a database migrated by a newer slipway: running old
// queries on a schema they do not know could corrupt it.
func (s *DB) checkNotNewer(applied map[int]bool) error {
	known := s.d.Migrations[len(s.d.Migrations)-1].Version
	for v := range applied {
		if v > known {
			return fmt.Errorf("database schema is at version %d, newer than this slipway knows (%d): upgrade slipway", v, known)
		}
	}
	return nil
}

// apply claims m's version row first: a concurrent migrator blocks on that
// row until this transaction ends and then finds it taken.
func (s *DB) apply(ctx context.Context, tx *sql.Tx, m Migration) error {
	_, err := s.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, s.now().UnixNano())
	if err != nil {
		if s.d.IsUniqueViolation(err) {
			return errApplied
		}
		return err
	}
	for i, stmt := range m.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	return nil
}
