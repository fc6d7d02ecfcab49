package spec

import (
	"slices"
)

// Spec is a whole deployment spec file.
type Spec struct {
	Deployment Deployment `yaml:"deployment"`

	pos map[string]Pos // where each given field sits, for Check's errors
}

// Strategy names how the candidate reaches production.
type Strategy string

// The strategies slipway runs.
const (
	// Canary: the candidate takes a growing share of live traffic, stage by
	// stage, each checked before the next; the last stage goes to 100%.
	Canary Strategy = "canary"
	// Linear: a canary whose stages are equal steps (10%, 20%, … 100%).
	Linear Strategy = "linear"
	// BlueGreen: the candidate is loaded at 0% and reachable for smoke
	// tests, checked, then switched to 100% at once with the baseline kept
	// warm for an instant rollback.
	BlueGreen Strategy = "blue-green"
	// Shadow: the candidate receives a mirror of live traffic and never
	// answers users; its outputs are compared with the baseline's. It may
	// continue into a canary or a linear rollout.
	Shadow Strategy = "shadow"
	// ABTest: the baseline (the control) and one or more challengers get
	// fixed shares, each user sticky to one arm, until one wins on the
	// experiment's metric with always-valid significance, a guardrail is
	// breached, or the duration ends.
	ABTest Strategy = "ab-test"
	// Bandit: the arms' shares follow the evidence, recomputed every tick
	// with a floor per arm; at the end the best arm is promoted.
	Bandit Strategy = "bandit"
	// ChampionChallenger runs for good: the champion (the baseline's
	// alias) serves most traffic, challengers small shares; a challenger
	// that beats the champion with significance becomes champion (the
	// alias moves), one that loses or runs out of time is retired, and new
	// challengers can join the running rollout.
	ChampionChallenger Strategy = "champion-challenger"
)

// Strategies planned but not yet run; naming one is a clear error.
var reservedStrategies []Strategy

// Action is what a rollback trigger or an inconclusive analysis does.
type Action string

// Actions.
const (
	// ActionPause holds the rollout at its current weights until a person
	// resumes, promotes or aborts it.
	ActionPause Action = "pause"
	// ActionRollback sends all traffic back to the baseline at once.
	ActionRollback Action = "rollback"
)

var actions = []string{string(ActionPause), string(ActionRollback)}

// Defaults.
const (
	// DefaultMinSamples is the number of observations (requests, or
	// labelled feedback for quality metrics) each version needs before a
	// metric can pass or fail; with fewer, the metric is inconclusive.
	DefaultMinSamples = 100
	// FinalStage names the 100% stage added when the last stage is below
	// 100%.
	FinalStage = "full"
	// MaxStages bounds a rollout's stages, written or expanded from linear.
	MaxStages = 100
	// MaxDuration bounds any one duration in a spec.
	MaxDuration = Duration(365 * 24 * 60 * 60 * 1e9)
	// MinWeight is the smallest stage weight, in percent.
	MinWeight Percent = 0.1
)

