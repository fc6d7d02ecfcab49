package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

func testGateReports(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1", "2")
	_, err := e.s.LatestGateReport(ctx, "fraud", "2")
	wantErr(t, err, slipway.ErrNotFound, "fraud@2")

	failed := json.RawMessage(`{"passed": false, "checks": [{"gate": "quality", "metric": "auc", "status": "FAIL"}]}`)
	passed := json.RawMessage(`{"passed": true, "checks": [{"gate": "quality", "metric": "auc", "status": "PASS", "actual": "0.9178"}]}`)
	first, err := e.s.AddGateReport(ctx, store.GateReport{Model: "fraud", Version: "2", Passed: false, Report: failed, Actor: "alice", At: at(1)})
	must(t, err)
	before := time.Now()
	second, err := e.s.AddGateReport(ctx, store.GateReport{Model: "fraud", Version: "2", Passed: true, Report: passed, Actor: "bob"})
	must(t, err)
	within(t, "At", second.At, before, time.Now())
	if first.ID == 0 || second.ID <= first.ID {
		t.Fatalf("IDs %d then %d, want increasing", first.ID, second.ID)
	}
	e.reopen()
	got, err := e.s.LatestGateReport(ctx, "fraud", "2")
	must(t, err)
	if got.ID != second.ID || !got.Passed || got.Actor != "bob" || !got.At.Equal(second.At) || got.Model != "fraud" || got.Version != "2" {
		t.Fatalf("latest = %+v, want the second report %+v", got, second)
	}
	samePolicy(t, got.Report, passed)
	// Reports belong to one version.
	_, err = e.s.LatestGateReport(ctx, "fraud", "1")
	wantErr(t, err, slipway.ErrNotFound, "fraud@1")
}

func testGateReportRefused(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.AddGateReport(ctx, store.GateReport{Model: "fraud", Version: "9", Report: json.RawMessage(`{}`)})
	wantErr(t, err, slipway.ErrNotFound, "fraud@9")
	versions(t, e, "1")
	_, err = e.s.AddGateReport(ctx, store.GateReport{Model: "fraud", Version: "1", Report: json.RawMessage(`{broken`)})
	wantErr(t, err, slipway.ErrInvalid, "not JSON")
	_, err = e.s.AddApproval(ctx, store.Approval{Model: "fraud", Version: "9", Role: "ml-lead"})
	wantErr(t, err, slipway.ErrNotFound, "fraud@9")
	_, err = e.s.AddApproval(ctx, store.Approval{Model: "fraud", Version: "1", Role: " "})
	wantErr(t, err, slipway.ErrInvalid, "no role")
	if as, err := e.s.Approvals(ctx, "fraud", "1"); err != nil || len(as) != 0 {
		t.Fatalf("refused approvals were stored: %+v, %v", as, err)
	}
}

func testApprovals(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1", "2")
	must2 := func(a store.Approval) store.Approval {
		got, err := e.s.AddApproval(ctx, a)
		must(t, err)
		return got
	}
	a1 := must2(store.Approval{Model: "fraud", Version: "2", Role: "ml-lead", Actor: "carol", Note: "offline metrics reviewed", At: at(3)})
	must2(store.Approval{Model: "fraud", Version: "2", Role: "risk", Actor: "dave", At: at(4)})
	must2(store.Approval{Model: "fraud", Version: "1", Role: "ml-lead", Actor: "erin", At: at(5)})
	if !a1.At.Equal(at(3)) || a1.At.Location() != time.UTC {
		t.Fatalf("At = %v, want %v in UTC", a1.At, at(3))
	}
	e.reopen()
	got, err := e.s.Approvals(ctx, "fraud", "2")
	must(t, err)
	want := []store.Approval{
		{Model: "fraud", Version: "2", Role: "ml-lead", Actor: "carol", Note: "offline metrics reviewed", At: at(3).UTC()},
		{Model: "fraud", Version: "2", Role: "risk", Actor: "dave", At: at(4).UTC()},
	}
	if len(got) != len(want) {
		t.Fatalf("approvals = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("approval %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// testGatesGoWithVersion: deleting a version deletes its reports and
// approvals, so a new version pushed under the same name starts clean.
func testGatesGoWithVersion(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1")
	_, err := e.s.AddGateReport(ctx, store.GateReport{Model: "fraud", Version: "1", Passed: true, Report: json.RawMessage(`{}`)})
	must(t, err)
	_, err = e.s.AddApproval(ctx, store.Approval{Model: "fraud", Version: "1", Role: "ml-lead"})
	must(t, err)
	must(t, e.s.DeleteVersion(ctx, "fraud", "1"))
	_, err = e.s.CreateVersion(ctx, minimal("fraud", "1"))
	must(t, err)
	_, err = e.s.LatestGateReport(ctx, "fraud", "1")
	wantErr(t, err, slipway.ErrNotFound)
	if as, err := e.s.Approvals(ctx, "fraud", "1"); err != nil || len(as) != 0 {
		t.Fatalf("approvals of a deleted version survived: %+v, %v", as, err)
	}
}
