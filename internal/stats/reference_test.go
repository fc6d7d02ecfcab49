package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// The reference values in testdata/reference.json come from
// testdata/reference.py (scipy and numpy); see its docstring. Every value
// must agree within relTol of its magnitude, or absTol near zero.
const (
	relTol = 1e-6
	absTol = 1e-12
)

type reference struct {
	Scipy  string `json:"scipy"`
	Normal struct {
		CDF []struct{ X, CDF, SF float64 } `json:"cdf"`
		PPF []struct{ P, X float64 }       `json:"ppf"`
	} `json:"normal"`
	ZTest []struct {
		XC, NC, XB, NB int64
		Alternative    string
		Z, P           float64
	} `json:"ztest"`
	TwoSample []struct {
		Name  string
		C, B  []float64
		Welch []struct {
			Alternative string
			T, DF, P    float64
		}
		MannWhitney []struct {
			Alternative string
			U, P        float64
		}
		KS []struct {
			Alternative string
			D, P        float64
		}
	} `json:"two_sample"`
	Binned []struct {
		Name        string
		C, B        []int64
		MannWhitney []struct {
			Alternative string
			U, P        float64
		}
		KS []struct {
			Alternative string
			D, P        float64
		}
		PSI        float64 `json:"psi"`
		JSDistance float64 `json:"js_distance"`
	} `json:"binned"`
	KSTwo []struct {
		N     int
		X, SF float64
	} `json:"kstwo"`
	MSPRT []msprtCase `json:"msprt"`
}