// Deployment is the body of a spec. Exactly the sections of its strategy
// may be given: Stages for canary (and shadow then canary), Linear for
// linear (and shadow then linear), BlueGreen for blue-green, Shadow for
// shadow.
type Deployment struct {
	// Model is the model's name. Required.
	Model string `yaml:"model"`
	// Version is the candidate version. Required.
	Version string `yaml:"version"`
	// Baseline is what the candidate is compared with and what traffic
	// returns to on rollback: an alias or a version. Default "production".
	Baseline string `yaml:"baseline"`
	// Strategy defaults to canary.
	Strategy Strategy `yaml:"strategy"`
	// Sticky is the key that pins each user to one version while the
	// candidate takes a share of traffic: "header:NAME" or "param:NAME"
	// (an OIP request parameter). Default "header:X-User-Id". Requests
	// without the key are split at random.
	Sticky string `yaml:"sticky"`

	// Shadow is the shadow strategy's mirror. Nil otherwise.
	Shadow *ShadowMirror `yaml:"shadow,omitempty"`
	// Stages are the canary's stages in order, with weights that increase.
	// When the last is below 100%, Parse appends the stage FinalStage at
	// 100% (no duration, no analysis): reaching it completes the rollout.
	// For linear (and shadow then linear) Parse fills Stages from Linear.
	Stages []Stage `yaml:"stages,omitempty"`
	// Linear is the linear strategy's step and interval. Nil otherwise.
	Linear *LinearSteps `yaml:"linear,omitempty"`
	// BlueGreen is the blue-green strategy's phases. Nil otherwise.
	BlueGreen *BlueGreenPhases `yaml:"blueGreen,omitempty"`
	// Experiment is the ab-test and bandit strategies' arms and metric.
	// Nil otherwise.
	Experiment *Experiment `yaml:"experiment,omitempty"`

	// Rollback is the triggers checked throughout the rollout. None by
	// default: then only a failed stage analysis rolls back.
	Rollback Rollback `yaml:"rollback,omitempty"`
	// Notifications are where events are sent. None by default.
	Notifications []Notification `yaml:"notifications,omitempty"`
	// Gates are the pre-deployment gates; kept as given until the gate
	// package defines them. Nil when absent.
	Gates map[string]any `yaml:"gates,omitempty"`
}

func (d *Deployment) setDefaults() {
	d.Baseline = "production"
	d.Strategy = Canary
	d.Sticky = DefaultSticky
}

// DefaultSticky is the sticky key when the spec names none.
const DefaultSticky = "header:X-User-Id"

// Stage is one step of a canary: the candidate's share of live traffic,
// how long it holds, and what must be true to move on.
type Stage struct {
	// Name is unique in the rollout. Default "stage-N" (N counts from 1).
	Name string `yaml:"name"`
	// Weight is the candidate's share of live traffic, from 0.1 to 100
	// percent, above the previous stage's. Required.
	Weight Percent `yaml:"weight"`
	// Duration is how long the stage lasts before it may advance. Required
	// and positive, except in a stage at 100% (zero: complete at once)
	// and a stage with Approval (zero: wait for the person only).
	Duration Duration `yaml:"duration,omitempty"`
	// Approval makes the stage wait, once its duration has passed and its
	// analysis passed, for a person to promote it
	// (`slipway rollout promote`). Default false.
	Approval bool `yaml:"approval,omitempty"`
	// Promotion is what must hold for the stage to advance.
	Promotion Promotion `yaml:"promotion,omitempty"`

	// Added marks a stage the spec did not write: the final 100% stage,
	// or a stage expanded from Linear.
	Added bool `yaml:"-"`
}

// Promotion is a stage's condition to advance.
type Promotion struct {
	// Analysis must pass for the stage to advance. Without metrics the
	// stage advances when its duration has passed.
	Analysis Analysis `yaml:"analysis,omitempty"`
}

// Analysis is a set of metric conditions judged together: it passes when
// every metric passes, fails when any fails, and is inconclusive
// otherwise (too little data never fails, and never passes).
type Analysis struct {
	// Metrics are the conditions. At least one when Analysis is given.
	Metrics []Metric `yaml:"metrics,omitempty"`
	// Inconclusive is what happens when the stage's time is up and the
	// analysis has not passed or failed. Default pause.
	Inconclusive Action `yaml:"inconclusive,omitempty"`
}

func (a *Analysis) setDefaults() { a.Inconclusive = ActionPause }

// Empty reports whether a has no metrics.
func (a Analysis) Empty() bool { return len(a.Metrics) == 0 }

