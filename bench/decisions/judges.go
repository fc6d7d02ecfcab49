package main

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// A judge decides, at the end of second tick of a stage, whether to roll
// the candidate back, from each version's telemetry since the stage
// started (c the candidate's, b the baseline's). It is called once a tick,
// in order, until it fires, so it may keep state between calls. why starts
// with the name of the metric that decided, as analysis.Firing.String
// does: "error-rate above 1.5× baseline: …".
type judge func(c, b *telemetry.Aggregate, tick int) (fired bool, why string)

// A judgeKind is one row of the table per scenario.
type judgeKind struct {
	name string
	// rules describes what the judge checks, one line per rule.
	rules []string
	// start returns a fresh judge for one run.
	start func() judge
	// reference marks the rule of today's tools, which the others are
	// compared with.
	reference bool
}

// judgeKinds are the judges compared, on the same streams. A new judge
// is one more entry.
func judgeKinds() []judgeKind {
	return []judgeKind{
		triggerKind("slipway triggers, minSamples 100", userTriggers(spec.DefaultMinSamples)),
		triggerKind("slipway triggers, minSamples 1000", userTriggers(1000)),
		triggerKind("slipway strict triggers", strictTriggers()),
		fixedErrorRateKind(1, 60),
	}
}

// strictTriggers roll back on any regression slipway is confident of:
// error rate and accuracy at all worse than the baseline's (relative 1,
// which the sequential tests judge as "worse with 95% confidence"), and a
// p99 more than 5% slower, with the default minSamples.
func strictTriggers() []spec.Trigger {
	trigger := func(metric string, relative float64) spec.Trigger {
		return spec.Trigger{Metric: metric, Relative: &relative, Action: spec.ActionRollback, MinSamples: spec.DefaultMinSamples}
	}
	return []spec.Trigger{
		trigger("error-rate", 1),
		trigger("latency-p99", 1.05),
		trigger("accuracy", 1),
	}
}

// userTriggers are the rollback triggers a careful user writes for this
// service: every limit relative to the baseline (so a baseline's own
// errors, tail and hard cases do not count against the candidate), each a
// margin short of the regression it is meant to catch (2× errors, p99
// +30%, accuracy −5 points of 90%), all with action rollback.
func userTriggers(minSamples int) []spec.Trigger {
	trigger := func(metric string, relative float64) spec.Trigger {
		return spec.Trigger{Metric: metric, Relative: &relative, Action: spec.ActionRollback, MinSamples: minSamples}
	}
	return []spec.Trigger{
		trigger("error-rate", 1.5),
		trigger("latency-p99", 1.2),
		trigger("accuracy", 0.97),
	}
}

// triggerKind judges as the rollout controller does every tick: it checks
// the rollback triggers on the stage's telemetry (analysis.Evidence.Check)
// and rolls back on the first that fires with action rollback. The
// stage's analysis, which acts only once the stage's time is served, is
// not part of it.
func triggerKind(name string, triggers []spec.Trigger) judgeKind {
	k := judgeKind{name: name, start: func() judge { return triggerJudge(triggers) }}
	for _, t := range triggers {
		k.rules = append(k.rules, fmt.Sprintf("%s, minSamples %d, action %s", t, t.MinSamples, t.Action))
	}
	return k
}

func triggerJudge(triggers []spec.Trigger) judge {
	return func(c, b *telemetry.Aggregate, tick int) (bool, string) {
		e := analysis.Evidence{
			Query:     analysis.Query{Model: "bench", Candidate: "candidate", Baseline: "baseline", Window: time.Duration(tick) * time.Second},
			Candidate: c,
			Baseline:  b,
		}
		for _, f := range e.Check(triggers) {
			if f.Fired && f.Trigger.Action == spec.ActionRollback {
				return true, f.String()
			}
		}
		return false, ""
	}
}

// fixedErrorRateKind is the rule of today's tools: fail when the
// candidate's error rate over the last secs seconds exceeds limit
// percent, one strike. It checks every tick once a whole window has
// passed (those tools query a rate over the window, and start checking
// after one).
func fixedErrorRateKind(limit float64, secs int) judgeKind {
	return judgeKind{
		name:      fmt.Sprintf("fixed: %d s error rate > %g%%", secs, limit),
		rules:     []string{fmt.Sprintf("candidate's error rate over the last %d s above %g%%, checked every second from %d s on, one strike", secs, limit, secs)},
		start:     func() judge { return fixedErrorRateJudge(limit, secs) },
		reference: true,
	}
}

func fixedErrorRateJudge(limit float64, secs int) judge {
	// The candidate's cumulative requests and errors at the last secs+1
	// ticks, by tick modulo secs+1; tick 0 is all zeros.
	requests := make([]int64, secs+1)
	errs := make([]int64, secs+1)
	return func(c, _ *telemetry.Aggregate, tick int) (bool, string) {
		i := tick % (secs + 1)
		requests[i], errs[i] = c.Requests, c.ServerErrors+c.Timeouts
		if tick < secs {
			return false, ""
		}
		j := (tick - secs) % (secs + 1)
		n, e := requests[i]-requests[j], errs[i]-errs[j]
		if n == 0 || 100*float64(e) <= limit*float64(n) {
			return false, ""
		}
		return true, fmt.Sprintf("error-rate over %d s %.3g%% > %g%% (%d of %d)", secs, 100*float64(e)/float64(n), limit, e, n)
	}
}
