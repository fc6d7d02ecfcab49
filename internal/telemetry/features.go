package telemetry

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// FeatureAggregate summarises one input feature.
type FeatureAggregate struct {
	Name string // the tensor's name, or name[i] for column i of a matrix
	// Count is every value seen; Missing those that were NaN or infinite.
	// The fields below cover the Count-Missing present values; Min and
	// Max are zero when there are none.
	Count      int64
	Missing    int64
	Sum        float64
	SumSquares float64
	Min, Max   float64
	Sketch     *ddsketch.DDSketch

	packed []byte // Sketch once sealed
}

func (f *FeatureAggregate) reset() {
	f.Count, f.Missing = 0, 0
	f.Sum, f.SumSquares, f.Min, f.Max = 0, 0, 0, 0
	clearSketch(f.Sketch)
	f.packed = f.packed[:0]
}

// Present is the number of values that were not missing.
func (f *FeatureAggregate) Present() int64 { return f.Count - f.Missing }

func (f *FeatureAggregate) add(v float64, l *sketchPool) {
	f.Count++
	if math.IsNaN(v) || math.IsInf(v, 0) {
		f.Missing++
		return
	}
	if f.Present() == 1 {
		f.Min, f.Max = v, v
	} else {
		f.Min = min(f.Min, v)
		f.Max = max(f.Max, v)
	}
	f.Sum += v
	f.SumSquares += v * v
	l.add(&f.Sketch, v)
}

func (f *FeatureAggregate) merge(o *FeatureAggregate, l *sketchLayout) {
	if o.Name != "" {
		f.Name = o.Name
	}
	if o.Present() > 0 {
		if f.Present() == 0 {
			f.Min, f.Max = o.Min, o.Max
		} else {
			f.Min = min(f.Min, o.Min)
			f.Max = max(f.Max, o.Max)
		}
	}
	f.Count += o.Count
	f.Missing += o.Missing
	f.Sum += o.Sum
	f.SumSquares += o.SumSquares
	mergeSketch(&f.Sketch, o.Sketch)
	mergePacked(&f.Sketch, o.packed, l.values)
}

// featureIndex gives each input feature of a series a stable position in
// every bucket's Features, up to max features. A matrix input takes one
// position per column, contiguous, decided the first time it is seen.
type featureIndex struct {
	max    int
	ranges map[string]slotRange // by tensor name
	names  []string             // by position

	// The previous request's layout: input i was named lastNames[i] and
	// took lastRanges[i]. Requests usually repeat it, which saves a map
	// lookup per input.
	lastNames  []string
	lastRanges []slotRange
}

// slotRange is the positions [first, first+n) of one input tensor.
type slotRange struct{ first, n int }

func newFeatureIndex(max int) featureIndex {
	return featureIndex{max: max, ranges: map[string]slotRange{}}
}

// lookup returns the positions of input i, a tensor named name with cols
// columns (0 when it is a single feature rather than a matrix), assigning
// them on first sight while positions remain.
func (x *featureIndex) lookup(i int, name string, cols int) slotRange {
	if i < len(x.lastNames) && x.lastNames[i] == name {
		return x.lastRanges[i]
	}
	r, ok := x.ranges[name]
	if !ok {
		r = x.assign(name, cols)
	}
	for len(x.lastNames) <= i {
		x.lastNames = append(x.lastNames, "")
		x.lastRanges = append(x.lastRanges, slotRange{})
	}
	x.lastNames[i], x.lastRanges[i] = name, r
	return r
}

func (x *featureIndex) assign(name string, cols int) slotRange {
	n := min(max(cols, 1), x.max-len(x.names))
	r := slotRange{first: len(x.names), n: n}
	if cols == 0 && n > 0 {
		x.names = append(x.names, name)
	}
	for j := 0; cols > 0 && j < n; j++ {
		x.names = append(x.names, fmt.Sprintf("%s[%d]", name, j))
	}
	if n > 0 { // names past max are not kept
		x.ranges[name] = r
	}
	return r
}

// addInputs summarises the request's input features into b; s.mu must be
// held.
func (s *series) addInputs(b *Aggregate, inputs []runtime.Tensor, l *sketchPool) {
	for i := range inputs {
		t := &inputs[i]
		c, ok := columnOf(t.Data)
		if !ok {
			continue
		}
		rows, k, ok := matrixShape(t.Shape, c.n)
		if !ok {
			continue
		}
		cols := 0 // a single feature
		if len(t.Shape) == 2 && k > 1 {
			cols = k
		}
		r := s.features.lookup(i, t.Name, cols)
		if r.n == 0 {
			continue
		}
		for len(b.Features) < r.first+r.n {
			b.Features = append(b.Features, FeatureAggregate{})
		}
		fs := b.Features[r.first : r.first+r.n]
		for row := range rows {
			for j := range min(k, r.n) {
				fs[j].add(c.at(row*k+j), l)
			}
		}
	}
}