// number is a float64 in JSON that may also be "+Inf" or "-Inf".
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"+Inf"`:
		*n = number(math.Inf(1))
	case `"-Inf"`:
		*n = number(math.Inf(-1))
	default:
		return json.Unmarshal(b, (*float64)(n))
	}
	return nil
}

type msprtCase struct {
	Test                   string
	XC, NC, XB, NB         int64
	X, N                   int64
	P0, Q                  float64
	Sample                 string
	Alpha, Tau2            float64
	RatioTau2              float64 `json:"ratio_tau2"`
	Side                   string  `json:"side"`
	Estimate, Lower, Upper number
	P, Z                   float64
}

func loadReference(t testing.TB) *reference {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatalf("reading reference values (regenerate with /usr/bin/python3 testdata/reference.py): %v", err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("decoding reference values: %v", err)
	}
	if len(ref.Normal.CDF) == 0 || len(ref.Normal.PPF) == 0 || len(ref.ZTest) == 0 || len(ref.TwoSample) == 0 ||
		len(ref.Binned) == 0 || len(ref.KSTwo) == 0 || len(ref.MSPRT) == 0 {
		t.Fatal("reference values incomplete: regenerate with /usr/bin/python3 testdata/reference.py")
	}
	return &ref
}

func alternative(t *testing.T, s string) Alternative {
	for _, a := range []Alternative{TwoSided, Greater, Less} {
		if a.String() == s {
			return a
		}
	}
	t.Fatalf("unknown alternative %q", s)
	return 0
}

// agree reports whether got is within the reference tolerance of want.
func agree(got, want float64) bool {
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= relTol*math.Abs(want)+absTol
}

func check(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !agree(got, want) {
		t.Errorf("%s = %.17g, want %.17g (scipy; relative error %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

func TestReferenceNormal(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Normal.CDF {
		check(t, fmt.Sprintf("NormalCDF(%v)", c.X), NormalCDF(c.X), c.CDF)
		check(t, fmt.Sprintf("NormalSF(%v)", c.X), NormalSF(c.X), c.SF)
	}
	for _, c := range ref.Normal.PPF {
		check(t, fmt.Sprintf("NormalQuantile(%v)", c.P), NormalQuantile(c.P), c.X)
	}
}

func TestReferenceTwoProportionZ(t *testing.T) {
	for _, c := range loadReference(t).ZTest {
		got := TwoProportionZ(c.XC, c.NC, c.XB, c.NB, alternative(t, c.Alternative))
		what := fmt.Sprintf("TwoProportionZ(%d/%d vs %d/%d, %s)", c.XC, c.NC, c.XB, c.NB, c.Alternative)
		check(t, what+".Statistic", got.Statistic, c.Z)
		check(t, what+".PValue", got.PValue, c.P)
	}
}

func TestReferenceTwoSample(t *testing.T) {
	for _, s := range loadReference(t).TwoSample {
		mc, mb := MomentsOf(s.C), MomentsOf(s.B)
		for _, w := range s.Welch {
			got := WelchT(mc, mb, alternative(t, w.Alternative))
			what := fmt.Sprintf("WelchT(%s, %s)", s.Name, w.Alternative)
			check(t, what+".Statistic", got.Statistic, w.T)
			check(t, what+".DF", got.DF, w.DF)
			check(t, what+".PValue", got.PValue, w.P)
		}
		for _, w := range s.MannWhitney {
			got := MannWhitney(s.C, s.B, alternative(t, w.Alternative))
			what := fmt.Sprintf("MannWhitney(%s, %s)", s.Name, w.Alternative)
			check(t, what+".Statistic", got.Statistic, w.U)
			check(t, what+".PValue", got.PValue, w.P)
		}
		for _, w := range s.KS {
			got := KolmogorovSmirnov(s.C, s.B, alternative(t, w.Alternative))
			what := fmt.Sprintf("KolmogorovSmirnov(%s, %s)", s.Name, w.Alternative)
			check(t, what+".Statistic", got.Statistic, w.D)
			check(t, what+".PValue", got.PValue, w.P)
		}
	}
}

func TestReferenceBinned(t *testing.T) {
	for _, s := range loadReference(t).Binned {
		for _, w := range s.MannWhitney {
			got := MannWhitneyBins(s.C, s.B, alternative(t, w.Alternative))
			what := fmt.Sprintf("MannWhitneyBins(%s, %s)", s.Name, w.Alternative)
			check(t, what+".Statistic", got.Statistic, w.U)
			check(t, what+".PValue", got.PValue, w.P)
		}
		for _, w := range s.KS {
			got := KolmogorovSmirnovBins(s.C, s.B, alternative(t, w.Alternative))
			what := fmt.Sprintf("KolmogorovSmirnovBins(%s, %s)", s.Name, w.Alternative)
			check(t, what+".Statistic", got.Statistic, w.D)
			check(t, what+".PValue", got.PValue, w.P)
		}
		c, b := floats(s.C), floats(s.B)
		check(t, fmt.Sprintf("PSI(%s)", s.Name), PSI(c, b), s.PSI)
		check(t, fmt.Sprintf("JSDistance(%s)", s.Name), JSDistance(c, b), s.JSDistance)
		check(t, fmt.Sprintf("JSDivergence(%s)", s.Name), JSDivergence(c, b), s.JSDistance*s.JSDistance)
	}
}

func floats(s []int64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func TestReferenceKolmogorovDistribution(t *testing.T) {
	for _, c := range loadReference(t).KSTwo {
		check(t, fmt.Sprintf("kolmogorovSF(%d, %v)", c.N, c.X), kolmogorovSF(c.N, c.X), c.SF)
	}
}

func TestReferenceSequential(t *testing.T) {
	ref := loadReference(t)
	samples := make(map[string][2]Moments)
	for _, s := range ref.TwoSample {
		samples[s.Name] = [2]Moments{MomentsOf(s.C), MomentsOf(s.B)}
	}
	for _, c := range ref.MSPRT {
		opt := SeqOptions{Alpha: c.Alpha, Tau2: c.Tau2, RatioTau2: c.RatioTau2}
		if opt.Alpha == DefaultAlpha && (opt.Tau2 == DefaultTau2 || agree(opt.RatioTau2, DefaultRatioTau2)) {
			opt = SeqOptions{} // the defaults are the reference's first options
		}
		switch c.Side {
		case "greater":
			opt.Side = Greater
		case "less":
			opt.Side = Less
		}
		var got SeqResult
		var what string
		switch c.Test {
		case "two-proportions":
			got = TwoProportions(c.XC, c.NC, c.XB, c.NB, opt)
			what = fmt.Sprintf("TwoProportions(%d/%d vs %d/%d, %+v)", c.XC, c.NC, c.XB, c.NB, opt)
		case "risk-ratio":
			got = RiskRatio(c.XC, c.NC, c.XB, c.NB, opt)
			what = fmt.Sprintf("RiskRatio(%d/%d vs %d/%d, %+v)", c.XC, c.NC, c.XB, c.NB, opt)
		case "one-proportion":
			got = OneProportion(c.X, c.N, c.P0, opt)
			what = fmt.Sprintf("OneProportion(%d/%d vs %v, %+v)", c.X, c.N, c.P0, opt)
		case "quantile-exceedance":
			got = QuantileExceedance(c.XC, c.NC, c.NB, c.Q, opt)
			what = fmt.Sprintf("QuantileExceedance(%d/%d, %d, %v, %+v)", c.XC, c.NC, c.NB, c.Q, opt)
		case "two-means":
			m := samples[c.Sample]
			got = TwoMeans(m[0], m[1], opt)
			what = fmt.Sprintf("TwoMeans(%s, %+v)", c.Sample, opt)
		default:
			t.Fatalf("unknown sequential test %q", c.Test)
		}
		check(t, what+".Estimate", got.Estimate, float64(c.Estimate))
		check(t, what+".Lower", got.Lower, float64(c.Lower))
		check(t, what+".Upper", got.Upper, float64(c.Upper))
		check(t, what+".PValue", got.PValue, c.P)
		check(t, what+".Z", got.Z, c.Z)
	}
}
