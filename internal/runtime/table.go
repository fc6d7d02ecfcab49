package runtime

import (
	"context"
	"sync"

	"github.com/slipway-ml/slipway"
)

// Table is a model over rows of float32 features, as tree ensembles are.
type Table interface {
	NumFeature() int
	NumOutput() int
	// Predict writes NumOutput values per row into out.
	Predict(features []float32, rows int, out []float32) error
}

// NewTabular wraps a Table as a Predictor. sig is the version's signature;
// when it has no inputs, one is derived: a tensor per feature when the
// model names its features, else a single [rows, NumFeature] tensor named
// "input". The output is named after sig's first output, else "predict".
func NewTabular(t Table, sig slipway.Signature, featureNames []string) Predictor {
	if len(sig.Inputs) == 0 {
		sig.Inputs = defaultInputs(t.NumFeature(), featureNames)
	}
	if len(sig.Outputs) == 0 {
		shape := []int64{-1}
		if t.NumOutput() > 1 {
			shape = []int64{-1, int64(t.NumOutput())}
		}
		sig.Outputs = []slipway.TensorSpec{{Name: "predict", Datatype: FP32, Shape: shape}}
	}
	return &tabular{t: t, sig: sig}
}

func defaultInputs(nfeat int, names []string) []slipway.TensorSpec {
	if len(names) != nfeat {
		return []slipway.TensorSpec{{Name: "input", Datatype: FP32, Shape: []int64{-1, int64(nfeat)}}}
	}
	specs := make([]slipway.TensorSpec, nfeat)
	for i, n := range names {
		specs[i] = slipway.TensorSpec{Name: n, Datatype: FP32, Shape: []int64{-1}}
	}
	return specs
}

type tabular struct {
	t   Table
	sig slipway.Signature
	// bufs recycles feature matrices between requests; the hot path then
	// allocates only the response.
	bufs sync.Pool
}

func (p *tabular) Signature() slipway.Signature { return p.sig }
func (p *tabular) Close() error                 { return nil }

func (p *tabular) Predict(ctx context.Context, inputs []Tensor) ([]Tensor, error) {
	var buf []float32
	if b, ok := p.bufs.Get().(*[]float32); ok {
		buf = *b
	}
	features, rows, err := Features(inputs, p.sig, p.t.NumFeature(), buf)
	if err != nil {
		return nil, err
	}
	defer p.bufs.Put(&features)
	nout := p.t.NumOutput()
	out := make([]float32, rows*nout)
	if err := p.t.Predict(features, rows, out); err != nil {
		return nil, err
	}
	shape := []int64{int64(rows)}
	if nout > 1 {
		shape = append(shape, int64(nout))
	}
	return []Tensor{{Name: p.sig.Outputs[0].Name, Datatype: FP32, Shape: shape, Data: out}}, nil
}

// AcceptsMissing: tree models route NaN by their default branches.
func (p *tabular) AcceptsMissing() bool { return true }
