package bandit

import (
	"math"
	"testing"
)

func TestApplyFloor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shares []float64
		floor  float64
		want   []float64
	}{
		{"argmax", []float64{0, 1, 0}, 0.05, []float64{0.05, 0.9, 0.05}},
		{"above the floor untouched", []float64{0.5, 0.3, 0.2}, 0.1, []float64{0.5, 0.3, 0.2}},
		{"one raised, others scaled", []float64{0.5, 0.49, 0.01}, 0.05, []float64{0.5 * 0.95 / 0.99, 0.49 * 0.95 / 0.99, 0.05}},
		// 0.04 is raised to 0.1; scaling 0.9 and 0.06 by 0.9/0.96 takes 0.06
		// below the floor too, so it is raised and 0.9 gets the rest.
		{"cascade", []float64{0.9, 0.06, 0.04}, 0.1, []float64{0.8, 0.1, 0.1}},
		{"normalized", []float64{2, 0, 2}, 0.2, []float64{0.4, 0.2, 0.4}},
		{"floor fills all", []float64{1, 0, 0, 0}, 0.25, []float64{0.25, 0.25, 0.25, 0.25}},
		{"no floor", []float64{0, 1}, 0, []float64{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyFloor(tc.shares, tc.floor)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Errorf("ApplyFloor(%v, %v) = %v, want %v", tc.shares, tc.floor, got, tc.want)
					break
				}
			}
		})
	}
}

// On random shares the floor holds, the result sums to 1, and arms above
// the floor keep their ratios.
func TestApplyFloorProperties(t *testing.T) {
	rng := newRand(3)
	for range 2000 {
		k := 2 + rng.IntN(8)
		shares := make([]float64, k)
		for i := range shares {
			shares[i] = rng.ExpFloat64() * float64(rng.IntN(2)) // half of them 0
		}
		shares[rng.IntN(k)] += 0.01
		floor := rng.Float64() / float64(k)
		got, err := ApplyFloor(shares, floor)
		if err != nil {
			t.Fatal(err)
		}
		sum, above := 0.0, -1
		for i, s := range got {
			sum += s
			if s < floor-1e-12 {
				t.Fatalf("ApplyFloor(%v, %v): arm %d has %v", shares, floor, i, s)
			}
			if s > floor+1e-9 {
				if above >= 0 && math.Abs(s/got[above]-shares[i]/shares[above]) > 1e-9 {
					t.Fatalf("ApplyFloor(%v, %v) = %v: arms %d and %d changed ratio", shares, floor, got, above, i)
				}
				above = i
			}
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("ApplyFloor(%v, %v) sums to %v", shares, floor, sum)
		}
	}
}

func TestApplyFloorErrors(t *testing.T) {
	for _, tc := range []struct {
		shares []float64
		floor  float64
		want   string
	}{
		{[]float64{0.25, 0.25, 0.25, 0.25}, 0.3, "traffic floor 0.3 for 4 arms: want a share between 0 and 0.25 (1/4)"},
		{[]float64{0.5, 0.5}, -0.01, "traffic floor -0.01 for 2 arms"},
		{[]float64{0.5, 0.5}, math.NaN(), "traffic floor NaN for 2 arms"},
		{[]float64{0.5, math.NaN()}, 0.05, "share NaN of arm 1: want a finite share of at least 0"},
		{[]float64{0.5, -0.5}, 0.05, "share -0.5 of arm 1"},
		{[]float64{0, 0}, 0.05, "the shares of all 2 arms are 0"},
		{nil, 0.05, "no arms"},
	} {
		_, err := ApplyFloor(tc.shares, tc.floor)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("ApplyFloor(%v, %v) = %v, want an error containing %q", tc.shares, tc.floor, err, tc.want)
		}
	}
}
