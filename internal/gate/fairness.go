package gate

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Shuffles is how many random reassignments of the group column measure
// the gap that chance alone produces (FairnessResult.NoiseGap), and
// shuffleRows bounds the rows evaluated over all of them: a holdout of
// more than 20,000 rows gets fewer shuffles, down to 200 (each shuffle
// evaluates every row, and on a large holdout the chance gap is small
// and stable anyway).
const (
	Shuffles    = 1000
	minShuffles = 200
	shuffleRows = 20_000_000
)

// shuffleSeed fixes the shuffles, so that the same holdout and model give
// the same report every time.
const shuffleSeed = 0x5eed_f41e

// GroupStats is one group's share of the holdout and how the model did
// on it.
type GroupStats struct {
	Group string `json:"group"`
	Rows  int    `json:"rows"`
	// Metric is the fairness gate's metric on the group's rows; nil when
	// undefined (a group with one class only, for AUC).
	Metric *float64 `json:"metric"`
	// PositiveRate (share predicted positive) and TruePositiveRate
	// (recall) are set for binary classifiers; TruePositiveRate is nil
	// for a group without positives.
	PositiveRate     *float64 `json:"positive_rate,omitempty"`
	TruePositiveRate *float64 `json:"true_positive_rate,omitempty"`
}

// FairnessResult compares the groups of a holdout.
type FairnessResult struct {
	Column string       `json:"column"`
	Metric string       `json:"metric"`
	Groups []GroupStats `json:"groups"`
	// MetricGap is the largest difference of Metric between two groups.
	MetricGap float64 `json:"metric_gap"`
	// NoiseGap is the gap that chance produces on this holdout: the 95th
	// percentile of MetricGap over Shuffles random reassignments of the
	// rows to groups of the same sizes (a permutation test of "the
	// metric does not depend on the group"). A gap below it is what
	// groups drawn at random show one time in twenty; zero with fewer
	// than two groups.
	NoiseGap float64 `json:"noise_gap"`
	// PValue is the share of shuffles whose gap is at least MetricGap,
	// counting the holdout's own grouping: small when the gap is unlikely
	// to be chance; 1 with fewer than two groups.
	PValue float64 `json:"p_value"`
	// Shuffles is how many reassignments NoiseGap and PValue rest on.
	Shuffles int `json:"shuffles"`
	// ParityDifference (demographic parity difference: the gap in
	// positive-prediction rate) and OpportunityDifference (equal
	// opportunity difference: the gap in true-positive rate) are set for
	// binary classifiers.
	ParityDifference      *float64 `json:"parity_difference,omitempty"`
	OpportunityDifference *float64 `json:"opportunity_difference,omitempty"`
}

// Fair measures metric per group. groups[i] is row i's group; eval
// computes the quality metrics of a subset of rows; for a binary
// classifier labels and pred (0/1) give the parity and opportunity
// differences too (pass nil otherwise). It also measures how large a gap
// chance makes (NoiseGap, PValue) by shuffling the groups.
func Fair(column, metric string, groups []string, eval func(rows []int) map[string]float64, labels, pred []int) FairnessResult {
	byGroup := map[string][]int{}
	for i, g := range groups {
		byGroup[g] = append(byGroup[g], i)
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	sort.Strings(names)
	res := FairnessResult{Column: column, Metric: metric}
	var values, rates, tprs []float64
	for _, g := range names {
		rows := byGroup[g]
		st := GroupStats{Group: g, Rows: len(rows)}
		if x := eval(rows)[metric]; !math.IsNaN(x) {
			st.Metric = &x
			values = append(values, x)
		}
		if pred != nil {
			var predPos, pos, tp int
			for _, i := range rows {
				predPos += pred[i]
				if labels[i] == 1 {
					pos++
					tp += pred[i]
				}
			}
			rate := float64(predPos) / float64(len(rows))
			st.PositiveRate = &rate
			rates = append(rates, rate)
			if pos > 0 {
				tpr := float64(tp) / float64(pos)
				st.TruePositiveRate = &tpr
				tprs = append(tprs, tpr)
			}
		}
		res.Groups = append(res.Groups, st)
	}
	res.MetricGap = spread(values)
	res.PValue = 1
	if len(names) > 1 {
		n := Shuffles
		if len(groups)*n > shuffleRows {
			n = max(minShuffles, shuffleRows/len(groups))
		}
		res.NoiseGap, res.PValue = chanceGap(metric, names, byGroup, eval, res.MetricGap, n)
		res.Shuffles = n
	}
	if pred != nil {
		dp, eo := spread(rates), spread(tprs)
		res.ParityDifference, res.OpportunityDifference = &dp, &eo
	}
	return res
}

// chanceGap deals the rows out again, n times, into groups of the sizes
// byGroup has, and measures metric's gap each time: it returns the 95th
// percentile of those gaps and the permutation p-value of observed,
// (1 + shuffles with a gap ≥ observed) / (1 + n), which counts the real
// grouping among the possible ones so that it is never zero.
func chanceGap(metric string, names []string, byGroup map[string][]int, eval func(rows []int) map[string]float64, observed float64, n int) (noise, p float64) {
	var rows []int
	sizes := make([]int, len(names))
	for i, g := range names {
		rows = append(rows, byGroup[g]...)
		sizes[i] = len(byGroup[g])
	}
	rng := rand.New(rand.NewPCG(shuffleSeed, uint64(len(rows))))
	gaps := make([]float64, n)
	values := make([]float64, 0, len(names))
	atLeast := 0
	for k := range gaps {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		values = values[:0]
		at := 0
		for _, size := range sizes {
			if x := eval(rows[at : at+size])[metric]; !math.IsNaN(x) {
				values = append(values, x)
			}
			at += size
		}
		gaps[k] = spread(values)
		// A shuffle that ties the observed gap counts as reaching it; the
		// tolerance absorbs rounding in the metric's arithmetic.
		if gaps[k] >= observed-1e-12 {
			atLeast++
		}
	}
	slices.Sort(gaps)
	return quantile(gaps, 0.95), float64(atLeast+1) / float64(n+1)
}

// spread is max − min; zero for fewer than two values.
func spread(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return hi - lo
}
