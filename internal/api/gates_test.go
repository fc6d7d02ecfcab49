package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
)

// serveGates runs the API over a real registry on SQLite, with fraud
// 1.0.0 pushed and aliased production, and returns a client acting as
// alice.
func serveGates(t *testing.T) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.OpenDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(registry.New(st, blobs))
	s.Gates = st
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c := &Client{BaseURL: ts.URL, Actor: "alice", HTTP: ts.Client()}
	if _, err := c.PushFile(t.Context(), "fraud", slipway.Version{Version: "1.0.0"}, "../../examples/fraud/v1/model.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MoveAlias(t.Context(), "fraud", "production", "1.0.0", "first"); err != nil {
		t.Fatal(err)
	}
	return c, ts.URL
}

func TestGateReportEndpoints(t *testing.T) {
	c, url := serveGates(t)
	ctx := t.Context()
	v1 := slipway.Ref{Model: "fraud", Selector: "1.0.0"}
	_, err := c.GateReport(ctx, v1)
	if !errors.Is(err, slipway.ErrNotFound) || !strings.Contains(err.Error(), "slipway gate fraud@1.0.0 --data HOLDOUT") {
		t.Fatalf("no report yet: %v", err)
	}
	report := []byte(`{"passed": false, "checks": [{"gate": "quality", "metric": "auc", "status": "FAIL"}]}`)
	// Through the alias: stored on the version it points at.
	stored, err := c.PutGateReport(ctx, slipway.Ref{Model: "fraud", Selector: "production"}, report)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Version != "1.0.0" || stored.Passed || stored.Actor != "alice" || stored.ID == 0 {
		t.Fatalf("stored = %+v", stored)
	}
	got, err := c.GateReport(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Report, &body); err != nil || body["checks"] == nil || got.ID != stored.ID {
		t.Fatalf("read back %+v (%v)", got, err)
	}

	for _, c := range []struct {
		body, want string
		status     int
	}{
		{`{"checks": []}`, `no "passed" field`, http.StatusBadRequest},
		{`{"passed": tru`, "gate report", http.StatusBadRequest},
	} {
		status, e, _ := call(t, http.MethodPost, url+"/api/v1/models/fraud/versions/1.0.0/gates", "application/json", []byte(c.body))
		if status != c.status || !strings.Contains(e.Message, c.want) {
			t.Errorf("POST %s: %d %q, want %d mentioning %q", c.body, status, e.Message, c.status, c.want)
		}
	}
	status, e, _ := call(t, http.MethodPost, url+"/api/v1/models/fraud/versions/7.0.0/gates", "application/json", report)
	if status != http.StatusNotFound || !strings.Contains(e.Message, "7.0.0") {
		t.Errorf("report on an unknown version: %d %q", status, e.Message)
	}
}

func TestApprovalEndpoints(t *testing.T) {
	c, url := serveGates(t)
	ctx := t.Context()
	v1 := slipway.Ref{Model: "fraud", Selector: "1.0.0"}
	if as, err := c.Approvals(ctx, v1); err != nil || len(as) != 0 {
		t.Fatalf("approvals before any: %+v, %v", as, err)
	}
	a, err := c.Approve(ctx, v1, "ml-lead", "looked at the metrics")
	if err != nil {
		t.Fatal(err)
	}
	if a.Actor != "alice" || a.Role != "ml-lead" || a.Note != "looked at the metrics" || a.At.IsZero() {
		t.Fatalf("approval = %+v", a)
	}
	as, err := c.Approvals(ctx, v1)
	if err != nil || len(as) != 1 || as[0] != a {
		t.Fatalf("approvals = %+v, %v; want [%+v]", as, err, a)
	}
	status, e, _ := call(t, http.MethodPost, url+"/api/v1/models/fraud/versions/1.0.0/approvals", "application/json", []byte(`{"role": "../admin"}`))
	if status != http.StatusBadRequest || !strings.Contains(e.Message, "role") {
		t.Errorf("bad role: %d %q", status, e.Message)
	}
	status, e, _ = call(t, http.MethodPost, url+"/api/v1/models/fraud/versions/1.0.0/approvals", "application/json", []byte(`{"role": "x", "who": "me"}`))
	if status != http.StatusBadRequest || !strings.Contains(e.Message, "who") {
		t.Errorf("unknown field: %d %q", status, e.Message)
	}
}

// TestSkipGatesQuery: the override reaches a controller that can skip,
// with the reason; without a reason it is refused.
func TestSkipGatesQuery(t *testing.T) {
	fake := &skippingRollouts{fakeRollouts: newFakeRollouts()}
	c, url := serveRollouts(t, fake)
	if _, err := c.DeploySkippingGates(t.Context(), []byte("deployment: {}"), "hotfix 42"); err != nil {
		t.Fatal(err)
	}
	if fake.reason != "hotfix 42" || fake.actor != "alice" {
		t.Fatalf("controller got reason %q from %q", fake.reason, fake.actor)
	}
	status, e, _ := call(t, http.MethodPost, url+"/api/v1/deployments?skip_gates=true", "application/yaml", []byte("deployment: {}"))
	if status != http.StatusBadRequest || !strings.Contains(e.Message, "needs a reason") {
		t.Errorf("skip without reason: %d %q", status, e.Message)
	}
}

type skippingRollouts struct {
	*fakeRollouts
	reason string
}

func (f *skippingRollouts) DeploySkippingGates(ctx context.Context, spec []byte, actor, reason string) (slipway.Rollout, error) {
	f.reason = reason
	return f.fakeRollouts.Deploy(ctx, spec, actor)
}
