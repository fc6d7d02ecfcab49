// Package experiment holds the statistics of A/B/n tests and
// champion/challenger rollouts: two or more model versions (arms, the
// first the control) get fixed, sticky shares of the traffic, and a
// primary metric decides which, if any, is better. The controller calls
// Analyze at every tick, so its p-values and intervals are always-valid,
// true at every look, and the chance of ever declaring a false winner is
// at most Alpha however often it looks.
//
//	r, err := experiment.Analyze(arms, now.Sub(start), experiment.Options{
//		MinSamples: 10000, MinDuration: 7 * 24 * time.Hour,
//	})
//	if err == nil && r.Decision == experiment.Winner {
//		promote(arms[r.Winner]) // r.Summary and r.Arms[i].Summary say why
//	}
//
// Everything here is a pure function of its input: no clock, no state,
// no randomness.
//
// # The test
//
// Each challenger is compared with the control by the normal-mixture
// sequential test of stats.TwoMeans (Robbins 1970; Johari, Koomen,
// Pekelis and Walsh, "Always Valid Inference", Operations Research 2022;
// its confidence sequence is the normal-mixture boundary of Howard,
// Ramdas, McAuliffe and Sekhon, Annals of Statistics 2021) on the
// difference of means with the Welch variance V = s²c/nc + s²b/nb; for a
// Binary metric the values are 0 and 1 and the means are rates. Its
// p-value is 1/Λ for the mixture likelihood ratio Λ, and the interval of
// the difference is the set of differences it does not reject.
//
// The relative lift (mc − mb)/|mb| inverts the same family of tests:
// the ratio r = mc/mb is in the interval when the mixture test of
// mc − r·mb = 0, whose variance is vc + r²vb, does not reject, that is
// when (m̂c − r·m̂b)² ≤ c·(vc + r²·vb) with c the boundary's squared z
// (Fieller's construction, Fieller 1954). The mixing variance is set in
// units of the statistic's own variance, so c is the same for every r,
// and the interval is bounded exactly when the test tells the control's
// mean from 0. Since the three come from one family of tests, the
// p-value is at most the comparison's alpha exactly when the interval of
// the difference excludes 0, and, when bounded, the relative interval
// too: a sentence never shows a significant p-value beside an interval
// across 0. testdata/reference.py recomputes the p-values and
// both intervals from the likelihood ratio, with the bounds found by
// root finding, and the Go values agree to 1e-9.
//
// # Deciding
//
// With k arms, each of the k − 1 comparisons with the control runs at
// Alpha/(k − 1) (Bonferroni), and its intervals are 1 − Alpha/(k − 1)
// intervals (97.5% for three arms at Alpha 5%). A challenger is Better
// or Worse when its p-value is at most that level. It wins when it is
// Better and, with three or more arms, also significantly better than
// every other challenger by the same test at the same level, so that the
// winner is the best arm and not merely one of several better than the
// control; when two challengers are both better and cannot be told
// apart there is no winner, and the data say so. No winner is declared
// before every arm has MinSamples observations and MinDuration has
// passed (both the caller's), nor while the sample-ratio check fails.
// Since a winner needs a rejection of "equal to the control", the chance
// of ever declaring a false one is at most Alpha whatever the looks.
//
// The default Tau2, stats.DefaultTau2 = 0.01, suits effects of about a
// tenth of a standard deviation of one observation. A 5% → 6% conversion
// is 0.045 of one; at 20,000 users per arm the boundary on z is then 3.27
// (at Alpha 5%), against 3.08 at Tau2 0.002, tuned to that effect: one
// default serves a wide range of effects at little cost.
//
// # Chance to be best
//
// ArmResult.ProbBest is the posterior probability that the arm's rate or
// mean is the best: Beta(1 + ones, 1 + zeros) posteriors for rates
// (uniform prior), normal posteriors N(mean, s²/n) for means (flat
// prior). P(j best) = ∫ f_j(x) Π_{i≠j} F_i(x) dx is integrated
// numerically, not by Monte Carlo, so it is deterministic: one sweep of
// 8-point Gauss–Legendre panels two standard deviations of the
// narrowest posterior wide, carrying each F_i by integrating its density
// on the same nodes. It agrees with scipy's adaptive quadrature to about
// 1e-8. It is a description for people; it is not always-valid, and the
// decision does not use it.
//
// # Sample-ratio mismatch
//
// CheckSRM compares the assigned units with the configured shares by
// Pearson's chi-square goodness-of-fit test with k − 1 degrees of
// freedom, its tail from the regularized incomplete gamma function
// (series and continued fraction, DLMF 8.11.4 and 8.9.2), agreeing with
// scipy.stats.chisquare to 1e-10 down to p = 1e-88. A split is broken at
// p < 0.001 (DefaultSRMThreshold), the threshold in common use for SRM
// checks (Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online
// Controlled Experiments", KDD 2019): a real mismatch drives p far below
// it within tens of thousands of units (51/49 over 100,000 gives
// p = 2.5e-10), while an honest split trips it at one look in 0.1% of
// experiments and, checked at 100 ticks of an experiment, in 0.4–1.8%
// of them (the looks are strongly correlated). Nothing is flagged until
// every arm expects SRMMinExpected (20) units, where the chi-square
// approximation starts to hold: the first dozen requests of a test,
// from a few users each kept on one arm, once paused a test for a broken
// split that was not. A broken split stops every decision:
// SampleRatioMismatch.
//
// # Guardrails
//
// CheckGuardrail watches a metric that must not degrade by more than a
// relative allowance (errors up at most 10%, revenue down at most 2%):
// Breached when the always-valid interval of the relative degradation
// lies wholly above the allowance, Held when wholly below, Watching
// otherwise. A challenger exactly at the allowance is falsely breached at
// some look with probability at most Alpha/(k − 1).
//
// # Decision quality
//
// Measured by the seeded simulations in simulation_test.go (go test -v
// -run 'AA|Power|SRM|Guardrail'), deciding at every tick of about 200
// users per arm, up to about 20,000 per arm, with no minimums:
//
//   - A/A, false winner: 2 arms at 5% conversion, 1,000 runs: 0.9%; 4 arms
//     at 5%: 0.0% (some challenger ever significant, either way: 2.5%);
//     3 arms at 1%, 500 runs: 0.0%; 2 arms of log-normal revenue, 500
//     runs: 1.2%.
//   - Power, 5% against 6%: 2 arms, 92% of 500 runs find the right winner
//     by 20,000 users per arm (median 7,600 users per arm at the
//     decision); 4 arms (5%, 5%, 5%, 6%, the winner having to beat the two
//     equal challengers too): 67% (median 13,400). No run chose a wrong
//     winner. The fixed-sample z-test with 80% power needs about 8,100
//     users per arm for 5% against 6%, and can be looked at only once.
//   - SRM: 51/49 against 50/50 over 100,000 users flagged in 199 of 200
//     runs; an honest split at one look in 0.12% of 20,000 runs (0.09%
//     with four arms); over 100 looks 0.4% of runs; a 5% loss of one
//     arm's users is caught in 96% of runs by 20,000 users per arm.
//   - Guardrail, errors 1% with a 10% allowance, up to 100,000 requests
//     per arm: a challenger at 1.1% (exactly at the allowance) breached
//     in 0.2% of runs; at 1.3% in 79%.
//
// Analyze with 2 arms of a rate takes about 65 µs (go test -bench .),
// with 4 arms 170 µs, nearly all of it the chances to be best; with means
// 40 and 55 µs.
package experiment
