package xgboost

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway"
)

// Predict writes predictions for rows rows into out. features holds the
// rows one after another, NumFeature values each, with NaN marking a
// missing value; out receives NumOutput predictions per row, row after
// row, and must have exactly that length. Predict allocates nothing.
//
// The predictions are those of XGBoost's Booster.predict: probabilities
// for binary:logistic, reg:logistic and multi:softprob, the class index
// for multi:softmax, and the raw sum for reg:squarederror.
func (b *Booster) Predict(features []float32, rows int, out []float32) error {
	if err := b.checkShape(len(features), rows); err != nil {
		return err
	}
	if !fits(len(out), rows, b.numOutput) {
		return fmt.Errorf("xgboost predict: out has %d entries, want %d rows × %d outputs: %w",
			len(out), rows, b.numOutput, slipway.ErrInvalid)
	}
	nf, no := b.numFeature, b.numOutput
	for r := range rows {
		b.predictRow(features[r*nf:(r+1)*nf], out[r*no:(r+1)*no])
	}
	return nil
}

// Predictions is Predict into a newly allocated slice.
func (b *Booster) Predictions(features []float32, rows int) ([]float32, error) {
	if err := b.checkShape(len(features), rows); err != nil {
		return nil, err
	}
	if rows > math.MaxInt32/b.numOutput {
		return nil, fmt.Errorf("xgboost predict: %d rows × %d outputs is too many: %w", rows, b.numOutput, slipway.ErrInvalid)
	}
	out := make([]float32, rows*b.numOutput)
	return out, b.Predict(features, rows, out)
}

// checkShape checks that n feature values make rows rows.
func (b *Booster) checkShape(n, rows int) error {
	if rows < 0 {
		return fmt.Errorf("xgboost predict: %d rows: %w", rows, slipway.ErrInvalid)
	}
	if !fits(n, rows, b.numFeature) {
		return fmt.Errorf("xgboost predict: got %d feature values, want %d rows × %d features: %w",
			n, rows, b.numFeature, slipway.ErrInvalid)
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

// predictRow computes one row's predictions. Margins are summed one output
// group at a time, each in tree order; that performs exactly the float32
// additions XGBoost performs, and multi:softmax needs no scratch space.
func (b *Booster) predictRow(row, out []float32) {
	switch b.link {
	case linkIdentity:
		out[0] = b.margin(0, row)
	case linkSigmoid:
		out[0] = sigmoid(b.margin(0, row))
	case linkSoftmax:
		for g := range out {
			out[g] = b.margin(g, row)
		}
		softmax(out)
	case linkArgmax:
		// The first class with the largest margin, like XGBoost's FindMaxIndex.
		best, bestMargin := 0, b.margin(0, row)
		for g := 1; g < b.numGroup; g++ {
			if m := b.margin(g, row); m > bestMargin {
				best, bestMargin = g, m
			}
		}
		out[0] = float32(best)
	}
}

// margin sums base_score's margin and the leaf values of an output group's
// trees in float32, as XGBoost does.
func (b *Booster) margin(group int, row []float32) float32 {
	sum := b.base
	for _, t := range b.groups[group] {
		// The conversion rounds the product, so it cannot fuse into a
		// multiply-add that XGBoost does not do. The weight is 1 except
		// in dart models, and multiplying by 1 is exact.
		sum += float32(t.weight * b.leaf(t.root, row))
	}
	return sum
}

// leaf walks one tree from its root and returns the leaf value row reaches.
// Like XGBoost, a row goes left when its value is below the threshold, and
// a missing (NaN) value takes the node's default direction.
func (b *Booster) leaf(root int32, row []float32) float32 {
	nodes := b.nodes
	n := nodes[root]
	for n.left != 0 {
		v := row[n.split&featureMask]
		next := n.left
		if v >= n.value { // false for NaN
			next++
		}
		if v != v && n.split&defaultLeft == 0 {
			next++
		}
		n = nodes[next]
	}
	return n.value
}
