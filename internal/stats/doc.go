// Package stats holds the statistics behind slipway's verdicts: sequential
// tests that stay valid when checked at every tick, the classical
// fixed-sample tests that reports quote and the cross-checks use, and
// drift measures. Every function is pure, keeps no state and reads no
// clock; all but the Kolmogorov–Smirnov p-value allocate nothing.
//
// # Which test for which metric
//
//	rates and proportions    TwoProportions (candidate against baseline),
//	  (errors, accuracy,     RiskRatio (the same by their ratio; best for
//	  conversion)            rare events and small canaries),
//	                         OneProportion (against a known rate)
//	latency                  QuantileExceedance (a quantile against the
//	                         baseline's, with a tolerance)
//	continuous values        TwoMeans
//	distributions            PSI, JSDistance, KolmogorovSmirnov
//
// # Sequential tests
//
// A test that is checked at every tick and acted on the first time it
// rejects needs a p-value that is valid at a stopping time of the
// checker's choosing. The sequential tests here are mixture sequential
// probability ratio tests (mSPRT; Robbins 1970; Johari, Koomen, Pekelis
// and Walsh, "Always Valid Inference: Continuous Monitoring of A/B
// Tests", Operations Research, 2022): the likelihood ratio Λₙ of the data
// under a mixture of alternatives against the null is a nonnegative
// martingale of mean 1 under the null, so by Ville's inequality (Ville
// 1939) P(Λₙ ≥ 1/α for some n) ≤ α. The always-valid p-value at a look is
// pₙ = min(1, 1/Λₙ), and the always-valid confidence interval is the set
// of null values that the test would not reject. Running carries the
// running minimum p-value and the intersection of intervals from look to
// look, as Johari et al. define them; rejecting the first time PValue ≤
// Alpha (SeqResult.Rejects) is the same decision.
//
// Normal mixture. For an estimate θ̂ approximately N(θ, V), a null θ₀
// and the mixing distribution N(θ₀, τ²),
//
//	Λ = √(V/(V + τ²)) · exp(τ²(θ̂ − θ₀)² / (2V(V + τ²)))      (Johari et al.)
//
// The mixing variance is set in units of one observation's variance:
// τ² = Tau2·t·V, where t is the information (the number of observations,
// or nc·nb/(nc + nb) for two arms), so V·t is one observation's variance.
// Then, with k = Tau2 and z = (θ̂ − θ₀)/√V,
//
//	ln Λ = z²·kt / (2(1 + kt)) − ½ ln(1 + kt),
//	interval θ̂ ± √(2V·(1 + kt)/kt · (ln(1/α) + ½ ln(1 + kt))),
//
// so the test rejects when z² ≥ (1 + 1/kt)(2 ln(1/α) + ln(1 + kt)): a
// boundary on z that rises slowly, like √(ln t), the price of looking at
// every tick.
//
// The default Tau2 = 0.01 (DefaultTau2). For a true standardized effect δ
// (in standard deviations of one observation), the mean of z, δ√t,
// reaches the boundary soonest when Tau2 makes kt ≈ 8 at the crossing,
// where the boundary is z² ≈ 9.2 at α = 0.05; it stays within 10% of that
// for kt anywhere between 3 and 50, so one Tau2 serves effects over a
// wide range. A doubled error rate p on the angular scale below is δ ≈ 0.83√p:
// from 0.5% to 5% the best Tau2 runs from 0.003 to 0.03, and 0.01 keeps
// kt between about 3 and 30 at the crossing for all of them. For means,
// 0.01 suits shifts of about a tenth of a standard deviation. The default
// Alpha is 0.05 (DefaultAlpha).
//
// # Proportions
//
// TwoProportions, OneProportion and QuantileExceedance test on the angular
// scale: Anscombe's variance-stabilized proportion
// A(x, n) = asin √((x + 3/8)/(n + 3/4)) (Anscombe, "The transformation of
// Poisson, binomial and negative-binomial data", Biometrika, 1948), close
// to normal with mean asin √p and the known variance 1/(4(n + ½)). The
// difference of raw proportions is skewed for rare events: in a
// simulated A/A test at a 0.5% error rate with a 10% canary (measured
// while this package was written), a normal mixture on the raw
// difference with the pooled variance rejected as "candidate worse" in
// 5.8% of runs at α = 0.05, the angular test in 0.6%. The one-rate interval is the inverted test, mapped back by sin²;
// the interval for a difference combines the two rates' intervals by
// MOVER (Newcombe, Statistics in Medicine, 1998; Zou and Donner,
// Statistics in Medicine, 2008), which is approximate: its running
// coverage is checked by simulation.
//
// RiskRatio tests the ratio of two rates exactly, after Lindon and
// Malek ("Anytime-Valid Inference for Multinomial Count Data", NeurIPS
// 2022): with a share w of the traffic on the candidate, each event is
// the candidate's with probability π, logit π = logit w + ln(p_c/p_b),
// independently of the others, so conditioning on the events leaves a
// binomial sequence whose beta mixture (Robbins 1970) is a martingale
// with no normal approximation. Its mixing distribution is
// Beta(κw, κ(1 − w)) with κ = 1/(RatioTau2·w(1 − w)) − 1, so that the
// log-odds, and so the log ratio, have the delta-method variance
// RatioTau2; the default, (ln 2)² (DefaultRatioTau2), centres the ratios
// it looks for around 2 and 1/2.
//
// QuantileExceedance judges latency. Let q̂ be the baseline's p-quantile
// estimated from nb observations and T = (1 + tolerance)·q̂ the threshold.
// With no change beyond the tolerance, a candidate observation exceeds T
// with probability at most 1 − p. The share of a distribution below its
// own sample p-quantile is distributed as a uniform order statistic,
// Beta(k, nb − k + 1) with k ≈ p·nb (David and Nagaraja, Order
// Statistics, 2003), of variance p(1 − p)/nb, the variance of a binomial
// share; so the test treats the baseline as (1 − p)·nb exceedances of nb
// and compares the candidate's exceedances above/nc with TwoProportions.
// A candidate whose quantile lies within the tolerance never looks worse,
// however many requests it serves.
//
// # Decision quality
//
// The simulations in simulation_test.go (seeded; go test -v -run
// 'AA|Power|Tolerance|Coverage') check the tests when checked after every
// batch, at the defaults:
//
//   - A/A: two arms at 1%, checked every 50 requests of each up to 20,000,
//     500 runs: TwoProportions ever rejected in 1.8% of runs, as "worse"
//     in 1.0%. Over the other tests and settings (0.5% and 5% rates,
//     canaries of 10%, RiskRatio, OneProportion, QuantileExceedance at p99,
//     TwoMeans on log-normal values) the rate of ever rejecting was
//     1.4–3.5%, and as worse 0.2–1.6%: rejecting only when Z > 0 keeps the
//     false rollbacks near Alpha/2 or below.
//   - A doubled error rate is rejected as worse after a median of 10–12.5/p
//     candidate requests (p the baseline's rate, 0.5% to 5%) against a
//     known rate or a 10% canary, and within 18–22/p in 80% of runs;
//     with equal arms the baseline's own noise doubles that (23/p). The
//     fixed-sample minimum for a one-sided 5% test with 80% power against
//     a known rate is about 9/p.
//   - QuantileExceedance at p99 with a 10% tolerance: a 3% slowdown was
//     never rejected, a 30% slowdown always, after a median of 850
//     candidate requests.
//   - The running interval of TwoProportions missed the true difference in
//     2.3–3.7% of runs at α = 0.05.
//
// # Fixed-sample tests
//
// These are valid for one look at a sample size fixed in advance. They
// reproduce scipy 1.10 (see Cross-checks), and state each alternative
// about the candidate's values: Greater means the candidate's values
// tend to be larger.
//
//   - TwoProportionZ: z = (p̂c − p̂b)/√(p̄(1 − p̄)(1/nc + 1/nb)), p̄ pooled.
//   - WelchT: Welch's t (Biometrika, 1947) with the Welch–Satterthwaite
//     degrees of freedom; the Student t tail is the regularized
//     incomplete beta function I_x(ν/2, ½), x = ν/(ν + t²) (Abramowitz
//     and Stegun, section 26.7), evaluated by its continued fraction (DLMF
//     8.17.22) with the modified Lentz method.
//   - MannWhitney: U of Mann and Whitney (1947) with the normal
//     approximation, its variance corrected for ties,
//     nc·nb/12·((n + 1) − Σ(t³ − t)/(n(n − 1))) (Lehmann, Nonparametrics,
//     1975), and a continuity correction of ½.
//   - KolmogorovSmirnov: D from the empirical distribution functions.
//     The two-sided p-value is P(D_m ≥ D) for the one-sample statistic at
//     m = round(nc·nb/(nc + nb)), computed as Simard and L'Ecuyer
//     ("Computing the Two-Sided Kolmogorov-Smirnov Distribution", Journal
//     of Statistical Software, 2011) prescribe: Ruben and Gambino's (1982)
//     closed forms at the ends, twice the exact one-sided tail of Birnbaum
//     and Tingey (1951) in the far tail, Durbin's (1968) matrix as
//     Marsaglia, Tsang and Wang (2003) compute it, and Pelz and Good's
//     (1976) expansion for large m; the one-sided p-values use Hodges'
//     (1958) approximation.
//   - PSI: Σ (cᵢ − bᵢ)·ln(cᵢ/bᵢ) over bin shares floored at PSIFloor, the
//     symmetrized Kullback–Leibler divergence; 0.1 is worth watching and
//     0.25 worth acting on (PSIWatch, PSIAct; Siddiqi, Credit Risk
//     Scorecards, 2006).
//   - JSDivergence: the Jensen–Shannon divergence in bits (Lin, IEEE
//     Transactions on Information Theory, 1991), in [0, 1]; JSDistance is
//     its square root, a metric (Endres and Schindelin, 2003), and what
//     scipy.spatial.distance.jensenshannon(base=2) returns.
//   - NormalCDF, NormalSF and NormalQuantile from math.Erfc and
//     math.Erfinv, the quantile polished by Newton steps on ln Φ.
//
// # Cross-checks
//
// testdata/reference.py computes every classical test above with
// Debian's scipy and numpy, and every sequential test from its likelihood
// ratio in the original form, with the interval bounds found by root
// finding (scipy.optimize.brentq) instead of the closed forms and Newton
// steps used here. It writes testdata/reference.json with the fixed
// inputs; reference_test.go requires agreement within 1e-6 relative
// (1e-12 absolute near zero). The values agree to about 1e-11, except
// the Kolmogorov distribution for m ≥ 100,000, to about 2e-9.
package stats
