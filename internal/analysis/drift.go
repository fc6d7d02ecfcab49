package analysis

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// Drift parameters (see the package documentation for the formulas).
const (
	// PSIEpsilon is the share an empty bin counts as in a PSI, which
	// would otherwise divide by zero or take the log of zero. A bin that
	// holds a share s of one version and none of the other adds about
	// s·ln(s/PSIEpsilon) to the PSI: 0.46 for 1%.
	PSIEpsilon = 1e-4
	// DriftBins is the number of bins of a PSI over a sketch: the
	// baseline's deciles. Bins whose edges coincide (a feature that takes
	// few values) merge, so there may be fewer.
	DriftBins = 10
	// KSQuantiles is the number of quantiles at which score-shift reads
	// each version's score distribution.
	KSQuantiles = 100
)

// A binTerm is one bin's term of a divergence between two distributions
// over the same bins, from the bin's share of each.
type binTerm func(c, b float64) float64

// jsTerm is one bin's term of the Jensen–Shannon divergence in bits:
// ½(c·log₂(c/m) + b·log₂(b/m)) with m = (c + b)/2 and 0·log 0 = 0, so the
// sum lies in [0, 1] (stats.JSDivergence over the same shares).
func jsTerm(c, b float64) float64 {
	m := (c + b) / 2
	t := 0.0
	if c > 0 {
		t += c * math.Log(c/m)
	}
	if b > 0 {
		t += b * math.Log(b/m)
	}
	return t / (2 * math.Ln2)
}

// psiTerm is one bin's term of a PSI, from the bin's share of each
// version.
func psiTerm(c, b float64) float64 {
	c, b = max(c, PSIEpsilon), max(b, PSIEpsilon)
	return (c - b) * math.Log(c/b)
}

// psiCounts is the PSI of the candidate's counts c against the baseline's
// counts b over the same bins, plus one more bin counted by cOther and
// bOther; a bin beyond the end of the shorter slice is empty. Zero when
// either version has no counts.
func psiCounts(c, b []int64, cOther, bOther int64) float64 {
	return divergenceCounts(psiTerm, c, b, cOther, bOther)
}

