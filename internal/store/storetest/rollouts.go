package storetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

// rolloutOf returns a rollout of fraud from baseline to candidate.
func rolloutOf(baseline, candidate string, st slipway.RolloutStatus) slipway.Rollout {
	return slipway.Rollout{
		Model: "fraud", Candidate: candidate, Baseline: baseline, BaselineRef: "production",
		Strategy: "canary", Spec: "strategy: canary\n", Status: st, StepStarted: at(10),
	}
}

// fullRollout returns a rollout with every field the caller sets set.
func fullRollout() slipway.Rollout {
	return slipway.Rollout{
		Model:       "fraud",
		Candidate:   "2.0.0",
		Baseline:    "1.0.0",
		BaselineRef: "production",
		Strategy:    "canary",
		Spec:        "model: fraud\nstrategy: canary\nsteps:\n  - {name: canary, weight: 10%, duration: 10m}\n",
		Status:      slipway.RolloutPaused,
		Step:        2,
		StepStarted: at(11),
		PausedAt:    at(12),
		Previous:    "0.9.0",
		Reason:      "paused by alice: \"looking at p99\" — Grüße",
		Applied:     true,
		CreatedBy:   "alice",
	}
}

func ptr(x float64) *float64 { return &x }

// verdict returns a verdict with every field set, nil pointers included.
func verdict() *slipway.Verdict {
	return &slipway.Verdict{
		Result: slipway.Inconclusive,
		Reason: "accuracy: 37 of 100 samples",
		Metrics: []slipway.MetricResult{
			{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Pass,
				Candidate: ptr(0.004), Baseline: ptr(1e-300), CandidateN: 5120, BaselineN: 1 << 40, MinSamples: 100, Reason: "0.4% ≤ 1%"},
			{Metric: "accuracy", Rule: "accuracy ≥ baseline - 1%", Result: slipway.Inconclusive,
				CandidateN: 37, MinSamples: 100, Reason: "37 of 100 samples"},
		},
		Window: 10*time.Minute + 30*time.Second + 250*time.Millisecond,
	}
}

// events returns the events of rollout id as stored.
func events(t *testing.T, e *env, id int64) []slipway.RolloutEvent {
	t.Helper()
	evs, err := e.s.RolloutEvents(t.Context(), id)
	must(t, err)
	return evs
}

// createRollout creates r and fails t on error.
func createRollout(t *testing.T, e *env, r slipway.Rollout, evs ...slipway.RolloutEvent) slipway.Rollout {
	t.Helper()
	created, err := e.s.CreateRollout(t.Context(), r, evs...)
	must(t, err)
	return created
}

// checkStored fails t unless rollout want.ID is stored as want.
func checkStored(t *testing.T, e *env, want slipway.Rollout) {
	t.Helper()
	got, err := e.s.GetRollout(t.Context(), want.ID)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetRollout(%d) =\n%+v\nwant\n%+v", want.ID, got, want)
	}
}

func testRolloutRoundTrip(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	in := fullRollout()
	in.ID, in.Rev, in.CreatedAt, in.UpdatedAt = 42, 7, at(1), at(2) // the store assigns these
	started := slipway.RolloutEvent{Actor: "alice", Kind: "started", Status: slipway.RolloutProgressing,
		StepName: "shadow", Reason: "deploy fraud 2.0.0"}
	paused := slipway.RolloutEvent{Rollout: 99, Seq: 99, At: at(12), Actor: "controller", Kind: "paused",
		Status: slipway.RolloutPaused, Step: 2, StepName: "canary", Weight: 1000, Reason: "waiting for data", Verdict: verdict()}

	before := time.Now()
	created, err := e.s.CreateRollout(ctx, in, started, paused)
	must(t, err)
	within(t, "CreatedAt", created.CreatedAt, before, time.Now())
	if created.ID <= 0 || created.ID == 42 {
		t.Errorf("ID = %d, want one the store assigned", created.ID)
	}
	want := fullRollout()
	want.StepStarted, want.PausedAt = at(11).UTC(), at(12).UTC()
	want.ID, want.Rev, want.CreatedAt, want.UpdatedAt = created.ID, 1, created.CreatedAt, created.CreatedAt
	if !reflect.DeepEqual(created, want) {
		t.Errorf("CreateRollout returned\n%+v\nwant\n%+v", created, want)
	}
	checkStored(t, e, want)

	started.Rollout, started.Seq, started.At = created.ID, 1, created.CreatedAt
	paused.Rollout, paused.Seq, paused.At = created.ID, 2, at(12).UTC()
	if got, wantEvs := events(t, e, created.ID), []slipway.RolloutEvent{started, paused}; !reflect.DeepEqual(got, wantEvs) {
		t.Errorf("RolloutEvents =\n%+v\nwant\n%+v", got, wantEvs)
	}

	// Zero times and empty strings read back as such; a rollout may have no events.
	bare := slipway.Rollout{Model: "fraud", Candidate: "1.0.0", Status: slipway.RolloutCompleted}
	created, err = e.s.CreateRollout(ctx, bare)
	must(t, err)
	bare.ID, bare.Rev, bare.CreatedAt, bare.UpdatedAt = created.ID, 1, created.CreatedAt, created.UpdatedAt
	checkStored(t, e, bare)
	if evs := events(t, e, bare.ID); len(evs) != 0 {
		t.Errorf("events of a rollout created without = %+v", evs)
	}
}

