package stats

import (
	"fmt"
	"math"
)

// Alternative is the alternative hypothesis of a fixed-sample test, always
// stated about the candidate's values against the baseline's.
type Alternative int

const (
	// TwoSided: the candidate's values differ from the baseline's.
	TwoSided Alternative = iota
	// Greater: the candidate's values tend to be greater (a higher rate,
	// a higher mean, a distribution shifted upwards).
	Greater
	// Less: the candidate's values tend to be smaller.
	Less
)

func (a Alternative) String() string {
	switch a {
	case TwoSided:
		return "two-sided"
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return fmt.Sprintf("Alternative(%d)", int(a))
}

// Test is the result of a fixed-sample test. Its p-value is valid only
// when the sample size was fixed in advance and the test is looked at
// once; for repeated looks use the sequential tests.
type Test struct {
	// Statistic is the test's statistic, as each test documents: z, t,
	// U or D.
	Statistic float64
	// PValue is the p-value for the test's alternative, in [0, 1]; 1
	// when the samples carry no information.
	PValue float64
	// DF is the degrees of freedom of a t statistic; zero for the others.
	DF float64
}

// pFromZ is the p-value of a standard normal statistic z.
func pFromZ(z float64, alt Alternative) float64 {
	switch alt {
	case Greater:
		return NormalSF(z)
	case Less:
		return NormalCDF(z)
	}
	return min(1, 2*NormalSF(math.Abs(z)))
}

// TwoProportionZ is the classical two-proportion z-test of the
// candidate's rate xc/nc against the baseline's xb/nb, with the pooled
// variance p̄(1 − p̄)(1/nc + 1/nb). Statistic is z. While either arm is
// empty or no arm has both outcomes, z is 0 and the p-value 1. It panics
// unless 0 ≤ xc ≤ nc and 0 ≤ xb ≤ nb.
func TwoProportionZ(xc, nc, xb, nb int64, alt Alternative) Test {
	checkCount("candidate", xc, nc)
	checkCount("baseline", xb, nb)
	if nc == 0 || nb == 0 {
		return Test{PValue: 1}
	}
	fc, fb := float64(nc), float64(nb)
	pool := float64(xc+xb) / (fc + fb)
	v := pool * (1 - pool) * (1/fc + 1/fb)
	if !(v > 0) {
		return Test{PValue: 1}
	}
	z := (float64(xc)/fc - float64(xb)/fb) / math.Sqrt(v)
	return Test{Statistic: z, PValue: pFromZ(z, alt)}
}

// WelchT is Welch's unequal-variances t-test of the candidate's mean
// against the baseline's, with the Welch–Satterthwaite degrees of freedom,
// as scipy.stats.ttest_ind(equal_var=False) computes it. Statistic is t.
// While either sample has fewer than two observations or neither varies,
// t is 0 and the p-value 1.
func WelchT(c, b Moments, alt Alternative) Test {
	if c.N < 2 || b.N < 2 {
		return Test{PValue: 1}
	}
	vc, vb := c.Variance()/float64(c.N), b.Variance()/float64(b.N)
	v := vc + vb
	if !(v > 0) {
		return Test{PValue: 1}
	}
	t := (c.Mean() - b.Mean()) / math.Sqrt(v)
	df := v * v / (vc*vc/float64(c.N-1) + vb*vb/float64(b.N-1))
	return Test{Statistic: t, PValue: studentP(t, df, alt), DF: df}
}

// studentP is the p-value of a Student t statistic with df degrees of
// freedom. The two-sided tail P(|T| ≥ |t|) is I_x(df/2, 1/2) at
// x = df/(df + t²) (Abramowitz and Stegun, section 26.7).
func studentP(t, df float64, alt Alternative) float64 {
	t2 := t * t
	two := regIncBeta(df/(df+t2), t2/(df+t2), df/2, 0.5) // P(|T| ≥ |t|)
	switch {
	case alt == TwoSided:
		return min(1, two)
	case (alt == Greater) == (t > 0):
		return two / 2
	default:
		return 1 - two/2
	}
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), given
// x and y = 1 − x separately so that neither loses digits. It evaluates
// the continued fraction of DLMF 8.17.22 with the modified Lentz method,
// on I_x(a, b) directly when x < (a + 1)/(a + b + 2), where the fraction
// converges fast, and otherwise as 1 − I_y(b, a) (DLMF 8.17.4).
func regIncBeta(x, y, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case y <= 0:
		return 1
	case x > (a+1)/(a+b+2):
		return 1 - regIncBeta(y, x, b, a)
	}
	lbeta := lgamma(a) + lgamma(b) - lgamma(a+b)
	front := math.Exp(a*math.Log(x) + b*math.Log(y) - lbeta)
	return front / a * betaFraction(x, a, b)
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// betaFraction is the continued fraction 1/(1+ d₁/(1+ d₂/(1+ …))) of
// DLMF 8.17.22, with d_{2m+1} = −(a+m)(a+b+m)x/((a+2m)(a+2m+1)) and
// d_{2m} = m(b−m)x/((a+2m−1)(a+2m)), by the modified Lentz method.
func betaFraction(x, a, b float64) float64 {
	const tiny, eps = 1e-300, 1e-16
	clamp := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	f, c, d := 1.0, 1.0, 0.0 // f = 1 + d₁/(1 + …) built as f₀ = 1 with b₀ = 1
	for i := 1; i <= 100000; i++ {
		m := float64(i / 2)
		var coef float64
		if i%2 == 1 {
			coef = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		} else {
			coef = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		}
		d = 1 / clamp(1+coef*d)
		c = clamp(1 + coef/c)
		f *= c * d
		if math.Abs(c*d-1) < eps {
			break
		}
	}
	return 1 / f
}
