package bandit

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is the reward model behind Thompson sampling and the probability
// that an arm is best.
type Model int

const (
	// Bernoulli: rewards are 0 or 1 (a conversion, a click, a correct
	// label). The mean of an arm has the conjugate prior Beta(1, 1),
	// uniform on [0, 1].
	Bernoulli Model = iota
	// Gaussian: rewards are real numbers (revenue, a score, minus the
	// latency), modelled as normal with unknown mean and variance and the
	// prior flat in (μ, σ²). See the package documentation for why this
	// prior.
	Gaussian
)

// GaussianMinRewards is how many rewards an arm needs before its Gaussian
// posterior is proper: with n rewards the mean's posterior is a Student t
// with n − 3 degrees of freedom. An arm with fewer is untried: it is
// chosen before any tried arm.
const GaussianMinRewards = 4

func (m Model) String() string {
	switch m {
	case Bernoulli:
		return "bernoulli"
	case Gaussian:
		return "gaussian"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// ParseModel reads a model's name: "bernoulli" (also "binary") or
// "gaussian" (also "continuous").
func ParseModel(s string) (Model, error) {
	switch s {
	case "bernoulli", "binary":
		return Bernoulli, nil
	case "gaussian", "continuous":
		return Gaussian, nil
	}
	return 0, fmt.Errorf("reward model %q: want bernoulli (0/1 rewards) or gaussian (continuous rewards)", s)
}

// BetaPosterior is the posterior Beta(α, β) of a Bernoulli arm's mean
// under the prior Beta(1, 1): α = 1 + successes, β = 1 + failures.
func BetaPosterior(a Arm) (alpha, beta float64) {
	return 1 + a.Sum, 1 + float64(a.Pulls) - a.Sum
}

// StudentPosterior is the posterior of a Gaussian arm's mean under the
// prior flat in (μ, σ²): μ = center + scale·T with T a Student t of df
// degrees of freedom, where df = n − 3, center = x̄ and
// scale = √(S/(n·df)), S = Σ(r − x̄)². ok is false when the arm has fewer
// than GaussianMinRewards rewards and the posterior is improper.
func StudentPosterior(a Arm) (center, scale, df float64, ok bool) {
	if a.Pulls < GaussianMinRewards {
		return a.Mean(), math.Inf(1), 0, false
	}
	n := float64(a.Pulls)
	df = n - 3
	return a.Mean(), math.Sqrt(a.squares() / (n * df)), df, true
}

// ready reports whether arm a has a proper posterior under m.
func (m Model) ready(a Arm) bool {
	return m == Bernoulli || a.Pulls >= GaussianMinRewards
}

// draw samples the mean reward of arm a from its posterior under m. An
// arm that is not ready draws +Inf, so that it wins every comparison.
func (m Model) draw(a Arm, rng *rand.Rand) float64 {
	if m == Bernoulli {
		alpha, beta := BetaPosterior(a)
		return betaDraw(alpha, beta, rng)
	}
	center, scale, df, ok := StudentPosterior(a)
	if !ok {
		return math.Inf(1)
	}
	return center + scale*studentDraw(df, rng)
}

// ProbBest estimates, for each arm, the posterior probability that its
// mean reward is the highest, from draws joint draws of all arms'
// posteriors (Monte Carlo; its standard error is at most 0.5/√draws).
// Under the Gaussian model an arm with fewer than GaussianMinRewards
// rewards has no proper posterior: while there are such arms they share
// the probability equally and the tried arms get none, which is also
// where Thompson sampling sends the traffic. arms must not be empty.
func ProbBest(m Model, arms []Arm, draws int, rng *rand.Rand) []float64 {
	p := make([]float64, len(arms))
	if untried := untriedCount(m, arms); untried > 0 {
		for i, a := range arms {
			if !m.ready(a) {
				p[i] = 1 / float64(untried)
			}
		}
		return p
	}
	draws = max(draws, 1)
	for range draws {
		p[m.bestDraw(arms, rng)]++
	}
	for i := range p {
		p[i] /= float64(draws)
	}
	return p
}

// bestDraw draws once from every arm's posterior and returns the arm
// whose draw is highest, ties broken at random: one round of Thompson
// sampling.
func (m Model) bestDraw(arms []Arm, rng *rand.Rand) int {
	return argmaxPick(len(arms), func(i int) float64 { return m.draw(arms[i], rng) }, rng)
}

func untriedCount(m Model, arms []Arm) int {
	n := 0
	for _, a := range arms {
		if !m.ready(a) {
			n++
		}
	}
	return n
}

// gammaDraw samples Gamma(shape, 1) by Marsaglia and Tsang's method ("A
// simple method for generating gamma variables", ACM TOMS 26(3), 2000):
// for shape ≥ 1, with d = shape − 1/3 and c = 1/√(9d), accept d·v,
// v = (1 + cZ)³, when ln U < Z²/2 + d − d·v + d·ln v, after the cheap
// squeeze U < 1 − 0.0331·Z⁴. For shape < 1 it boosts: Gamma(shape) =
// Gamma(shape + 1)·U^(1/shape).
func gammaDraw(shape float64, rng *rand.Rand) float64 {
	if shape < 1 {
		return gammaDraw(shape+1, rng) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		z := rng.NormFloat64()
		v := 1 + c*z
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		z2 := z * z
		if u < 1-0.0331*z2*z2 || math.Log(u) < z2/2+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaDraw samples Beta(alpha, beta) as X/(X + Y) with X ~ Gamma(alpha),
// Y ~ Gamma(beta).
func betaDraw(alpha, beta float64, rng *rand.Rand) float64 {
	x := gammaDraw(alpha, rng)
	return x / (x + gammaDraw(beta, rng))
}

// studentDraw samples a Student t with df degrees of freedom as
// Z/√(V/df), V ~ χ²(df) = 2·Gamma(df/2).
func studentDraw(df float64, rng *rand.Rand) float64 {
	return rng.NormFloat64() / math.Sqrt(2*gammaDraw(df/2, rng)/df)
}
