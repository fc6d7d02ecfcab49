package stats

import (
	"fmt"
	"math"
)

// Drift thresholds.
const (
	// PSIFloor is the share an empty bin counts as in PSI, which would
	// otherwise divide by zero or take the log of zero; the same floor as
	// the analysis package's PSIEpsilon.
	PSIFloor = 1e-4
	// PSIWatch and PSIAct are the customary PSI thresholds: below
	// PSIWatch the populations are stable, from PSIWatch a shift is worth
	// watching, and from PSIAct worth acting on.
	PSIWatch = 0.1
	PSIAct   = 0.25
)

// PSI is the population stability index of the candidate's distribution
// over bins against the baseline's, Σ (cᵢ − bᵢ)·ln(cᵢ/bᵢ), where cᵢ and bᵢ
// are bin i's shares of c's and b's totals (counts or weights), each at
// least PSIFloor. It is the symmetrized Kullback–Leibler divergence
// KL(c‖b) + KL(b‖c) in nats. Zero when either total is zero. It panics
// when the slices differ in length or hold a negative or NaN value.
func PSI(c, b []float64) float64 {
	tc, tb := total("candidate", c), total("baseline", b)
	checkLengths(c, b)
	if tc == 0 || tb == 0 {
		return 0
	}
	psi := 0.0
	for i := range c {
		ci, bi := max(c[i]/tc, PSIFloor), max(b[i]/tb, PSIFloor)
		psi += (ci - bi) * math.Log(ci/bi)
	}
	return psi
}

// JSDivergence is the Jensen–Shannon divergence of the two distributions
// over bins, in bits (base 2), so in [0, 1]:
// ½KL(c‖m) + ½KL(b‖m) with m = (c + b)/2, shares taken of each total and
// 0·log 0 = 0. scipy.spatial.distance.jensenshannon(c, b, base=2)
// returns its square root, JSDistance. Zero when either total is zero.
// It panics as PSI does.
func JSDivergence(c, b []float64) float64 {
	tc, tb := total("candidate", c), total("baseline", b)
	checkLengths(c, b)
	if tc == 0 || tb == 0 {
		return 0
	}
	js := 0.0
	for i := range c {
		ci, bi := c[i]/tc, b[i]/tb
		m := (ci + bi) / 2
		js += xlogx(ci, m) + xlogx(bi, m)
	}
	return max(0, js/2/math.Ln2)
}

// JSDistance is the Jensen–Shannon distance, the square root of
// JSDivergence: a metric on distributions, in [0, 1], as
// scipy.spatial.distance.jensenshannon(c, b, base=2) computes it.
func JSDistance(c, b []float64) float64 { return math.Sqrt(JSDivergence(c, b)) }

// xlogx is x·ln(x/m), 0 when x is.
func xlogx(x, m float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/m)
}

func total(what string, s []float64) float64 {
	t := 0.0
	for i, v := range s {
		if !(v >= 0) {
			panic(fmt.Sprintf("stats: %s bin %d holds %v, not a count", what, i, v))
		}
		t += v
	}
	return t
}

func checkLengths(c, b []float64) {
	if len(c) != len(b) {
		panic(fmt.Sprintf("stats: %d candidate bins against %d baseline bins", len(c), len(b)))
	}
}
