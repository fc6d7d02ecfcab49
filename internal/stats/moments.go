package stats

// Moments summarizes a sample by its count, sum and sum of squares, which
// add across windows and shards. The zero value is the empty sample.
//
// The variance is computed from the sums, so it loses digits when the
// mean is large against the spread: about log10(mean²/variance) of the
// sixteen. Latencies in milliseconds and business values are far from
// that limit; shift values by a typical one first if they are not.
type Moments struct {
	N          int64   // observations
	Sum, SumSq float64 // Σx and Σx²
}

// MomentsOf summarizes xs.
func MomentsOf(xs []float64) Moments {
	var m Moments
	for _, x := range xs {
		m.Add(x)
	}
	return m
}

// Add adds the observation x.
func (m *Moments) Add(x float64) {
	m.N++
	m.Sum += x
	m.SumSq += x * x
}

// Merge adds the observations summarized by o.
func (m *Moments) Merge(o Moments) {
	m.N += o.N
	m.Sum += o.Sum
	m.SumSq += o.SumSq
}

// Mean is Σx/N, or 0 for the empty sample.
func (m Moments) Mean() float64 {
	if m.N == 0 {
		return 0
	}
	return m.Sum / float64(m.N)
}

// Variance is the sample variance (Σx² − (Σx)²/N)/(N − 1), or 0 with
// fewer than two observations; rounding never makes it negative.
func (m Moments) Variance() float64 {
	if m.N < 2 {
		return 0
	}
	n := float64(m.N)
	return max(0, (m.SumSq-m.Sum*m.Sum/n)/(n-1))
}