// Metric is one condition on a metric of the catalogue (see Metrics),
// written in the metric's unit. Absolute conditions bound the candidate's
// value; relative ones compare it with the baseline's over the same time.
// At least one condition is required; every given condition must hold.
type Metric struct {
	// Name is a catalogue metric or values.NAME. Required.
	Name string `yaml:"name"`
	// Threshold bounds the value on the side where the metric gets worse:
	// an upper bound for errors, latency, loss and drift, a lower bound for
	// throughput, accuracy, AUC and agreement. Not for values.NAME.
	Threshold *float64 `yaml:"threshold,omitempty"`
	// Min and Max bound the value from below and above.
	Min *float64 `yaml:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty"`
	// Relative limits the ratio candidate/baseline on the side where the
	// metric gets worse: 1.5 on latency fails a candidate 1.5× slower;
	// 0.95 on accuracy fails one below 95% of the baseline's. Not for
	// values.NAME (use MaxIncrease or MaxDecrease).
	Relative *float64 `yaml:"relative,omitempty"`
	// MaxIncrease and MaxDecrease limit the change from the baseline's
	// value, in percent of it: maxIncrease: 20% fails a candidate 20%
	// above the baseline.
	MaxIncrease *Percent `yaml:"maxIncrease,omitempty"`
	MaxDecrease *Percent `yaml:"maxDecrease,omitempty"`
	// MinSamples is the observations each version needs before the metric
	// can pass or fail. Default DefaultMinSamples; 0 means none.
	MinSamples int `yaml:"minSamples"`
	// Feature names the input feature of feature-drift. Default: every
	// feature, judged by the largest drift.
	Feature string `yaml:"feature,omitempty"`
	// Aggregate is how values.NAME combines feedback: mean or sum.
	// Default mean; only for values.NAME.
	Aggregate string `yaml:"aggregate,omitempty"`
	// Expr is a condition in expr-lang over the measured values (see
	// CompileExpr): the metric passes only when it is true.
	Expr string `yaml:"expr,omitempty"`
	// Provider measures the metric outside slipway's telemetry. Nil
	// means the built-in telemetry.
	Provider *Provider `yaml:"provider,omitempty"`
}

func (m *Metric) setDefaults() { m.MinSamples = DefaultMinSamples }

// Info is the catalogue entry of m's metric; for a provider's metric
// outside the catalogue, a value with no better side; the zero MetricInfo
// for an unknown name (which Parse refuses).
func (m Metric) Info() MetricInfo { return metricInfo(m.Name, m.Provider) }

func metricInfo(name string, p *Provider) MetricInfo {
	if p != nil {
		return externalInfo(name)
	}
	info, _ := LookupMetric(name)
	return info
}

// Bounds folds Threshold into Min and Max by the metric's direction: the
// absolute range the candidate's value must stay in. Nil means unbounded.
func (m Metric) Bounds() (lo, hi *float64) {
	lo, hi = m.Min, m.Max
	if m.Threshold != nil {
		switch m.Info().Better {
		case LowerBetter:
			hi = m.Threshold
		case HigherBetter:
			lo = m.Threshold
		}
	}
	return lo, hi
}

// LinearSteps expands into equal canary stages: Step, 2×Step, … up to
// 100%, each lasting Every.
type LinearSteps struct {
	// Step is each stage's increase of weight; it must divide 100%.
	// Required.
	Step Percent `yaml:"step"`
	// Every is each stage's duration. Required.
	Every Duration `yaml:"every"`
	// Analysis is checked at every step.
	Analysis Analysis `yaml:"analysis,omitempty"`
}

// BlueGreenPhases are the two checks around a blue-green switch.
type BlueGreenPhases struct {
	// Preview runs before the switch, with the candidate at 0% and
	// reachable only by a pinned route or header. It needs a duration, an
	// approval, or both: the switch must wait for something.
	Preview Phase `yaml:"preview"`
	// KeepWarm keeps the baseline loaded after the switch until
	// PostPromotion passes, so a rollback is instant. Default true.
	KeepWarm bool `yaml:"keepWarm"`
	// PostPromotion runs after the switch, with the candidate at 100%.
	// Optional; a rollback in it returns all traffic to the baseline.
	PostPromotion Phase `yaml:"postPromotion,omitempty"`
}

func (b *BlueGreenPhases) setDefaults() { b.KeepWarm = true }

