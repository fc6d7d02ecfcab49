// Package xgboost loads XGBoost models saved as JSON and predicts with them
// in pure Go.
//
// It reads what Booster.save_model("model.json") writes in XGBoost 1.x:
// gbtree and dart boosters with numerical splits, for the objectives
// binary:logistic, reg:logistic, reg:squarederror, multi:softprob and
// multi:softmax. Predictions repeat XGBoost's float32 arithmetic step by
// step (the same additions in the same order, the same transforms), and
// match Booster.predict bit for bit on every fixture in testdata, which
// testdata/gen.py regenerates with XGBoost 1.7.
package xgboost

import (
	"fmt"
	"io"
	"slices"
)

// Booster is a loaded tree ensemble. It is immutable, so one Booster may
// serve any number of goroutines at once. Get one from Load or Parse; the
// zero value is not usable.
type Booster struct {
	objective    string
	link         link
	numFeature   int
	numGroup     int // margins per row: num_class, or 1
	numOutput    int // predictions per row
	featureNames []string
	base         float32 // the margin every output group starts from

	// nodes holds every tree, each laid out breadth-first from its root.
	nodes []node
	// groups lists, for each output group, its trees in model order.
	groups [][]treeRef
}

// Load reads a JSON model from r and parses it; see Parse.
func Load(r io.Reader) (*Booster, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("xgboost model: read: %w", err)
	}
	return Parse(data)
}

// Parse parses and validates a JSON model. It checks everything
// prediction relies on (every child index, split feature and output group
// is in range, and every tree is a tree), so a Booster it returns cannot
// fail or loop while predicting. Errors are *ModelError; unsupported
// features also match ErrUnsupported.
func Parse(data []byte) (*Booster, error) {
	m, err := decode(data)
	if err != nil {
		return nil, err
	}
	return build(m)
}

// NumFeature returns how many features each input row has.
func (b *Booster) NumFeature() int { return b.numFeature }

// NumOutput returns how many predictions each row gets: the number of
// classes for multi:softprob, otherwise 1 (multi:softmax predicts the
// class index).
func (b *Booster) NumOutput() int { return b.numOutput }

// FeatureNames returns the feature names saved with the model, or nil if
// it was trained without them.
func (b *Booster) FeatureNames() []string { return slices.Clone(b.featureNames) }

// Objective returns the learning objective, such as "binary:logistic".
func (b *Booster) Objective() string { return b.objective }

// NumTrees returns how many trees the model has.
func (b *Booster) NumTrees() int {
	n := 0
	for _, g := range b.groups {
		n += len(g)
	}
	return n
}
