package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

// A rollout is a row of rollouts, its log the rows of rollout_events.
//
// At most one rollout per model is live. The live column mirrors
// Status.Live() and a unique index on (model) WHERE live refuses a second
// one, so the rule holds between concurrent writers and between slipway
// servers sharing a database, where a read-then-write check would not.
// Updates compare and swap on rev for the same reason.
//
// Event Seq numbers each rollout's events 1, 2, 3, …: the number a person
// reads in `slipway rollout history` does not depend on other rollouts.
// Appending is safe without a lock of its own because every append happens
// in the transaction that inserted or updated the rollout row, which holds
// that row until it commits.

const (
	// rolloutState lists the columns UpdateRollout replaces, in the order
	// stateArgs returns their values.
	rolloutState   = `baseline, baseline_ref, strategy, spec, status, live, step, step_started, paused_at, previous, reason, applied`
	rolloutColumns = `id, model, candidate, ` + rolloutState + `, rev, created_by, created_at, updated_at`
	eventColumns   = `rollout, seq, at, actor, kind, status, step, step_name, weight, reason, verdict`
)

// setRolloutState is rolloutState as the SET list of an UPDATE.
var setRolloutState = strings.Join(strings.Split(rolloutState, ", "), " = ?, ") + " = ?"

// CreateRollout stores r as a new rollout with its first events, in one
// transaction. The store assigns ID, Rev (1), CreatedAt and UpdatedAt
// (both now, ignoring r's), and the events' Rollout and Seq; an event's
// zero At becomes the rollout's CreatedAt. The returned rollout is what
// GetRollout will return. slipway.ErrConflict, naming the live rollout,
// when r is live and its model has one already; slipway.ErrNotFound for
// an unknown model. The candidate version is not checked: rollouts are
// history, and outlive the versions they name.
func (s *DB) CreateRollout(ctx context.Context, r slipway.Rollout, events ...slipway.RolloutEvent) (slipway.Rollout, error) {
	if err := validateNewRollout(r); err != nil {
		return slipway.Rollout{}, err
	}
	now, err := toNanos(s.now())
	if err != nil {
		return slipway.Rollout{}, err
	}
	r.Rev, r.CreatedAt, r.UpdatedAt = 1, fromNanos(now), fromNanos(now)
	state, err := stateArgs(&r)
	if err != nil {
		return slipway.Rollout{}, err
	}
	evs, err := prepareEvents(events, now)
	if err != nil {
		return slipway.Rollout{}, err
	}
	args := append([]any{r.Model, r.Candidate, r.Rev, r.CreatedBy, now, now}, state...)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, `INSERT INTO rollouts (model, candidate, rev, created_by, created_at, updated_at, `+rolloutState+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&r.ID)
		if err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, r.ID, evs)
	})
	switch {
	case err == nil:
		return r, nil
	case isDomainError(err):
		return slipway.Rollout{}, err
	case s.d.IsUniqueViolation(err):
		return slipway.Rollout{}, s.errLiveExists(ctx, r.Model)
	case s.d.IsForeignKeyViolation(err):
		return slipway.Rollout{}, fmt.Errorf("model %s %w", r.Model, slipway.ErrNotFound)
	}
	return slipway.Rollout{}, fmt.Errorf("create rollout of %s: %w", ref(r.Model, r.Candidate), err)
}

