package bandit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Allocator is one tick of a bandit rollout: from the arms' evidence it
// derives the traffic shares the router applies until the next tick, and
// what the status page shows about each arm. It is a value: the
// controller keeps the evidence, and the same evidence and seed give the
// same allocation.
type Allocator struct {
	// Policy derives the shares; nil means Thompson sampling under Model
	// with DefaultDraws.
	Policy Policy
	// Model is the reward model used for each arm's probability of being
	// best and its standard error; the zero value is Bernoulli. When
	// Policy is Thompson sampling its own model is used.
	Model Model
	// Floor is the minimum share of traffic of every arm (see ApplyFloor);
	// zero means none, which lets an arm starve.
	Floor float64
	// Draws is the number of joint posterior draws behind the probability
	// of being best, and Thompson sampling's when Policy is nil; 0 means
	// DefaultDraws. A Thompson Policy's shares are its own estimate.
	Draws int
}

// ArmStatus is what a status page shows about one arm after a tick.
type ArmStatus struct {
	Name string `json:"name"`
	// Share is the arm's fraction of the traffic, floor included.
	Share float64 `json:"share"`
	// ProbBest is the posterior probability that the arm's mean reward is
	// the highest (see ProbBest).
	ProbBest float64 `json:"probBest"`
	// Mean is the mean reward, StdErr its standard error:
	// √(p̂(1 − p̂)/n) under the Bernoulli model, s/√n under the Gaussian
	// one; both 0 with no rewards.
	Mean   float64 `json:"mean"`
	StdErr float64 `json:"stdErr"`
	// Rewards is the number of rewards observed.
	Rewards int64 `json:"rewards"`
	// Untried is true when the arm has too few rewards for a proper
	// posterior (Gaussian model, fewer than GaussianMinRewards).
	Untried bool `json:"untried,omitempty"`
}

// Allocate computes the shares of the arms named names, whose evidence is
// arms in the same order, and each arm's status. It fails when the names
// and arms differ in number, there are no arms, the floor does not fit,
// or an arm's evidence is impossible under the model.
func (al Allocator) Allocate(names []string, arms []Arm, rng *rand.Rand) ([]ArmStatus, error) {
	if len(names) != len(arms) {
		return nil, fmt.Errorf("bandit allocation: %d arm names for %d arms", len(names), len(arms))
	}
	if len(arms) == 0 {
		return nil, fmt.Errorf("bandit allocation: no arms")
	}
	model, policy := al.Model, al.Policy
	if t, ok := policy.(Thompson); ok {
		model = t.model
	}
	for i, a := range arms {
		if err := a.check(names[i], model); err != nil {
			return nil, fmt.Errorf("bandit allocation: %w", err)
		}
	}
	draws := al.Draws
	if draws == 0 {
		draws = DefaultDraws
	}
	if policy == nil {
		policy = Thompson{model: model, draws: draws}
	}
	raw := policy.Shares(arms, rng)
	pBest := raw // Thompson's shares are the probabilities of being best
	if _, ok := policy.(Thompson); !ok {
		pBest = ProbBest(model, arms, draws, rng)
	}
	shares, err := ApplyFloor(raw, al.Floor)
	if err != nil {
		return nil, fmt.Errorf("bandit allocation: %w", err)
	}
	out := make([]ArmStatus, len(arms))
	for i, a := range arms {
		out[i] = ArmStatus{
			Name: names[i], Share: shares[i], ProbBest: pBest[i],
			Mean: a.Mean(), StdErr: stdErr(model, a), Rewards: a.Pulls,
			Untried: !model.ready(a),
		}
	}
	return out, nil
}

// stdErr is the standard error of the arm's mean reward under m.
func stdErr(m Model, a Arm) float64 {
	if a.Pulls == 0 {
		return 0
	}
	n := float64(a.Pulls)
	if m == Bernoulli {
		p := a.Mean()
		return math.Sqrt(max(0, p*(1-p)) / n)
	}
	return math.Sqrt(a.Variance() / n)
}

// Why says in one line why the arm gets its traffic, for status pages
// and the rollout's event log, for example
//
//	arm v2: 41% of traffic: P(best)=0.41, mean 0.071 ± 0.006 over 5,210 rewards
func (s ArmStatus) Why() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arm %s: %s of traffic: ", s.Name, percent(s.Share))
	switch {
	case s.Rewards == 0:
		b.WriteString("no rewards yet")
		return b.String()
	case s.Untried:
		fmt.Fprintf(&b, "P(best) not known until %d rewards", GaussianMinRewards)
	default:
		fmt.Fprintf(&b, "P(best)=%.2f", s.ProbBest)
	}
	fmt.Fprintf(&b, ", mean %.3g ± %.1g over %s reward", s.Mean, s.StdErr, thousands(s.Rewards))
	if s.Rewards != 1 {
		b.WriteByte('s')
	}
	return b.String()
}

// percent formats a share as a percentage with at most one decimal:
// "41%", "2.5%".
func percent(share float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(100*share, 'f', 1, 64), ".0") + "%"
}

// thousands formats n with comma separators: 5,210.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
