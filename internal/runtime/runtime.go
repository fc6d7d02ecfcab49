// Package runtime defines how slipway runs a model: a Predictor takes named
// tensors and returns named tensors, in the shapes and datatypes of the
// Open Inference Protocol. Each model format registers a Loader by name
// (the xgboost, lightgbm, onnx and remote packages), so the server needs no
// switch over formats.
package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/slipway-ml/slipway"
)

// Open Inference Protocol datatypes slipway handles.
const (
	FP32  = "FP32"
	FP64  = "FP64"
	INT32 = "INT32"
	INT64 = "INT64"
	BOOL  = "BOOL"
	BYTES = "BYTES"
)

// Tensor is one named, row-major tensor. Data holds a slice matching
// Datatype: []float32 (FP32), []float64 (FP64), []int32 (INT32), []int64
// (INT64), []bool (BOOL) or []string (BYTES), with as many elements as the
// product of Shape.
type Tensor struct {
	Name     string
	Datatype string
	Shape    []int64
	Data     any
}

// Rows is the first dimension of the tensor, the batch size.
func (t Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return int(t.Shape[0])
}

// Predictor runs one loaded model version. Predict is safe for concurrent
// use.
type Predictor interface {
	// Predict runs a batch. Inputs are validated against the model; a
	// wrong name, datatype or shape is an *InputError.
	Predict(ctx context.Context, inputs []Tensor) ([]Tensor, error)
	// Signature describes the inputs and outputs the model accepts.
	Signature() slipway.Signature
	// Close releases the model's resources.
	Close() error
}

// Loader builds a Predictor for version v from its artifact bytes (nil for
// formats without an artifact, such as remote servers).
type Loader func(ctx context.Context, v slipway.Version, artifact []byte) (Predictor, error)

var (
	mu      sync.RWMutex // guards loaders
	loaders = map[slipway.Format]Loader{}
)

// Register makes a format loadable. It panics on a second registration of
// one format, which is a programming error.
func Register(f slipway.Format, l Loader) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := loaders[f]; dup {
		panic("runtime: format registered twice: " + string(f))
	}
	loaders[f] = l
}

// Formats lists the registered formats.
func Formats() []slipway.Format {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]slipway.Format, 0, len(loaders))
	for f := range loaders {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Load builds a Predictor with the loader registered for v.Format.
func Load(ctx context.Context, v slipway.Version, artifact []byte) (Predictor, error) {
	mu.RLock()
	l, ok := loaders[v.Format]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("load %s@%s: no runtime for format %q (have %v)", v.Model, v.Version, v.Format, Formats())
	}
	p, err := l(ctx, v, artifact)
	if err != nil {
		return nil, fmt.Errorf("load %s@%s: %w", v.Model, v.Version, err)
	}
	return p, nil
}

// InputError reports a request tensor that does not fit the model.
type InputError struct {
	Tensor string // the offending input's name; "" when the problem is the set of inputs
	Msg    string
}

func (e *InputError) Error() string {
	if e.Tensor == "" {
		return "inputs: " + e.Msg
	}
	return fmt.Sprintf("input %q: %s", e.Tensor, e.Msg)
}

// Is makes an *InputError match slipway.ErrInvalid.
func (e *InputError) Is(target error) bool { return target == slipway.ErrInvalid }

func inputErr(tensor, format string, args ...any) error {
	return &InputError{Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}

// BackendError reports a failure of a model served elsewhere (a remote
// Open Inference Protocol server): it timed out, refused the connection
// or answered something unusable. The gateway answers 504 for a timeout
// and 502 otherwise, and stays healthy itself.
type BackendError struct {
	Backend string // the backend's address
	Timeout bool
	Err     error
}

func (e *BackendError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("model server %s timed out: %v", e.Backend, e.Err)
	}
	return fmt.Sprintf("model server %s: %v", e.Backend, e.Err)
}

func (e *BackendError) Unwrap() error { return e.Err }

// MaxElements bounds the elements of one tensor.
const MaxElements = 1<<31 - 1

// Elements returns how many elements shape holds. A shape must have at
// least one dimension, none negative, and hold at most MaxElements.
func Elements(shape []int64) (int, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("no shape")
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > MaxElements/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return int(n), nil
}

// Len returns the number of elements in Data, or -1 when Data is not one
// of the slice types a Tensor allows.
func (t Tensor) Len() int {
	switch d := t.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	}
	return -1
}

// CheckShape reports a shape that is malformed or disagrees with the
// number of elements in Data.
func (t Tensor) CheckShape() error {
	n, err := Elements(t.Shape)
	if err != nil {
		return err
	}
	if got := t.Len(); got != n {
		return fmt.Errorf("shape %v holds %d elements but data has %d", t.Shape, n, got)
	}
	return nil
}
