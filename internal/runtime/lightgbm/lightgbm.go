// Package lightgbm loads LightGBM models saved as text, what
// Booster.save_model("model.txt") writes (format versions v2, v3 and v4),
// and predicts with them through github.com/dmitryikh/leaves.
//
// leaves trusts the indices in a model file: on some corrupt files it
// panics, and on others it builds a model that panics, reads out of range
// or loops forever while predicting. Parse therefore checks first
// everything prediction relies on (every child, leaf and split feature is
// in range and every tree is a tree), and turns a panic that still
// escapes leaves' reader into an error.
//
// Supported objectives are binary, multiclass, poisson, gamma, tweedie,
// the regressions (regression, regression_l1, huber, fair, quantile, mape)
// and the rankers (lambdarank, rank_xendcg); a model saved without an
// objective predicts raw scores, as LightGBM does. Linear trees, the sqrt
// label transform, multiclassova and cross_entropy are refused with
// ErrUnsupported rather than mispredicted.
package lightgbm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/dmitryikh/leaves"
	"github.com/dmitryikh/leaves/transformation"
)

// Model is a loaded LightGBM ensemble. Predict is safe for concurrent use.
// Get one from Parse or Load; the zero value is not usable.
type Model struct {
	// raw predicts raw scores. Applying the objective's transform here
	// rather than inside leaves avoids leaves' allocation per row.
	raw *leaves.Ensemble
	// transform turns a row's raw scores into predictions; nil when the
	// raw scores are the predictions.
	transform transformation.Transform

	objective    string
	featureNames []string
	numFeature   int
	numRaw       int // raw scores per row: num_class
	numOutput    int // predictions per row
	numTrees     int

	// scratch recycles *[]float64 buffers between Predict calls: leaves
	// works in float64, the Table interface in float32.
	scratch sync.Pool
}

// Load reads a text model from r and parses it; see Parse.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &ModelError{Format: formatName, Err: fmt.Errorf("read: %w", err)}
	}
	return Parse(data)
}

// Parse parses and validates a text model. A Model it returns cannot fail,
// panic or loop while predicting rows of the right length. Errors are
// *ModelError; well-formed models that use something this package does not
// implement also match ErrUnsupported.
func Parse(data []byte) (*Model, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ModelError{Format: formatName, Err: errors.New("empty file")}
	}
	// Both passes read blocks with leaves' own reader, so the blocks
	// checked here are exactly the blocks leaves builds trees from.
	r := bufio.NewReader(bytes.NewReader(data))
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	for i := range h.numTrees {
		block, err := readBlock(r)
		if err != nil {
			return nil, invalid(treePath(i), "%v", blockErr(err))
		}
		if err := checkTree(block, i, h.numFeature); err != nil {
			return nil, err
		}
	}
	if err := checkEnd(r); err != nil {
		return nil, err
	}
	ens, err := build(data, h)
	if err != nil {
		return nil, err
	}
	return newModel(ens, h)
}

// build hands the model to leaves: the header as readHeader normalised it,
// then the file's trees.
func build(data []byte, h header) (*leaves.Ensemble, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	if _, err := readBlock(r); err != nil {
		return nil, invalid("header", "%v", blockErr(err)) // not reached: readHeader read it
	}
	return fromLeaves(bufio.NewReader(io.MultiReader(strings.NewReader(h.text()), r)), h.transform)
}

// fromLeaves runs leaves' reader. leaves indexes slices with numbers read
// from the file without checking them (a categorical split's
// cat_boundaries, for one) and so panics on some corrupt files; checkTree
// rejects the ones we know of first, and this turns a panic from any we
// missed into an error rather than a crashed server.
func fromLeaves(r *bufio.Reader, transform bool) (ens *leaves.Ensemble, err error) {
	defer func() {
		if p := recover(); p != nil {
			ens, err = nil, &ModelError{Format: formatName, Err: fmt.Errorf("malformed model: reader panicked: %v", p)}
		}
	}()
	ens, err = leaves.LGEnsembleFromReader(r, transform)
	if err != nil {
		return nil, &ModelError{Format: formatName, Err: err}
	}
	return ens, nil
}

func newModel(ens *leaves.Ensemble, h header) (*Model, error) {
	m := &Model{
		raw:          ens.EnsembleWithRawPredictions(),
		objective:    h.objective,
		featureNames: h.featureNames,
		numFeature:   h.numFeature,
		numRaw:       ens.NRawOutputGroups(),
		numOutput:    ens.NOutputGroups(),
		numTrees:     h.numTrees,
	}
	m.scratch.New = func() any { return new([]float64) }
	if t := ens.Transformation(); t.Type() != transformation.Raw {
		if t.NOutputGroups() != m.numRaw {
			return nil, invalid("header: objective", "%q with num_class=%d", h.objective, m.numRaw)
		}
		m.transform = t
	}
	return m, nil
}

// NumFeature returns how many features each input row has.
func (m *Model) NumFeature() int { return m.numFeature }

// NumOutput returns how many predictions each row gets: the number of
// classes for multiclass, otherwise 1.
func (m *Model) NumOutput() int { return m.numOutput }

// FeatureNames returns the feature names saved with the model (LightGBM
// writes Column_0, Column_1, … when training data had none), or nil if
// the file lists none.
func (m *Model) FeatureNames() []string { return slices.Clone(m.featureNames) }

// Objective returns the objective line of the model, such as
// "binary sigmoid:1", or "" if the model was saved without one.
func (m *Model) Objective() string { return m.objective }

// NumTrees returns how many trees the model has, over all classes.
func (m *Model) NumTrees() int { return m.numTrees }
