// Package postgres is slipway's metadata store for shared deployments:
// store.Store on PostgreSQL, through pgx's database/sql adapter, so that
// several slipway servers can share one registry.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/slipway-ml/slipway/internal/store/sqlstore"
)

// ConnectTimeout bounds the start-up check that the server is reachable,
// and each new connection when the DSN sets no connect_timeout, so that a
// wrong address fails start-up quickly instead of hanging.
const ConnectTimeout = 5 * time.Second

// maxOpenConns keeps several slipway servers sharing one database well
// under PostgreSQL's default max_connections (100).
const maxOpenConns = 10

// Open connects to the database named by dsn (a postgres:// URL or
// key=value string, as libpq reads them), checks it is reachable within
// ConnectTimeout and brings its schema up to date. Tables are created in
// the connection's search_path, which the DSN may set (search_path=...).
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from this error.
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = ConnectTimeout
	}
	where := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)

	pingCtx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres store at %s: connect: %w", where, err)
	}
	s, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres store at %s: %w", where, err)
	}
	return s, nil
}

// dialect is PostgreSQL's part of the shared SQL store.
var dialect = sqlstore.Dialect{
	Name:           "postgres",
	NumberedParams: true,
	// Serialises alias moves of one model without blocking the FOR KEY
	// SHARE lock that inserting a version takes on its model row.
	LockModel:             "FOR NO KEY UPDATE",
	IsUniqueViolation:     hasCode("23505"), // unique_violation
	IsForeignKeyViolation: hasCode("23503"), // foreign_key_violation
	Migrations:            migrations,
}

// hasCode matches server errors by SQLSTATE.
func hasCode(code string) func(error) bool {
	return func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == code
	}
}
