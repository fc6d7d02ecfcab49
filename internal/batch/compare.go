package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/slipway-ml/slipway/internal/dataset"
	rt "github.com/slipway-ml/slipway/internal/runtime"
)

// rowPair is one row as both versions scored it.
type rowPair struct {
	a, b   float64 // scores: the value, or the top class's probability
	diff   float64 // |a−b|, or the largest per-class difference
	ca, cb int     // arg-max classes of multi-valued outputs, else -1
	group  string
	label  float64
}

// pairs is one batch's rows, and the width of the versions' outputs.
type pairs struct {
	rows  []rowPair
	width int
}

// Compare scores the file at in with versions a (the baseline, usually
// in production) and b (the candidate) and reports how they differ. Each
// version's first output is compared; both must have the same width.
// Options.Data.Group names the segments, Options.Data.Label the ground
// truth, whose LabelKind also says the task (inferred when zero: several
// values per row mean classes, one value always in [0, 1] a binary
// probability, anything else a regression).
func Compare(ctx context.Context, a, b rt.Predictor, in string, opt Options) (*Report, error) {
	start := time.Now()
	r, err := dataset.Open(in, a.Signature(), opt.Data)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var size int64
	if fp, err := fingerprintOf(in); err == nil {
		size = fp.Size
	}
	report := progressFunc(opt.Progress, start, 0, size)
	var all []rowPair
	width := 0
	err = pipeline(ctx, r, opt.workers(),
		func(ctx context.Context, bt *dataset.Batch) (pairs, error) { return scorePair(ctx, a, b, bt) },
		func(p pairs, _ int, end dataset.Position) error {
			width = p.width
			all = append(all, p.rows...)
			report(end)
			return nil
		})
	if err != nil {
		return nil, err
	}
	rep := summarize(all, width, opt.Data)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func scorePair(ctx context.Context, a, b rt.Predictor, bt *dataset.Batch) (pairs, error) {
	outA, err := predictFirst(ctx, a, "A", bt)
	if err != nil {
		return pairs{}, err
	}
	outB, err := predictFirst(ctx, b, "B", bt)
	if err != nil {
		return pairs{}, err
	}
	w := width(outA)
	if width(outB) != w {
		return pairs{}, fmt.Errorf("version A's output %q has %d values per row, version B's %q has %d: they cannot be compared", outA.Name, w, outB.Name, width(outB))
	}
	out := pairs{rows: make([]rowPair, bt.Rows), width: w}
	for i := range bt.Rows {
		p := rowPair{ca: -1, cb: -1, label: math.NaN()}
		if w == 1 {
			p.a, p.b = value(outA.Data, i), value(outB.Data, i)
			p.diff = math.Abs(p.a - p.b)
		} else {
			p.ca, p.cb = argmax(outA, i), argmax(outB, i)
			p.a, p.b = value(outA.Data, i*w+p.ca), value(outB.Data, i*w+p.cb)
			for k := range w {
				p.diff = max(p.diff, math.Abs(value(outA.Data, i*w+k)-value(outB.Data, i*w+k)))
			}
		}
		if bt.Groups != nil {
			p.group = bt.Groups[i]
		}
		if bt.Labels != nil {
			p.label = bt.Labels[i]
		}
		out.rows[i] = p
	}
	return out, nil
}

func predictFirst(ctx context.Context, p rt.Predictor, which string, b *dataset.Batch) (rt.Tensor, error) {
	outs, err := p.Predict(ctx, b.Inputs)
	if err != nil {
		return rt.Tensor{}, fmt.Errorf("version %s: predict lines %d-%d: %w", which, b.Lines[0], b.Lines[b.Rows-1], err)
	}
	if len(outs) == 0 || outs[0].Rows() != b.Rows || outs[0].Len() != b.Rows*width(outs[0]) {
		return rt.Tensor{}, fmt.Errorf("version %s: lines %d-%d: want one output row per input row", which, b.Lines[0], b.Lines[b.Rows-1])
	}
	return outs[0], nil
}

// quantile is the q-quantile of sorted xs, interpolating linearly between
// order statistics (numpy's default, "linear").
func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := q * float64(n-1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// decileEdges are the distinct inner edges of ten quantile bins of
// sorted; a value v falls in bin i when v ≤ edges[i] and above the
// edge before (the last bin holds values above every edge).
func decileEdges(sorted []float64) []float64 {
	var edges []float64
	for k := 1; k < 10; k++ {
		e := quantile(sorted, float64(k)/10)
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// binCounts counts sorted's values in the bins edges make.
func binCounts(sorted, edges []float64) []float64 {
	counts := make([]float64, len(edges)+1)
	for _, v := range sorted {
		i, _ := slices.BinarySearch(edges, v) // first edge ≥ v
		counts[i]++
	}
	return counts
}
