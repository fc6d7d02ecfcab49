package bandit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// MaxFeatures is how many named request features a contextual model may
// use. The models here are for a few features (a segment, a plan, a
// tenure); the cost of a decision grows with their square.
const MaxFeatures = 15

// Ridge is the evidence of a contextual bandit with a disjoint linear
// model per arm (Li, Chu, Langford and Schapire, "A contextual-bandit
// approach to personalized news article recommendation", WWW 2010): arm
// a's expected reward at context z is θₐᵀz, estimated by ridge regression
// on the rewards it received, θₐ = Aₐ⁻¹bₐ with Aₐ = λI + Σ zzᵀ and
// bₐ = Σ r·z. The context z is 1 (the intercept) followed by the values of
// the named features, so callers pass only the features.
//
// Update keeps Aₐ⁻¹ by the Sherman–Morrison identity, O(d²) per reward,
// and θₐ with it, so a decision is O(d²) per arm and allocates nothing.
// A Ridge is not safe for concurrent use: Update and Merge need the
// caller's lock; Estimates and the policies' Choose only read it, so a
// read lock serves them.
type Ridge struct {
	features []string
	lambda   float64
	dim      int
	arms     []ridgeArm
}

// ridgeArm is one arm's regression: its sufficient statistics A and b,
// and the derived A⁻¹ and θ = A⁻¹b. Matrices are dim×dim, row-major.
type ridgeArm struct {
	a, ainv  []float64
	b, theta []float64
	n        int64
}

// NewRidge returns a contextual model of arms arms over the named
// features, with ridge penalty lambda > 0 (1 is customary: a prior worth
// one observation of each coefficient).
func NewRidge(features []string, arms int, lambda float64) (*Ridge, error) {
	if len(features) > MaxFeatures {
		return nil, fmt.Errorf("contextual bandit: %d features: at most %d", len(features), MaxFeatures)
	}
	for i, f := range features {
		if f == "" {
			return nil, fmt.Errorf("contextual bandit: feature %d has no name", i)
		}
		if slices.Index(features, f) != i {
			return nil, fmt.Errorf("contextual bandit: feature %q listed twice", f)
		}
	}
	if arms < 1 {
		return nil, fmt.Errorf("contextual bandit: %d arms: want at least 1", arms)
	}
	if !(lambda > 0) || math.IsInf(lambda, 0) {
		return nil, fmt.Errorf("contextual bandit: ridge penalty %v: want a finite number above 0 (1 is customary)", lambda)
	}
	r := &Ridge{features: slices.Clone(features), lambda: lambda, dim: len(features) + 1, arms: make([]ridgeArm, arms)}
	for i := range r.arms {
		r.arms[i] = r.newArm()
	}
	return r, nil
}

func (r *Ridge) newArm() ridgeArm {
	d := r.dim
	ra := ridgeArm{a: make([]float64, d*d), ainv: make([]float64, d*d), b: make([]float64, d), theta: make([]float64, d)}
	for i := range d {
		ra.a[i*d+i] = r.lambda
		ra.ainv[i*d+i] = 1 / r.lambda
	}
	return ra
}

// Features are the feature names, in the order a context lists them.
func (r *Ridge) Features() []string { return slices.Clone(r.features) }

// Arms is the number of arms.
func (r *Ridge) Arms() int { return len(r.arms) }

// z is coordinate i of the context with its intercept: 1, then x.
func z(x []float64, i int) float64 {
	if i == 0 {
		return 1
	}
	return x[i-1]
}

// checkContext says what is wrong with a context: its length, or a
// feature that is not a finite number.
func (r *Ridge) checkContext(x []float64) error {
	if len(x) != len(r.features) {
		return fmt.Errorf("context has %d values, want %d (%s)", len(x), len(r.features), strings.Join(r.features, ", "))
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("context feature %q is %v: want a finite number", r.features[i], v)
		}
	}
	return nil
}

func (r *Ridge) checkArm(arm int) error {
	if arm < 0 || arm >= len(r.arms) {
		return fmt.Errorf("arm %d: want 0 to %d", arm, len(r.arms)-1)
	}
	return nil
}

