package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

// move points fraud's alias at version and returns the recorded move.
func move(t *testing.T, e *env, alias, version string) slipway.AliasMove {
	t.Helper()
	mv, err := e.s.MoveAlias(t.Context(), slipway.AliasMove{Model: "fraud", Alias: alias, To: version, Actor: "ci"})
	must(t, err)
	return mv
}

// versions creates fraud's versions.
func versions(t *testing.T, e *env, vs ...string) {
	t.Helper()
	for _, v := range vs {
		_, err := e.s.CreateVersion(t.Context(), minimal("fraud", v))
		must(t, err)
	}
}

func testAliasMove(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")

	before := time.Now()
	first, err := e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: "production", To: "1.0.0", Actor: "alice", Reason: "first release"})
	must(t, err)
	within(t, "first move At", first.At, before, time.Now())
	if want := (slipway.AliasMove{Model: "fraud", Alias: "production", To: "1.0.0", Actor: "alice", Reason: "first release", At: first.At}); first != want {
		t.Errorf("first move = %+v, want %+v", first, want)
	}

	second, err := e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: "production", From: "ignored", To: "2.0.0", Actor: "rollout", Reason: "canary passed", At: at(7)})
	must(t, err)
	want := slipway.AliasMove{Model: "fraud", Alias: "production", From: "1.0.0", To: "2.0.0", Actor: "rollout", Reason: "canary passed", At: at(7).UTC()}
	if second != want {
		t.Errorf("second move = %+v, want %+v", second, want)
	}

	a, err := e.s.GetAlias(ctx, "fraud", "production")
	must(t, err)
	if wantAlias := (slipway.Alias{Model: "fraud", Name: "production", Version: "2.0.0", UpdatedAt: at(7).UTC(), UpdatedBy: "rollout"}); a != wantAlias {
		t.Errorf("GetAlias = %+v, want %+v", a, wantAlias)
	}
	h, err := e.s.AliasHistory(ctx, "fraud", "production")
	must(t, err)
	if wantH := []slipway.AliasMove{first, second}; !reflect.DeepEqual(h, wantH) {
		t.Errorf("AliasHistory =\n%+v\nwant\n%+v", h, wantH)
	}
}

func testAliasMoveToMissingVersion(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0")
	before := move(t, e, "production", "1.0.0")

	tests := []struct {
		name string
		mv   slipway.AliasMove
		want string
	}{
		{"unknown version", slipway.AliasMove{Model: "fraud", Alias: "production", To: "9", Actor: "ci"}, "version fraud@9 not found"},
		{"new alias", slipway.AliasMove{Model: "fraud", Alias: "staging", To: "9", Actor: "ci"}, "version fraud@9 not found"},
		{"unknown model", slipway.AliasMove{Model: "nope", Alias: "production", To: "1.0.0", Actor: "ci"}, "nope@1.0.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.MoveAlias(ctx, tc.mv)
			wantErr(t, err, slipway.ErrNotFound, tc.want)
		})
	}
	_, err := e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: "bad alias", To: "1.0.0"})
	wantErr(t, err, slipway.ErrInvalid, "bad alias")

	a, err := e.s.GetAlias(ctx, "fraud", "production")
	must(t, err)
	if a.Version != "1.0.0" {
		t.Errorf("alias moved to %s by a refused move", a.Version)
	}
	_, err = e.s.GetAlias(ctx, "fraud", "staging")
	wantErr(t, err, slipway.ErrNotFound, "alias fraud@staging not found")
	h, err := e.s.AliasHistory(ctx, "fraud", "")
	must(t, err)
	if want := []slipway.AliasMove{before}; !reflect.DeepEqual(h, want) {
		t.Errorf("history after refused moves = %+v, want %+v", h, want)
	}
}

func testAliasList(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	_, err := e.s.CreateVersion(ctx, minimal("other", "1.0.0"))
	must(t, err)
	aliases, err := e.s.ListAliases(ctx, "fraud")
	must(t, err)
	if len(aliases) != 0 {
		t.Fatalf("ListAliases before any move = %+v, want none", aliases)
	}
	move(t, e, "staging", "2.0.0")
	move(t, e, "production", "1.0.0")
	_, err = e.s.MoveAlias(ctx, slipway.AliasMove{Model: "other", Alias: "production", To: "1.0.0"})
	must(t, err)

	aliases, err = e.s.ListAliases(ctx, "fraud")
	must(t, err)
	var got []string
	for _, a := range aliases {
		got = append(got, a.Name+"->"+a.Version)
	}
	if want := []string{"production->1.0.0", "staging->2.0.0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListAliases = %q, want %q", got, want)
	}
}