func testRolloutRefused(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	nan := verdict()
	nan.Metrics[0].Candidate = ptr(math.NaN())
	tests := []struct {
		name   string
		r      slipway.Rollout
		events []slipway.RolloutEvent
		target error
		want   string
	}{
		{"unknown model", slipway.Rollout{Model: "nosuch", Candidate: "1", Status: slipway.RolloutProgressing},
			nil, slipway.ErrNotFound, "model nosuch not found"},
		{"bad model name", slipway.Rollout{Model: "../etc", Candidate: "1", Status: slipway.RolloutProgressing},
			nil, slipway.ErrInvalid, "../etc"},
		{"no candidate", slipway.Rollout{Model: "fraud", Status: slipway.RolloutProgressing},
			nil, slipway.ErrInvalid, "candidate"},
		{"unknown status", rolloutOf("1.0.0", "2.0.0", "Progressing"), nil, slipway.ErrInvalid, `"Progressing"`},
		{"event without kind", rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing),
			[]slipway.RolloutEvent{{Kind: "started"}, {Actor: "alice"}}, slipway.ErrInvalid, "event 2"},
		{"NaN in a verdict", rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing),
			[]slipway.RolloutEvent{{Kind: "decision", Verdict: nan}}, slipway.ErrInvalid, "verdict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.CreateRollout(ctx, tc.r, tc.events...)
			wantErr(t, err, tc.target, tc.want)
		})
	}
	if list, err := e.s.ListRollouts(ctx, store.RolloutFilter{}); err != nil || len(list) != 0 {
		t.Errorf("refused rollouts were stored: %+v, %v", list, err)
	}
	_, err := e.s.ListRollouts(ctx, store.RolloutFilter{Limit: -1})
	wantErr(t, err, slipway.ErrInvalid, "-1")
}

// testRolloutOneLive checks that a model has at most one live rollout,
// however it would get a second.
func testRolloutOneLive(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0", "3.0.0")
	_, err := e.s.CreateVersion(ctx, minimal("churn", "1"))
	must(t, err)

	first := createRollout(t, e, rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing))
	for _, st := range []slipway.RolloutStatus{slipway.RolloutProgressing, slipway.RolloutPaused, slipway.RolloutAwaitingApproval} {
		_, err = e.s.CreateRollout(ctx, rolloutOf("1.0.0", "3.0.0", st))
		wantErr(t, err, slipway.ErrConflict, fmt.Sprintf("model fraud has a live rollout: #%d 1.0.0 → 2.0.0 (progressing)", first.ID))
	}
	// An ended rollout does not compete, nor does another model's.
	createRollout(t, e, rolloutOf("1.0.0", "3.0.0", slipway.RolloutAborted))
	churn := rolloutOf("", "1", slipway.RolloutProgressing)
	churn.Model = "churn"
	createRollout(t, e, churn)

	// Once the first ends, the model may have a new live rollout.
	first.Status = slipway.RolloutCompleted
	first, err = e.s.UpdateRollout(ctx, first)
	must(t, err)
	third := createRollout(t, e, rolloutOf("2.0.0", "3.0.0", slipway.RolloutAwaitingApproval))

	// Nor can an ended rollout come back to life beside it.
	retry := first
	retry.Status = slipway.RolloutProgressing
	_, err = e.s.UpdateRollout(ctx, retry, slipway.RolloutEvent{Kind: "retried", Status: slipway.RolloutProgressing})
	wantErr(t, err, slipway.ErrConflict, fmt.Sprintf("rollout %d cannot become live", first.ID),
		fmt.Sprintf("#%d 2.0.0 → 3.0.0 (awaiting-approval)", third.ID))
	checkStored(t, e, first)
	if evs := events(t, e, first.ID); len(evs) != 0 {
		t.Errorf("events of the refused update were stored: %+v", evs)
	}
	// Updating the live rollout itself, staying live, is fine.
	third.Status = slipway.RolloutPaused
	_, err = e.s.UpdateRollout(ctx, third)
	must(t, err)

	live, err := e.s.ListRollouts(ctx, store.RolloutFilter{Model: "fraud", Live: true})
	must(t, err)
	if len(live) != 1 || live[0].ID != third.ID {
		t.Errorf("live rollouts of fraud = %+v, want only #%d", live, third.ID)
	}
}