// Update adds the reward that arm received at context x (the feature
// values, without the intercept).
func (r *Ridge) Update(arm int, x []float64, reward float64) error {
	if err := r.checkArm(arm); err != nil {
		return fmt.Errorf("contextual update: %w", err)
	}
	if err := r.checkContext(x); err != nil {
		return fmt.Errorf("contextual update of arm %d: %w", arm, err)
	}
	if math.IsNaN(reward) || math.IsInf(reward, 0) {
		return fmt.Errorf("contextual update of arm %d: reward %v: want a finite number", arm, reward)
	}
	ra, d := &r.arms[arm], r.dim
	var u [MaxFeatures + 1]float64 // u = A⁻¹z
	zu := 0.0
	for i := range d {
		zi := z(x, i)
		ra.b[i] += reward * zi
		for j := range d {
			ra.a[i*d+j] += zi * z(x, j)
			u[i] += ra.ainv[i*d+j] * z(x, j)
		}
		zu += zi * u[i]
	}
	// Sherman–Morrison: (A + zzᵀ)⁻¹ = A⁻¹ − uuᵀ/(1 + zᵀu), A⁻¹ symmetric.
	for i := range d {
		for j := range d {
			ra.ainv[i*d+j] -= u[i] * u[j] / (1 + zu)
		}
	}
	ra.n++
	ra.solve()
	return nil
}

// solve sets θ = A⁻¹b.
func (ra *ridgeArm) solve() {
	d := len(ra.b)
	for i := range d {
		s := 0.0
		for j := range d {
			s += ra.ainv[i*d+j] * ra.b[j]
		}
		ra.theta[i] = s
	}
}

// Theta is arm's coefficient vector: the intercept, then one coefficient
// per feature. It panics when arm is out of range.
func (r *Ridge) Theta(arm int) []float64 { return slices.Clone(r.arms[arm].theta) }

// Estimate is an arm's estimated reward at a context.
type Estimate struct {
	// Mean is θᵀz, the ridge estimate of the expected reward.
	Mean float64
	// Width is √(zᵀA⁻¹z): the estimate's standard error in units of the
	// reward noise's standard deviation. LinUCB adds Alpha·Width.
	Width float64
	// Rewards is the number of rewards the arm has received, at any
	// context.
	Rewards int64
}

// Estimates is every arm's estimated reward at context x.
func (r *Ridge) Estimates(x []float64) ([]Estimate, error) {
	if err := r.checkContext(x); err != nil {
		return nil, err
	}
	out := make([]Estimate, len(r.arms))
	for i := range r.arms {
		out[i] = r.estimate(i, x)
	}
	return out, nil
}

func (r *Ridge) estimate(arm int, x []float64) Estimate {
	ra, d := &r.arms[arm], r.dim
	mean, q := 0.0, 0.0
	for i := range d {
		zi := z(x, i)
		mean += ra.theta[i] * zi
		row := 0.0
		for j := range d {
			row += ra.ainv[i*d+j] * z(x, j)
		}
		q += zi * row
	}
	return Estimate{Mean: mean, Width: math.Sqrt(max(0, q)), Rewards: ra.n}
}

// Merge adds o's evidence, as if o's rewards had been given to r: the
// sums A − λI and b add, and A⁻¹ is recomputed from A by Cholesky
// factorization, which also clears any rounding Sherman–Morrison updates
// have accumulated. o must have the same features, arms and penalty.
func (r *Ridge) Merge(o *Ridge) error {
	if !slices.Equal(r.features, o.features) || len(r.arms) != len(o.arms) || r.lambda != o.lambda {
		return fmt.Errorf("contextual merge: models differ: features [%s] vs [%s], %d vs %d arms, penalty %v vs %v",
			strings.Join(r.features, ", "), strings.Join(o.features, ", "), len(r.arms), len(o.arms), r.lambda, o.lambda)
	}
	d := r.dim
	for k := range r.arms {
		ra, oa := &r.arms[k], &o.arms[k]
		for i := range d {
			ra.b[i] += oa.b[i]
			for j := range d {
				ra.a[i*d+j] += oa.a[i*d+j]
			}
			ra.a[i*d+i] -= r.lambda // both carry λI
		}
		ra.n += oa.n
		l, err := cholesky(ra.a, d)
		if err != nil {
			return fmt.Errorf("contextual merge of arm %d: %w", k, err)
		}
		ra.ainv = cholInverse(l, d)
		ra.solve()
	}
	return nil
}

