package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gaussSolve solves a·x = b by Gaussian elimination with partial
// pivoting: a direct solve independent of the package's own algebra.
func gaussSolve(a []float64, n int, b []float64) []float64 {
	m := make([][]float64, n)
	for i := range n {
		m[i] = append(append([]float64{}, a[i*n:(i+1)*n]...), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := m[i][n]
		for k := i + 1; k < n; k++ {
			s -= m[i][k] * x[k]
		}
		x[i] = s / m[i][i]
	}
	return x
}

// ridgeData feeds r rounds of random contexts and noisy linear rewards,
// spreading them over the arms.
func ridgeData(r *Ridge, rounds int, rng *rand.Rand) {
	d := len(r.Features())
	x := make([]float64, d)
	for i := range rounds {
		reward := 0.3
		for j := range x {
			x[j] = rng.NormFloat64() * float64(j+1)
			reward += float64(j-1) * 0.2 * x[j]
		}
		if err := r.Update(i%r.Arms(), x, reward+rng.NormFloat64()); err != nil {
			panic(err)
		}
	}
}

// After thousands of Sherman–Morrison updates θ = A⁻¹b still matches a
// direct solve of Aθ = b, and A⁻¹ is still A's inverse.
func TestRidgeMatchesDirectSolve(t *testing.T) {
	r, err := NewRidge([]string{"age", "tenure", "basket"}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	ridgeData(r, 20000, newRand(1))
	d := r.dim
	for k, ra := range r.arms {
		want := gaussSolve(ra.a, d, ra.b)
		for i, got := range r.Theta(k) {
			if math.Abs(got-want[i]) > 1e-9*max(1, math.Abs(want[i])) {
				t.Errorf("arm %d: θ[%d] = %.15g, direct solve %.15g", k, i, got, want[i])
			}
		}
		for i := range d {
			for j := range d {
				s := 0.0
				for m := range d {
					s += ra.a[i*d+m] * ra.ainv[m*d+j]
				}
				if id := float64(boolInt(i == j)); math.Abs(s-id) > 1e-9 {
					t.Errorf("arm %d: (A·A⁻¹)[%d][%d] = %v", k, i, j, s)
				}
			}
		}
		// The package's Cholesky solve agrees too.
		l, err := cholesky(ra.a, d)
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range cholSolve(l, d, ra.b) {
			if math.Abs(got-want[i]) > 1e-9*max(1, math.Abs(want[i])) {
				t.Errorf("arm %d: Cholesky θ[%d] = %v, Gauss %v", k, i, got, want[i])
			}
		}
	}
	// The true coefficients are 0.3, -0.2, 0, 0.2: with 10,000 rewards an
	// arm's estimate is within a few hundredths.
	for i, want := range []float64{0.3, -0.2, 0, 0.2} {
		if got := r.Theta(0)[i]; math.Abs(got-want) > 0.05 {
			t.Errorf("θ[%d] = %v, want about %v", i, got, want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Hand-computed: one feature, λ = 1, rewards 1 at x = 0 and 3 at x = 1:
// A = [[3, 1], [1, 2]], b = [4, 3], θ = A⁻¹b = [1, 1].
func TestRidgeByHand(t *testing.T) {
	r, _ := NewRidge([]string{"x"}, 1, 1)
	_ = r.Update(0, []float64{0}, 1)
	_ = r.Update(0, []float64{1}, 3)
	got := r.Theta(0)
	if math.Abs(got[0]-1) > 1e-15 || math.Abs(got[1]-1) > 1e-15 {
		t.Errorf("θ = %v, want [1 1]", got)
	}
	est, err := r.Estimates([]float64{2})
	if err != nil {
		t.Fatal(err)
	}
	// z = (1, 2): mean 3; A⁻¹ = [[2, -1], [-1, 3]]/5, zᵀA⁻¹z = (2 - 4 + 12)/5 = 2.
	if math.Abs(est[0].Mean-3) > 1e-15 || math.Abs(est[0].Width-math.Sqrt2) > 1e-15 || est[0].Rewards != 2 {
		t.Errorf("estimate at x=2: %+v, want mean 3, width √2, 2 rewards", est[0])
	}
}

// Merging two models gives the model of all their rewards.
func TestRidgeMerge(t *testing.T) {
	whole, _ := NewRidge([]string{"a", "b"}, 3, 2)
	left, _ := NewRidge([]string{"a", "b"}, 3, 2)
	right, _ := NewRidge([]string{"a", "b"}, 3, 2)
	ridgeData(whole, 3000, newRand(4))
	rng := newRand(4)
	ridgeData(left, 999, rng) // a multiple of 3, so that right starts again at arm 0
	ridgeData(right, 2001, rng)
	if err := left.Merge(right); err != nil {
		t.Fatal(err)
	}
	x := []float64{0.5, -1}
	got, _ := left.Estimates(x)
	want, _ := whole.Estimates(x)
	for k := range got {
		if math.Abs(got[k].Mean-want[k].Mean) > 1e-9 || math.Abs(got[k].Width-want[k].Width) > 1e-9 || got[k].Rewards != want[k].Rewards {
			t.Errorf("arm %d: merged %+v, whole %+v", k, got[k], want[k])
		}
	}
	other, _ := NewRidge([]string{"a"}, 3, 2)
	if err := left.Merge(other); err == nil || !contains(err.Error(), "contextual merge: models differ: features [a, b] vs [a]") {
		t.Errorf("merging different models: %v", err)
	}
}

// Two segments whose best version differs: the contextual policies learn
// to serve each segment its own best version.
func TestContextualLearnsSegments(t *testing.T) {
	rate := [2][2]float64{{0.08, 0.03}, {0.04, 0.07}} // [arm][segment]
	ucb, _ := NewLinUCB(1)
	ts, _ := NewLinThompson(0.25)
	for _, tc := range []struct {
		name   string
		choose func(*Ridge, []float64, *rand.Rand) (int, error)
	}{
		{"linucb", ucb.Choose},
		{"linear-thompson", ts.Choose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := NewRidge([]string{"segment"}, 2, 1)
			rng := newRand(8)
			const rounds, tail = 60000, 10000
			right := 0
			for i := range rounds {
				seg := rng.IntN(2)
				x := []float64{float64(seg)}
				arm, err := tc.choose(r, x, rng)
				if err != nil {
					t.Fatal(err)
				}
				if i >= rounds-tail && arm == seg {
					right++
				}
				reward := 0.0
				if rng.Float64() < rate[arm][seg] {
					reward = 1
				}
				if err := r.Update(arm, x, reward); err != nil {
					t.Fatal(err)
				}
			}
			if frac := float64(right) / tail; frac < 0.85 {
				t.Errorf("best version for the segment in %.0f%% of the last %d requests, want at least 85%%", 100*frac, tail)
			}
			for seg := range 2 {
				est, _ := r.Estimates([]float64{float64(seg)})
				if est[seg].Mean <= est[1-seg].Mean {
					t.Errorf("segment %d: estimates %+v rank arm %d below arm %d", seg, est, seg, 1-seg)
				}
			}
		})
	}
}

func TestContextualErrors(t *testing.T) {
	r, _ := NewRidge([]string{"segment", "tenure"}, 2, 1)
	ucb, _ := NewLinUCB(1)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"short context", second(ucb.Choose(r, []float64{1}, newRand(1))), "linucb: context has 1 values, want 2 (segment, tenure)"},
		{"NaN feature", r.Update(0, []float64{1, math.NaN()}, 1), `contextual update of arm 0: context feature "tenure" is NaN: want a finite number`},
		{"arm range", r.Update(2, []float64{1, 2}, 1), "contextual update: arm 2: want 0 to 1"},
		{"reward", r.Update(1, []float64{1, 2}, math.Inf(1)), "contextual update of arm 1: reward +Inf: want a finite number"},
		{"lambda", second(NewRidge([]string{"a"}, 2, 0)), "contextual bandit: ridge penalty 0: want a finite number above 0"},
		{"duplicate", second(NewRidge([]string{"a", "a"}, 2, 1)), `contextual bandit: feature "a" listed twice`},
		{"arms", second(NewRidge([]string{"a"}, 0, 1)), "contextual bandit: 0 arms: want at least 1"},
		{"alpha", second(NewLinUCB(-1)), "linucb: alpha -1: want a finite number of at least 0"},
		{"scale", second(NewLinThompson(0)), "linear thompson: scale 0: want a finite number above 0"},
	} {
		if tc.err == nil || !contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, tc.err, tc.want)
		}
	}
	if _, err := r.Estimates([]float64{1, 2, 3}); err == nil || !contains(err.Error(), "context has 3 values, want 2") {
		t.Errorf("Estimates with 3 values: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
