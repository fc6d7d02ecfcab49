package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/gate"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
)

// GateRecords is what the controller reads of a candidate's stored gate
// runs and approvals. The controller's store provides it when it is a
// full store.Store; a spec with a gates section is refused without it.
type GateRecords interface {
	LatestGateReport(ctx context.Context, model, version string) (store.GateReport, error)
	Approvals(ctx context.Context, model, version string) ([]store.Approval, error)
}

// DeploySkippingGates is Deploy without the pre-deployment gates: for an
// emergency fix that cannot wait for them. reason is required and is
// recorded in the rollout's reason and first event, with the actor.
func (c *Controller) DeploySkippingGates(ctx context.Context, data []byte, actor, reason string) (slipway.Rollout, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrInvalid, "skipping the gates needs a reason: it is recorded with the rollout")
	}
	return c.deploy(ctx, data, actor, reason)
}

// checkGates enforces a spec's gates section before a rollout starts:
// the candidate's newest gate report must have passed and every role the
// section lists must have approved it. A spec without a gates section
// deploys as before. With skip set the gates are not checked (the
// section is still validated) and the returned note says so, for the
// rollout's reason.
func (c *Controller) checkGates(ctx context.Context, s *spec.Spec, actor, skip string) (note string, err error) {
	d := s.Deployment
	if d.Gates == nil {
		return "", nil
	}
	cfg, err := gate.Parse(d.Gates)
	if err != nil {
		return "", err
	}
	if skip != "" {
		return fmt.Sprintf("; pre-deployment gates skipped by %s: %s", actor, skip), nil
	}
	records, ok := c.cfg.Store.(GateRecords)
	if !ok {
		return "", fmt.Errorf("deploy %s@%s: the spec has gates but this server keeps no gate reports", d.Model, d.Version)
	}
	ref := d.Model + "@" + d.Version
	var missing []string
	rep, err := records.LatestGateReport(ctx, d.Model, d.Version)
	switch {
	case errors.Is(err, slipway.ErrNotFound):
		missing = append(missing, fmt.Sprintf("no gate report: run slipway gate %s --data HOLDOUT -f SPEC", ref))
	case err != nil:
		return "", fmt.Errorf("deploy %s: read gate report: %w", ref, err)
	case !rep.Passed:
		missing = append(missing, fmt.Sprintf("the gate run of %s by %s failed (%s): fix the candidate and run slipway gate %s --data HOLDOUT -f SPEC again",
			rep.At.Format("2006-01-02 15:04:05Z"), orAnonymous(rep.Actor), failedChecks(rep.Report), ref))
	}
	approvals, err := records.Approvals(ctx, d.Model, d.Version)
	if err != nil {
		return "", fmt.Errorf("deploy %s: read approvals: %w", ref, err)
	}
	for _, role := range cfg.Approvals {
		if !slices.ContainsFunc(approvals, func(a store.Approval) bool { return a.Role == role }) {
			missing = append(missing, fmt.Sprintf("no approval by %s: slipway approve %s --role %s --note \"…\"", role, ref, role))
		}
	}
	if len(missing) > 0 {
		return "", slipway.Errorf(slipway.ErrConflict, "deploy %s refused: its required gates have not passed:\n  - %s\nto deploy anyway: slipway deploy -f SPEC --skip-gates --reason \"…\"",
			ref, strings.Join(missing, "\n  - "))
	}
	return "", nil
}

// failedChecks names the failed checks of a stored report.
func failedChecks(report json.RawMessage) string {
	var r gate.Report
	if json.Unmarshal(report, &r) != nil {
		return "report unreadable"
	}
	var names []string
	for _, c := range r.Failed() {
		names = append(names, fmt.Sprintf("%s %s: %s, required %s", c.Gate, c.Metric, c.Actual, c.Required))
	}
	if len(names) == 0 {
		return "no failed check recorded"
	}
	return strings.Join(names, "; ")
}

func orAnonymous(s string) string {
	if s == "" {
		return "anonymous"
	}
	return s
}