// LinUCB chooses the arm of the highest upper confidence bound
// θᵀz + α·√(zᵀA⁻¹z) at the request's context (Li et al. 2010, disjoint
// model).
type LinUCB struct {
	alpha float64
}

// NewLinUCB returns LinUCB with exploration weight alpha ≥ 0. Li et al.
// give 1 + √(ln(2/δ)/2) for a bound that holds with probability 1 − δ on
// rewards in [0, 1]; smaller values explore less and suit rewards whose
// noise is much smaller than 1, such as rare conversions.
func NewLinUCB(alpha float64) (LinUCB, error) {
	if !(alpha >= 0) || math.IsInf(alpha, 0) {
		return LinUCB{}, fmt.Errorf("linucb: alpha %v: want a finite number of at least 0", alpha)
	}
	return LinUCB{alpha: alpha}, nil
}

// Choose picks the arm for a request with features x; ties (as before
// any reward) are broken at random.
func (p LinUCB) Choose(r *Ridge, x []float64, rng *rand.Rand) (int, error) {
	if err := r.checkContext(x); err != nil {
		return 0, fmt.Errorf("linucb: %w", err)
	}
	return r.argmax(x, rng, func(e Estimate) float64 { return e.Mean + p.alpha*e.Width }), nil
}

// LinThompson is linear Thompson sampling (Agrawal and Goyal, "Thompson
// sampling for contextual bandits with linear payoffs", ICML 2013): each
// arm's θ is drawn from N(θ̂, v²A⁻¹) and the request goes to the arm whose
// draw predicts the highest reward at its context. Only θᵀz matters, and
// it is N(θ̂ᵀz, v²·zᵀA⁻¹z), so one normal draw per arm is the exact
// sampler.
type LinThompson struct {
	v float64
}

// NewLinThompson returns linear Thompson sampling with posterior scale
// v > 0, the standard deviation of the reward noise (√(p(1 − p)) for
// conversions at rate p).
func NewLinThompson(v float64) (LinThompson, error) {
	if !(v > 0) || math.IsInf(v, 0) {
		return LinThompson{}, fmt.Errorf("linear thompson: scale %v: want a finite number above 0 (the reward noise's standard deviation)", v)
	}
	return LinThompson{v: v}, nil
}

// Choose picks the arm for a request with features x.
func (p LinThompson) Choose(r *Ridge, x []float64, rng *rand.Rand) (int, error) {
	if err := r.checkContext(x); err != nil {
		return 0, fmt.Errorf("linear thompson: %w", err)
	}
	return r.argmax(x, rng, func(e Estimate) float64 { return e.Mean + p.v*e.Width*rng.NormFloat64() }), nil
}

// argmax is the arm of the highest score at x, ties broken at random.
func (r *Ridge) argmax(x []float64, rng *rand.Rand, score func(Estimate) float64) int {
	return argmaxPick(len(r.arms), func(i int) float64 { return score(r.estimate(i, x)) }, rng)
}

// cholesky factors the symmetric positive definite n×n matrix a
// (row-major) as LLᵀ and returns L, lower triangular
// (Cholesky–Banachiewicz order).
func cholesky(a []float64, n int) ([]float64, error) {
	l := make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := range j {
				s -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				if !(s > 0) {
					return nil, fmt.Errorf("matrix is not positive definite (pivot %d is %v)", i, s)
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	return l, nil
}

// cholSolve solves LLᵀx = b by forward then back substitution.
func cholSolve(l []float64, n int, b []float64) []float64 {
	x := slices.Clone(b)
	for i := range n {
		for k := range i {
			x[i] -= l[i*n+k] * x[k]
		}
		x[i] /= l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		for k := i + 1; k < n; k++ {
			x[i] -= l[k*n+i] * x[k]
		}
		x[i] /= l[i*n+i]
	}
	return x
}

// cholInverse is (LLᵀ)⁻¹, column by column.
func cholInverse(l []float64, n int) []float64 {
	inv := make([]float64, n*n)
	e := make([]float64, n)
	for j := range n {
		clear(e)
		e[j] = 1
		col := cholSolve(l, n, e)
		for i := range n {
			inv[i*n+j] = col[i]
		}
	}
	return inv
}
