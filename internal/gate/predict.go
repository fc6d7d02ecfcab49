package gate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// Table is a holdout mapped onto one version's inputs, held in memory:
// a gate needs every prediction at once for AUC and calibration.
type Table struct {
	// File names the holdout in messages.
	File string
	// Inputs are every row's input tensors, the rows first; Rows counts
	// them.
	Inputs []runtime.Tensor
	Rows   int
	// Labels are the truth per row; Groups the fairness group per row
	// (nil without a group column); Lines the file line of each row, for
	// messages.
	Labels []float64
	Groups []string
	Lines  []int
}

// slice returns rows [lo, hi) of t's inputs, sharing their data.
func (t *Table) slice(lo, hi int) []runtime.Tensor {
	out := make([]runtime.Tensor, len(t.Inputs))
	for i, in := range t.Inputs {
		width := 1
		for _, d := range in.Shape[1:] {
			width *= int(d)
		}
		shape := slices.Clone(in.Shape)
		shape[0] = int64(hi - lo)
		out[i] = runtime.Tensor{Name: in.Name, Datatype: in.Datatype, Shape: shape, Data: sliceData(in.Data, lo*width, hi*width)}
	}
	return out
}

func sliceData(data any, lo, hi int) any {
	switch d := data.(type) {
	case []float32:
		return d[lo:hi]
	case []float64:
		return d[lo:hi]
	case []int32:
		return d[lo:hi]
	case []int64:
		return d[lo:hi]
	case []bool:
		return d[lo:hi]
	case []string:
		return d[lo:hi]
	}
	return data
}

// Scores are one version's predictions over a table: Width values per
// row (the first output), and which rows failed.
type Scores struct {
	Values []float64
	Width  int
	Failed []bool
	// Failures counts failed rows; FirstError is the first failure.
	Failures   int
	FirstError string
}

// batchRows is how many rows one Predict call scores.
const batchRows = 256

// Score predicts every row of t in batches. When a batch fails, its rows
// are retried one at a time, so that only the rows that fail are
// counted as failures.
func Score(ctx context.Context, p runtime.Predictor, t *Table) (Scores, error) {
	s := Scores{Failed: make([]bool, t.Rows)}
	for lo := 0; lo < t.Rows; lo += batchRows {
		hi := min(lo+batchRows, t.Rows)
		vals, width, err := predictRows(ctx, p, t, lo, hi)
		if err == nil {
			if err := s.add(vals, width, lo); err != nil {
				return s, err
			}
			continue
		}
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		for i := lo; i < hi; i++ {
			vals, width, err := predictRows(ctx, p, t, i, i+1)
			if err != nil {
				s.fail(i, t, err)
				vals, width = nil, max(s.Width, 1)
				vals = make([]float64, width)
				for k := range vals {
					vals[k] = math.NaN()
				}
			}
			if err := s.add(vals, width, i); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

func (s *Scores) fail(row int, t *Table, err error) {
	s.Failed[row] = true
	s.Failures++
	if s.FirstError == "" {
		s.FirstError = fmt.Sprintf("%s:%d: %v", t.File, t.Lines[row], err)
	}
}

// add appends the values of rows starting at row, checking every batch
// has the same width.
func (s *Scores) add(vals []float64, width, row int) error {
	if s.Width == 0 {
		s.Width = width
		s.Values = make([]float64, 0, cap(s.Failed)*width)
	}
	if width != s.Width {
		return fmt.Errorf("the model answered %d values per row at row %d, %d before", width, row, s.Width)
	}
	s.Values = append(s.Values, vals...)
	return nil
}

func predictRows(ctx context.Context, p runtime.Predictor, t *Table, lo, hi int) ([]float64, int, error) {
	outs, err := p.Predict(ctx, t.slice(lo, hi))
	if err != nil {
		return nil, 0, err
	}
	if len(outs) == 0 {
		return nil, 0, fmt.Errorf("the model returned no outputs")
	}
	vals, err := floats(outs[0])
	if err != nil {
		return nil, 0, err
	}
	n := hi - lo
	if len(vals) == 0 || len(vals)%n != 0 {
		return nil, 0, fmt.Errorf("output %q has %d values for %d rows", outs[0].Name, len(vals), n)
	}
	return vals, len(vals) / n, nil
}

// floats widens a numeric output tensor to float64.
func floats(t runtime.Tensor) ([]float64, error) {
	switch d := t.Data.(type) {
	case []float64:
		return d, nil
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	case []int64:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	case []int32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("output %q has datatype %s: want a number per value", t.Name, t.Datatype)
}

// Speed is how fast a version answers single rows in-process.
type Speed struct {
	// P50 and P99 are per-call latencies of single-row calls, in
	// milliseconds, over Calls sequential calls.
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Calls int     `json:"calls"`
	// Throughput is rows per second with Concurrency callers each
	// sending single rows, over every row of the holdout.
	Throughput  float64 `json:"rows_per_second"`
	Concurrency int     `json:"concurrency"`
}

// MaxLatencyCalls caps the sequential calls that measure latency.
const MaxLatencyCalls = 2000

// Bench measures p on t's rows: first sequential single-row calls for
// the latency percentiles, then concurrency goroutines splitting every
// row between them for the throughput. Rows that fail are timed like the
// others; Score counts them.
func Bench(ctx context.Context, p runtime.Predictor, t *Table, concurrency int) (Speed, error) {
	concurrency = max(concurrency, 1)
	rows := make([][]runtime.Tensor, t.Rows)
	for i := range rows {
		rows[i] = t.slice(i, i+1)
	}
	calls := min(t.Rows, MaxLatencyCalls)
	lat := make([]float64, calls)
	for i := range calls {
		start := time.Now()
		p.Predict(ctx, rows[i]) //nolint:errcheck // failures are Score's business
		lat[i] = float64(time.Since(start)) / float64(time.Millisecond)
		if ctx.Err() != nil {
			return Speed{}, ctx.Err()
		}
	}
	sort.Float64s(lat)
	sp := Speed{P50: quantile(lat, 0.50), P99: quantile(lat, 0.99), Calls: calls, Concurrency: concurrency}

	var next sync.Mutex
	i := 0
	take := func() int {
		next.Lock()
		defer next.Unlock()
		i++
		return i - 1
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := take(); k < len(rows) && ctx.Err() == nil; k = take() {
				p.Predict(ctx, rows[k]) //nolint:errcheck // as above
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Speed{}, err
	}
	sp.Throughput = float64(len(rows)) / time.Since(start).Seconds()
	return sp, nil
}

// quantile of sorted xs by linear interpolation between closest ranks
// (numpy's default).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(xs)-1)
	lo := int(pos)
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (pos-float64(lo))*(xs[lo+1]-xs[lo])
}

// Subject is one version under a gate: its record, its artifact's bytes
// (nil for remote versions) and the loaded model.
type Subject struct {
	Version   slipway.Version
	Artifact  []byte
	Predictor runtime.Predictor
}
