package stats

import (
	"fmt"
	"math"
)

// MannWhitney is the Mann–Whitney U (Wilcoxon rank-sum) test of the
// candidate's sample c against the baseline's sample b, both sorted
// ascending, by the normal approximation with the tie correction and the
// continuity correction, as scipy.stats.mannwhitneyu(method="asymptotic")
// computes it. Statistic is the candidate's U: the number of pairs in
// which the candidate's value is the greater, ties counting one half;
// U/(len(c)·len(b)) estimates P(C > B) + P(C = B)/2, the effect size.
// NaNs are not allowed. With an empty sample U is 0 and the p-value 1. It
// takes time proportional to len(c) + len(b) and panics when a sample is
// not sorted.
func MannWhitney(c, b []float64, alt Alternative) Test {
	var w rankWalk
	walkSorted(c, b, w.add)
	return w.test(float64(len(c)), float64(len(b)), alt)
}

// MannWhitneyBins is MannWhitney over counts per ordered bin: c[i] and
// b[i] observations of each sample fall in bin i, observations in a bin
// are tied, and a bin beyond the end of the shorter slice is empty. It
// panics on a negative count.
func MannWhitneyBins(c, b []int64, alt Alternative) Test {
	var w rankWalk
	nc, nb := walkBins(c, b, w.add)
	return w.test(nc, nb, alt)
}

// rankWalk accumulates U and the tie term over groups of tied values in
// ascending order.
type rankWalk struct {
	u     float64 // candidate's U so far
	below float64 // baseline observations below the current group
	ties  float64 // Σ (t³ − t) over the groups of t tied observations
}

// add takes a group of nc candidate and nb baseline observations tied at
// one value, above every group added before.
func (w *rankWalk) add(nc, nb float64) {
	w.u += nc * (w.below + nb/2)
	w.below += nb
	t := nc + nb
	w.ties += t*t*t - t
}

// test is the normal approximation of U with n1 = nc and n2 = nb:
// mean n1n2/2, variance n1n2/12·((n + 1) − Σ(t³ − t)/(n(n − 1))), and
// the continuity correction of one half towards the mean.
func (w *rankWalk) test(nc, nb float64, alt Alternative) Test {
	res := Test{Statistic: w.u, PValue: 1}
	n := nc + nb
	if nc == 0 || nb == 0 {
		return res
	}
	sd := math.Sqrt(nc * nb / 12 * ((n + 1) - w.ties/(n*(n-1))))
	u, factor := w.u, 1.0
	switch alt {
	case Less:
		u = nc*nb - w.u
	case TwoSided:
		u, factor = max(w.u, nc*nb-w.u), 2
	}
	if sd > 0 {
		res.PValue = min(1, factor*NormalSF((u-nc*nb/2-0.5)/sd))
	}
	return res
}

// walkSorted calls group once per distinct value of the sorted samples c
// and b, in ascending order, with the number of each sample's
// observations equal to it.
func walkSorted(c, b []float64, group func(nc, nb float64)) {
	checkSorted("candidate", c)
	checkSorted("baseline", b)
	i, j := 0, 0
	for i < len(c) || j < len(b) {
		var v float64
		switch {
		case j == len(b) || (i < len(c) && c[i] < b[j]):
			v = c[i]
		default:
			v = b[j]
		}
		i0, j0 := i, j
		for i < len(c) && c[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		group(float64(i-i0), float64(j-j0))
	}
}

// walkBins calls group once per bin and returns each sample's total.
func walkBins(c, b []int64, group func(nc, nb float64)) (nc, nb float64) {
	at := func(s []int64, i int, what string) float64 {
		if i >= len(s) {
			return 0
		}
		if s[i] < 0 {
			panic(fmt.Sprintf("stats: negative %s count %d in bin %d", what, s[i], i))
		}
		return float64(s[i])
	}
	for i := range max(len(c), len(b)) {
		x, y := at(c, i, "candidate"), at(b, i, "baseline")
		group(x, y)
		nc += x
		nb += y
	}
	return nc, nb
}

// checkSorted panics unless s is sorted ascending without NaNs.
func checkSorted(what string, s []float64) {
	for i := range s {
		if s[i] != s[i] || (i > 0 && s[i] < s[i-1]) {
			panic(fmt.Sprintf("stats: %s sample not sorted ascending (or NaN) at index %d", what, i))
		}
	}
}
