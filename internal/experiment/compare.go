package experiment

import (
	"math"

	"github.com/slipway-ml/slipway/internal/stats"
)

// Comparison is one arm's metric against another's (a challenger against
// the control), from the normal-mixture sequential test: its p-value and
// both intervals are valid at this look whatever looks came before.
type Comparison struct {
	// Difference is the arm's mean minus the other's (for a Binary metric,
	// the difference of rates), with its always-valid 1 − Alpha interval
	// [Lower, Upper]: ±Inf while either arm has fewer than two
	// observations or neither varies.
	Difference, Lower, Upper float64
	// Relative is the lift relative to the other arm's mean,
	// (mean − other)/|other|: +0.10 for 10% higher. NaN when the other
	// arm's mean is 0. RelLower and RelUpper bound its always-valid
	// interval, ±Inf while the other arm's mean cannot be told from 0.
	Relative, RelLower, RelUpper float64
	// PValue is the always-valid p-value for equal means, in [0, 1].
	PValue float64
	// Z is the difference over its standard error: positive when the
	// arm's mean is the larger. 0 without information.
	Z float64
	// Alpha is the level of the test and the intervals: the family's
	// alpha divided among the comparisons.
	Alpha float64
}

// Significant reports whether the test rejects equal means at its level.
func (c Comparison) Significant() bool { return c.PValue <= c.Alpha }

// compare tests arm c against arm b with stats.TwoMeans (the normal
// mixture on the difference of means with the Welch variance; for 0/1
// values that is the difference of rates with variance
// p̂(1 − p̂)/(n − 1) in each arm), and derives the relative interval by
// inverting the same family of tests (Fieller's construction).
func compare(c, b stats.Moments, alpha, tau2 float64) Comparison {
	r := stats.TwoMeans(c, b, stats.SeqOptions{Alpha: alpha, Tau2: tau2})
	out := Comparison{
		Difference: r.Estimate, Lower: r.Lower, Upper: r.Upper,
		PValue: r.PValue, Z: r.Z, Alpha: alpha,
		Relative: math.NaN(), RelLower: math.Inf(-1), RelUpper: math.Inf(1),
	}
	mb := b.Mean()
	if mb != 0 {
		out.Relative = r.Estimate / math.Abs(mb)
	}
	if math.IsInf(r.Lower, 0) || c.N < 2 || b.N < 2 {
		return out
	}
	nc, nb := float64(c.N), float64(b.N)
	kt := tau2 * nc * nb / (nc + nb)
	lo, hi, ok := fieller(c.Mean(), mb, c.Variance()/nc, b.Variance()/nb, boundary(kt, alpha))
	if !ok {
		return out
	}
	// The ratio r = mc/mb maps to the lift (r − 1)·sign(mb), which
	// reverses the interval when the control's mean is negative.
	if mb > 0 {
		out.RelLower, out.RelUpper = lo-1, hi-1
	} else {
		out.RelLower, out.RelUpper = 1-hi, 1-lo
	}
	return out
}

// boundary is the squared z the normal mixture rejects at, for
// information kt = Tau2·t and level alpha (see the stats package
// documentation): the test rejects θ₀ when (θ̂ − θ₀)² ≥ boundary·V.
func boundary(kt, alpha float64) float64 {
	return (1 + kt) / kt * (2*math.Log(1/alpha) + math.Log1p(kt))
}

// fieller returns the ratios r = μc/μb that the mixture test of
// μc − r·μb = 0 does not reject at the squared boundary c: the r with
// (mc − r·mb)² ≤ c·(vc + r²·vb), where vc and vb are the variances of the
// two means. The information, and so c, is the same for every r, since
// the mixing variance is set in units of the statistic's own variance.
// The set is a bounded interval only when mb²> c·vb, that is when the
// same test tells mb from 0; ok is false otherwise.
func fieller(mc, mb, vc, vb, c float64) (lo, hi float64, ok bool) {
	a := mb*mb - c*vb
	if !(a > 0) {
		return 0, 0, false
	}
	bq := mc * mb
	disc := bq*bq - a*(mc*mc-c*vc)
	// The estimate mc/mb always lies in the set, so disc ≥ 0 up to
	// rounding.
	s := math.Sqrt(max(0, disc))
	return (bq - s) / a, (bq + s) / a, true
}
