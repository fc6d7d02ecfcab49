package stats

import (
	"math"
	"strings"
	"testing"
)

func TestSequentialUninformative(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name         string
		got          SeqResult
		lower, upper float64
		estimate     float64
	}{
		{"TwoProportions empty candidate", TwoProportions(0, 0, 3, 100, SeqOptions{}), -1, 1, 0},
		{"TwoProportions empty baseline", TwoProportions(3, 100, 0, 0, SeqOptions{}), -1, 1, 0},
		{"OneProportion empty", OneProportion(0, 0, 0.01, SeqOptions{}), 0, 1, 0},
		{"RiskRatio no events", RiskRatio(0, 500, 0, 500, SeqOptions{}), 0, inf, 1},
		{"RiskRatio empty arm", RiskRatio(2, 500, 0, 0, SeqOptions{}), 0, inf, 1},
		{"TwoMeans one observation", TwoMeans(MomentsOf([]float64{1}), MomentsOf([]float64{1, 2, 3}), SeqOptions{}), -inf, inf, -1},
		{"TwoMeans constant", TwoMeans(MomentsOf([]float64{2, 2, 2}), MomentsOf([]float64{2, 2}), SeqOptions{}), -inf, inf, 0},
		{"QuantileExceedance empty", QuantileExceedance(0, 0, 100, 0.99, SeqOptions{}), -1, 1, 0},
	}
	for _, tt := range tests {
		r := tt.got
		if r.PValue != 1 || r.Z != 0 || r.Lower != tt.lower || r.Upper != tt.upper || r.Estimate != tt.estimate || r.Rejects() {
			t.Errorf("%s: got p %v z %v interval [%v, %v] estimate %v; want p 1, z 0, [%v, %v], estimate %v",
				tt.name, r.PValue, r.Z, r.Lower, r.Upper, r.Estimate, tt.lower, tt.upper, tt.estimate)
		}
		if r.Alpha != DefaultAlpha || r.Test == "" {
			t.Errorf("%s: Alpha %v, Test %q; want the default level and a name", tt.name, r.Alpha, r.Test)
		}
	}
}

// TestSequentialIntervals checks, over a grid of counts, that every
// interval holds its estimate and stays in range, that a smaller Alpha
// widens it, and, for the tests whose interval inverts the test itself,
// that Rejects holds exactly when the null lies outside the interval.
func TestSequentialIntervals(t *testing.T) {
	for _, n := range []int64{20, 300, 5000} {
		for _, x := range []int64{0, 1, 3, n / 50, n / 10, n / 2, n} {
			for _, y := range []int64{0, 2, n / 40, n / 3} {
				nb := 3 * n
				two := TwoProportions(x, n, y, nb, SeqOptions{})
				wide := TwoProportions(x, n, y, nb, SeqOptions{Alpha: 0.001})
				inRange(t, "TwoProportions", two, -1, 1)
				nested(t, "TwoProportions", two, wide)

				one := OneProportion(x, n, 0.02, SeqOptions{})
				inRange(t, "OneProportion", one, 0, 1)
				nested(t, "OneProportion", one, OneProportion(x, n, 0.02, SeqOptions{Alpha: 0.001}))
				inverts(t, "OneProportion", one, 0.02)

				if x+y == 0 {
					continue
				}
				rr := RiskRatio(x, n, y, nb, SeqOptions{})
				inRange(t, "RiskRatio", rr, 0, math.Inf(1))
				nested(t, "RiskRatio", rr, RiskRatio(x, n, y, nb, SeqOptions{Alpha: 0.001}))
				inverts(t, "RiskRatio", rr, 1)
			}
		}
	}
}

func inRange(t *testing.T, name string, r SeqResult, lo, hi float64) {
	t.Helper()
	if !(lo <= r.Lower && r.Lower <= r.Estimate && r.Estimate <= r.Upper && r.Upper <= hi) {
		t.Errorf("%s(%d, %d): estimate %v, interval [%v, %v] outside [%v, %v] or not around it",
			name, r.CandidateN, r.BaselineN, r.Estimate, r.Lower, r.Upper, lo, hi)
	}
	if !(r.PValue >= 0 && r.PValue <= 1) {
		t.Errorf("%s: p-value %v", name, r.PValue)
	}
}

