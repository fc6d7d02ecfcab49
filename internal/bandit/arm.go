package bandit

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway/internal/stats"
)

// Arm is the evidence about one arm (one model version): the rewards that
// have arrived for the requests it answered. It holds sums, not values,
// so it is updated in O(1) per reward and two Arms merge exactly (Merge),
// which is how per-bucket or per-replica evidence is combined. The zero
// value is an arm with no rewards.
//
// The variance comes from the sum of squares. That loses precision only
// when the mean is about a million times the standard deviation or more,
// which rewards (conversions, revenue, scores) are not; in exchange the
// sums are what telemetry aggregates and stores already keep.
type Arm struct {
	// Pulls is the number of rewards observed. With delayed feedback a
	// request whose reward has not arrived is not a pull yet.
	Pulls int64
	// Sum is the sum of the rewards.
	Sum float64
	// SumSq is the sum of the squared rewards; only the Gaussian model
	// and the standard error of continuous rewards read it.
	SumSq float64
}

// Observe adds one reward.
func (a *Arm) Observe(reward float64) {
	a.Pulls++
	a.Sum += reward
	a.SumSq += reward * reward
}

// Merge adds the evidence of o, as if o's rewards had been observed here.
func (a *Arm) Merge(o Arm) {
	a.Pulls += o.Pulls
	a.Sum += o.Sum
	a.SumSq += o.SumSq
}

// moments is the arm's evidence as package stats summarizes a sample.
func (a Arm) moments() stats.Moments { return stats.Moments{N: a.Pulls, Sum: a.Sum, SumSq: a.SumSq} }

// Mean is the mean reward; 0 with no rewards.
func (a Arm) Mean() float64 { return a.moments().Mean() }

// Variance is the sample variance of the rewards (divisor n − 1); 0 with
// fewer than two rewards.
func (a Arm) Variance() float64 { return a.moments().Variance() }

// squares is Σ(r − mean)², the sum of squared deviations, never negative.
func (a Arm) squares() float64 {
	if a.Pulls < 2 {
		return 0 // one reward deviates from its own mean by nothing
	}
	return a.Variance() * float64(a.Pulls-1)
}

// check says what is wrong with the evidence of the arm called name
// under model m: negative counts, non-finite sums, and for Bernoulli
// rewards a sum outside [0, Pulls].
func (a Arm) check(name string, m Model) error {
	switch {
	case a.Pulls < 0:
		return fmt.Errorf("arm %s: %d rewards: the count cannot be negative", name, a.Pulls)
	case math.IsNaN(a.Sum) || math.IsInf(a.Sum, 0) || math.IsNaN(a.SumSq) || math.IsInf(a.SumSq, 0):
		return fmt.Errorf("arm %s: reward sums %v and %v: want finite numbers", name, a.Sum, a.SumSq)
	case a.SumSq < 0:
		return fmt.Errorf("arm %s: sum of squared rewards %v is negative", name, a.SumSq)
	case m == Bernoulli && (a.Sum < 0 || a.Sum > float64(a.Pulls)):
		return fmt.Errorf("arm %s: reward sum %v over %d rewards: 0/1 rewards need a sum between 0 and the count (use the gaussian model for continuous rewards)", name, a.Sum, a.Pulls)
	}
	return nil
}
