package bandit

import (
	"math"
	"slices"
	"testing"
)

// Thompson sampling puts almost all traffic on the best arm once the
// evidence is clear, and learns it from its own choices.
func TestThompsonConverges(t *testing.T) {
	for _, tc := range []struct {
		model Model
		means []float64
	}{
		{Bernoulli, []float64{0.2, 0.5, 0.8}},
		{Bernoulli, []float64{0.04, 0.05, 0.07}},
		{Gaussian, []float64{0, 0.5, 1}},
	} {
		th, err := NewThompson(tc.model, 0)
		if err != nil {
			t.Fatal(err)
		}
		rng := newRand(11)
		arms := make([]Arm, len(tc.means))
		const rounds = 20000
		for range rounds {
			i := th.Choose(arms, rng)
			r := 0.0
			if tc.model == Gaussian {
				r = tc.means[i] + rng.NormFloat64()
			} else if rng.Float64() < tc.means[i] {
				r = 1
			}
			arms[i].Observe(r)
		}
		best := len(tc.means) - 1
		if frac := float64(arms[best].Pulls) / rounds; frac < 0.8 {
			t.Errorf("%v %v: best arm got %.0f%% of %d pulls, want at least 80%% (%+v)", tc.model, tc.means, 100*frac, rounds, arms)
		}
		if p := th.Shares(arms, rng); p[best] < 0.95 {
			t.Errorf("%v %v: P(best) of the best arm %.3f after %d rounds, want at least 0.95", tc.model, tc.means, p[best], rounds)
		}
	}
}

// UCB1 tries every arm once before it compares indices.
func TestUCB1UntriedFirst(t *testing.T) {
	arms := []Arm{{Pulls: 10, Sum: 9, SumSq: 9}, {}, {Pulls: 3, Sum: 1, SumSq: 1}, {}}
	if got, want := (UCB1{}).Shares(arms, nil), []float64{0, 0.5, 0, 0.5}; !slices.Equal(got, want) {
		t.Errorf("Shares = %v, want %v", got, want)
	}
	rng := newRand(5)
	seen := map[int]bool{}
	for range 50 {
		seen[(UCB1{}).Choose(arms, rng)] = true
	}
	if len(seen) != 2 || !seen[1] || !seen[3] {
		t.Errorf("Choose picked %v, want only and both of the untried arms 1 and 3", seen)
	}
	// Played from scratch, the first k pulls are k different arms.
	played := make([]Arm, 5)
	for i := range len(played) {
		played[(UCB1{}).Choose(played, rng)].Observe(1)
		if played[i].Pulls > 1 {
			t.Fatalf("arm %d pulled twice in the first %d rounds", i, i+1)
		}
	}
}

func TestUCB1Index(t *testing.T) {
	a := Arm{Pulls: 4, Sum: 2, SumSq: 2}
	want := 0.5 + math.Sqrt(2*math.Log(10)/4)
	if got := (UCB1{}).Index(a, 10); math.Abs(got-want) > 1e-15 {
		t.Errorf("Index = %v, want %v", got, want)
	}
	// Arm 0 has the higher mean, arm 1 the higher index from fewer pulls.
	arms := []Arm{{Pulls: 100, Sum: 60, SumSq: 60}, {Pulls: 5, Sum: 2, SumSq: 2}}
	if got := (UCB1{}).Choose(arms, newRand(1)); got != 1 {
		t.Errorf("Choose = %d, want 1 (index %.3f against %.3f)", got, (UCB1{}).Index(arms[1], 105), (UCB1{}).Index(arms[0], 105))
	}
}

func TestEpsilonGreedyShares(t *testing.T) {
	eg, err := NewEpsilonGreedy(0.1)
	if err != nil {
		t.Fatal(err)
	}
	arms := []Arm{{Pulls: 10, Sum: 1}, {Pulls: 10, Sum: 3}, {Pulls: 10, Sum: 2}}
	want := []float64{0.1 / 3, 0.9 + 0.1/3, 0.1 / 3}
	for i, got := range eg.Shares(arms, nil) {
		if math.Abs(got-want[i]) > 1e-15 {
			t.Errorf("share %d = %v, want %v", i, got, want[i])
		}
	}
}

