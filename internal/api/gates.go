package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

// MaxGateReportBytes caps the body of POST …/gates.
const MaxGateReportBytes = 4 << 20

// ApprovalRequest is the body of POST …/approvals.
type ApprovalRequest struct {
	Role string `json:"role"`
	Note string `json:"note,omitempty"`
}

// ApprovalList is the body of GET …/approvals.
type ApprovalList struct {
	Approvals []store.Approval `json:"approvals"`
}

func (s *Server) gates() (store.Gates, error) {
	if s.Gates == nil {
		return nil, &Error{Status: http.StatusNotImplemented, Message: "this server keeps no gate reports"}
	}
	return s.Gates, nil
}

// gateVersion resolves the path's version (an alias works too), so a
// report is always stored on a version, never on an alias.
func (s *Server) gateVersion(r *http.Request) (slipway.Version, error) {
	v, _, err := s.reg.Resolve(r.Context(), slipway.Ref{Model: r.PathValue("model"), Selector: r.PathValue("version")})
	return v, err
}

// gateTarget is the gate store and the path's version: what the gate
// report and approval handlers act on. A server without gate reports
// answers 501 before the version is looked up.
func (s *Server) gateTarget(r *http.Request) (store.Gates, slipway.Version, error) {
	g, err := s.gates()
	if err != nil {
		return nil, slipway.Version{}, err
	}
	v, err := s.gateVersion(r)
	return g, v, err
}

// putGateReport stores a gate run's report: the body is the report as
// JSON, whose "passed" field says whether it passed.
func (s *Server) putGateReport(r *http.Request) (int, any, error) {
	g, v, err := s.gateTarget(r)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxGateReportBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("read gate report (at most %d MiB): %w", MaxGateReportBytes>>20, err)
	}
	var head struct {
		Passed *bool `json:"passed"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "gate report: %v", err)
	}
	if head.Passed == nil {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "gate report: no \"passed\" field")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "gate report: %v", err)
	}
	stored, err := g.AddGateReport(r.Context(), store.GateReport{Model: v.Model, Version: v.Version, Passed: *head.Passed, Report: compact.Bytes(), Actor: actor(r)})
	return http.StatusCreated, stored, err
}

func (s *Server) getGateReport(r *http.Request) (int, any, error) {
	g, v, err := s.gateTarget(r)
	if err != nil {
		return 0, nil, err
	}
	rep, err := g.LatestGateReport(r.Context(), v.Model, v.Version)
	if err != nil {
		return 0, nil, fmt.Errorf("%w; run: slipway gate %s@%s --data HOLDOUT", err, v.Model, v.Version)
	}
	return http.StatusOK, rep, nil
}

func (s *Server) approve(r *http.Request) (int, any, error) {
	g, err := s.gates()
	if err != nil {
		return 0, nil, err
	}
	var body ApprovalRequest
	if err := decodeJSON(r, &body); err != nil {
		return 0, nil, err
	}
	body.Role = strings.TrimSpace(body.Role)
	if err := slipway.ValidName("role", body.Role); err != nil {
		return 0, nil, err
	}
	v, err := s.gateVersion(r)
	if err != nil {
		return 0, nil, err
	}
	a, err := g.AddApproval(r.Context(), store.Approval{Model: v.Model, Version: v.Version, Role: body.Role, Actor: actor(r), Note: body.Note})
	return http.StatusCreated, a, err
}

func (s *Server) listApprovals(r *http.Request) (int, any, error) {
	g, v, err := s.gateTarget(r)
	if err != nil {
		return 0, nil, err
	}
	as, err := g.Approvals(r.Context(), v.Model, v.Version)
	if as == nil {
		as = []store.Approval{}
	}
	return http.StatusOK, ApprovalList{Approvals: as}, err
}

// deployOverride starts a rollout without its gates when the request
// says skip_gates=true with a reason; ok is false when it does not.
func (s *Server) deployOverride(r *http.Request, rc Rollouts, spec []byte) (ro slipway.Rollout, ok bool, err error) {
	skip, err := boolParam(r, "skip_gates")
	if err != nil || !skip {
		return slipway.Rollout{}, false, err
	}
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	if reason == "" {
		return slipway.Rollout{}, true, slipway.Errorf(slipway.ErrInvalid, "skip_gates needs a reason: it is recorded with the rollout")
	}
	gs, can := rc.(GateSkipper)
	if !can {
		return slipway.Rollout{}, true, &Error{Status: http.StatusNotImplemented, Message: "this server's controller cannot skip gates"}
	}
	ro, err = gs.DeploySkippingGates(r.Context(), spec, actor(r), reason)
	return ro, true, err
}

// GateSkipper is a controller that can start a rollout without its
// pre-deployment gates, recording why.
type GateSkipper interface {
	DeploySkippingGates(ctx context.Context, spec []byte, actor, reason string) (slipway.Rollout, error)
}
