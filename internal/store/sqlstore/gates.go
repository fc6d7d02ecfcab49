package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

// Gate reports and approvals are rows of gate_reports and approvals, each
// with a foreign key to its version, so that neither can name a version
// that does not exist and both go when the version is deleted.

const (
	gateReportColumns = `id, model, version, passed, report, actor, at`
	approvalColumns   = `model, version, role, actor, note, at`
)

// AddGateReport stores r; ID and (when zero) At are assigned.
func (s *DB) AddGateReport(ctx context.Context, r store.GateReport) (store.GateReport, error) {
	if len(r.Report) == 0 || !json.Valid(r.Report) {
		return store.GateReport{}, slipway.Errorf(slipway.ErrInvalid, "gate report of %s: not JSON", ref(r.Model, r.Version))
	}
	at, err := stamp(r.At, s.now)
	if err != nil {
		return store.GateReport{}, err
	}
	r.At = fromNanos(at)
	err = s.queryRow(ctx, s.db, `INSERT INTO gate_reports (model, version, passed, report, actor, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Model, r.Version, r.Passed, string(r.Report), r.Actor, at).Scan(&r.ID)
	switch {
	case err == nil:
		return r, nil
	case s.d.IsForeignKeyViolation(err):
		return store.GateReport{}, fmt.Errorf("version %s %w", ref(r.Model, r.Version), slipway.ErrNotFound)
	}
	return store.GateReport{}, fmt.Errorf("store gate report of %s: %w", ref(r.Model, r.Version), err)
}

// LatestGateReport returns the version's newest report.
func (s *DB) LatestGateReport(ctx context.Context, model, version string) (store.GateReport, error) {
	r, err := scanGateReport(s.queryRow(ctx, s.db, `SELECT `+gateReportColumns+` FROM gate_reports
		WHERE model = ? AND version = ? ORDER BY id DESC LIMIT 1`, model, version))
	if errors.Is(err, sql.ErrNoRows) {
		return store.GateReport{}, fmt.Errorf("gate report of %s %w", ref(model, version), slipway.ErrNotFound)
	}
	if err != nil {
		return store.GateReport{}, fmt.Errorf("read gate report of %s: %w", ref(model, version), err)
	}
	return r, nil
}

// AddApproval stores a; At is assigned when zero.
func (s *DB) AddApproval(ctx context.Context, a store.Approval) (store.Approval, error) {
	if strings.TrimSpace(a.Role) == "" {
		return store.Approval{}, slipway.Errorf(slipway.ErrInvalid, "approval of %s: no role", ref(a.Model, a.Version))
	}
	at, err := stamp(a.At, s.now)
	if err != nil {
		return store.Approval{}, err
	}
	a.At = fromNanos(at)
	_, err = s.exec(ctx, s.db, `INSERT INTO approvals (`+approvalColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Model, a.Version, a.Role, a.Actor, a.Note, at)
	switch {
	case err == nil:
		return a, nil
	case s.d.IsForeignKeyViolation(err):
		return store.Approval{}, fmt.Errorf("version %s %w", ref(a.Model, a.Version), slipway.ErrNotFound)
	}
	return store.Approval{}, fmt.Errorf("store approval of %s: %w", ref(a.Model, a.Version), err)
}

// Approvals returns the version's approvals, oldest first.
func (s *DB) Approvals(ctx context.Context, model, version string) ([]store.Approval, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+approvalColumns+` FROM approvals WHERE model = ? AND version = ? ORDER BY id`, model, version)
	if err != nil {
		return nil, fmt.Errorf("read approvals of %s: %w", ref(model, version), err)
	}
	out, err := collect(rows, scanApproval)
	if err != nil {
		return nil, fmt.Errorf("read approvals of %s: %w", ref(model, version), err)
	}
	return out, nil
}

func scanGateReport(r rowScanner) (store.GateReport, error) {
	var g store.GateReport
	var report []byte
	var at int64
	if err := r.Scan(&g.ID, &g.Model, &g.Version, &g.Passed, &report, &g.Actor, &at); err != nil {
		return g, err
	}
	g.Report, g.At = json.RawMessage(report), fromNanos(at)
	return g, nil
}

func scanApproval(r rowScanner) (store.Approval, error) {
	var a store.Approval
	var at int64
	if err := r.Scan(&a.Model, &a.Version, &a.Role, &a.Actor, &a.Note, &at); err != nil {
		return a, err
	}
	a.At = fromNanos(at)
	return a, nil
}