func nested(t *testing.T, name string, r, wider SeqResult) {
	t.Helper()
	if wider.Lower > r.Lower || wider.Upper < r.Upper {
		t.Errorf("%s: interval at Alpha 0.001 [%v, %v] does not contain the one at 0.05 [%v, %v]",
			name, wider.Lower, wider.Upper, r.Lower, r.Upper)
	}
}

func inverts(t *testing.T, name string, r SeqResult, null float64) {
	t.Helper()
	outside := null < r.Lower || null > r.Upper
	// Ties at the boundary are a matter of rounding; skip them.
	if math.Abs(r.PValue-r.Alpha) > 1e-9 && r.Rejects() != outside {
		t.Errorf("%s(%v/%d): p %v, interval [%v, %v]: Rejects %v but null %v outside %v",
			name, r.Candidate, r.CandidateN, r.PValue, r.Lower, r.Upper, r.Rejects(), null, outside)
	}
}

func TestTwoProportionsSymmetry(t *testing.T) {
	a := TwoProportions(30, 1000, 12, 900, SeqOptions{})
	b := TwoProportions(12, 900, 30, 1000, SeqOptions{})
	if math.Abs(a.Z+b.Z) > 1e-12 || math.Abs(a.PValue-b.PValue) > 1e-12 ||
		math.Abs(a.Estimate+b.Estimate) > 1e-15 || math.Abs(a.Lower+b.Upper) > 1e-15 {
		t.Errorf("swapping arms: %+v against %+v; want opposite effects, equal p-values", a, b)
	}
}

