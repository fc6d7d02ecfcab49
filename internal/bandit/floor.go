package bandit

import (
	"fmt"
	"math"
)

// ApplyFloor returns shares changed so that every arm gets at least
// floor, the minimum traffic that keeps an arm's evidence fresh. Arms
// below the floor are raised to it and the others are scaled down in
// proportion, repeatedly, until none falls below: an arm above the floor
// keeps its ratio to every other arm above it. The result sums to 1.
// shares must be non-negative and finite with a positive sum (they are
// normalized first), and floor·k ≤ 1 for k arms.
func ApplyFloor(shares []float64, floor float64) ([]float64, error) {
	k := len(shares)
	if k == 0 {
		return nil, fmt.Errorf("traffic floor: no arms to share traffic between")
	}
	if !(floor >= 0 && floor*float64(k) <= 1+1e-12) {
		return nil, fmt.Errorf("traffic floor %v for %d arms: want a share between 0 and %.4g (1/%d) so that the floors fit in all traffic", floor, k, 1/float64(k), k)
	}
	total := 0.0
	for i, s := range shares {
		if !(s >= 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("traffic floor: share %v of arm %d: want a finite share of at least 0", s, i)
		}
		total += s
	}
	if total == 0 {
		return nil, fmt.Errorf("traffic floor: the shares of all %d arms are 0", k)
	}
	out := make([]float64, k)
	for i, s := range shares {
		out[i] = s / total
	}
	floored := make([]bool, k)
	for {
		// Raise the arms below the floor; scale the rest into what is left.
		free, rest := 1.0, 0.0
		for i, s := range out {
			if floored[i] {
				free -= floor
			} else {
				rest += s
			}
		}
		if rest <= 0 { // every arm on the floor: floor·k = 1
			for i := range out {
				out[i] = 1 / float64(k)
			}
			return out, nil
		}
		changed := false
		for i := range out {
			if floored[i] {
				out[i] = floor
				continue
			}
			out[i] *= free / rest
			if out[i] < floor {
				floored[i], changed = true, true
			}
		}
		if !changed {
			return out, nil
		}
	}
}