// Choose draws from the distribution Shares reports, for every policy.
func TestChooseFollowsShares(t *testing.T) {
	eg, _ := NewEpsilonGreedy(0.25)
	th, _ := NewThompson(Bernoulli, 100000)
	gth, _ := NewThompson(Gaussian, 100000)
	bern := []Arm{{Pulls: 40, Sum: 6, SumSq: 6}, {Pulls: 35, Sum: 7, SumSq: 7}, {Pulls: 50, Sum: 6, SumSq: 6}}
	gauss := []Arm{{Pulls: 6, Sum: 6, SumSq: 10}, {Pulls: 9, Sum: 11, SumSq: 25}, {Pulls: 30, Sum: 27, SumSq: 60}}
	for _, tc := range []struct {
		name string
		p    Policy
		arms []Arm
	}{
		{"thompson", th, bern},
		{"thompson-gaussian", gth, gauss},
		{"ucb1", UCB1{}, bern},
		{"epsilon-greedy", eg, bern},
		{"uniform", Uniform{}, bern},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRand(9)
			want := tc.p.Shares(tc.arms, rng)
			const n = 100000
			got := make([]float64, len(tc.arms))
			for range n {
				got[tc.p.Choose(tc.arms, rng)]++
			}
			for i := range got {
				got[i] /= n
				// 5 standard errors of the frequency plus the Monte Carlo
				// error of Thompson's shares.
				if tol := 5*math.Sqrt(want[i]*(1-want[i])/n) + 0.005; math.Abs(got[i]-want[i]) > tol {
					t.Errorf("arm %d chosen %.4f of the time, Shares says %.4f", i, got[i], want[i])
				}
			}
		})
	}
}

// The same seed gives the same choices and shares.
func TestDeterministic(t *testing.T) {
	th, _ := NewThompson(Bernoulli, 0)
	run := func() ([]Arm, []float64) {
		rng := newRand(42)
		arms := bernoulliArms(th, []float64{0.1, 0.12, 0.15}, 3000, rng)
		return arms, th.Shares(arms, rng)
	}
	a1, s1 := run()
	a2, s2 := run()
	if !slices.Equal(a1, a2) || !slices.Equal(s1, s2) {
		t.Errorf("two runs with one seed differ: %v %v and %v %v", a1, s1, a2, s2)
	}
}

func TestPolicyErrors(t *testing.T) {
	neg, big := -0.1, 1.5
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"epsilon-greedy", Options{Epsilon: &neg}, "epsilon-greedy: epsilon -0.1: want a rate between 0 and 1"},
		{"epsilon-greedy", Options{Epsilon: &big}, "epsilon-greedy: epsilon 1.5: want a rate between 0 and 1"},
		{"thompson", Options{Draws: -5}, "thompson: -5 posterior draws: want a positive number"},
		{"thompson", Options{Model: 7}, "thompson: unknown reward model Model(7)"},
		{"softmax", Options{}, `bandit policy "softmax": want one of epsilon-greedy, thompson, ucb1, uniform`},
	} {
		_, err := New(tc.name, tc.o)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %+v) = %v, want an error containing %q", tc.name, tc.o, err, tc.want)
		}
	}
	for _, name := range Names() {
		p, err := New(name, Options{})
		if err != nil || p == nil {
			t.Errorf("New(%q) with defaults: %v", name, err)
		}
	}
	if p, _ := New("epsilon-greedy", Options{}); p.(EpsilonGreedy).Epsilon() != DefaultEpsilon {
		t.Errorf("default epsilon %v, want %v", p.(EpsilonGreedy).Epsilon(), DefaultEpsilon)
	}
}

// Under the Gaussian model an arm with fewer than GaussianMinRewards
// rewards has no proper posterior, so it is served first and its status
// says so.
func TestGaussianUntriedFirst(t *testing.T) {
	th, _ := NewThompson(Gaussian, 0)
	arms := []Arm{{Pulls: 50, Sum: 500, SumSq: 5200}, {Pulls: 3, Sum: 1, SumSq: 1}}
	rng := newRand(2)
	for range 20 {
		if got := th.Choose(arms, rng); got != 1 {
			t.Fatalf("Choose = %d, want the untried arm 1", got)
		}
	}
	st, err := Allocator{Policy: th, Floor: 0.1}.Allocate([]string{"v1", "v2"}, arms, rng)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Share != 0.1 || st[1].Share != 0.9 || !st[1].Untried || st[0].Untried {
		t.Errorf("statuses %+v, want v1 on the 10%% floor and v2 untried with 90%%", st)
	}
	if got, want := st[1].Why(), "arm v2: 90% of traffic: P(best) not known until 4 rewards, mean 0.333 ± 0.3 over 3 rewards"; got != want {
		t.Errorf("Why() = %q, want %q", got, want)
	}
}