func testRolloutUpdate(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	created := createRollout(t, e, rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing),
		slipway.RolloutEvent{Kind: "started", Actor: "alice"}, slipway.RolloutEvent{Kind: "stage-advanced", Actor: "controller", Step: 1})

	// Every mutable field changes; the immutable ones are ignored.
	next := fullRollout()
	next.ID, next.Rev = created.ID, created.Rev
	next.Model, next.Candidate, next.CreatedBy, next.CreatedAt = "churn", "9.9.9", "mallory", at(0)
	next.Status, next.PausedAt = slipway.RolloutCompleted, time.Time{}
	before := time.Now()
	updated, err := e.s.UpdateRollout(ctx, next, slipway.RolloutEvent{Kind: "completed", Actor: "controller", Step: 2, Weight: 10000, Verdict: verdict()})
	must(t, err)
	within(t, "UpdatedAt", updated.UpdatedAt, before, time.Now())
	want := next
	// The candidate may change: an experiment's winner need not be the
	// version its spec named.
	want.Model, want.CreatedBy, want.CreatedAt = "fraud", "", created.CreatedAt
	want.StepStarted, want.Rev, want.UpdatedAt = next.StepStarted.UTC(), 2, updated.UpdatedAt
	if !reflect.DeepEqual(updated, want) {
		t.Errorf("UpdateRollout returned\n%+v\nwant\n%+v", updated, want)
	}
	checkStored(t, e, want)

	// A writer holding the old Rev is refused and changes nothing.
	stale := next
	stale.Reason = "stale"
	_, err = e.s.UpdateRollout(ctx, stale, slipway.RolloutEvent{Kind: "aborted"})
	wantErr(t, err, slipway.ErrConflict, fmt.Sprintf("rollout %d changed since it was read (rev 1, stored 2)", created.ID))
	checkStored(t, e, want)

	// Seq carries on after the last event; refused events never got one.
	updated.Status = slipway.RolloutUndone
	_, err = e.s.UpdateRollout(ctx, updated, slipway.RolloutEvent{Kind: "undone", Actor: "bob"}, slipway.RolloutEvent{Kind: "decision", Actor: "bob"})
	must(t, err)
	var kinds []string
	for i, ev := range events(t, e, created.ID) {
		if ev.Seq != int64(i+1) || ev.Rollout != created.ID {
			t.Errorf("event %d is #%d of rollout %d, want #%d of %d", i, ev.Seq, ev.Rollout, i+1, created.ID)
		}
		kinds = append(kinds, ev.Kind)
	}
	if want := []string{"started", "stage-advanced", "completed", "undone", "decision"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("event kinds = %q, want %q", kinds, want)
	}
}

func testRolloutNotFound(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0")
	r := createRollout(t, e, rolloutOf("", "1.0.0", slipway.RolloutProgressing))
	if evs, err := e.s.RolloutEvents(ctx, r.ID); err != nil || len(evs) != 0 {
		t.Errorf("RolloutEvents of a rollout without events = %+v, %v; want none", evs, err)
	}
	unknown := r.ID + 1000
	_, err := e.s.GetRollout(ctx, unknown)
	wantErr(t, err, slipway.ErrNotFound, fmt.Sprintf("rollout %d not found", unknown))
	_, err = e.s.RolloutEvents(ctx, unknown)
	wantErr(t, err, slipway.ErrNotFound, fmt.Sprintf("rollout %d not found", unknown))
	r.ID = unknown
	_, err = e.s.UpdateRollout(ctx, r, slipway.RolloutEvent{Kind: "paused"})
	wantErr(t, err, slipway.ErrNotFound, fmt.Sprintf("rollout %d not found", unknown))
	if _, err := e.s.RolloutEvents(ctx, unknown); !errors.Is(err, slipway.ErrNotFound) {
		t.Errorf("events were stored for an unknown rollout: %v", err)
	}
}

