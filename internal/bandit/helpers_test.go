package bandit

import (
	"math/rand/v2"
	"strings"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// newRand is the seeded generator every test draws from.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// bernoulliArms plays policy p against Bernoulli arms of the given means
// for rounds rounds and returns the evidence and each arm's pulls.
func bernoulliArms(p Policy, means []float64, rounds int, rng *rand.Rand) []Arm {
	arms := make([]Arm, len(means))
	for range rounds {
		i := p.Choose(arms, rng)
		r := 0.0
		if rng.Float64() < means[i] {
			r = 1
		}
		arms[i].Observe(r)
	}
	return arms
}
