package analysis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/bandit"
	"github.com/slipway-ml/slipway/internal/experiment"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/stats"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// ExperimentQuery asks how an A/B test or a bandit stands: the arms'
// telemetry since it started, read the same way for every arm.
type ExperimentQuery struct {
	Model string
	// Arms are the versions, the control first, and Shares their
	// configured shares of the experiment's traffic (fractions summing to
	// 1): what the sample-ratio check expects.
	Arms   []string
	Shares []float64
	// Experiment is the spec's section: the metric, its kind, the
	// guardrails, the minimums and, for a bandit, the policy.
	Experiment *spec.Experiment
	// Bandit says the shares follow the evidence: Result.Shares is the
	// next allocation.
	Bandit bool
	// Window is the time since the experiment started.
	Window time.Duration
	// Seed makes a bandit's Monte Carlo draws repeatable.
	Seed uint64
	// Segment, when set, reads each arm's traffic in that measured route
	// segment only (telemetry.SegmentSeries): the experiment's audience,
	// whose control version also answers everyone else.
	Segment string
}

// ExperimentResult is one look at an experiment.
type ExperimentResult struct {
	// Verdict holds one result per arm on the primary metric (the control
	// first) and one per guardrail checked on each challenger; its
	// result fails on a guardrail breach, passes on a winner.
	Verdict slipway.Verdict
	// Decision is the A/B test's decision; for a bandit, Continue until
	// the caller ends it.
	Decision experiment.Decision
	// Winner is the winning version (A/B test), or for a bandit the arm
	// most likely to be best; empty when none.
	Winner string
	// Breach is the first guardrail a challenger breached, nil when none.
	Breach *slipway.MetricResult
	// Shares is a bandit's next allocation, in Arms' order; nil for an
	// A/B test.
	Shares []float64
	// Why explains each arm's share, for a bandit.
	Why []string
}

// Experiment reads every arm's telemetry and judges the experiment: its
// guardrails first, then the primary metric by the always-valid test of
// package experiment, or, for a bandit, the next allocation by package
// bandit.
func (j *Judge) Experiment(q ExperimentQuery) (ExperimentResult, error) {
	x := q.Experiment
	res := ExperimentResult{Verdict: slipway.Verdict{Window: q.Window}, Decision: experiment.Continue}
	aggs := make([]*telemetry.Aggregate, len(q.Arms))
	if j.Source != nil {
		for i, v := range q.Arms {
			if q.Segment != "" {
				v = telemetry.SegmentSeries(v, q.Segment)
			}
			if a, ok := j.Source.Window(q.Model, v, q.Window); ok {
				aggs[i] = &a
			}
		}
	}

	// Guardrails: each challenger against the control, sharing alpha over
	// every check.
	opt := seqOptions(len(x.Guardrails) * max(len(q.Arms)-1, 1))
	var guard []slipway.MetricResult
	for i := 1; i < len(q.Arms); i++ {
		e := Evidence{Query: Query{Model: q.Model, Candidate: q.Arms[i], Baseline: q.Arms[0], Window: q.Window},
			Candidate: aggs[i], Baseline: aggs[0], ext: j.External}
		for k := range x.Guardrails {
			r := e.judgeMetric(&x.Guardrails[k], opt)
			r.Rule = q.Arms[i] + ": guardrail " + r.Rule
			guard = append(guard, r)
			if r.Result == slipway.Fail && res.Breach == nil {
				b := r
				res.Breach = &b
			}
		}
	}

	arms := make([]experiment.Arm, len(q.Arms))
	for i, v := range q.Arms {
		arms[i] = experiment.Arm{Name: v, Share: q.Shares[i]}
		if a := aggs[i]; a != nil {
			arms[i].Assigned = a.Requests
			arms[i].Values = primaryValues(a, x.Metric)
		}
	}
	kind := experiment.Continuous
	if x.Binary {
		kind = experiment.Binary
	}
	if q.Bandit {
		return j.allocate(q, arms, guard, res)
	}
	out, err := experiment.Analyze(arms, q.Window, experiment.Options{
		Metric:     experiment.Metric{Kind: kind, LowerIsBetter: x.LowerIsBetter},
		MinSamples: int64(x.MinSamples), MinDuration: time.Duration(x.MinDuration), Unit: "requests",
	})
	if err != nil {
		return res, fmt.Errorf("experiment of %s: %w", q.Model, err)
	}
	res.Decision = out.Decision
	if out.Winner >= 0 {
		res.Winner = q.Arms[out.Winner]
	}
	for i, a := range out.Arms {
		res.Verdict.Metrics = append(res.Verdict.Metrics, armResult(x, q.Arms[0], a, i == 0))
	}
	res.Verdict.Metrics = append(res.Verdict.Metrics, guard...)
	switch {
	case res.Breach != nil:
		res.Verdict.Result, res.Verdict.Reason = slipway.Fail, res.Breach.Rule+": "+res.Breach.Reason
	case out.Decision == experiment.Winner:
		res.Verdict.Result, res.Verdict.Reason = slipway.Pass, out.Summary
	case out.Decision == experiment.KeepControl || out.Decision == experiment.SampleRatioMismatch:
		res.Verdict.Result, res.Verdict.Reason = slipway.Fail, out.Summary
	default:
		res.Verdict.Result, res.Verdict.Reason = slipway.Inconclusive, out.Summary
	}
	return res, nil
}