func TestRunning(t *testing.T) {
	first := SeqResult{Test: TestTwoProportions, PValue: 0.03, Lower: -0.01, Upper: 0.05, Estimate: 0.02}
	second := SeqResult{Test: TestTwoProportions, PValue: 0.2, Lower: 0.001, Upper: 0.08, Estimate: 0.03}
	disjoint := SeqResult{Test: TestTwoProportions, PValue: 0.5, Lower: 0.06, Upper: 0.09}
	other := SeqResult{Test: TestTwoMeans, PValue: 0.9, Lower: -5, Upper: 5}
	tests := []struct {
		name      string
		prev, cur SeqResult
		want      SeqResult
	}{
		{"no previous look", SeqResult{}, second, second},
		{"min p, intersection", first, second, SeqResult{Test: TestTwoProportions, PValue: 0.03, Lower: 0.001, Upper: 0.05, Estimate: 0.03}},
		{"disjoint keeps current interval", first, disjoint, SeqResult{Test: TestTwoProportions, PValue: 0.03, Lower: 0.06, Upper: 0.09}},
		{"another test", first, other, other},
	}
	for _, tt := range tests {
		if got := Running(tt.prev, tt.cur); got != tt.want {
			t.Errorf("%s: Running = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSeqOptionsValidate(t *testing.T) {
	if err := (SeqOptions{}).Validate(); err != nil {
		t.Errorf("zero SeqOptions: %v", err)
	}
	if err := (SeqOptions{Alpha: 0.01, Tau2: 0.5, RatioTau2: 1}).Validate(); err != nil {
		t.Errorf("valid SeqOptions: %v", err)
	}
	err := SeqOptions{Alpha: 1, Tau2: -1, RatioTau2: math.Inf(1), Side: 7}.Validate()
	if err == nil {
		t.Fatal("invalid SeqOptions: no error")
	}
	for _, field := range []string{"alpha 1", "tau2 -1", "ratioTau2 +Inf", "side Alternative(7)"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %q", err, field)
		}
	}
}

func TestSequentialPanics(t *testing.T) {
	tests := map[string]func(){
		"count above n":      func() { TwoProportions(11, 10, 0, 10, SeqOptions{}) },
		"negative count":     func() { RiskRatio(1, 10, -1, 10, SeqOptions{}) },
		"known rate 0":       func() { OneProportion(1, 10, 0, SeqOptions{}) },
		"quantile 1":         func() { QuantileExceedance(1, 10, 10, 1, SeqOptions{}) },
		"invalid alpha":      func() { TwoMeans(Moments{}, Moments{}, SeqOptions{Alpha: 2}) },
		"unsorted sample":    func() { MannWhitney([]float64{2, 1}, []float64{1}, TwoSided) },
		"NaN in sample":      func() { KolmogorovSmirnov([]float64{1, math.NaN()}, []float64{1}, TwoSided) },
		"negative bin":       func() { MannWhitneyBins([]int64{1, -1}, []int64{1}, TwoSided) },
		"bins differ in len": func() { PSI([]float64{1, 2}, []float64{1}) },
	}
	for name, f := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestMoments(t *testing.T) {
	var m Moments
	for _, x := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		m.Add(x)
	}
	if m.N != 8 || m.Mean() != 5 || math.Abs(m.Variance()-32.0/7) > 1e-12 {
		t.Errorf("moments of 2,4,4,4,5,5,7,9: n %d mean %v variance %v; want 8, 5, 32/7", m.N, m.Mean(), m.Variance())
	}
	a, b := MomentsOf([]float64{2, 4, 4, 4}), MomentsOf([]float64{5, 5, 7, 9})
	a.Merge(b)
	if a != m {
		t.Errorf("merged %+v, want %+v", a, m)
	}
	if (Moments{}).Mean() != 0 || MomentsOf([]float64{3}).Variance() != 0 {
		t.Error("empty mean or single-observation variance not 0")
	}
}

func TestNormalQuantileRoundTrip(t *testing.T) {
	for _, p := range []float64{1e-300, 1e-200, 1e-30, 1e-9, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-9} {
		x := NormalQuantile(p)
		if got := NormalCDF(x); math.Abs(got-p) > 1e-13*p {
			t.Errorf("NormalCDF(NormalQuantile(%v)) = %v", p, got)
		}
	}
	if !math.IsInf(NormalQuantile(0), -1) || !math.IsInf(NormalQuantile(1), 1) || !math.IsNaN(NormalQuantile(1.5)) {
		t.Error("NormalQuantile at 0, 1 or outside [0, 1] wrong")
	}
}

func TestFixedSampleEdges(t *testing.T) {
	empty := []float64{}
	one := []float64{1, 2, 3}
	for name, got := range map[string]Test{
		"MannWhitney empty":        MannWhitney(empty, one, TwoSided),
		"KolmogorovSmirnov empty":  KolmogorovSmirnov(one, empty, TwoSided),
		"KolmogorovSmirnovBins":    KolmogorovSmirnovBins(nil, []int64{3}, Greater),
		"WelchT too few":           WelchT(MomentsOf([]float64{1}), MomentsOf(one), TwoSided),
		"TwoProportionZ no events": TwoProportionZ(0, 10, 0, 10, Less),
		"MannWhitney all tied":     MannWhitney([]float64{4, 4}, []float64{4, 4, 4}, TwoSided),
	} {
		if got.PValue != 1 {
			t.Errorf("%s: p-value %v, want 1", name, got.PValue)
		}
	}
	if PSI([]float64{0, 0}, []float64{1, 2}) != 0 || JSDivergence([]float64{1, 2}, []float64{0, 0}) != 0 {
		t.Error("PSI or JSDivergence of an empty distribution not 0")
	}
	if d := JSDivergence([]float64{1, 0}, []float64{0, 1}); math.Abs(d-1) > 1e-15 {
		t.Errorf("JSDivergence of disjoint distributions %v, want 1 bit", d)
	}
	if s := Alternative(7).String(); s != "Alternative(7)" {
		t.Errorf("Alternative(7).String() = %q", s)
	}
}
