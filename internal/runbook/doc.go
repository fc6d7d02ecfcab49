// Package runbook writes the deployment plan and runbook of a deployment
// spec, as `slipway plan` prints it: what changes between the baseline
// and the candidate and how risky that is, the stored gate tables, the
// stages with the requests each will see at the stated traffic and
// whether that is enough for its analysis to decide, routing, the metrics
// watched, escalation, the exact rollback commands, checklists, success
// criteria and a draft message to stakeholders.
//
// Gather reads the facts from a server through small interfaces; Build
// works the figures out from them alone; Plan.Markdown renders them.
//
// # How much traffic a stage needs
//
// A stage's analysis (package analysis) can pass only when each version
// has minSamples observations of every metric (requests, labelled
// feedback, predictions or mirrored requests), and it fails a candidate
// on a counted rate (error-rate, accuracy) or a latency quantile relative
// to the baseline only when an always-valid sequential test of package
// stats says so with 95% confidence, shared by the stage's conditions.
// Build estimates, for each such condition, the observations at which
// that same test, fed the expected counts of a candidate twice as bad as
// the limit allows, first fails it:
//
//	error-rate ≤ L           stats.OneProportion against L, candidate at 2L
//	error-rate ≤ r×baseline  stats.RiskRatio, candidate at 2r·p (p the
//	                         baseline's rate), baseline at the stage's split
//	accuracy ≥ L, ≥ r×base   OneProportion or TwoProportions, the candidate
//	                         missing twice what the limit allows
//	latency-pXX ≤ r×base     stats.QuantileExceedance, twice the share of
//	                         requests above the line the quantile leaves
//
// With the counts at their expected values the test's statistic sits at
// the middle of its distribution, so the estimate is close to the median
// number of observations a real rollout needs: for an error rate doubled
// from p, 12.8/p against a known rate (stats' simulations: a median of
// 10–12.5/p) and about 15/p against a baseline measured at a 10% canary.
// The tests' confidence is split among the conditions of a stage as the
// analysis splits it. The baseline's error rate comes from live telemetry,
// else 1% is assumed; its accuracy from live feedback, else its training
// metrics, else 90%; the share of requests that get labelled feedback
// from live telemetry, else all of them; every assumption is stated in
// the plan.
//
// A stage has enough traffic when both outcomes (a good candidate passing,
// a worse one failing) come within its duration; only with the extra wait
// when they come within twice its duration, since the controller waits
// that long for an inconclusive analysis; and not enough otherwise, when
// the stage will end inconclusive and pause (or roll back) a good
// candidate.
package runbook
