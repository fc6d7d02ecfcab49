package bandit

import (
	"math"
	"testing"
)

func TestArmStatistics(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rewards        []float64
		mean, variance float64
	}{
		{"none", nil, 0, 0},
		{"one", []float64{3}, 3, 0},
		{"conversions", []float64{0, 1, 0, 0, 1}, 0.4, 0.3}, // Σ(r−0.4)² = 1.2, /4
		{"values", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 32.0 / 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Arm
			for _, r := range tc.rewards {
				a.Observe(r)
			}
			if a.Pulls != int64(len(tc.rewards)) {
				t.Errorf("Pulls = %d, want %d", a.Pulls, len(tc.rewards))
			}
			if got := a.Mean(); math.Abs(got-tc.mean) > 1e-12 {
				t.Errorf("Mean = %v, want %v", got, tc.mean)
			}
			if got := a.Variance(); math.Abs(got-tc.variance) > 1e-12 {
				t.Errorf("Variance = %v, want %v", got, tc.variance)
			}
		})
	}
}

// Merging the evidence of two halves gives the evidence of the whole.
func TestArmMerge(t *testing.T) {
	rewards := []float64{1.5, -2, 0, 7, 3.25, 3.25, 11}
	var whole, left, right Arm
	for i, r := range rewards {
		whole.Observe(r)
		if i < 3 {
			left.Observe(r)
		} else {
			right.Observe(r)
		}
	}
	left.Merge(right)
	if left != whole {
		t.Errorf("merged %+v, want %+v", left, whole)
	}
}

func TestArmCheck(t *testing.T) {
	for _, tc := range []struct {
		arm  Arm
		m    Model
		want string
	}{
		{Arm{Pulls: 5, Sum: 7, SumSq: 7}, Bernoulli, "arm v2: reward sum 7 over 5 rewards: 0/1 rewards need a sum between 0 and the count (use the gaussian model for continuous rewards)"},
		{Arm{Pulls: 5, Sum: -1, SumSq: 1}, Bernoulli, "arm v2: reward sum -1 over 5 rewards"},
		{Arm{Pulls: -1}, Gaussian, "arm v2: -1 rewards: the count cannot be negative"},
		{Arm{Pulls: 2, Sum: math.NaN()}, Gaussian, "arm v2: reward sums NaN and 0: want finite numbers"},
		{Arm{Pulls: 2, Sum: 1, SumSq: -3}, Gaussian, "arm v2: sum of squared rewards -3 is negative"},
	} {
		err := tc.arm.check("v2", tc.m)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("check(%+v, %v) = %v, want an error containing %q", tc.arm, tc.m, err, tc.want)
		}
	}
	if err := (Arm{Pulls: 5, Sum: 7, SumSq: 12}).check("v2", Gaussian); err != nil {
		t.Errorf("a continuous arm under the gaussian model: %v", err)
	}
}