func testRolloutList(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1", "2", "3")
	_, err := e.s.CreateVersion(ctx, minimal("churn", "1"))
	must(t, err)
	r1 := createRollout(t, e, rolloutOf("1", "2", slipway.RolloutRolledBack))
	churn := rolloutOf("", "1", slipway.RolloutProgressing)
	churn.Model = "churn"
	r2 := createRollout(t, e, churn)
	r3 := createRollout(t, e, rolloutOf("1", "3", slipway.RolloutPaused))
	r4 := createRollout(t, e, rolloutOf("1", "2", slipway.RolloutAborted))

	tests := []struct {
		f    store.RolloutFilter
		want []int64
	}{
		{store.RolloutFilter{}, []int64{r4.ID, r3.ID, r2.ID, r1.ID}},
		{store.RolloutFilter{Model: "fraud"}, []int64{r4.ID, r3.ID, r1.ID}},
		{store.RolloutFilter{Live: true}, []int64{r3.ID, r2.ID}},
		{store.RolloutFilter{Model: "churn", Live: true}, []int64{r2.ID}},
		{store.RolloutFilter{Limit: 2}, []int64{r4.ID, r3.ID}},
		{store.RolloutFilter{Model: "fraud", Limit: 1}, []int64{r4.ID}},
		{store.RolloutFilter{Model: "fraud", Live: true, Limit: 5}, []int64{r3.ID}},
		{store.RolloutFilter{Model: "nosuch"}, nil},
	}
	for _, tc := range tests {
		list, err := e.s.ListRollouts(ctx, tc.f)
		must(t, err)
		var ids []int64
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("ListRollouts(%+v) = %v, want %v", tc.f, ids, tc.want)
		}
	}
	list, err := e.s.ListRollouts(ctx, store.RolloutFilter{Model: "fraud", Live: true})
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0], r3) {
		t.Errorf("listed rollout = %+v, want %+v", list, r3)
	}
}

// testRolloutModelDeleted checks that a model's rollouts go with it, like
// its alias and route history: a model of the same name starts clean.
func testRolloutModelDeleted(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1")
	r := createRollout(t, e, rolloutOf("", "1", slipway.RolloutProgressing), slipway.RolloutEvent{Kind: "started"})
	must(t, e.s.DeleteVersion(ctx, "fraud", "1"))
	must(t, e.s.DeleteModel(ctx, "fraud"))
	_, err := e.s.GetRollout(ctx, r.ID)
	wantErr(t, err, slipway.ErrNotFound)
	_, err = e.s.RolloutEvents(ctx, r.ID)
	wantErr(t, err, slipway.ErrNotFound)

	versions(t, e, "1")
	again := createRollout(t, e, rolloutOf("", "1", slipway.RolloutProgressing))
	if again.ID == r.ID {
		t.Errorf("a deleted rollout's ID %d was reused", r.ID)
	}
}

func testHeartbeat(t *testing.T, e *env) {
	ctx := t.Context()
	for i, tc := range []struct{ at, wantPrevious time.Time }{
		{at(1), time.Time{}},
		{at(3), at(1).UTC()},
		{at(2), at(3).UTC()}, // a clock that went back is recorded as it is
	} {
		got, err := e.s.Heartbeat(ctx, tc.at)
		must(t, err)
		if got != tc.wantPrevious {
			t.Errorf("heartbeat %d returned %v, want %v", i+1, got, tc.wantPrevious)
		}
	}
	e.reopen()
	got, err := e.s.Heartbeat(ctx, at(4))
	must(t, err)
	if want := at(2).UTC(); got != want {
		t.Errorf("heartbeat after restart returned %v, want %v", got, want)
	}
}

