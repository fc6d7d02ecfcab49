package bandit

import (
	"math"
	"testing"
)

func TestWhy(t *testing.T) {
	for _, tc := range []struct {
		s    ArmStatus
		want string
	}{
		{ArmStatus{Name: "v2", Share: 0.41, ProbBest: 0.41, Mean: 0.071, StdErr: 0.0059, Rewards: 5210},
			"arm v2: 41% of traffic: P(best)=0.41, mean 0.071 ± 0.006 over 5,210 rewards"},
		{ArmStatus{Name: "v1", Share: 0.025, ProbBest: 0.004, Mean: 0.0523, StdErr: 0.00312, Rewards: 1234567},
			"arm v1: 2.5% of traffic: P(best)=0.00, mean 0.0523 ± 0.003 over 1,234,567 rewards"},
		{ArmStatus{Name: "v3", Share: 1.0 / 3}, "arm v3: 33.3% of traffic: no rewards yet"},
		{ArmStatus{Name: "v4", Share: 0.9, ProbBest: 1, Mean: 12.5, StdErr: 0, Rewards: 1, Untried: true},
			"arm v4: 90% of traffic: P(best) not known until 4 rewards, mean 12.5 ± 0 over 1 reward"},
	} {
		if got := tc.s.Why(); got != tc.want {
			t.Errorf("Why() =\n  %s\nwant\n  %s", got, tc.want)
		}
	}
}

// A tick under UCB1 with a 5% floor: the argmax gets the rest, and the
// status reports each arm's probability of being best from the
// posterior, whatever the policy.
func TestAllocateFloor(t *testing.T) {
	arms := []Arm{{Pulls: 4000, Sum: 160, SumSq: 160}, {Pulls: 4000, Sum: 280, SumSq: 280}, {Pulls: 4000, Sum: 200, SumSq: 200}}
	st, err := Allocator{Policy: UCB1{}, Floor: 0.05}.Allocate([]string{"v1", "v2", "v3"}, arms, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	wantShare := []float64{0.05, 0.9, 0.05}
	for i, s := range st {
		if math.Abs(s.Share-wantShare[i]) > 1e-12 {
			t.Errorf("%s: share %v, want %v", s.Name, s.Share, wantShare[i])
		}
		if s.Rewards != arms[i].Pulls || s.Mean != arms[i].Mean() {
			t.Errorf("%s: %d rewards of mean %v, want %d of %v", s.Name, s.Rewards, s.Mean, arms[i].Pulls, arms[i].Mean())
		}
		// Binomial standard error √(p(1 − p)/n).
		if p := arms[i].Mean(); math.Abs(s.StdErr-math.Sqrt(p*(1-p)/4000)) > 1e-15 {
			t.Errorf("%s: standard error %v", s.Name, s.StdErr)
		}
	}
	// 7% against 4% and 5% on 4,000 rewards each is clear.
	if st[1].ProbBest < 0.999 {
		t.Errorf("P(best) of v2 = %v, want nearly 1", st[1].ProbBest)
	}
}

// With Thompson sampling the shares before the floor are the
// probabilities of being best.
func TestAllocateThompson(t *testing.T) {
	arms := []Arm{{Pulls: 500, Sum: 30, SumSq: 30}, {Pulls: 520, Sum: 37, SumSq: 37}}
	st, err := Allocator{}.Allocate([]string{"v1", "v2"}, arms, newRand(2))
	if err != nil {
		t.Fatal(err)
	}
	a1, b1 := BetaPosterior(arms[0])
	a2, b2 := BetaPosterior(arms[1])
	exact := betaGreater(a1, b1, a2, b2)
	for i, want := range []float64{1 - exact, exact} {
		if math.Abs(st[i].Share-want) > 5*math.Sqrt(want*(1-want)/DefaultDraws) || st[i].Share != st[i].ProbBest {
			t.Errorf("%s: share %v, P(best) %v; want both %v", st[i].Name, st[i].Share, st[i].ProbBest, want)
		}
	}
}

func TestAllocateErrors(t *testing.T) {
	two := []Arm{{Pulls: 5, Sum: 1, SumSq: 1}, {Pulls: 5, Sum: 7, SumSq: 7}}
	for _, tc := range []struct {
		name  string
		al    Allocator
		names []string
		arms  []Arm
		want  string
	}{
		{"names", Allocator{}, []string{"v1"}, two, "bandit allocation: 1 arm names for 2 arms"},
		{"empty", Allocator{}, nil, nil, "bandit allocation: no arms"},
		{"bernoulli sum", Allocator{}, []string{"v1", "v2"}, two, "bandit allocation: arm v2: reward sum 7 over 5 rewards"},
		{"floor", Allocator{Model: Gaussian, Floor: 0.6}, []string{"v1", "v2"}, two, "bandit allocation: traffic floor 0.6 for 2 arms: want a share between 0 and 0.5 (1/2)"},
	} {
		_, err := tc.al.Allocate(tc.names, tc.arms, newRand(1))
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
