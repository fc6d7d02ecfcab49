package postgres

import (
	"context"
	"database/sql"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/postgres/pgtest"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// Each test works in a fresh schema of the server pgtest names, so tests
// run in parallel and leave nothing behind. An unreachable server fails
// them: a silently skipped backend is an untested one.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.OpenFunc {
		dsn := pgtest.Schema(t)
		return func(ctx context.Context) (store.Store, error) { return Open(ctx, dsn) }
	})
}

func TestMigrationsRecordedOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	for range 3 {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(migrations))
	}
}

// TestOpenUnreachable checks start-up fails fast, saying where it tried:
// when the port refuses, when the server never answers (bounded by the
// caller's deadline, or by ConnectTimeout without one) and when the DSN is
// malformed (without revealing its password).
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	silent := silentServer(t)
	tests := []struct {
		name     string
		dsn      string
		deadline time.Duration // 0: none
		want     string
	}{
		{"refused", "postgres://postgres@127.0.0.1:1/test?sslmode=disable", 0, "open postgres store at 127.0.0.1:1: connect: "},
		{"silent with deadline", "postgres://postgres@" + silent + "/test?sslmode=disable", 500 * time.Millisecond, "open postgres store at " + silent + ": connect: "},
		{"silent without deadline", "postgres://postgres@" + silent + "/test?sslmode=disable", 0, "open postgres store at " + silent + ": connect: "},
		{"bad dsn", "postgres://postgres:secret@127.0.0.1:notaport/test", 0, "open postgres store: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, limit := t.Context(), ConnectTimeout
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
				limit = tc.deadline
			}
			start := time.Now()
			s, err := Open(ctx, tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if took := time.Since(start); took > limit+2*time.Second {
				t.Errorf("Open took %v to fail", took)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

// silentServer accepts TCP connections and never answers, like a server
// behind a black-holing firewall. It returns its host:port.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn // owned by the accept loop until it returns
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					_ = c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}
