package stats

import "math"

// RiskRatio tests whether the candidate's rate xc/nc differs from the
// baseline's xb/nb by their ratio r = p_c/p_b, with an exact sequential
// test on the events alone (after Lindon and Malek's conditioning of
// counts on their total). When a share w of the traffic goes to the
// candidate, each event comes from the candidate with probability
//
//	π = w·r / (w·r + 1 − w),  that is  logit π = logit w + ln r,
//
// independently of the others, whatever the rates. Against the null
// π₀ = w (r = 1) the test mixes the binomial likelihood of the events'
// origins, xc of xc + xb from the candidate, over the conjugate
// Beta(κw, κ(1 − w)) with κ = 1/(RatioTau2·w(1 − w)) − 1, whose log-odds
// have the delta-method variance RatioTau2; its likelihood ratio
// Λ = B(κw + xc, κ(1 − w) + xb) / (B(κw, κ(1 − w))·w^xc·(1 − w)^xb) is
// a martingale under the null, so that the false alarms stay within
// Alpha by Ville's inequality with no normal approximation: it suits rare
// events and small canaries best.
//
// With opt.Side Greater (or Less) the mixture is truncated to ratios above
// (below) 1: the same martingale argument holds for any mixing
// distribution, the evidence for a ratio on that side about doubles, and
// the interval, inverted from the truncated mixture, stays valid at every
// look.
//
// Estimate is the ratio of the rates, with half an event and half a
// non-event added to every count when either arm has no events
// (Haldane–Anscombe), so that it is finite. Lower and Upper are the
// always-valid interval for r: the r whose π has a likelihood above
// Alpha times the mixture's, the inversion of the same test, so PValue ≤
// Alpha exactly when 1 lies outside it. Z is the score statistic
// (xc − w(xc + xb))/√(w(1 − w)(xc + xb)).
//
// w is taken as nc/(nc + nb), so the traffic split must stay the same
// over the counts: after a change of weights, start new counts. While
// either arm is empty or neither has an event, the result is
// uninformative: PValue 1, the interval [0, +Inf], Estimate 1. It panics
// unless 0 ≤ xc ≤ nc and 0 ≤ xb ≤ nb.
func RiskRatio(xc, nc, xb, nb int64, opt SeqOptions) SeqResult {
	checkCount("candidate", xc, nc)
	checkCount("baseline", xb, nb)
	opt = opt.withDefaults()
	r := SeqResult{
		Test: TestRiskRatio, Alpha: opt.Alpha, PValue: 1,
		Estimate: 1, Lower: 0, Upper: math.Inf(1),
		Candidate: ratio(xc, nc), Baseline: ratio(xb, nb), CandidateN: nc, BaselineN: nb,
	}
	if nc == 0 || nb == 0 || xc+xb == 0 {
		return r
	}
	x, y := float64(xc), float64(xb)
	fc, fb := float64(nc), float64(nb)
	if xc == 0 || xb == 0 {
		r.Estimate = ((x + 0.5) / (fc + 1)) / ((y + 0.5) / (fb + 1))
	} else {
		r.Estimate = (x / fc) / (y / fb)
	}
	w := fc / (fc + fb)
	k := max(1/(opt.RatioTau2*w*(1-w))-1, 1e-9)
	a, b := k*w, k*(1-w)
	logMix := logBeta(a+x, b+y) - logBeta(a, b) + logSideMass(opt.Side, w, a, b, x, y)
	if math.IsInf(logMix, -1) {
		return r // all the evidence lies on the side not looked at
	}
	e := events{x: x, y: y}
	u0 := math.Log(w / (1 - w))
	r.PValue = min(1, math.Exp(e.logLik(u0)-logMix))
	r.Z = (x - w*(x+y)) / math.Sqrt(w*(1-w)*(x+y))
	level := logMix + math.Log(opt.Alpha)
	lo, hi := e.bounds(level)
	r.Lower, r.Upper = math.Exp(lo-u0), math.Exp(hi-u0)
	return r
}

// logSideMass restricts RiskRatio's mixture to one side of the null π₀ = w:
// the log of the posterior's mass on that side over the prior's, the
// factor by which the truncated (and renormalized) Beta mixture differs
// from the whole one. Zero for TwoSided.
func logSideMass(side Alternative, w, a, b, x, y float64) float64 {
	switch side {
	case Greater: // π > w: 1 − I_w = I_{1−w} with the parameters swapped
		return math.Log(regIncBeta(1-w, w, b+y, a+x)) - math.Log(regIncBeta(1-w, w, b, a))
	case Less:
		return math.Log(regIncBeta(w, 1-w, a+x, b+y)) - math.Log(regIncBeta(w, 1-w, a, b))
	}
	return 0
}

func logBeta(a, b float64) float64 { return lgamma(a) + lgamma(b) - lgamma(a+b) }

// events are x events from the candidate and y from the baseline,
// binomial in the log-odds u = logit π of an event's being the
// candidate's.
type events struct{ x, y float64 }

// eval is the log-likelihood x·ln π + y·ln(1 − π) at logit π = u and
// its derivative in u, from one exponential and one logarithm.
func (e events) eval(u float64) (logLik, slope float64) {
	a := math.Abs(u)
	ea := math.Exp(-a)            // e^(−|u|)
	l := math.Log1p(ea)           // ln(1 + e^(−|u|))
	lo, hi := -a-l, -l            // ln σ(−|u|), ln σ(|u|)
	so, sh := ea/(1+ea), 1/(1+ea) // σ(−|u|), σ(|u|)
	if u >= 0 {
		return e.x*hi + e.y*lo, e.x*so - e.y*sh
	}
	return e.x*lo + e.y*hi, e.x*sh - e.y*so
}

func (e events) logLik(u float64) float64 {
	ll, _ := e.eval(u)
	return ll
}

// bounds are the u on either side of the maximum where logLik equals
// level, which lies below the maximum; ∓Inf where there is none (no
// events on that side).
func (e events) bounds(level float64) (lo, hi float64) {
	switch {
	case e.x == 0:
		// logLik = −y·ln(1 + eᵘ) falls from 0 at u = −Inf.
		return math.Inf(-1), math.Log(math.Expm1(-level / e.y))
	case e.y == 0:
		return -math.Log(math.Expm1(-level / e.x)), math.Inf(1)
	}
	top := math.Log(e.x / e.y)
	// The quadratic approximation at the maximum, whose curvature is
	// −xy/(x + y), places the roots about d either side of it.
	d := math.Sqrt(2 * (e.logLik(top) - level) * (e.x + e.y) / (e.x * e.y))
	return e.root(level, top, -d), e.root(level, top, d)
}

// root finds the root of logLik = level on the side of the maximum at
// top that d points to, |d| being a guess of its distance. The
// log-likelihood is concave in u, so Newton's method started beyond the
// root approaches it without overshooting.
func (e events) root(level, top, d float64) float64 {
	u := top + d
	for e.logLik(u) >= level {
		d *= 1.5
		u = top + d
	}
	for range 100 {
		ll, slope := e.eval(u)
		step := (ll - level) / slope
		u -= step
		if math.Abs(step) <= 1e-13*max(1, math.Abs(u)) {
			break
		}
	}
	return u
}
