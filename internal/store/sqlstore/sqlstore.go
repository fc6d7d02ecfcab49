// Package sqlstore implements store.Store once, on database/sql, for every
// SQL backend. What differs between databases — placeholder syntax, how a
// constraint violation is reported, the schema's column types — comes from a
// Dialect; the sqlite and postgres packages each supply one and open the
// connection pool. Queries are written once, with ? placeholders.
//
// Times are stored as integer Unix nanoseconds so that both backends round
// trip them exactly (PostgreSQL's TIMESTAMPTZ keeps only microseconds) and
// read them back in UTC.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/store"
)

var _ store.Store = (*DB)(nil)

// Dialect is what one database needs beyond the shared queries.
type Dialect struct {
	// Name names the database in error messages, e.g. "sqlite".
	Name string
	// NumberedParams rewrites the ? placeholders the queries are written
	// with to $1, $2, … (PostgreSQL). False passes them as written.
	NumberedParams bool
	// LockModel is appended to the SELECT of a model row that serialises
	// alias moves of that model, e.g. "FOR NO KEY UPDATE". Empty where a
	// write transaction already holds the database's only write lock
	// (SQLite with BEGIN IMMEDIATE).
	LockModel string
	// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
	// violation. Required.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err is a FOREIGN KEY violation.
	// Required.
	IsForeignKeyViolation func(error) bool
	// Migrations build the schema, in ascending Version order. Required.
	Migrations []Migration
}

func (d Dialect) validate() error {
	if d.IsUniqueViolation == nil || d.IsForeignKeyViolation == nil {
		return errors.New("dialect lacks constraint error classifiers")
	}
	if len(d.Migrations) == 0 {
		return errors.New("dialect has no migrations")
	}
	for i, m := range d.Migrations {
		if m.Version <= 0 || (i > 0 && m.Version <= d.Migrations[i-1].Version) {
			return fmt.Errorf("migration %d (%s) is out of order", m.Version, m.Name)
		}
	}
	return nil
}

// DB is a store.Store on a database/sql pool. It is safe for concurrent use.
type DB struct {
	db  *sql.DB
	d   Dialect
	now func() time.Time
}

// New applies d's pending migrations to db and returns a store on it. The
// store owns db from then on and closes it in Close; on error the caller
// still owns db and must close it.
func New(ctx context.Context, db *sql.DB, d Dialect) (*DB, error) {
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("%s dialect: %w", d.Name, err)
	}
	s := &DB{db: db, d: d, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// Ping checks the database is reachable.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s store: %w", s.d.Name, err)
	}
	return nil
}

// Close closes the connection pool; the store is unusable afterwards.
func (s *DB) Close() error { return s.db.Close() }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.rebind(query), args...)
}

func (s *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.rebind(query), args...)
}

func (s *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.rebind(query), args...)
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error says more than a failed rollback
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rebind rewrites ? placeholders for dialects that number them. The shared
// queries contain no string literals or operators with a '?', so a plain
// scan is enough.
func (s *DB) rebind(query string) string {
	if !s.d.NumberedParams || !strings.Contains(query, "?") {
		return query
	}
	return numberParams(query)
}

func numberParams(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// exists reports whether query returns a row.
func (s *DB) exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := s.queryRow(ctx, q, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
