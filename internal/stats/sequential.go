package stats

import (
	"errors"
	"fmt"
	"math"
)

// Defaults of SeqOptions (see the package documentation for why).
const (
	// DefaultAlpha is the false-alarm rate of a sequential test whose
	// SeqOptions.Alpha is zero.
	DefaultAlpha = 0.05
	// DefaultTau2 is the mixing variance of a normal-mixture test whose
	// SeqOptions.Tau2 is zero: the effects the test is tuned for are
	// around a tenth of one observation's standard deviation.
	DefaultTau2 = 0.01
	// DefaultRatioTau2 is the mixing variance of RiskRatio when
	// SeqOptions.RatioTau2 is zero, (ln 2)²: the ratios it is tuned for
	// are around 2 (or 1/2).
	DefaultRatioTau2 = math.Ln2 * math.Ln2
)

// Names of the sequential tests, as SeqResult.Test records them.
const (
	TestTwoProportions     = "msprt-two-proportions"
	TestOneProportion      = "msprt-one-proportion"
	TestRiskRatio          = "msprt-risk-ratio"
	TestTwoMeans           = "msprt-two-means"
	TestQuantileExceedance = "msprt-quantile-exceedance"
)

// SeqOptions configures a sequential test. The zero value is ready to
// use: each zero field takes its default.
type SeqOptions struct {
	// Alpha bounds the false alarms over all looks, however many and
	// whenever taken: the chance that the p-value ever falls to Alpha
	// while there is no effect, or that the interval ever excludes the
	// true effect, is at most Alpha: exactly for RiskRatio, in the normal
	// approximation for the others (see the package documentation for
	// simulated rates). Zero means DefaultAlpha; otherwise it must lie in
	// (0, 1).
	Alpha float64
	// Tau2 is τ², the variance of the normal mixing distribution over
	// the effect, in units of the variance of one observation of the
	// statistic tested (for proportions on the angular scale, where it is
	// ¼; for means, the values' own). Effects around √Tau2 standard
	// deviations are detected fastest. Zero means DefaultTau2; otherwise
	// it must be positive and finite. RiskRatio does not use it.
	Tau2 float64
	// RatioTau2 is, for RiskRatio only, the variance of its mixing
	// distribution over the log of the ratio of rates. Zero means
	// DefaultRatioTau2; otherwise it must be positive and finite.
	RatioTau2 float64
	// Side, for RiskRatio only, is the side the effect is looked for on.
	// TwoSided (the zero value) mixes over ratios on both sides of 1;
	// Greater mixes only over ratios above 1 and Less only below, which
	// about doubles the evidence for an effect on that side (as if Alpha
	// were doubled) while Ville's bound stays exact: a rollback trigger
	// only ever asks whether the candidate is worse.
	Side Alternative
}

