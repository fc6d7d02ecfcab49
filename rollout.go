package slipway

import (
	"encoding/json"
	"time"
)

// RolloutStatus is where a rollout stands.
type RolloutStatus string

// Rollout statuses. The first three are live: at most one live rollout per
// model, and only a live rollout moves traffic.
const (
	// RolloutProgressing: the controller advances the rollout on its own.
	RolloutProgressing RolloutStatus = "progressing"
	// RolloutPaused: weights hold until a person resumes, promotes or
	// aborts; rollback triggers still fire.
	RolloutPaused RolloutStatus = "paused"
	// RolloutAwaitingApproval: the step's time and analysis are through
	// and it waits for `slipway rollout promote`; rollback triggers still
	// fire.
	RolloutAwaitingApproval RolloutStatus = "awaiting-approval"
	// RolloutCompleted: the candidate took all traffic and, when the
	// strategy promotes, the production alias.
	RolloutCompleted RolloutStatus = "completed"
	// RolloutRolledBack: the controller (or a trigger) sent all traffic
	// back to the baseline.
	RolloutRolledBack RolloutStatus = "rolled-back"
	// RolloutAborted: a person sent all traffic back to the baseline; the
	// candidate stays loaded for inspection.
	RolloutAborted RolloutStatus = "aborted"
	// RolloutUndone: a completed rollout was reverted to the version
	// production had before it.
	RolloutUndone RolloutStatus = "undone"
)

// Live reports whether a rollout in status s still moves traffic.
func (s RolloutStatus) Live() bool {
	return s == RolloutProgressing || s == RolloutPaused || s == RolloutAwaitingApproval
}

// Rollout is one deployment of a candidate version against a baseline, as
// the controller persists it before acting on it. The routing table of a
// model with a live rollout is derived from this record alone, so after a
// restart the record is all that is needed to resume.
type Rollout struct {
	ID    int64  `json:"id"`
	Model string `json:"model"`
	// Candidate is the version being rolled out.
	Candidate string `json:"candidate"`
	// Baseline is the version the candidate is compared with and that
	// traffic returns to on rollback, resolved when the rollout starts;
	// BaselineRef is how the spec named it (an alias or a version).
	Baseline    string `json:"baseline"`
	BaselineRef string `json:"baseline_ref"`
	Strategy    string `json:"strategy"`
	// Spec is the deployment spec with every default filled in, as YAML.
	Spec   string        `json:"spec"`
	Status RolloutStatus `json:"status"`
	// Step is the index of the current step of the spec's plan; for a
	// completed rollout it is the last step.
	Step int `json:"step"`
	// StepStarted is when the current step began, shifted forward by the
	// time the rollout spent paused or with the controller down, so that
	// now - StepStarted is the time the step has served.
	StepStarted time.Time `json:"step_started"`
	// PausedAt is when a paused rollout stopped its clock; zero otherwise.
	PausedAt time.Time `json:"paused_at,omitzero"`
	// Previous is the version the production alias pointed at before the
	// rollout completed: what undo returns to. Empty before completion.
	Previous string `json:"previous,omitempty"`
	// Reason says why the rollout is in its status, in a sentence.
	Reason string `json:"reason,omitempty"`
	// Applied reports that the effects of Status outside the routing
	// table (moving the production alias, releasing the old route) are
	// done; the controller finishes them after a crash when false.
	Applied bool `json:"applied"`
	// Rev counts the record's updates; an update that names a stale Rev
	// is refused, so two writers never overwrite each other.
	Rev       int64     `json:"rev"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RolloutEvent is one entry of a rollout's append-only log: a transition
// or a decision, who made it and why.
type RolloutEvent struct {
	Rollout int64 `json:"rollout"`
	// Seq orders a rollout's events; assigned by the store.
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Actor is a person (from the API) or "controller".
	Actor string `json:"actor"`
	// Kind is what happened: started, stage-advanced, approval-needed,
	// paused, resumed, trigger-fired, rolled-back, aborted, completed,
	// promoted, undone, retried, or decision (an analysis outcome that
	// changed nothing but is worth explaining, such as waiting for data).
	Kind string `json:"kind"`
	// Status, Step and Weight are the rollout's after the event; Weight is
	// the candidate's share of live traffic in basis points.
	Status RolloutStatus `json:"status"`
	Step   int           `json:"step"`
	// StepName names Step in the plan.
	StepName string `json:"step_name,omitempty"`
	Weight   int    `json:"weight"`
	Reason   string `json:"reason"`
	// Verdict is the analysis behind a controller decision, when there
	// was one.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// VerdictResult is the outcome of an analysis or of one metric in it.
type VerdictResult string

// Verdict results.
const (
	Pass         VerdictResult = "pass"
	Fail         VerdictResult = "fail"
	Inconclusive VerdictResult = "inconclusive"
)

// Verdict is the judgement of a set of metric conditions over a span of
// live traffic: pass when every metric passes, fail when any fails,
// inconclusive otherwise.
type Verdict struct {
	Result VerdictResult `json:"result"`
	// Reason sums the verdict up in a sentence, naming the metric that
	// decided it.
	Reason  string         `json:"reason"`
	Metrics []MetricResult `json:"metrics,omitempty"`
	// Window is the span of traffic judged; JSON carries it in seconds as
	// window_seconds.
	Window time.Duration `json:"-"`
}

// MetricResult is the judgement of one metric condition (or one rollback
// trigger), with the numbers behind it.
type MetricResult struct {
	// Metric is the catalogue name; Rule is the condition as written, such
	// as "error-rate ≤ 1% (n ≥ 100)" or "trigger: error-rate > 5% → rollback".
	Metric string        `json:"metric"`
	Rule   string        `json:"rule"`
	Result VerdictResult `json:"result"`
	// Candidate and Baseline are the measured values in the metric's unit;
	// nil when not measured (no data, or no baseline needed).
	Candidate *float64 `json:"candidate,omitempty"`
	Baseline  *float64 `json:"baseline,omitempty"`
	// CandidateN and BaselineN are the observations behind each value;
	// MinSamples is what the rule needs of each.
	CandidateN int64 `json:"candidate_n"`
	BaselineN  int64 `json:"baseline_n"`
	MinSamples int   `json:"min_samples"`
	// Reason explains the result: "0.4% ≤ 1%", "37 of 100 samples".
	Reason string `json:"reason"`
	// Test names the statistical test behind the result, when one was
	// used (rates judged from their counts); PValue is its always-valid
	// p-value against "no difference", and Lower and Upper bound its
	// always-valid 95% confidence interval for the effect it estimates
	// (a rate, a ratio of rates, or a difference of rates; nil when
	// unbounded).
	Test   string   `json:"test,omitempty"`
	PValue *float64 `json:"p_value,omitempty"`
	Lower  *float64 `json:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty"`
	// Sentence says it all in words a person reads once: "error rate
	// 2.1% vs 0.9% baseline over 4,812 requests; ratio 2.3×, at least
	// 1.9× with 98.3% confidence; limit above 1.5× baseline: roll back".
	Sentence string `json:"sentence,omitempty"`
}

// MarshalJSON writes Window in seconds, which every reader can use.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		Window float64 `json:"window_seconds"`
	}{plain(v), v.Window.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	type plain Verdict
	var w struct {
		plain
		Window float64 `json:"window_seconds"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = Verdict(w.plain)
	v.Window = time.Duration(w.Window * float64(time.Second))
	return nil
}
