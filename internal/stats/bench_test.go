package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// sink keeps the compiler from dropping benchmarked calls.
var sink float64

// BenchmarkSequential measures one look of each sequential test: the
// per-tick cost of judging one metric of one rollout.
func BenchmarkSequential(b *testing.B) {
	c := MomentsOf([]float64{12, 15, 11, 30, 14, 13, 18})
	base := MomentsOf([]float64{11, 14, 12, 25, 13, 12, 16, 15})
	for _, bm := range []struct {
		name string
		look func() SeqResult
	}{
		{"TwoProportions", func() SeqResult { return TwoProportions(48, 2400, 210, 21600, SeqOptions{}) }},
		{"OneProportion", func() SeqResult { return OneProportion(48, 2400, 0.01, SeqOptions{}) }},
		{"RiskRatio", func() SeqResult { return RiskRatio(48, 2400, 210, 21600, SeqOptions{}) }},
		{"TwoMeans", func() SeqResult { return TwoMeans(c, base, SeqOptions{}) }},
		{"QuantileExceedance", func() SeqResult { return QuantileExceedance(48, 2400, 21600, 0.99, SeqOptions{}) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink += bm.look().PValue
			}
		})
	}
}

// BenchmarkFixedSample measures the classical tests on two samples of
// 10,000 sorted values, and the Kolmogorov distribution alone in each of
// its regimes.
func BenchmarkFixedSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	c, base := make([]float64, 10000), make([]float64, 10000)
	for i := range c {
		c[i], base[i] = r.NormFloat64()+0.02, r.NormFloat64()
	}
	slices.Sort(c)
	slices.Sort(base)
	binsC := []float64{5, 40, 120, 300, 260, 150, 80, 30, 10, 5}
	binsB := []float64{3, 50, 160, 320, 240, 120, 60, 20, 6, 1}
	for _, bm := range []struct {
		name string
		run  func() float64
	}{
		{"MannWhitney/10k", func() float64 { return MannWhitney(c, base, TwoSided).PValue }},
		{"KolmogorovSmirnov/10k", func() float64 { return KolmogorovSmirnov(c, base, TwoSided).PValue }},
		{"kolmogorovSF/durbin", func() float64 { return kolmogorovSF(5000, 0.004) }},
		{"kolmogorovSF/pelzGood", func() float64 { return kolmogorovSF(5000, 0.015) }},
		{"kolmogorovSF/smirnov", func() float64 { return kolmogorovSF(5000, 0.03) }},
		{"WelchT", func() float64 { return WelchT(MomentsOf(c[:100]), MomentsOf(base[:120]), TwoSided).PValue }},
		{"PSI/10bins", func() float64 { return PSI(binsC, binsB) }},
		{"JSDistance/10bins", func() float64 { return JSDistance(binsC, binsB) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink += bm.run()
			}
		})
	}
}
