// Package bandit allocates traffic between model versions ("arms") by the
// evidence of their rewards, for slipway's bandit rollouts: every
// controller tick the rewards that have arrived so far become traffic
// shares, with a floor per arm so that no version starves, and each arm
// gets a one-line reason for the status page.
//
// # Evidence and policies
//
// An Arm holds an arm's reward count, sum and sum of squares: O(1) to
// update and mergeable across time buckets and replicas. A Policy is
// stateless: Choose picks the arm of one request and Shares splits the
// next tick's traffic, both from the arms' evidence and a seeded
// *rand.Rand (math/rand/v2 with a PCG source makes every decision
// reproducible). Shares is the distribution Choose draws from, so a
// per-request simulation and a per-tick allocation run the same policy.
// Allocator is the tick: Shares, then ApplyFloor, then each arm's
// probability of being best, mean and standard error (ArmStatus; Why
// formats it).
//
// # The policies
//
// Thompson sampling (NewThompson). Each arm's mean has a posterior; a
// request goes to the arm whose posterior draw is highest, so an arm's
// share is the posterior probability that it is best, estimated by
// ProbBest from DefaultDraws (4,000) joint draws, a standard error under
// 0.008. That probability is also what status pages show as "P(best)".
// It assumes rewards independent given the arm and a stationary mean.
//
//   - Bernoulli (0/1 rewards): the prior Beta(1, 1) and the posterior
//     Beta(1 + successes, 1 + failures) (BetaPosterior). The Beta draw is
//     X/(X + Y) of two gamma draws (Marsaglia and Tsang, 2000).
//   - Gaussian (continuous rewards): normal rewards of unknown mean μ and
//     variance σ², with the prior flat in (μ, σ²), π(μ, σ²) ∝ 1.
//     Integrating σ² out of the posterior leaves the mean a Student t
//     with n − 3 degrees of freedom, centred on the sample mean x̄ with
//     scale √(S/(n(n − 3))), S = Σ(r − x̄)² (StudentPosterior). Why this
//     prior: among the priors π ∝ (σ²)^(−1−a) Thompson sampling reaches
//     the Lai–Robbins rate for a < 0 only, and the flat prior is a = −1;
//     the reference (a = 0) and Jeffreys (a = ½) priors are not
//     asymptotically optimal (Honda and Takemura, "Optimality of Thompson
//     sampling for Gaussian bandits depends on priors", AISTATS 2014). A
//     known-variance normal with a plug-in variance would understate the
//     uncertainty of an arm with a few rewards. The posterior is proper
//     from GaussianMinRewards (4) rewards; an arm with fewer is untried
//     and is chosen first (Shares splits the traffic between untried arms
//     until each has 4).
//
// UCB1 (Auer, Cesa-Bianchi and Fischer, 2002). Every arm once, then the
// highest mean + √(2 ln t / n). Deterministic, so Shares puts all traffic
// on the highest index and the floor gives the others theirs: with floor
// f and k arms the leader gets 1 − (k − 1)f. It assumes rewards in
// [0, 1]; with rare conversions its bonus dwarfs the gaps and it explores
// far more than needed (see bench/bandits).
//
// Epsilon-greedy (NewEpsilonGreedy, DefaultEpsilon 0.1). A request
// explores a uniformly random arm with probability ε and otherwise takes
// the highest mean (untried arms first): shares ε/k each, plus 1 − ε on
// the leader. Its regret grows linearly, ε·mean gap per request.
//
// Uniform. 1/k each, whatever the evidence: the A/B/n split the others
// are measured against.
//
// New builds a policy by the name a deployment spec uses: "thompson",
// "ucb1", "epsilon-greedy" or "uniform".
//
// # The floor
//
// ApplyFloor(shares, f) raises every arm below f to f and scales the
// others down in proportion, repeating until none falls below; arms above
// the floor keep their ratios. It needs f·k ≤ 1. The floor keeps evidence
// about every version fresh (a version that looked worse early is still
// measured) at a known price: at least f·Σ Δᵢ per request, Δᵢ the gap of
// arm i to the best, which bench/bandits measures.
//
// # Contextual bandits
//
// Ridge is the evidence of a disjoint linear model per arm (Li, Chu,
// Langford and Schapire, WWW 2010): for a context z = (1, x₁ … x_d) of
// the named request features, arm a's expected reward is θₐᵀz, with the
// ridge estimate θₐ = Aₐ⁻¹bₐ, Aₐ = λI + Σ zzᵀ, bₐ = Σ r·z. Updates keep Aₐ⁻¹
// by Sherman–Morrison; Merge adds two models' sums and refactors by
// Cholesky. Two policies choose on it:
//
//   - LinUCB: the highest θₐᵀz + α·√(zᵀAₐ⁻¹z).
//   - LinThompson (Agrawal and Goyal, ICML 2013): θ̃ₐ ~ N(θₐ, v²Aₐ⁻¹) and
//     the highest θ̃ₐᵀz; since only θ̃ₐᵀz matters it is drawn directly as
//     N(θₐᵀz, v²·zᵀAₐ⁻¹z).
//
// Both assume the reward is linear in the features for each arm (a
// segment indicator with an intercept is exact for two segments) and
// rewards independent given arm and context. Ridge.Estimates reports each
// arm's estimate and its width at a context, for status pages.
//
// # Cost
//
// Measured with go test -bench . ./internal/bandit/ on three arms, on the
// shared 2-vCPU build machine while other jobs loaded it (so these are
// upper figures): Choose takes 0.1–0.4 µs for Thompson sampling, about
// 0.1 µs for UCB1 and 0.05 µs for epsilon-greedy, and allocates nothing;
// Thompson's Shares takes 1–2 ms (4,000 joint draws of every arm), once
// per tick; the other policies' Shares under 0.3 µs; a contextual decision
// over three features 0.05–0.16 µs and an update 0.09–0.18 µs, without
// allocating.
package bandit
