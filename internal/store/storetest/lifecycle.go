package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

const writers = 8

// race runs f(i) for i in [0, writers) at the same moment and returns
// their errors.
func race(f func(i int) error) []error {
	errs := make([]error, writers)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range writers {
		done.Go(func() {
			start.Wait()
			errs[i] = f(i)
		})
	}
	start.Done()
	done.Wait()
	return errs
}

func testConcurrentCreateSameVersion(t *testing.T, e *env) {
	ctx := t.Context()
	errs := race(func(i int) error {
		v := minimal("fraud", "1.0.0")
		v.CreatedBy = fmt.Sprint("writer-", i)
		_, err := e.s.CreateVersion(ctx, v)
		return err
	})
	var ok int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, slipway.ErrExists):
			t.Errorf("concurrent duplicate failed with %v, want ErrExists", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent creates succeeded, want exactly 1", ok, writers)
	}
	list, err := e.s.ListVersions(ctx, "fraud")
	must(t, err)
	if len(list) != 1 {
		t.Errorf("%d versions stored, want 1", len(list))
	}
}

func testConcurrentCreateDistinctVersions(t *testing.T, e *env) {
	ctx := t.Context()
	errs := race(func(i int) error {
		_, err := e.s.CreateVersion(ctx, minimal("fraud", fmt.Sprint("1.0.", i)))
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	list, err := e.s.ListVersions(ctx, "fraud")
	must(t, err)
	if len(list) != writers {
		t.Errorf("%d versions stored, want %d", len(list), writers)
	}
}

// testConcurrentAliasMoves checks that concurrent moves are serialised:
// each history entry starts where the previous one ended.
func testConcurrentAliasMoves(t *testing.T, e *env) {
	ctx := t.Context()
	for i := range writers {
		versions(t, e, fmt.Sprint(i))
	}
	errs := race(func(i int) error {
		_, err := e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: "production", To: fmt.Sprint(i), Actor: "ci"})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("mover %d: %v", i, err)
		}
	}
	h, err := e.s.AliasHistory(ctx, "fraud", "production")
	must(t, err)
	if len(h) != writers {
		t.Fatalf("%d history entries, want %d", len(h), writers)
	}
	from := ""
	for i, mv := range h {
		if mv.From != from {
			t.Errorf("entry %d moved from %q, but the alias was at %q", i, mv.From, from)
		}
		from = mv.To
	}
	a, err := e.s.GetAlias(ctx, "fraud", "production")
	must(t, err)
	if a.Version != from {
		t.Errorf("alias at %s, history ends at %s", a.Version, from)
	}
}

// snapshot is everything a store holds about the models it lists.
type snapshot struct {
	Models   []slipway.Model
	Versions map[string][]slipway.Version
	Aliases  map[string][]slipway.Alias
	History  map[string][]slipway.AliasMove
}

func takeSnapshot(t *testing.T, s store.Store) snapshot {
	t.Helper()
	ctx := t.Context()
	models, err := s.ListModels(ctx)
	must(t, err)
	snap := snapshot{Models: models, Versions: map[string][]slipway.Version{},
		Aliases: map[string][]slipway.Alias{}, History: map[string][]slipway.AliasMove{}}
	for _, m := range models {
		snap.Versions[m.Name], err = s.ListVersions(ctx, m.Name)
		must(t, err)
		snap.Aliases[m.Name], err = s.ListAliases(ctx, m.Name)
		must(t, err)
		snap.History[m.Name], err = s.AliasHistory(ctx, m.Name, "")
		must(t, err)
	}
	return snap
}

// populate writes a little of everything.
func populate(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	_, err := e.s.PutModel(ctx, slipway.Model{Name: "fraud", Description: "card fraud", Owner: "risk", Tags: []string{"gbdt"}})
	must(t, err)
	_, err = e.s.CreateVersion(ctx, full("fraud", "2.0.0"))
	must(t, err)
	versions(t, e, "1.0.0")
	_, err = e.s.CreateVersion(ctx, minimal("churn", "1"))
	must(t, err)
	must(t, e.s.SetVersionState(ctx, "fraud", "2.0.0", slipway.StateServing))
	move(t, e, "production", "1.0.0")
	move(t, e, "production", "2.0.0")
	move(t, e, "staging", "1.0.0")
	must(t, e.s.DeleteAlias(ctx, "fraud", "staging", "ci", "done"))
}

func testRestart(t *testing.T, e *env) {
	ctx := t.Context()
	populate(t, e)
	before := takeSnapshot(t, e.s)
	e.reopen()
	if after := takeSnapshot(t, e.s); !reflect.DeepEqual(after, before) {
		t.Fatalf("after restart:\n%+v\nbefore:\n%+v", after, before)
	}
	// Constraints survive too.
	_, err := e.s.CreateVersion(ctx, minimal("fraud", "1.0.0"))
	wantErr(t, err, slipway.ErrExists, "fraud@1.0.0")
	wantErr(t, e.s.DeleteVersion(ctx, "fraud", "2.0.0"), slipway.ErrInUse, "production")
	if mv := move(t, e, "production", "1.0.0"); mv.From != "2.0.0" {
		t.Errorf("move after restart has From %q, want 2.0.0", mv.From)
	}
}

// testReopenMigratesOnce reopens a populated store several times: applied
// migrations must not run again (they would fail on existing tables or
// lose data).
func testReopenMigratesOnce(t *testing.T, e *env) {
	populate(t, e)
	want := takeSnapshot(t, e.s)
	for i := range 3 {
		e.reopen()
		if got := takeSnapshot(t, e.s); !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopen %d:\n%+v\nwant:\n%+v", i+1, got, want)
		}
	}
	_, err := e.s.CreateVersion(t.Context(), minimal("fraud", "3.0.0"))
	must(t, err)
}

// testConcurrentOpen starts several servers on the same empty storage at
// once: all must come up, with the schema built exactly once.
func testConcurrentOpen(t *testing.T, open OpenFunc) {
	stores := make([]store.Store, writers)
	errs := race(func(i int) error {
		var err error
		stores[i], err = open(t.Context())
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	for i, s := range stores {
		_, err := s.CreateVersion(t.Context(), minimal("fraud", fmt.Sprint(i)))
		must(t, err)
	}
}