// UpdateRollout replaces the stored rollout r.ID with r and appends events,
// in one transaction, if the stored Rev equals r.Rev. Model, Candidate,
// CreatedBy and CreatedAt keep their stored values whatever r holds; Rev
// becomes r.Rev+1 and UpdatedAt now. The returned rollout is what
// GetRollout will return. slipway.ErrConflict when Rev is stale or when r
// becomes live while the model has another live rollout;
// slipway.ErrNotFound for an unknown ID. A refused update stores nothing,
// events included.
func (s *DB) UpdateRollout(ctx context.Context, r slipway.Rollout, events ...slipway.RolloutEvent) (slipway.Rollout, error) {
	if err := validateStatus(r.Status); err != nil {
		return slipway.Rollout{}, err
	}
	now, err := toNanos(s.now())
	if err != nil {
		return slipway.Rollout{}, err
	}
	state, err := stateArgs(&r)
	if err != nil {
		return slipway.Rollout{}, err
	}
	evs, err := prepareEvents(events, now)
	if err != nil {
		return slipway.Rollout{}, err
	}
	args := append(append([]any{r.Candidate}, state...), now, r.ID, r.Rev)
	var created, rev int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, `UPDATE rollouts SET candidate = ?, `+setRolloutState+`, rev = rev + 1, updated_at = ?
			WHERE id = ? AND rev = ? RETURNING model, created_by, created_at, rev`, args...).
			Scan(&r.Model, &r.CreatedBy, &created, &rev)
		if errors.Is(err, sql.ErrNoRows) {
			return s.errNotUpdated(ctx, tx, r.ID, r.Rev)
		}
		if err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, r.ID, evs)
	})
	switch {
	case err == nil:
		r.Rev, r.CreatedAt, r.UpdatedAt = rev, fromNanos(created), fromNanos(now)
		return r, nil
	case isDomainError(err):
		return slipway.Rollout{}, err
	case s.d.IsUniqueViolation(err):
		// r.Model may not be the stored model: ask the database.
		stored, lookupErr := s.GetRollout(ctx, r.ID)
		if lookupErr != nil {
			return slipway.Rollout{}, slipway.Errorf(slipway.ErrConflict, "rollout %d cannot become live: its model has a live rollout", r.ID)
		}
		return slipway.Rollout{}, fmt.Errorf("rollout %d cannot become live: %w", r.ID, s.errLiveExists(ctx, stored.Model))
	}
	return slipway.Rollout{}, fmt.Errorf("update rollout %d: %w", r.ID, err)
}

