// Package sqlite is slipway's embedded metadata store: store.Store on one
// SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// SQLite allows one writer at a time. Every transaction therefore begins
// IMMEDIATE, taking the write lock up front, and waits up to BusyTimeout
// for it instead of failing with SQLITE_BUSY; WAL mode lets reads proceed
// meanwhile.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/slipway-ml/slipway/internal/store/sqlstore"
)

// BusyTimeout is how long a write waits for another writer to finish
// before it fails.
const BusyTimeout = 5 * time.Second

// maxOpenConns bounds the pool: WAL readers run in parallel, writers queue
// on the file lock, so more connections only cost memory.
const maxOpenConns = 8

// Open opens (creating when missing) the SQLite database at path,
// creating its directory too, and brings its schema up to date.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	s, err := open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store at %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string) (*sqlstore.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// Report an unusable directory as such rather than as SQLite's
	// "unable to open database file".
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxOpenConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds a file: URI so that any character in the path survives.
// Pragmas go in the DSN because the driver applies them to every new
// connection of the pool, not just the first.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// dialect is SQLite's part of the shared SQL store.
var dialect = sqlstore.Dialect{
	Name:                  "sqlite",
	IsUniqueViolation:     hasCode(sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY),
	IsForeignKeyViolation: hasCode(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY),
	Migrations:            migrations,
}

// hasCode matches driver errors by SQLite's extended result code, which
// the driver turns on for every connection.
func hasCode(codes ...int) func(error) bool {
	return func(err error) bool {
		var e *sqlitedriver.Error
		if !errors.As(err, &e) {
			return false
		}
		for _, c := range codes {
			if e.Code() == c {
				return true
			}
		}
		return false
	}
}