// primaryValues are an arm's observations of the experiment's metric.
func primaryValues(a *telemetry.Aggregate, metric string) stats.Moments {
	sc := a.Reward
	if metric != spec.RewardMetric {
		sc = a.Values[strings.TrimPrefix(metric, spec.ValuesPrefix)]
	}
	return stats.Moments{N: sc.N, Sum: sc.Sum, SumSq: sc.SumSq}
}

// armResult is one arm's standing as a metric result, for status and
// explain.
func armResult(x *spec.Experiment, control string, a experiment.ArmResult, isControl bool) slipway.MetricResult {
	v := a.Value
	r := slipway.MetricResult{
		Metric: x.Metric, Rule: fmt.Sprintf("arm %s vs control %s", a.Name, control),
		Candidate: &v, CandidateN: a.N, MinSamples: x.MinSamples,
		Reason: fmt.Sprintf("%s; %.0f%% likely best", a.Verdict, 100*a.ProbBest), Sentence: a.Summary,
		Result: slipway.Inconclusive,
	}
	if isControl {
		r.Rule = "arm " + a.Name + " (control)"
		return r
	}
	c := a.VsControl
	r.Test = stats.TestTwoMeans
	r.PValue, r.Lower, r.Upper = finite(c.PValue), finite(c.Lower), finite(c.Upper)
	switch a.Verdict {
	case experiment.Won, experiment.Better:
		r.Result = slipway.Pass
	case experiment.Worse:
		r.Result = slipway.Fail
	}
	return r
}

// allocate is a bandit's tick: the next shares from each arm's rewards,
// with the floor, and the arm most likely to be best.
func (j *Judge) allocate(q ExperimentQuery, arms []experiment.Arm, guard []slipway.MetricResult, res ExperimentResult) (ExperimentResult, error) {
	x := q.Experiment
	model := bandit.Bernoulli
	if !x.Binary {
		model = bandit.Gaussian
	}
	eps := x.Epsilon
	policy, err := bandit.New(x.Policy, bandit.Options{Model: model, Epsilon: &eps})
	if err != nil {
		return res, err
	}
	names := make([]string, len(arms))
	evidence := make([]bandit.Arm, len(arms))
	for i, a := range arms {
		names[i] = a.Name
		evidence[i] = bandit.Arm{Pulls: a.Values.N, Sum: a.Values.Sum, SumSq: a.Values.SumSq}
	}
	al := bandit.Allocator{Policy: policy, Model: model, Floor: float64(x.Floor) / 100}
	status, err := al.Allocate(names, evidence, rand.New(rand.NewPCG(q.Seed, 0x5eed)))
	if err != nil {
		return res, fmt.Errorf("bandit of %s: %w", q.Model, err)
	}
	best := 0
	for i, s := range status {
		res.Shares = append(res.Shares, s.Share)
		res.Why = append(res.Why, s.Why())
		if s.ProbBest > status[best].ProbBest {
			best = i
		}
		mean := s.Mean
		res.Verdict.Metrics = append(res.Verdict.Metrics, slipway.MetricResult{
			Metric: x.Metric, Rule: fmt.Sprintf("arm %s: %.1f%% of traffic", s.Name, 100*s.Share),
			Candidate: &mean, CandidateN: s.Rewards, Result: slipway.Inconclusive,
			Reason:   fmt.Sprintf("%.0f%% likely best", 100*s.ProbBest),
			Sentence: s.Why(),
		})
	}
	res.Winner = names[best]
	res.Verdict.Metrics = append(res.Verdict.Metrics, guard...)
	res.Verdict.Result, res.Verdict.Reason = slipway.Inconclusive, fmt.Sprintf("%s leads: %s", names[best], status[best].Why())
	if res.Breach != nil {
		res.Verdict.Result, res.Verdict.Reason = slipway.Fail, res.Breach.Rule+": "+res.Breach.Reason
	}
	return res, nil
}