// errNotUpdated explains why the update of rollout id at rev matched no
// row: the rollout does not exist, or another writer moved its rev on.
func (s *DB) errNotUpdated(ctx context.Context, q querier, id, rev int64) error {
	var stored int64
	err := s.queryRow(ctx, q, `SELECT rev FROM rollouts WHERE id = ?`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("rollout %d %w", id, slipway.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return slipway.Errorf(slipway.ErrConflict, "rollout %d changed since it was read (rev %d, stored %d): read it again", id, rev, stored)
}

// errLiveExists explains a write refused by the one-live-rollout index,
// naming the model's live rollout. It runs after the refused transaction
// ended, so that rollout may have ended too; the error then names none.
func (s *DB) errLiveExists(ctx context.Context, model string) error {
	live, err := scanRollout(s.queryRow(ctx, s.db, `SELECT `+rolloutColumns+` FROM rollouts WHERE model = ? AND live`, model))
	if err != nil {
		return slipway.Errorf(slipway.ErrConflict, "model %s has a live rollout", model)
	}
	return slipway.Errorf(slipway.ErrConflict, "model %s has a live rollout: %s", model, describeRollout(live))
}

// describeRollout names r the way people look for it: "#3 1.0.0 → 2.0.0
// (progressing)".
func describeRollout(r slipway.Rollout) string {
	versions := r.Candidate
	if r.Baseline != "" {
		versions = r.Baseline + " → " + r.Candidate
	}
	return fmt.Sprintf("#%d %s (%s)", r.ID, versions, r.Status)
}

// GetRollout returns slipway.ErrNotFound for an unknown ID.
func (s *DB) GetRollout(ctx context.Context, id int64) (slipway.Rollout, error) {
	r, err := scanRollout(s.queryRow(ctx, s.db, `SELECT `+rolloutColumns+` FROM rollouts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Rollout{}, fmt.Errorf("rollout %d %w", id, slipway.ErrNotFound)
	}
	if err != nil {
		return slipway.Rollout{}, fmt.Errorf("get rollout %d: %w", id, err)
	}
	return r, nil
}

// ListRollouts returns rollouts newest first (by ID, which the store
// assigns in creation order), filtered by f. An unknown model has no
// rollouts; it is not an error.
func (s *DB) ListRollouts(ctx context.Context, f store.RolloutFilter) ([]slipway.Rollout, error) {
	if f.Limit < 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, "rollout list limit %d is negative", f.Limit)
	}
	var where []string
	var args []any
	if f.Model != "" {
		where, args = append(where, "model = ?"), append(args, f.Model)
	}
	if f.Live {
		where = append(where, "live")
	}
	query := `SELECT ` + rolloutColumns + ` FROM rollouts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC`
	if f.Limit > 0 {
		query, args = query+` LIMIT ?`, append(args, f.Limit)
	}
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	out, err := collect(rows, scanRollout)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	return out, nil
}

// RolloutEvents returns a rollout's events in Seq order;
// slipway.ErrNotFound for an unknown ID.
func (s *DB) RolloutEvents(ctx context.Context, id int64) ([]slipway.RolloutEvent, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+eventColumns+` FROM rollout_events WHERE rollout = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read events of rollout %d: %w", id, err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("read events of rollout %d: %w", id, err)
	}
	if len(out) > 0 {
		return out, nil
	}
	found, err := s.exists(ctx, s.db, `SELECT 1 FROM rollouts WHERE id = ?`, id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("look up rollout %d: %w", id, err)
	case !found:
		return nil, fmt.Errorf("rollout %d %w", id, slipway.ErrNotFound)
	}
	return nil, nil
}

// Heartbeat records that the controller was running at at (now when zero)
// and returns the heartbeat before it, zero the first time. One statement
// does both, so concurrent heartbeats each get the one they replaced: the
// row keeps the latest heartbeat and the one before, and the upsert moves
// the first into the second.
func (s *DB) Heartbeat(ctx context.Context, at time.Time) (time.Time, error) {
	n, err := stamp(at, s.now)
	if err != nil {
		return time.Time{}, err
	}
	var previous sql.NullInt64
	err = s.queryRow(ctx, s.db, `INSERT INTO controller_heartbeat (id, at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET previous = controller_heartbeat.at, at = excluded.at
		RETURNING previous`, n).Scan(&previous)
	if err != nil {
		return time.Time{}, fmt.Errorf("record controller heartbeat: %w", err)
	}
	return fromOptionalNanos(previous), nil
}

// eventRow is an event ready to insert.
type eventRow struct {
	slipway.RolloutEvent
	at      int64
	verdict any // JSON text, or nil for none
}

// prepareEvents stamps events without a time with now and encodes their
// verdicts, before any transaction starts.
func prepareEvents(events []slipway.RolloutEvent, now int64) ([]eventRow, error) {
	out := make([]eventRow, len(events))
	for i, ev := range events {
		if ev.Kind == "" {
			return nil, slipway.Errorf(slipway.ErrInvalid, "rollout event %d: kind is empty", i+1)
		}
		at := now
		if !ev.At.IsZero() {
			var err error
			if at, err = toNanos(ev.At); err != nil {
				return nil, fmt.Errorf("rollout event %d (%s): %w", i+1, ev.Kind, err)
			}
		}
		verdict, err := jsonColumn(ev.Verdict, ev.Verdict == nil)
		if err != nil {
			// NaN or an infinity among the measurements: JSON has no such numbers.
			return nil, slipway.Errorf(slipway.ErrInvalid, "rollout event %d (%s): encode verdict: %w", i+1, ev.Kind, err)
		}
		out[i] = eventRow{RolloutEvent: ev, at: at, verdict: verdict}
	}
	return out, nil
}

// appendEvents appends evs to the log of rollout id, numbering them after
// its last event. The caller's transaction has written the rollout row,
// which keeps other writers of the log waiting until it ends.
func (s *DB) appendEvents(ctx context.Context, tx *sql.Tx, id int64, evs []eventRow) error {
	if len(evs) == 0 {
		return nil
	}
	var last int64
	if err := s.queryRow(ctx, tx, `SELECT COALESCE(MAX(seq), 0) FROM rollout_events WHERE rollout = ?`, id).Scan(&last); err != nil {
		return err
	}
	for i, ev := range evs {
		_, err := s.exec(ctx, tx, `INSERT INTO rollout_events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, last+int64(i)+1, ev.at, ev.Actor, ev.Kind, string(ev.Status), ev.Step, ev.StepName, ev.Weight, ev.Reason, ev.verdict)
		if err != nil {
			return err
		}
	}
	return nil
}

func validateNewRollout(r slipway.Rollout) error {
	if err := slipway.ValidName("model name", r.Model); err != nil {
		return err
	}
	if err := slipway.ValidName("candidate version", r.Candidate); err != nil {
		return err
	}
	return validateStatus(r.Status)
}

// validateStatus refuses a status the store does not know: stored, a
// misspelt live status would read as ended and escape the one-live rule.
func validateStatus(st slipway.RolloutStatus) error {
	switch st {
	case slipway.RolloutProgressing, slipway.RolloutPaused, slipway.RolloutAwaitingApproval,
		slipway.RolloutCompleted, slipway.RolloutRolledBack, slipway.RolloutAborted, slipway.RolloutUndone:
		return nil
	}
	return slipway.Errorf(slipway.ErrInvalid, "rollout status %q: use progressing, paused, awaiting-approval, completed, rolled-back, aborted or undone", st)
}

// stateArgs lists r's values for the rolloutState columns and sets r's
// times to what reading them back will return.
func stateArgs(r *slipway.Rollout) ([]any, error) {
	started, err := optionalNanos(&r.StepStarted)
	if err != nil {
		return nil, fmt.Errorf("step start: %w", err)
	}
	paused, err := optionalNanos(&r.PausedAt)
	if err != nil {
		return nil, fmt.Errorf("paused at: %w", err)
	}
	return []any{
		r.Baseline, r.BaselineRef, r.Strategy, r.Spec, string(r.Status), r.Status.Live(),
		r.Step, started, paused, r.Previous, r.Reason, r.Applied,
	}, nil
}

// optionalNanos converts *t for a nullable column: the zero time, which
// means "never" (a rollout that was never paused), is NULL. It sets *t to
// what reading it back will return.
func optionalNanos(t *time.Time) (any, error) {
	if t.IsZero() {
		*t = time.Time{}
		return nil, nil
	}
	n, err := toNanos(*t)
	if err != nil {
		return nil, err
	}
	*t = fromNanos(n)
	return n, nil
}

// fromOptionalNanos is the inverse of optionalNanos.
func fromOptionalNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

func scanRollout(row rowScanner) (slipway.Rollout, error) {
	var r slipway.Rollout
	var status string
	var started, paused sql.NullInt64
	var created, updated int64
	// live is skipped: Status says it.
	err := row.Scan(&r.ID, &r.Model, &r.Candidate, &r.Baseline, &r.BaselineRef, &r.Strategy, &r.Spec, &status,
		new(bool), &r.Step, &started, &paused, &r.Previous, &r.Reason, &r.Applied, &r.Rev, &r.CreatedBy, &created, &updated)
	if err != nil {
		return slipway.Rollout{}, err
	}
	r.Status = slipway.RolloutStatus(status)
	r.StepStarted, r.PausedAt = fromOptionalNanos(started), fromOptionalNanos(paused)
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, nil
}

func scanEvent(row rowScanner) (slipway.RolloutEvent, error) {
	var ev slipway.RolloutEvent
	var status string
	var at int64
	var verdict []byte
	err := row.Scan(&ev.Rollout, &ev.Seq, &at, &ev.Actor, &ev.Kind, &status, &ev.Step, &ev.StepName, &ev.Weight, &ev.Reason, &verdict)
	if err != nil {
		return slipway.RolloutEvent{}, err
	}
	ev.Status, ev.At = slipway.RolloutStatus(status), fromNanos(at)
	if len(verdict) > 0 {
		ev.Verdict = new(slipway.Verdict)
		if err := fromJSONColumn(verdict, ev.Verdict); err != nil {
			return slipway.RolloutEvent{}, fmt.Errorf("decode verdict of rollout %d event %d: %w", ev.Rollout, ev.Seq, err)
		}
	}
	return ev, nil
}
