package analysis

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// Source gives the raw measurements of one version over the look-back
// window ending now, and false when the version has none.
// *telemetry.Recorder is one.
type Source interface {
	Window(model, version string, window time.Duration) (telemetry.Aggregate, bool)
}

var _ Source = (*telemetry.Recorder)(nil)

// Query says what to judge: which versions of which model, over how much
// recent traffic.
type Query struct {
	Model string
	// Candidate is the version being rolled out; Baseline the version it
	// is compared with.
	Candidate, Baseline string
	// Window is the look-back span ending now: the time since the current
	// step started. Telemetry widens it to whole buckets (10 s by
	// default), so it may reach a little before the step; zero or less
	// means all the telemetry kept (an hour by default).
	Window time.Duration
	// Shadow says the candidate only receives mirrored copies of the
	// baseline's traffic and never answers callers: its request metrics
	// are then read from the baseline's shadow comparison, and only then
	// are agreement and score-diff defined. False means the candidate
	// serves live traffic of its own.
	Shadow bool
}

// Judge reads telemetry for a Query and judges metric conditions and
// rollback triggers against it.
type Judge struct {
	// Source supplies the telemetry. Nil means none: every metric is
	// inconclusive.
	Source Source
	// External asks the providers of metrics measured outside slipway.
	// Nil means none: such metrics are inconclusive.
	External *External
}

// Analyze judges every metric against the candidate's (and, for relative
// conditions, the baseline's) telemetry over q.Window. It gathers the
// telemetry on each call; a caller that also checks triggers on the same
// tick should Gather once and use Evidence.Analyze and Evidence.Check.
func (j *Judge) Analyze(q Query, metrics []spec.Metric) slipway.Verdict {
	e := j.Gather(q)
	return e.Analyze(metrics)
}

// Check evaluates each rollback trigger against the telemetry over
// q.Window, returning one Firing per trigger in order.
func (j *Judge) Check(q Query, triggers []spec.Trigger) []Firing {
	e := j.Gather(q)
	return e.Check(triggers)
}

// Gather reads both versions' telemetry over q.Window: two Window calls,
// whose copies are the only memory a judgement needs besides its result.
func (j *Judge) Gather(q Query) Evidence {
	e := Evidence{Query: q, ext: j.External}
	if j.Source == nil {
		return e
	}
	if a, ok := j.Source.Window(q.Model, q.Candidate, q.Window); ok {
		e.Candidate = &a
	}
	if a, ok := j.Source.Window(q.Model, q.Baseline, q.Window); ok {
		e.Baseline = &a
	}
	return e
}

// Evidence is the telemetry one judgement reads. Judging it is a pure
// function of the Evidence and the spec, so a test can build one from
// aggregates directly.
type Evidence struct {
	Query Query
	// Candidate and Baseline are the versions' measurements over the
	// window; nil when the version has recorded nothing. In a shadow step
	// the comparison of the two is Baseline.Shadows[Query.Candidate].
	Candidate, Baseline *telemetry.Aggregate

	ext *External // the providers' answers; nil means none
}

// Analyze judges every metric. The verdict fails when any metric fails,
// is inconclusive when none fails and any is inconclusive, and passes
// otherwise, including when there are no metrics.
func (e *Evidence) Analyze(metrics []spec.Metric) slipway.Verdict {
	v := slipway.Verdict{Window: e.Query.Window}
	if len(metrics) == 0 {
		v.Result, v.Reason = slipway.Pass, "no metrics to judge"
		return v
	}
	v.Metrics = make([]slipway.MetricResult, len(metrics))
	opt := seqOptions(len(metrics))
	for i := range metrics {
		v.Metrics[i] = e.judgeMetric(&metrics[i], opt)
	}
	v.Result, v.Reason = summarize(v.Metrics)
	return v
}

// Firing is the check of one rollback trigger.
type Firing struct {
	Trigger spec.Trigger
	// Result holds the value behind the check: Fail when the trigger
	// fired, Pass when it was checked and did not, Inconclusive when it
	// could not be checked (too few samples, or nothing to measure).
	Result slipway.MetricResult
	// Fired says the trigger's limit was crossed with enough samples: the
	// caller should take Trigger.Action.
	Fired bool
}

// String describes the check for an event or a log line: "error-rate
// above 5%: 6.2% > 5% (n 1000)", "error-rate above 5%: 37 of 100
// requests".
func (f Firing) String() string {
	if f.Result.Result == slipway.Inconclusive {
		return f.Trigger.String() + ": " + f.Result.Reason
	}
	return fmt.Sprintf("%s: %s%s", f.Trigger.String(), f.Result.Reason, samples(&f.Result))
}

// Check evaluates each trigger, returning one Firing per trigger in order.
func (e *Evidence) Check(triggers []spec.Trigger) []Firing {
	out := make([]Firing, len(triggers))
	opt := seqOptions(len(triggers))
	for i := range triggers {
		out[i] = e.checkTrigger(&triggers[i], opt)
	}
	return out
}