// Validate reports every field outside its range, for a configuration
// that takes SeqOptions from a user.
func (o SeqOptions) Validate() error {
	var errs []error
	if !(o.Alpha >= 0 && o.Alpha < 1) {
		errs = append(errs, fmt.Errorf("alpha %v: must lie in (0, 1), or be 0 for %v", o.Alpha, DefaultAlpha))
	}
	if !(o.Tau2 >= 0 && !math.IsInf(o.Tau2, 1)) {
		errs = append(errs, fmt.Errorf("tau2 %v: must be positive and finite, or 0 for %v", o.Tau2, DefaultTau2))
	}
	if !(o.RatioTau2 >= 0 && !math.IsInf(o.RatioTau2, 1)) {
		errs = append(errs, fmt.Errorf("ratioTau2 %v: must be positive and finite, or 0 for %.4g", o.RatioTau2, DefaultRatioTau2))
	}
	if o.Side < TwoSided || o.Side > Less {
		errs = append(errs, fmt.Errorf("side %v: must be two-sided, greater or less", o.Side))
	}
	if o.Side < TwoSided || o.Side > Less {
		errs = append(errs, fmt.Errorf("side %v: must be two-sided, greater or less", o.Side))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields and panics on invalid ones, which
// Validate would have reported.
func (o SeqOptions) withDefaults() SeqOptions {
	if err := o.Validate(); err != nil {
		panic("stats: invalid SeqOptions: " + err.Error())
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Tau2 == 0 {
		o.Tau2 = DefaultTau2
	}
	if o.RatioTau2 == 0 {
		o.RatioTau2 = DefaultRatioTau2
	}
	return o
}

// SeqResult is one look of a sequential test of the candidate against the
// baseline. Its p-value and interval are valid at this look whatever
// looks came before; Running carries them from look to look.
type SeqResult struct {
	// Test names the test (one of the Test* constants); empty in the zero
	// value, which Running takes for "no look yet".
	Test string
	// Estimate is the effect: a difference of proportions or means, a
	// rate, or a ratio of rates, as the test's documentation says.
	Estimate float64
	// Lower and Upper bound the always-valid 1 − Alpha confidence
	// interval for the effect. Without data they span the effect's whole
	// range, which is ±Inf for a difference of means and [0, +Inf] for a
	// ratio.
	Lower, Upper float64
	// PValue is the always-valid p-value for "no effect" at this look, in
	// [0, 1]: 1/Λ, capped at 1, for the mixture likelihood ratio Λ.
	PValue float64
	// Z is the statistic the p-value comes from, the effect over its
	// standard error under the null (on the angular scale for
	// proportions, the score statistic for RiskRatio): positive when the
	// candidate's value is the larger. 0 without data.
	Z float64
	// Alpha is the level of the test and of the interval.
	Alpha float64
	// Candidate and Baseline are the values compared: each version's rate
	// or mean; for OneProportion the known rate as Baseline; for
	// QuantileExceedance the candidate's share above the threshold and
	// 1 − p.
	Candidate, Baseline float64
	// CandidateN and BaselineN are the sample sizes; BaselineN is zero
	// when the baseline is a known rate.
	CandidateN, BaselineN int64
}

// Rejects reports whether the test rejects "no effect" at its level:
// PValue ≤ Alpha. Rejecting the first time this holds keeps the false
// alarms within Alpha however often the test is checked.
func (r SeqResult) Rejects() bool { return r.Test != "" && r.PValue <= r.Alpha }

// Running combines a test's previous look with its current one into the
// running always-valid result: the smaller p-value and the intersection
// of the intervals (Johari et al. define the always-valid p-value and
// interval that way). Every other field is cur's. A prev of another test,
// or the zero SeqResult, means there was no previous look, and Running
// returns cur. When the intervals are disjoint, which happens with
// probability at most Alpha, cur's interval is kept.
func Running(prev, cur SeqResult) SeqResult {
	if prev.Test != cur.Test || prev.Test == "" {
		return cur
	}
	cur.PValue = min(cur.PValue, prev.PValue)
	lo, hi := max(cur.Lower, prev.Lower), min(cur.Upper, prev.Upper)
	if lo <= hi {
		cur.Lower, cur.Upper = lo, hi
	}
	return cur
}

// The normal mixture (see the package documentation): with k = Tau2, t
// the information and z = (θ̂ − θ₀)/√V,
//
//	ln Λ = z²·kt / (2(1 + kt)) − ½ ln(1 + kt),
//
// and the θ₀ with Λ < 1/α form the interval θ̂ ± h,
//
//	h = √(2V·(1 + kt)/kt · (ln(1/α) + ½ ln(1 + kt))).

// mixtureP is the always-valid p-value 1/Λ, at most 1, for the
// standardized statistic z at information kt = Tau2·t.
func mixtureP(z, kt float64) float64 {
	logLR := 0.5*z*z*kt/(1+kt) - 0.5*math.Log1p(kt)
	return min(1, math.Exp(-logLR))
}

// mixtureHalfWidth is h, the half-width of the always-valid 1 − alpha
// interval for an estimate of variance v at information kt.
func mixtureHalfWidth(v, kt, alpha float64) float64 {
	return math.Sqrt(2 * v * (1 + kt) / kt * (math.Log(1/alpha) + 0.5*math.Log1p(kt)))
}

// TwoMeans tests whether the candidate's mean differs from the
// baseline's, with the normal-mixture sequential test on the difference
// of means and its unpooled (Welch) variance V = s²c/nc + s²b/nb, at
// information t = nc·nb/(nc + nb). Estimate is the difference of the
// means with its always-valid interval; PValue tests a difference of
// zero. While either arm has fewer than two observations, or neither
// varies, the result is uninformative: PValue 1, the interval
// (−Inf, +Inf).
//
// The normal approximation needs enough observations for the means to be
// nearly normal; heavy tails (latency) need many, and a quantile test
// (QuantileExceedance) suits them better.
func TwoMeans(c, b Moments, opt SeqOptions) SeqResult {
	opt = opt.withDefaults()
	r := SeqResult{
		Test: TestTwoMeans, Alpha: opt.Alpha, PValue: 1,
		Estimate: c.Mean() - b.Mean(), Lower: math.Inf(-1), Upper: math.Inf(1),
		Candidate: c.Mean(), Baseline: b.Mean(), CandidateN: c.N, BaselineN: b.N,
	}
	if c.N < 2 || b.N < 2 {
		return r
	}
	nc, nb := float64(c.N), float64(b.N)
	v := c.Variance()/nc + b.Variance()/nb
	if !(v > 0) || math.IsInf(v, 0) {
		return r
	}
	kt := opt.Tau2 * nc * nb / (nc + nb)
	r.Z = r.Estimate / math.Sqrt(v)
	r.PValue = mixtureP(r.Z, kt)
	h := mixtureHalfWidth(v, kt, opt.Alpha)
	r.Lower, r.Upper = r.Estimate-h, r.Estimate+h
	return r
}

// checkCount panics unless 0 ≤ x ≤ n.
func checkCount(what string, x, n int64) {
	if x < 0 || x > n {
		panic(fmt.Sprintf("stats: %s count %d outside [0, %d]", what, x, n))
	}
}

// checkRate panics unless 0 < p < 1.
func checkRate(what string, p float64) {
	if !(p > 0 && p < 1) {
		panic(fmt.Sprintf("stats: %s %v outside (0, 1)", what, p))
	}
}

// ratio is x/n, or 0 when n is.
func ratio(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}
