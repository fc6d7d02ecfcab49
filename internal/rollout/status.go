package rollout

import (
	"time"

	"github.com/slipway-ml/slipway"
)

// Actions a person can take on a rollout (`slipway rollout ACTION MODEL`).
const (
	ActionPromote = "promote"
	ActionPause   = "pause"
	ActionResume  = "resume"
	ActionAbort   = "abort"
	ActionUndo    = "undo"
	ActionRetry   = "retry"
)

// Actions lists every action, in the order help texts show them.
var Actions = []string{ActionPromote, ActionPause, ActionResume, ActionAbort, ActionUndo, ActionRetry}

// Request is a person's action on a model's rollout.
type Request struct {
	Model  string
	Action string // one of Actions
	// Full, with promote, skips every remaining step and goes to 100% at
	// once; without it promote moves to the next step (and approves a
	// step that waits for a person).
	Full   bool
	Actor  string
	Reason string
}

// Status is a rollout as `slipway rollout status` shows it: the stored
// record, its plan, where it stands in it, and the latest judgements.
type Status struct {
	Rollout slipway.Rollout `json:"rollout"`
	Steps   []StepView      `json:"steps"`
	// Weight is the candidate's share of live traffic now, and Mirror the
	// share copied to it, both in basis points (10000 is all).
	Weight int `json:"weight"`
	Mirror int `json:"mirror"`
	// Elapsed is how long the current step has served (its clock stops
	// while paused); Remaining is what is left of its duration, zero when
	// the duration has passed.
	Elapsed   time.Duration `json:"-"`
	Remaining time.Duration `json:"-"`
	// ElapsedSeconds and RemainingSeconds carry the two in JSON.
	ElapsedSeconds   float64 `json:"elapsed_seconds"`
	RemainingSeconds float64 `json:"remaining_seconds"`
	// Verdict is the latest analysis of the current step; nil before the
	// first, and for a rollout that has ended.
	Verdict *slipway.Verdict `json:"verdict,omitempty"`
	// Triggers are the latest checks of the rollback triggers.
	Triggers []slipway.MetricResult `json:"triggers,omitempty"`
	// Waiting says, for a live rollout, what it waits for before it moves
	// on: "12m30s of stage canary", "approval", "a person to resume",
	// "120 more labelled samples of accuracy".
	Waiting string `json:"waiting,omitempty"`
	// Notifications are the deliveries to the spec's webhooks so far, so
	// that a failing webhook shows where people look.
	Notifications []NotificationStatus `json:"notifications,omitempty"`
}

// NotificationStatus is what became of the events sent to one webhook.
type NotificationStatus struct {
	// Webhook is the URL with its path hidden: webhook paths (Slack's)
	// are secrets.
	Webhook string `json:"webhook"`
	Slack   bool   `json:"slack,omitempty"`
	Sent    int64  `json:"sent"`
	Failed  int64  `json:"failed"`
	Dropped int64  `json:"dropped"`
	// Failing reports that the last delivery failed, for LastError.
	Failing   bool   `json:"failing"`
	LastError string `json:"last_error,omitempty"`
}

// StepView is one step of a rollout's plan.
type StepView struct {
	Name string `json:"name"`
	// Kind is shadow, preview, canary or switch.
	Kind string `json:"kind"`
	// Weight and Mirror are the candidate's shares in basis points.
	Weight          int     `json:"weight"`
	Mirror          int     `json:"mirror,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	Approval        bool    `json:"approval,omitempty"`
	// Analysis lists the step's metric conditions as written, such as
	// "error-rate ≤ 1% (n ≥ 100)".
	Analysis []string `json:"analysis,omitempty"`
}

// DryRun is what `slipway deploy --dry-run` shows: the spec with every
// default filled in and the plan of steps, rendered for people.
type DryRun struct {
	Spec  string     `json:"spec"`
	Plan  string     `json:"plan"`
	Steps []StepView `json:"steps"`
	// DurationSeconds is the expected length, approvals taking no time.
	DurationSeconds float64 `json:"duration_seconds"`
}