// Phase is a blue-green check: how long, what must pass, and whether a
// person must approve the next step.
type Phase struct {
	Duration Duration `yaml:"duration,omitempty"`
	Approval bool     `yaml:"approval,omitempty"`
	Analysis Analysis `yaml:"analysis,omitempty"`
}

// ShadowMirror is the shadow strategy: a share of live traffic copied to
// the candidate, whose answers are compared but never returned.
type ShadowMirror struct {
	// Mirror is the share of live traffic copied, in percent. Default 100.
	Mirror Percent `yaml:"mirror"`
	// Duration is how long the shadow runs. Required.
	Duration Duration `yaml:"duration"`
	// Analysis compares the candidate with the baseline; it may use the
	// shadow-only metrics agreement and score-diff.
	Analysis Analysis `yaml:"analysis,omitempty"`
	// Then is what follows a passed shadow: "" (stop; the candidate is not
	// promoted), "canary" (the deployment's stages) or "linear" (the
	// deployment's linear steps).
	Then Strategy `yaml:"then,omitempty"`
}

func (s *ShadowMirror) setDefaults() { s.Mirror = 100 }

// Rollback is the triggers checked at every tick of every stage.
type Rollback struct {
	Triggers []Trigger `yaml:"triggers,omitempty"`
}

// Trigger acts when one metric crosses one limit. Exactly one of Above,
// Below, Relative and Expr is given.
type Trigger struct {
	// Metric is a catalogue metric or values.NAME. Required.
	Metric string `yaml:"metric"`
	// Above fires when the candidate's value exceeds it (for metrics that
	// get worse upwards, and values.NAME).
	Above *float64 `yaml:"above,omitempty"`
	// Below fires when the candidate's value falls under it (for metrics
	// that get worse downwards, and values.NAME).
	Below *float64 `yaml:"below,omitempty"`
	// Relative fires when the ratio candidate/baseline is worse than it:
	// above it for errors and latency (so it is at least 1), below it for
	// accuracy and the like (so at most 1).
	Relative *float64 `yaml:"relative,omitempty"`
	// Expr fires when the expression (see CompileExpr) is true.
	Expr string `yaml:"expr,omitempty"`
	// Provider measures the metric outside slipway's telemetry. Nil
	// means the built-in telemetry.
	Provider *Provider `yaml:"provider,omitempty"`
	// Action is pause or rollback. Default rollback.
	Action Action `yaml:"action"`
	// Notify sends the notifications an alert naming this trigger, its
	// value and its limit when it fires. Default false.
	Notify bool `yaml:"notify,omitempty"`
	// MinSamples is the observations the candidate (and, for Relative, the
	// baseline) needs before the trigger can fire. Default
	// DefaultMinSamples.
	MinSamples int `yaml:"minSamples"`
}

func (t *Trigger) setDefaults() {
	t.Action = ActionRollback
	t.MinSamples = DefaultMinSamples
}

// Info is the catalogue entry of t's metric (see Metric.Info).
func (t Trigger) Info() MetricInfo { return metricInfo(t.Metric, t.Provider) }

// Notification is a webhook that receives rollout events.
type Notification struct {
	// Webhook is an http or https URL that receives a JSON POST per event.
	// Required.
	Webhook string `yaml:"webhook"`
	// Slack sends Slack-compatible messages ({"text": …}) instead of
	// slipway's event JSON. Default false.
	Slack bool `yaml:"slack,omitempty"`
	// Events filters what is sent. Default: all of Events.
	Events []string `yaml:"events,omitempty"`
}

// Events are the rollout events a notification can receive.
var Events = []string{
	"started", "stage-advanced", "approval-needed", "paused", "resumed",
	"trigger-fired", "rolled-back", "aborted", "completed",
}

func knownStrategies() []string {
	var out []string
	for _, s := range []Strategy{Canary, BlueGreen, Shadow, Linear, ABTest, Bandit, ChampionChallenger} {
		out = append(out, string(s))
	}
	return out
}

func isReserved(s Strategy) bool { return slices.Contains(reservedStrategies, s) }