func testAliasDelete(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0")
	first := move(t, e, "production", "1.0.0")

	before := time.Now()
	must(t, e.s.DeleteAlias(ctx, "fraud", "production", "bob", "decommission"))
	_, err := e.s.GetAlias(ctx, "fraud", "production")
	wantErr(t, err, slipway.ErrNotFound, "fraud@production")
	wantErr(t, e.s.DeleteAlias(ctx, "fraud", "production", "bob", ""), slipway.ErrNotFound, "fraud@production")

	// The history is kept and records the deletion as a move to nowhere.
	h, err := e.s.AliasHistory(ctx, "fraud", "production")
	must(t, err)
	if len(h) != 2 || h[0] != first {
		t.Fatalf("history after delete = %+v, want the first move and the deletion", h)
	}
	within(t, "deletion At", h[1].At, before, time.Now())
	if want := (slipway.AliasMove{Model: "fraud", Alias: "production", From: "1.0.0", Actor: "bob", Reason: "decommission", At: h[1].At}); h[1] != want {
		t.Errorf("deletion entry = %+v, want %+v", h[1], want)
	}

	// Re-creating the alias starts from nothing.
	if mv := move(t, e, "production", "1.0.0"); mv.From != "" {
		t.Errorf("move after delete has From %q, want empty", mv.From)
	}
}

func testAliasHistory(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1", "2", "3")
	_, err := e.s.CreateVersion(ctx, minimal("other", "1"))
	must(t, err)
	_, err = e.s.MoveAlias(ctx, slipway.AliasMove{Model: "other", Alias: "production", To: "1"})
	must(t, err)

	// Interleaved moves of two aliases; At is deliberately not monotonic:
	// history follows the order of the moves, not the clocks of the callers.
	steps := []struct{ alias, to string }{{"production", "1"}, {"staging", "2"}, {"production", "2"}, {"staging", "3"}, {"production", "3"}}
	var all []slipway.AliasMove
	for i, s := range steps {
		mv, err := e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: s.alias, To: s.to, Actor: "ci", At: at(50 - i)})
		must(t, err)
		all = append(all, mv)
	}
	tests := []struct {
		alias string
		want  []slipway.AliasMove
	}{
		{"", all},
		{"production", []slipway.AliasMove{all[0], all[2], all[4]}},
		{"staging", []slipway.AliasMove{all[1], all[3]}},
		{"never", nil},
	}
	for _, tc := range tests {
		got, err := e.s.AliasHistory(ctx, "fraud", tc.alias)
		must(t, err)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AliasHistory(fraud, %q) =\n%+v\nwant\n%+v", tc.alias, got, tc.want)
		}
	}
	if p := all[2]; p.From != "1" || p.To != "2" {
		t.Errorf("second production move = %s -> %s, want 1 -> 2", p.From, p.To)
	}
}

// testNotFound checks every lookup of something unknown.
func testNotFound(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0")
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"GetModel", func() error { _, err := e.s.GetModel(ctx, "nope"); return err }, "model nope not found"},
		{"DeleteModel", func() error { return e.s.DeleteModel(ctx, "nope") }, "model nope not found"},
		{"GetVersion of unknown model", func() error { _, err := e.s.GetVersion(ctx, "nope", "1.0.0"); return err }, "version nope@1.0.0 not found"},
		{"GetVersion", func() error { _, err := e.s.GetVersion(ctx, "fraud", "9"); return err }, "version fraud@9 not found"},
		{"ListVersions", func() error { _, err := e.s.ListVersions(ctx, "nope"); return err }, "model nope not found"},
		{"SetVersionState", func() error { return e.s.SetVersionState(ctx, "fraud", "9", slipway.StateServing) }, "version fraud@9 not found"},
		{"DeleteVersion", func() error { return e.s.DeleteVersion(ctx, "fraud", "9") }, "version fraud@9 not found"},
		{"GetAlias", func() error { _, err := e.s.GetAlias(ctx, "fraud", "production"); return err }, "alias fraud@production not found"},
		{"ListAliases", func() error { _, err := e.s.ListAliases(ctx, "nope"); return err }, "model nope not found"},
		{"DeleteAlias", func() error { return e.s.DeleteAlias(ctx, "fraud", "production", "ci", "") }, "alias fraud@production not found"},
		{"AliasHistory", func() error { _, err := e.s.AliasHistory(ctx, "nope", ""); return err }, "model nope not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(), slipway.ErrNotFound, tc.want)
		})
	}
}
