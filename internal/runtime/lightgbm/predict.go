package lightgbm

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway"
)

// Predict writes predictions for rows rows into out. features holds the
// rows one after another, NumFeature values each, with NaN marking a
// missing value; out receives NumOutput predictions per row and must have
// exactly that length.
//
// The predictions are those of LightGBM's Booster.predict: probabilities
// for binary and multiclass, exp of the raw score for poisson, gamma and
// tweedie, and the raw score otherwise. They are computed in float64, as
// LightGBM does, from the float32 features, and rounded to float32.
// Random forests (average_output) predict the average of their trees
// untransformed, as leaves does.
func (m *Model) Predict(features []float32, rows int, out []float32) error {
	if err := m.checkShape(len(features), len(out), rows); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	bufp := m.scratch.Get().(*[]float64)
	defer m.scratch.Put(bufp)
	nx, nraw := rows*m.numFeature, rows*m.numRaw
	n := nx + nraw
	if m.transform != nil {
		n += rows * m.numOutput
	}
	if cap(*bufp) < n {
		*bufp = make([]float64, n)
	}
	buf := (*bufp)[:n]
	x, raw, pred := buf[:nx], buf[nx:nx+nraw], buf[nx+nraw:]

	for i, v := range features {
		x[i] = float64(v) // NaN stays NaN, which leaves treats as missing
	}
	// One goroutine: the server already predicts requests in parallel.
	if err := m.raw.PredictDense(x, rows, m.numFeature, raw, 0, 1); err != nil {
		return fmt.Errorf("lightgbm predict: %w", err)
	}
	if m.transform == nil {
		pred = raw
	} else {
		for r := range rows {
			if err := m.transform.Transform(raw[r*m.numRaw:(r+1)*m.numRaw], pred, r*m.numOutput); err != nil {
				return fmt.Errorf("lightgbm predict: %w", err)
			}
		}
	}
	for i, v := range pred {
		out[i] = float32(v)
	}
	return nil
}

// Predictions is Predict into a newly allocated slice.
func (m *Model) Predictions(features []float32, rows int) ([]float32, error) {
	if rows < 0 || (rows > 0 && m.numOutput > math.MaxInt/rows) {
		return nil, fmt.Errorf("lightgbm predict: %d rows: %w", rows, slipway.ErrInvalid)
	}
	out := make([]float32, rows*m.numOutput)
	return out, m.Predict(features, rows, out)
}

// checkShape checks that nx feature values and nout outputs fit rows rows.
func (m *Model) checkShape(nx, nout, rows int) error {
	if rows < 0 {
		return fmt.Errorf("lightgbm predict: %d rows: %w", rows, slipway.ErrInvalid)
	}
	if !fits(nx, rows, m.numFeature) {
		return fmt.Errorf("lightgbm predict: got %d feature values for %d rows; the model takes %d features per row: %w",
			nx, rows, m.numFeature, slipway.ErrInvalid)
	}
	if !fits(nout, rows, m.numOutput) {
		return fmt.Errorf("lightgbm predict: out has %d entries, want %d rows × %d outputs: %w",
			nout, rows, m.numOutput, slipway.ErrInvalid)
	}
	return nil
}

// fits reports whether n == rows*width, without overflowing.
func fits(n, rows, width int) bool {
	if width == 0 || rows == 0 {
		return n == 0
	}
	return n%width == 0 && n/width == rows
}