func testConcurrentLiveRollouts(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	errs := race(func(i int) error {
		r := rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing)
		r.CreatedBy = fmt.Sprint("writer-", i)
		_, err := e.s.CreateRollout(ctx, r, slipway.RolloutEvent{Kind: "started", Actor: r.CreatedBy})
		return err
	})
	var ok int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, slipway.ErrConflict):
			t.Errorf("concurrent live rollout failed with %v, want ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent live rollouts were created, want exactly 1", ok, writers)
	}
	live, err := e.s.ListRollouts(ctx, store.RolloutFilter{Model: "fraud", Live: true})
	must(t, err)
	if len(live) != 1 {
		t.Fatalf("%d live rollouts stored, want 1", len(live))
	}
	if evs := events(t, e, live[0].ID); len(evs) != 1 || evs[0].Actor != live[0].CreatedBy {
		t.Errorf("events of the winner %s = %+v", live[0].CreatedBy, evs)
	}
}

func testConcurrentRolloutUpdates(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	r := createRollout(t, e, rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing), slipway.RolloutEvent{Kind: "started"})
	errs := race(func(i int) error {
		next := r
		next.Reason = fmt.Sprint("writer-", i)
		_, err := e.s.UpdateRollout(ctx, next, slipway.RolloutEvent{Kind: "decision", Actor: next.Reason})
		return err
	})
	var ok int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, slipway.ErrConflict):
			t.Errorf("concurrent update failed with %v, want ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent updates with the same Rev succeeded, want exactly 1", ok, writers)
	}
	got, err := e.s.GetRollout(ctx, r.ID)
	must(t, err)
	if got.Rev != 2 {
		t.Errorf("Rev after the race = %d, want 2", got.Rev)
	}
	evs := events(t, e, r.ID)
	if len(evs) != 2 || evs[1].Seq != 2 || evs[1].Actor != got.Reason {
		t.Errorf("events after the race = %+v, want started and the winner %s's", evs, got.Reason)
	}
}

// testRolloutRestart checks that rollouts, their logs and the rules on
// them survive a restart.
func testRolloutRestart(t *testing.T, e *env) {
	ctx := t.Context()
	versions(t, e, "1.0.0", "2.0.0")
	ended := createRollout(t, e, rolloutOf("1.0.0", "2.0.0", slipway.RolloutRolledBack), slipway.RolloutEvent{Kind: "rolled-back", Verdict: verdict()})
	live := createRollout(t, e, fullRollout(), slipway.RolloutEvent{Kind: "started", At: at(5)})
	live.Status = slipway.RolloutProgressing
	live, err := e.s.UpdateRollout(ctx, live, slipway.RolloutEvent{Kind: "resumed", Actor: "bob"})
	must(t, err)
	_, err = e.s.Heartbeat(ctx, at(30))
	must(t, err)

	list, err := e.s.ListRollouts(ctx, store.RolloutFilter{})
	must(t, err)
	logs := map[int64][]slipway.RolloutEvent{ended.ID: events(t, e, ended.ID), live.ID: events(t, e, live.ID)}
	e.reopen()
	after, err := e.s.ListRollouts(ctx, store.RolloutFilter{})
	must(t, err)
	if !reflect.DeepEqual(after, list) {
		t.Errorf("rollouts after restart:\n%+v\nbefore:\n%+v", after, list)
	}
	for id, want := range logs {
		if got := events(t, e, id); !reflect.DeepEqual(got, want) {
			t.Errorf("events of %d after restart:\n%+v\nbefore:\n%+v", id, got, want)
		}
	}
	if previous, err := e.s.Heartbeat(ctx, at(40)); err != nil || previous != at(30).UTC() {
		t.Errorf("heartbeat after restart returned %v, %v; want %v", previous, err, at(30).UTC())
	}
	_, err = e.s.CreateRollout(ctx, rolloutOf("1.0.0", "2.0.0", slipway.RolloutProgressing))
	wantErr(t, err, slipway.ErrConflict, fmt.Sprintf("#%d", live.ID))
	stale := live
	stale.Rev--
	_, err = e.s.UpdateRollout(ctx, stale)
	wantErr(t, err, slipway.ErrConflict, "changed since it was read")
	live.Status = slipway.RolloutCompleted
	_, err = e.s.UpdateRollout(ctx, live, slipway.RolloutEvent{Kind: "completed"})
	must(t, err)
	if evs := events(t, e, live.ID); len(evs) != 3 || evs[2].Seq != 3 {
		t.Errorf("events after restart = %+v, want a third with Seq 3", evs)
	}
}
