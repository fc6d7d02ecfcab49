package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/slipway-ml/slipway/internal/bandit"
)

// bernoulli is a bandit problem of 0/1 rewards: arm i converts with
// probability means[i], independently at every request.
type bernoulli struct {
	name   string
	means  []float64
	rounds int
}

// best is the highest mean.
func (b bernoulli) best() float64 {
	top := 0.0
	for _, m := range b.means {
		top = max(top, m)
	}
	return top
}

// reward draws arm i's reward.
func (b bernoulli) reward(i int, rng *rand.Rand) float64 {
	if rng.Float64() < b.means[i] {
		return 1
	}
	return 0
}

// laiRobbins is the asymptotic lower bound on the regret of any
// consistent policy after the problem's rounds (Lai and Robbins,
// "Asymptotically efficient adaptive allocation rules", Advances in
// Applied Mathematics, 1985): Σ over suboptimal arms of
// Δᵢ / KL(μᵢ, μ*) · ln T, with the Bernoulli Kullback–Leibler divergence.
func (b bernoulli) laiRobbins() float64 {
	top, c := b.best(), 0.0
	for _, m := range b.means {
		if m < top {
			c += (top - m) / klBernoulli(m, top)
		}
	}
	return c * math.Log(float64(b.rounds))
}

// klBernoulli is KL(Bernoulli(p) ‖ Bernoulli(q)) in nats.
func klBernoulli(p, q float64) float64 {
	return xlog(p, q) + xlog(1-p, 1-q)
}

// xlog is x·ln(x/y), 0 at x = 0.
func xlog(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/y)
}

// player plays one run of a problem and returns its regret: the sum over
// requests of the best mean minus the mean of the arm served (the
// pseudo-regret, which is the expected regret given the choices and free
// of the rewards' own noise).
type player func(b bernoulli, rng *rand.Rand) float64

// perRequest asks the policy for every request and learns each reward at
// once: the textbook setting. For Thompson sampling Choose is classic
// Thompson sampling, one posterior draw per arm.
func perRequest(p bandit.Policy) player {
	return func(b bernoulli, rng *rand.Rand) float64 {
		arms := make([]bandit.Arm, len(b.means))
		top, regret := b.best(), 0.0
		for range b.rounds {
			i := p.Choose(arms, rng)
			regret += top - b.means[i]
			arms[i].Observe(b.reward(i, rng))
		}
		return regret
	}
}

// batched is slipway's setting: every tick the controller turns the
// evidence into shares (with a floor per arm), the router sends each of
// the tick's requests to an arm drawn from the shares, and the tick's
// rewards become evidence only at the next tick, as delayed feedback
// does.
func batched(p bandit.Policy, tick int, floor float64) player {
	return func(b bernoulli, rng *rand.Rand) float64 {
		k := len(b.means)
		names := make([]string, k)
		for i := range names {
			names[i] = fmt.Sprintf("v%d", i+1)
		}
		al := bandit.Allocator{Policy: p, Floor: floor}
		arms, pending := make([]bandit.Arm, k), make([]bandit.Arm, k)
		cum := make([]float64, k)
		top, regret := b.best(), 0.0
		for done := 0; done < b.rounds; done += tick {
			status, err := al.Allocate(names, arms, rng)
			if err != nil {
				panic(err) // the harness's own parameters are valid
			}
			acc := 0.0
			for i, s := range status {
				acc += s.Share
				cum[i] = acc
			}
			for range min(tick, b.rounds-done) {
				i := pick(cum, rng)
				regret += top - b.means[i]
				pending[i].Observe(b.reward(i, rng))
			}
			for i := range arms {
				arms[i].Merge(pending[i])
				pending[i] = bandit.Arm{}
			}
		}
		return regret
	}
}

// pick draws an index from the cumulative shares cum.
func pick(cum []float64, rng *rand.Rand) int {
	u := rng.Float64() * cum[len(cum)-1]
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// segments is the contextual problem: each request comes from one of two
// equally likely segments (feature x = 0 or 1), and rate[arm][x] is the
// arm's conversion rate in the segment.
type segments struct {
	rate   [2][2]float64
	rounds int
}

// oracle is the expected reward per request of serving each segment its
// best arm; single is that of the best arm served to everyone.
func (s segments) oracle() float64 {
	return (max(s.rate[0][0], s.rate[1][0]) + max(s.rate[0][1], s.rate[1][1])) / 2
}

func (s segments) single() float64 {
	return max(s.rate[0][0]+s.rate[0][1], s.rate[1][0]+s.rate[1][1]) / 2
}

// chooser decides the arm of a request of segment x, then learns its
// reward.
type chooser interface {
	choose(x int, rng *rand.Rand) int
	learn(arm, x int, reward float64)
}

// playSegments runs one contextual run and returns the total reward.
func playSegments(s segments, c chooser, rng *rand.Rand) float64 {
	total := 0.0
	for range s.rounds {
		x := rng.IntN(2)
		arm := c.choose(x, rng)
		r := 0.0
		if rng.Float64() < s.rate[arm][x] {
			r = 1
		}
		c.learn(arm, x, r)
		total += r
	}
	return total
}

// linear adapts a contextual policy on a ridge model of the one feature.
type linear struct {
	model  *bandit.Ridge
	choice func(*bandit.Ridge, []float64, *rand.Rand) (int, error)
}

func (l linear) choose(x int, rng *rand.Rand) int {
	arm, err := l.choice(l.model, []float64{float64(x)}, rng)
	if err != nil {
		panic(err)
	}
	return arm
}

func (l linear) learn(arm, x int, reward float64) {
	if err := l.model.Update(arm, []float64{float64(x)}, reward); err != nil {
		panic(err)
	}
}

// contextFree ignores the segment: a plain bandit over the arms, which
// can at best find the best single version.
type contextFree struct {
	p    bandit.Policy
	arms []bandit.Arm
}

func (c *contextFree) choose(_ int, rng *rand.Rand) int { return c.p.Choose(c.arms, rng) }
func (c *contextFree) learn(arm, _ int, reward float64) { c.arms[arm].Observe(reward) }

// fixed serves every request from arm, or, with perSegment, each segment
// its best arm (the oracle).
type fixed struct {
	arm        int
	perSegment *segments
}

func (f fixed) choose(x int, _ *rand.Rand) int {
	if f.perSegment != nil {
		if f.perSegment.rate[1][x] > f.perSegment.rate[0][x] {
			return 1
		}
		return 0
	}
	return f.arm
}

func (fixed) learn(int, int, float64) {}
