package stats

import "math"

// NormalCDF is Φ(x), the probability that a standard normal variable is at
// most x. It is accurate to a few ulps in the lower tail as well as in the
// middle, since it is computed from math.Erfc.
func NormalCDF(x float64) float64 {
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// NormalSF is 1 − Φ(x), the probability that a standard normal variable
// exceeds x, accurate in the upper tail where 1 − NormalCDF(x) would round
// to zero.
func NormalSF(x float64) float64 {
	return 0.5 * math.Erfc(x/math.Sqrt2)
}

// normalPDF is the standard normal density φ(x).
func normalPDF(x float64) float64 {
	return math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
}

// NormalQuantile is Φ⁻¹(p), the x with NormalCDF(x) = p: −Inf at 0, +Inf
// at 1 and NaN outside [0, 1]. It is accurate to about 1e-15 relative for
// p down to 1e-300 (and for 1 − p down to the rounding of p), less in the
// subnormal range. The starting value from math.Erfinv loses
// relative precision in the tails (it is evaluated at 2p − 1), so two
// Newton steps on the accurate tail probability restore it.
func NormalQuantile(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	case p > 0.5:
		// The upper tail mirrors the lower one; 1 − p is exact for
		// p > 0.5 (Sterbenz), so nothing is lost beyond p's own rounding.
		return -NormalQuantile(1 - p)
	}
	x := math.Sqrt2 * math.Erfinv(2*p-1)
	if math.IsInf(x, 0) {
		// Below about 1e-17, 2p − 1 rounds to −1; start from the leading
		// term of the tail expansion, which lies left of the root.
		x = -math.Sqrt(-2 * math.Log(p))
	}
	// Newton's method on ln Φ(x) = ln p: ln Φ is concave and increasing,
	// so from the left of the root the steps approach it monotonically,
	// and near the root each one doubles the correct digits.
	lp := math.Log(p)
	for range 50 {
		c := NormalCDF(x)
		if c == 0 {
			break
		}
		step := (math.Log(c) - lp) * c / normalPDF(x)
		x -= step
		if math.Abs(step) <= 1e-15*math.Abs(x) {
			break
		}
	}
	return x
}
