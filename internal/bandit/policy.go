package bandit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Policy allocates traffic between arms from their evidence. It keeps no
// state: the evidence is the arms' statistics, so the same policy value
// serves a per-request simulation and the controller's per-tick
// allocation, and is safe for concurrent use. Randomness comes only from
// rng, so a seeded rng makes every decision reproducible.
//
// Shares is the distribution Choose draws from: Choose picks arm i with
// probability Shares(...)[i] (up to Monte Carlo error for Thompson
// sampling).
type Policy interface {
	// Choose picks the arm that serves one request. arms must not be
	// empty.
	Choose(arms []Arm, rng *rand.Rand) int
	// Shares returns each arm's fraction of the next tick's traffic, in
	// the order of arms, summing to 1. arms must not be empty.
	Shares(arms []Arm, rng *rand.Rand) []float64
}

var (
	_ Policy = Thompson{}
	_ Policy = UCB1{}
	_ Policy = EpsilonGreedy{}
	_ Policy = Uniform{}
)

// DefaultDraws is how many joint posterior draws estimate the probability
// that each arm is best: a standard error of at most 0.008.
const DefaultDraws = 4000

// DefaultEpsilon is epsilon-greedy's exploration rate when none is given.
const DefaultEpsilon = 0.1

// Thompson is Thompson sampling (Thompson, Biometrika 1933): a request
// goes to the arm whose draw from its posterior is highest, so each arm
// receives traffic in proportion to the posterior probability that it is
// the best.
type Thompson struct {
	model Model
	draws int
}

// NewThompson returns Thompson sampling under the reward model m, its
// shares estimated from draws joint posterior draws (0 means
// DefaultDraws).
func NewThompson(m Model, draws int) (Thompson, error) {
	if m != Bernoulli && m != Gaussian {
		return Thompson{}, fmt.Errorf("thompson: unknown reward model %v", m)
	}
	if draws < 0 {
		return Thompson{}, fmt.Errorf("thompson: %d posterior draws: want a positive number, or 0 for %d", draws, DefaultDraws)
	}
	if draws == 0 {
		draws = DefaultDraws
	}
	return Thompson{model: m, draws: draws}, nil
}

// Model is the reward model the posteriors assume.
func (t Thompson) Model() Model { return t.model }

// Choose draws once from each arm's posterior and picks the highest
// draw; under the Gaussian model an untried arm comes first.
func (t Thompson) Choose(arms []Arm, rng *rand.Rand) int {
	if t.model == Gaussian && untriedCount(t.model, arms) > 0 {
		return pickUntried(t.model, arms, rng)
	}
	return t.model.bestDraw(arms, rng)
}

// Shares is ProbBest: each arm's posterior probability of being best.
func (t Thompson) Shares(arms []Arm, rng *rand.Rand) []float64 {
	return ProbBest(t.model, arms, t.draws, rng)
}

// UCB1 is the upper-confidence-bound policy of Auer, Cesa-Bianchi and
// Fischer ("Finite-time analysis of the multiarmed bandit problem",
// Machine Learning 47, 2002): every arm is tried once, then a request goes
// to the arm with the highest index mean + √(2 ln t / n), t the rewards of
// all arms and n the arm's. Its regret bound assumes rewards in [0, 1].
// It is deterministic but for ties: Shares puts all traffic on the
// highest index (split equally between ties and between untried arms),
// and the floor (ApplyFloor) is what keeps the others fed.
type UCB1 struct{}

// Choose picks an untried arm if there is one, else the highest index.
func (u UCB1) Choose(arms []Arm, rng *rand.Rand) int {
	total := totalPulls(arms)
	return argmaxPick(len(arms), func(i int) float64 { return u.Index(arms[i], total) }, rng)
}

// Shares splits all traffic equally between the arms Choose picks from.
func (UCB1) Shares(arms []Arm, _ *rand.Rand) []float64 {
	return spread(len(arms), UCB1{}.leaders(arms), 0)
}

// Index is the arm's upper confidence bound after total rewards over all
// arms: +Inf for an arm without rewards.
func (UCB1) Index(a Arm, total int64) float64 {
	if a.Pulls == 0 {
		return math.Inf(1)
	}
	return a.Mean() + math.Sqrt(2*math.Log(float64(total))/float64(a.Pulls))
}

// leaders is the set of arms UCB1 picks between: the untried arms if any,
// else the arms of the highest index.
func (u UCB1) leaders(arms []Arm) []int {
	total := totalPulls(arms)
	return argmaxAll(len(arms), func(i int) float64 { return u.Index(arms[i], total) })
}

func totalPulls(arms []Arm) int64 {
	var total int64
	for _, a := range arms {
		total += a.Pulls
	}
	return total
}

// EpsilonGreedy is the epsilon-greedy policy (Sutton and Barto,
// Reinforcement Learning, 2018, section 2.2): a request explores a
// uniformly random arm with probability ε and otherwise goes to the arm
// of the highest mean reward, an untried arm counting as the highest.
type EpsilonGreedy struct {
	epsilon float64
}

