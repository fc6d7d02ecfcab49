package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

func versionPath(ref slipway.Ref) string {
	sel := ref.Selector
	if sel == "" {
		sel = slipway.AliasProduction
	}
	return "/api/v1/models/" + esc(ref.Model) + "/versions/" + esc(sel)
}

// PutGateReport stores a gate run's report (JSON with a "passed" field)
// on the version ref names.
func (c *Client) PutGateReport(ctx context.Context, ref slipway.Ref, report []byte) (store.GateReport, error) {
	var out store.GateReport
	return out, c.do(ctx, http.MethodPost, versionPath(ref)+"/gates", bytes.NewReader(report), "application/json", &out)
}

// GateReport returns the newest gate report of the version ref names;
// an error matching slipway.ErrNotFound when it has none.
func (c *Client) GateReport(ctx context.Context, ref slipway.Ref) (store.GateReport, error) {
	var out store.GateReport
	return out, c.getJSON(ctx, versionPath(ref)+"/gates", &out)
}

// Approve records that the client's actor approved the version in role.
func (c *Client) Approve(ctx context.Context, ref slipway.Ref, role, note string) (store.Approval, error) {
	var out store.Approval
	return out, c.sendJSON(ctx, http.MethodPost, versionPath(ref)+"/approvals", ApprovalRequest{Role: role, Note: note}, &out)
}

// Approvals lists the approvals of the version ref names, oldest first.
func (c *Client) Approvals(ctx context.Context, ref slipway.Ref) ([]store.Approval, error) {
	var out ApprovalList
	return out.Approvals, c.getJSON(ctx, versionPath(ref)+"/approvals", &out)
}

// DeploySkippingGates starts the rollout spec describes without its
// pre-deployment gates; reason is recorded with the rollout.
func (c *Client) DeploySkippingGates(ctx context.Context, spec []byte, reason string) (slipway.Rollout, error) {
	var out slipway.Rollout
	q := url.Values{"skip_gates": {"true"}, "reason": {reason}}
	return out, c.do(ctx, http.MethodPost, "/api/v1/deployments?"+q.Encode(), bytes.NewReader(spec), specContentType, &out)
}