// divergenceCounts sums term over the bins of counts c and b, plus the
// bin counted by cOther and bOther, as psiCounts does for the PSI.
func divergenceCounts(term binTerm, c, b []int64, cOther, bOther int64) float64 {
	cn, bn := cOther, bOther
	for _, v := range c {
		cn += v
	}
	for _, v := range b {
		bn += v
	}
	if cn == 0 || bn == 0 {
		return 0
	}
	at := func(s []int64, i int) int64 {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	psi := term(float64(cOther)/float64(cn), float64(bOther)/float64(bn))
	for i := range max(len(c), len(b)) {
		psi += term(float64(at(c, i))/float64(cn), float64(at(b, i))/float64(bn))
	}
	return psi
}

// psiSketches is the PSI of the candidate's sketch c against the
// baseline's b over bins at the baseline's deciles: (-∞, d₁], (d₁, d₂], …,
// (d₉, ∞). Zero when either is empty.
func psiSketches(c, b *ddsketch.DDSketch) float64 { return divergenceSketches(psiTerm, c, b) }

// divergenceSketches sums term over the bins at the baseline's deciles,
// as psiSketches does for the PSI.
func divergenceSketches(term binTerm, c, b *ddsketch.DDSketch) float64 {
	if c == nil || b == nil || c.IsEmpty() || b.IsEmpty() {
		return 0
	}
	var probs [DriftBins - 1]float64
	for i := range probs {
		probs[i] = float64(i+1) / DriftBins
	}
	var deciles, edges [DriftBins - 1]code
	quantileCodes(b, probs[:], deciles[:])
	k := 0
	for _, d := range deciles {
		if k == 0 || d > edges[k-1] {
			edges[k] = d
			k++
		}
	}
	var cc, bc [DriftBins]float64
	countBins(c, edges[:k], cc[:k+1])
	countBins(b, edges[:k], bc[:k+1])
	cn, bn := c.GetCount(), b.GetCount()
	psi := 0.0
	for i := range k + 1 {
		psi += term(cc[i]/cn, bc[i]/bn)
	}
	return psi
}

// ksDistance is the two-sample Kolmogorov-Smirnov distance sup |F_c - F_b|
// between the distributions of two sketches, each approximated by its
// KSQuantiles quantiles at (i+½)/KSQuantiles: the largest gap between the
// step functions those points make. Zero when either is empty.
func ksDistance(c, b *ddsketch.DDSketch) float64 {
	if c == nil || b == nil || c.IsEmpty() || b.IsEmpty() {
		return 0
	}
	var probs [KSQuantiles]float64
	for i := range probs {
		probs[i] = (float64(i) + 0.5) / KSQuantiles
	}
	var qc, qb [KSQuantiles]code
	quantileCodes(c, probs[:], qc[:])
	quantileCodes(b, probs[:], qb[:])
	// Walk both sorted lists; once every point at or below x is passed,
	// i and j count each step function's points at or below x.
	gap, i, j := 0, 0, 0
	for i < KSQuantiles && j < KSQuantiles {
		x := min(qc[i], qb[j])
		for i < KSQuantiles && qc[i] <= x {
			i++
		}
		for j < KSQuantiles && qb[j] <= x {
			j++
		}
		gap = max(gap, i-j, j-i)
	}
	return float64(gap) / KSQuantiles
}

// A code orders the bins of sketches that share a mapping (as all of
// telemetry's value sketches do) as their values: negative bins below the
// zero bin below positive ones, and within a sign by the bin's key. Drift
// needs only the order of values, and mapping a key back to its value
// (a cube root) would take most of the time.
type code int64

// signOffset separates the signs: keys stay far below it (a key counts
// 2% steps of the value, so 2⁴⁰ of them span more than any float64).
const signOffset = 1 << 40

const zeroCode code = 0

func positiveCode(key int) code { return code(signOffset + int64(key)) }
func negativeCode(key int) code { return code(-signOffset - int64(key)) }

// quantileCodes sets codes[i] to the code of sk's bin at quantile
// probs[i], as sk.GetValueAtQuantile would find it; probs is increasing
// and sk not empty. Without negative values, one pass over the bins finds
// them all.
func quantileCodes(sk *ddsketch.DDSketch, probs []float64, codes []code) {
	last := sk.GetCount() - 1
	pos, zero := sk.GetPositiveValueStore(), sk.GetZeroCount()
	if sk.GetNegativeValueStore().TotalCount() > 0 || !ascending(pos) {
		for i, p := range probs {
			codes[i] = codeAtRank(sk, p*last)
		}
		return
	}
	j := 0
	for j < len(probs) && probs[j]*last < zero {
		codes[j] = zeroCode
		j++
	}
	cum := zero
	eachBin(pos, func(key int, count float64) bool {
		cum += count
		for j < len(probs) && probs[j]*last < cum {
			codes[j] = positiveCode(key)
			j++
		}
		return j == len(probs)
	})
	if j < len(probs) { // rounding in the running sum: the top bin
		top, _ := pos.MaxIndex()
		for ; j < len(probs); j++ {
			codes[j] = positiveCode(top)
		}
	}
}

// codeAtRank is the code of sk's bin at rank, by GetValueAtQuantile's
// rule.
func codeAtRank(sk *ddsketch.DDSketch, rank float64) code {
	neg := sk.GetNegativeValueStore()
	n := neg.TotalCount()
	switch {
	case rank < n:
		return negativeCode(neg.KeyAtRank(n - 1 - rank))
	case rank < n+sk.GetZeroCount():
		return zeroCode
	}
	return positiveCode(sk.GetPositiveValueStore().KeyAtRank(rank - n - sk.GetZeroCount()))
}

// countBins adds sk's counts into counts by the intervals that sorted
// edges make: counts[i] takes the bins above edges[i-1] and at or below
// edges[i]; counts has len(edges)+1 elements.
func countBins(sk *ddsketch.DDSketch, edges []code, counts []float64) {
	bin := func(c code) int {
		i := 0
		for i < len(edges) && c > edges[i] {
			i++
		}
		return i
	}
	if z := sk.GetZeroCount(); z > 0 {
		counts[bin(zeroCode)] += z
	}
	eachBin(sk.GetPositiveValueStore(), func(key int, count float64) bool {
		counts[bin(positiveCode(key))] += count
		return false
	})
	eachBin(sk.GetNegativeValueStore(), func(key int, count float64) bool {
		counts[bin(negativeCode(key))] += count
		return false
	})
}

// sketchSum is the sum of sk's values as its bins represent them, within
// the sketch's relative accuracy when all have one sign.
func sketchSum(sk *ddsketch.DDSketch) float64 {
	sum := 0.0
	eachBin(sk.GetPositiveValueStore(), func(index int, count float64) bool {
		sum += sk.Value(index) * count
		return false
	})
	eachBin(sk.GetNegativeValueStore(), func(index int, count float64) bool {
		sum -= sk.Value(index) * count
		return false
	})
	return sum
}

// eachBin calls f on every non-empty bin of st until f returns true. For
// the dense stores telemetry uses it goes by increasing key, and calls
// their ForEach directly: through the Store interface every closure
// passed would escape to the heap, and a judgement would allocate. Other
// stores are read, in no set order, through Bins.
func eachBin(st store.Store, f func(index int, count float64) bool) {
	switch s := st.(type) {
	case *store.CollapsingLowestDenseStore:
		s.ForEach(f)
	case *store.DenseStore:
		s.ForEach(f)
	default:
		stopped := false
		for b := range st.Bins() { // drained to the end, which stops its goroutine
			if !stopped {
				stopped = f(b.Index(), b.Count())
			}
		}
	}
}

// ascending reports whether eachBin goes through st by increasing key.
func ascending(st store.Store) bool {
	switch st.(type) {
	case *store.CollapsingLowestDenseStore, *store.DenseStore:
		return true
	}
	return false
}
