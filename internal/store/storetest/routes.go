package storetest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slipway-ml/slipway"
)

// samePolicy compares policies as JSON values: PostgreSQL's JSONB does
// not keep the bytes as written.
func samePolicy(t *testing.T, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("stored policy %q is not JSON: %v", got, err)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("policy = %s, want %s", got, want)
	}
}

func testRouteSetGetHistory(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1", "2")
	p1 := json.RawMessage(`{"splits": [{"version": "1", "weight": 10000}]}`)
	p2 := json.RawMessage(`{"splits": [{"version": "2", "weight": 1000}, {"version": "1", "weight": 9000}], "sticky": "header:X-User-Id"}`)
	c1, err := e.s.SetRoute(ctx, slipway.RouteChange{Model: "fraud", Policy: p1, Actor: "alice", Reason: "start", At: at(1)})
	must(t, err)
	_, err = e.s.SetRoute(ctx, slipway.RouteChange{Model: "fraud", Policy: p2, Actor: "controller", Reason: "canary 10%", At: at(2)})
	must(t, err)
	if !c1.At.Equal(at(1)) {
		t.Fatalf("At = %v", c1.At)
	}
	e.reopen()
	cur, err := e.s.GetRoute(ctx, "fraud")
	must(t, err)
	samePolicy(t, cur.Policy, p2)
	if cur.Actor != "controller" || cur.Reason != "canary 10%" || !cur.At.Equal(at(2)) {
		t.Fatalf("current route = %+v", cur)
	}
	hist, err := e.s.RouteHistory(ctx, "fraud")
	must(t, err)
	if len(hist) != 2 || hist[0].Actor != "alice" || hist[1].Reason != "canary 10%" {
		t.Fatalf("history = %+v", hist)
	}
	samePolicy(t, hist[0].Policy, p1)

	must(t, e.s.DeleteRoute(ctx, "fraud", "bob", "rollback"))
	_, err = e.s.GetRoute(ctx, "fraud")
	wantErr(t, err, slipway.ErrNotFound, "fraud")
	hist, err = e.s.RouteHistory(ctx, "fraud")
	must(t, err)
	if len(hist) != 3 || len(hist[2].Policy) != 0 || hist[2].Actor != "bob" || hist[2].Reason != "rollback" {
		t.Fatalf("history after delete = %+v", hist)
	}
	// Deleting nothing records nothing.
	must(t, e.s.DeleteRoute(ctx, "fraud", "bob", "again"))
	if hist, _ := e.s.RouteHistory(ctx, "fraud"); len(hist) != 3 {
		t.Fatalf("a no-op delete was recorded: %d entries", len(hist))
	}
}

func testRouteRefused(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.SetRoute(ctx, slipway.RouteChange{Model: "nosuch", Policy: json.RawMessage(`{}`)})
	wantErr(t, err, slipway.ErrNotFound, "nosuch")
	versions(t, e, "1")
	_, err = e.s.SetRoute(ctx, slipway.RouteChange{Model: "fraud", Policy: json.RawMessage(`{not json`)})
	wantErr(t, err, slipway.ErrInvalid, "not JSON")
	_, err = e.s.RouteHistory(ctx, "nosuch")
	wantErr(t, err, slipway.ErrNotFound, "nosuch")
	if h, err := e.s.RouteHistory(ctx, "fraud"); err != nil || len(h) != 0 {
		t.Fatalf("refused changes were recorded: %+v, %v", h, err)
	}
}

func testRouteList(t *testing.T, e *env) {
	ctx := t.Context()
	for _, m := range []string{"zeta", "alpha"} {
		_, err := e.s.CreateVersion(ctx, minimal(m, "1"))
		must(t, err)
		_, err = e.s.SetRoute(ctx, slipway.RouteChange{Model: m, Policy: json.RawMessage(`{"splits": []}`)})
		must(t, err)
	}
	got, err := e.s.ListRoutes(ctx)
	must(t, err)
	if len(got) != 2 || got[0].Model != "alpha" || got[1].Model != "zeta" {
		t.Fatalf("ListRoutes = %+v", got)
	}
}