// NewEpsilonGreedy returns epsilon-greedy with exploration rate epsilon
// in [0, 1]; DefaultEpsilon is the customary 0.1.
func NewEpsilonGreedy(epsilon float64) (EpsilonGreedy, error) {
	if !(epsilon >= 0 && epsilon <= 1) {
		return EpsilonGreedy{}, fmt.Errorf("epsilon-greedy: epsilon %v: want a rate between 0 and 1 (the customary value is %v)", epsilon, DefaultEpsilon)
	}
	return EpsilonGreedy{epsilon: epsilon}, nil
}

// Epsilon is the exploration rate.
func (e EpsilonGreedy) Epsilon() float64 { return e.epsilon }

// Choose explores with probability ε, else exploits.
func (e EpsilonGreedy) Choose(arms []Arm, rng *rand.Rand) int {
	if e.epsilon > 0 && rng.Float64() < e.epsilon {
		return rng.IntN(len(arms))
	}
	return argmaxPick(len(arms), func(i int) float64 { return greedyValue(arms[i]) }, rng)
}

// Shares gives every arm ε/k and the greedy arms the rest, equally.
func (e EpsilonGreedy) Shares(arms []Arm, _ *rand.Rand) []float64 {
	return spread(len(arms), greedy(arms), e.epsilon)
}

// greedy is the set of arms of the highest mean, untried arms first.
func greedy(arms []Arm) []int {
	return argmaxAll(len(arms), func(i int) float64 { return greedyValue(arms[i]) })
}

// greedyValue is the arm's mean reward, +Inf for an untried arm.
func greedyValue(a Arm) float64 {
	if a.Pulls == 0 {
		return math.Inf(1)
	}
	return a.Mean()
}

// Uniform splits traffic equally whatever the evidence: the fixed A/B/n
// split that the adaptive policies are measured against.
type Uniform struct{}

// Choose picks an arm uniformly at random.
func (Uniform) Choose(arms []Arm, rng *rand.Rand) int { return rng.IntN(len(arms)) }

// Shares is 1/k for each of k arms.
func (Uniform) Shares(arms []Arm, _ *rand.Rand) []float64 { return spread(len(arms), nil, 1) }

// Options configure a policy chosen by name; the zero value gives each
// policy its defaults.
type Options struct {
	// Model is the reward model of Thompson sampling; the zero value is
	// Bernoulli.
	Model Model
	// Draws is Thompson sampling's number of joint posterior draws; 0
	// means DefaultDraws.
	Draws int
	// Epsilon is epsilon-greedy's exploration rate; nil means
	// DefaultEpsilon (a pointer so that 0, pure greed, can be asked for).
	Epsilon *float64
}

// policies builds each policy by the name a deployment spec uses.
var policies = map[string]func(Options) (Policy, error){
	"thompson": func(o Options) (Policy, error) { return NewThompson(o.Model, o.Draws) },
	"ucb1":     func(Options) (Policy, error) { return UCB1{}, nil },
	"epsilon-greedy": func(o Options) (Policy, error) {
		eps := DefaultEpsilon
		if o.Epsilon != nil {
			eps = *o.Epsilon
		}
		return NewEpsilonGreedy(eps)
	},
	"uniform": func(Options) (Policy, error) { return Uniform{}, nil },
}

// Names lists the policies New knows, sorted.
func Names() []string {
	names := make([]string, 0, len(policies))
	for n := range policies {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New returns the policy called name ("thompson", "ucb1",
// "epsilon-greedy" or "uniform") configured by o.
func New(name string, o Options) (Policy, error) {
	build, ok := policies[name]
	if !ok {
		return nil, fmt.Errorf("bandit policy %q: want one of %s", name, strings.Join(Names(), ", "))
	}
	return build(o)
}

// argmaxAll returns every index in [0, n) where f is highest.
func argmaxAll(n int, f func(int) float64) []int {
	var best []int
	top := math.Inf(-1)
	for i := range n {
		switch v := f(i); {
		case v > top:
			best, top = append(best[:0], i), v
		case v == top:
			best = append(best, i)
		}
	}
	return best
}

// argmaxPick returns an index in [0, n) where f is highest, ties broken
// uniformly at random (reservoir sampling); rng is read only on ties.
func argmaxPick(n int, f func(int) float64, rng *rand.Rand) int {
	best, top, ties := 0, math.Inf(-1), 0
	for i := range n {
		switch v := f(i); {
		case v > top:
			best, top, ties = i, v, 1
		case v == top:
			ties++
			if rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// pickTied picks one of the tied arms uniformly; rng is read only when
// there is a tie.
func pickTied(tied []int, rng *rand.Rand) int {
	if len(tied) == 1 {
		return tied[0]
	}
	return tied[rng.IntN(len(tied))]
}

// pickUntried picks uniformly among the arms that are not ready under m.
func pickUntried(m Model, arms []Arm, rng *rand.Rand) int {
	var untried []int
	for i, a := range arms {
		if !m.ready(a) {
			untried = append(untried, i)
		}
	}
	return pickTied(untried, rng)
}

// spread gives each of n arms explore/n and splits the remaining
// 1 − explore equally between the arms of lead.
func spread(n int, lead []int, explore float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = explore / float64(n)
	}
	for _, i := range lead {
		s[i] += (1 - explore) / float64(len(lead))
	}
	return s
}
