// Package analysis judges a rollout from live telemetry: it measures the
// metrics a deployment spec names for the candidate and the baseline over
// the current step, and decides whether the step's analysis passes,
// fails or cannot tell yet, and whether a rollback trigger fires.
//
// The rollout controller calls it every tick for every live rollout:
//
//	e := judge.Gather(analysis.Query{Model: "fraud", Candidate: "2", Baseline: "1", Window: sinceStepStart})
//	verdict := e.Analyze(step.Analysis.Metrics)
//	firings := e.Check(spec.Deployment.Rollback.Triggers)
//
// Gather copies each version's telemetry over the window once; judging it
// allocates nothing beyond the verdict it returns.
//
// # Metrics
//
// Values are in the metric's unit, as conditions are written: percent
// metrics in percent (1 is 1%), latency in milliseconds, auc and
// score-shift as fractions. Each value stands on a sample, the n that
// MinSamples counts.
//
//	error-rate        (server errors + timeouts) / requests, in percent. Client
//	                  errors (4xx) are the caller's fault and do not count.
//	                  n: requests.
//	latency-p50/95/99 the quantile of every request's latency, whatever its
//	                  outcome, within 1%. n: requests.
//	latency-mean      the exact total latency / requests. n: requests.
//	throughput        requests / seconds of the span telemetry covered (the
//	                  window widened to whole buckets, cut to the version's
//	                  first request). It grows with the traffic share, so
//	                  compare versions on it only at equal weights.
//	accuracy          correct / labelled predictions, in percent: binary scores
//	                  at the 0.5 threshold, class ids, and argmaxes. n: those
//	                  labels.
//	precision, recall, f1
//	                  from the binary confusion matrix at 0.5, in percent;
//	                  undefined while any labelled score is not binary. n:
//	                  binary labels.
//	auc               the area under the ROC curve from 1,000 score bins per
//	                  label (see telemetry.AUCBins for its small error). n:
//	                  binary labels.
//	log-loss          mean negative log-likelihood of the label, in nats,
//	                  probabilities clipped to [1e-15, 1-1e-15]. n: binary
//	                  labels and labelled class probabilities.
//	mae, rmse         against labelled scores. n: those labels.
//	values.NAME       the mean of the business value NAME per joined feedback,
//	                  or its sum with aggregate: sum (a sum grows with traffic,
//	                  so triggers always take the mean). n: feedback carrying it.
//	confidence-avg    the mean of the largest class probability per row, for
//	                  [rows,k] probability outputs. n: rows.
//	prediction-drift  the PSI of the candidate's outputs against the
//	                  baseline's: for scores in [0,1] over telemetry's 20
//	                  equal-width score bins; for other scores over the
//	                  baseline's deciles; for class ids over the classes (and
//	                  one bin for ids beyond 1,024). n: predictions of each.
//	                  0.1 is worth watching, 0.25 worth acting on.
//	prediction-js     the Jensen-Shannon divergence in bits, 0 (the same) to
//	                  1 (disjoint), over the same bins as prediction-drift:
//	                  bounded and symmetric where the PSI is not, and finite
//	                  when a bin is empty in one version. About 0.05 is worth
//	                  watching, 0.1 worth acting on.
//	feature-drift     the PSI of an input feature over the baseline's
//	                  deciles: the largest over the features both versions saw
//	                  with MinSamples values each, or the feature named by
//	                  `feature`. n: the feature's values in each version.
//	score-shift       the two-sample Kolmogorov-Smirnov distance between the
//	                  versions' scores. n: scores of each.
//	agreement         rows where the shadow chose the baseline's label (same
//	                  side of 0.5, same argmax, same class id) / rows compared,
//	                  in percent. Shadow steps only. n: rows.
//	score-diff        the mean of |baseline − shadow| per row (the largest over
//	                  the classes for probabilities). Shadow steps only. n:
//	                  scores compared.
//
// PSI (population stability index) is Σ (cᵢ − bᵢ)·ln(cᵢ/bᵢ) over the bins,
// cᵢ and bᵢ being the candidate's and the baseline's shares of bin i, each
// at least PSIEpsilon (1e-4) so that an empty bin counts as almost empty.
// Over a sketch the bins are (-∞, d₁], (d₁, d₂], …, (d₉, ∞) at the
// baseline's deciles dₖ (fewer when deciles coincide, as for a feature
// with few values); both versions' sketches share one mapping, so values
// in a bin are counted alike in both, within 2% of the true edges. 0.1 is
// worth watching; 0.25 is worth acting on.
//
// score-shift approximates the Kolmogorov-Smirnov distance sup |F_c − F_b|
// on the sketches: each distribution is read at its 100 quantiles
// (i+½)/100 and replaced by the step function of those points, and the
// distance is the largest gap between the two step functions. That is
// within about 0.01 of the distance between the sketched values, which
// are within 2% of the true ones.
//
// In a shadow step (Query.Shadow) the candidate answers only mirrored
// copies of the baseline's requests, recorded as the baseline's shadow
// comparison. Its error-rate is shadow failures / mirrored requests
// (compared, failed and mismatched), against the baseline's error rate on
// all its traffic, since only requests the baseline answered are
// mirrored; its latencies are the shadow's against the baseline's on the
// same requests (latency-mean from the sketches, within 1%); throughput
// is mirrored requests per second. Its feedback and prediction metrics
// have no data: its answers reach no caller and its predictions are
// compared, not recorded. agreement and score-diff exist only there;
// outside a shadow step they are inconclusive.
//
// # Judgement
//
// A metric is judged on each condition it gives:
//
//   - Absolute bounds (threshold, min, max; see spec.Metric.Bounds): the
//     candidate's value must lie within them. A value on a bound meets it.
//   - relative r: the candidate must be no worse than r times the
//     baseline's value on the side where the metric gets worse: for
//     error-rate, latency, loss and drift, candidate ≤ r·baseline; for
//     accuracy, AUC, throughput and agreement, candidate ≥ r·baseline.
//   - maxIncrease p and maxDecrease p: the candidate must stay within
//     baseline + p% of |baseline|, or above baseline − p% of |baseline|.
//
// A condition is inconclusive, never pass or fail, while the candidate
// has fewer than MinSamples observations, and for relative, maxIncrease
// and maxDecrease also while the baseline has fewer; for drift and
// score-shift, whose value depends on both versions, every condition
// needs MinSamples of each. It is also inconclusive when the value is
// undefined (an AUC without both labels, agreement outside a shadow, an
// unknown feature), with a reason that says why. Drift, score-shift,
// agreement and score-diff already compare the versions, so relative,
// maxIncrease and maxDecrease on them are inconclusive: use threshold.
//
// A metric fails when any of its conditions fails, is inconclusive when
// none fails and any is inconclusive, and passes otherwise. A verdict
// combines its metrics the same way, and an empty list of metrics passes.
//
// A zero baseline: conditions are multiplied out (candidate ≤ r·baseline,
// not candidate/baseline ≤ r), so a baseline of zero needs no ratio. A
// metric that gets worse upwards then requires the candidate to be zero
// as well, and one that gets worse downwards is met by any candidate.
// maxIncrease and maxDecrease on a zero baseline likewise allow no change
// in the limited direction. error-rate is the exception, because a
// baseline of 0 errors in n requests only shows that its rate is below
// about 1/n: in relative, maxIncrease and maxDecrease a zero error rate
// counts as one error in the baseline's n requests. With 0 errors in
// 1,000 baseline requests and relative 1.5, a candidate passes at 0.1%
// (1 in 1,000) and fails at 0.2%.
//
// # Rollback triggers
//
// A trigger fires when the candidate has MinSamples observations (and,
// for relative, the baseline too) and its value is above `above`, below
// `below`, or worse than `relative` times the baseline's, with the rules
// above. Check returns every trigger's check, fired or not, so a caller
// can show them all; Firing.Result is Fail when fired, Pass when checked
// and not, Inconclusive when it could not be checked.
//
// Reasons carry the numbers: "accuracy 91.2% < 0.98× baseline 96.1% (n
// 412/405)", "error-rate inconclusive: 37 of 100 requests". Every value in
// a result is finite, so a verdict always encodes as JSON.
//
// # Rates judged from their counts
//
// error-rate and accuracy are read from their counts, and their limits are
// judged with the always-valid sequential tests of package stats, which stay
// valid when the controller looks at every tick. The conditions of one set
// (a step's metrics, or the rollback triggers) share Alpha (0.05) equally,
// so each of k runs at 0.05/k, shown as its confidence ("98.3%" for three).
// An absolute limit fails only when the candidate's rate is beyond it with
// that confidence
// (stats.OneProportion), error-rate relative to the baseline only when the
// ratio of the rates is above the limit with that confidence
// (stats.RiskRatio, its mixture truncated to ratios above 1: only a worse
// candidate is looked for, which about doubles the evidence for one, and
// is what brings a doubled error rate to a rollback within 12/rate
// requests in bench/decisions), and accuracy relative to the baseline only when the
// difference of the rates is below (r − 1)·baseline with that confidence
// (stats.TwoProportions). A point estimate beyond a limit without that
// confidence is inconclusive: wait for data. The test, its p-value and its
// interval are recorded in the result. A latency quantile relative to the
// baseline's (r > 1) is judged by stats.QuantileExceedance: the candidate's
// requests above r times the baseline's quantile, against the share the
// quantile leaves above it. Other metrics are still judged on their point
// estimates.
// values.NAME as a mean is judged by stats.TwoMeans (the normal-mixture
// test on the difference of the means, from the feedback values' sums and
// sums of squares) against maxIncrease and maxDecrease: it fails only when
// the difference is beyond the limit with confidence.
//
// # Providers and expressions
//
// A metric or trigger with a provider (spec.Provider) is measured outside
// slipway, by a PromQL query or a webhook. External asks in the
// background at most once per provider interval and keeps the last answer,
// so a slow provider never holds up a tick; until the first answer, and
// while Prometheus has no data, the metric is inconclusive. Its samples
// are the versions' requests in slipway's own telemetry, so MinSamples
// holds it back like any other metric. A webhook that answers pass or fail
// decides the metric itself.
//
// An expr condition (spec.CompileExpr) is an expr-lang expression over
// candidate, baseline, candidateN and baselineN, true to pass (for a
// trigger, true to fire); it reads the baseline only when it names it.
//
// # Sentences
//
// Every result carries a Sentence for people: the values, the samples,
// the test's bound when a test decided, the limit and what follows, as
// rollout explain prints it.
//
// # Experiments
//
// Judge.Experiment reads every arm of an A/B test, a bandit or a
// champion-challenger, judges its guardrails (each challenger against the
// control) and then the decision metric with package experiment, or a
// bandit's next allocation with package bandit.
package analysis
