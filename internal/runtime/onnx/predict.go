package onnx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// errClosed is what Predict returns once the session is closed.
var errClosed = errors.New("onnx session is closed")

// Predict runs one batch. inputs must hold exactly the model's inputs, in
// any order, each with the model's datatype and a shape that agrees with
// every fixed dimension; otherwise the error is a *runtime.InputError.
// Input data is handed to ONNX Runtime without a copy and is not modified.
// The outputs come in the model's order, with Go-owned data.
func (s *Session) Predict(ctx context.Context, inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	ordered, err := match(s.inputs, inputs)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, errClosed
	}
	in := make([]ort.Value, len(ordered))
	defer destroy(in)
	for i, t := range ordered {
		if in[i], err = value(t); err != nil {
			return nil, fmt.Errorf("onnx input %q: %w", t.Name, err)
		}
	}
	out := make([]ort.Value, len(s.outputs)) // nil: ONNX Runtime allocates each
	defer destroy(out)
	if err := s.run(ctx, in, out); err != nil {
		return nil, err
	}
	return tensors(s.outputs, out)
}

// run runs the session, and stops it early when ctx ends.
func (s *Session) run(ctx context.Context, in, out []ort.Value) error {
	if ctx.Done() == nil {
		return wrapRun(s.sess.Run(in, out))
	}
	opts, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("onnx run options: %w", err)
	}
	defer opts.Destroy()
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(terminated)
		opts.Terminate()
	})
	err = s.sess.RunWithOptions(in, out, opts)
	if !stop() {
		<-terminated // Terminate is running: let it finish before Destroy
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("onnx runtime: stopped: %w", ctx.Err())
	}
	return wrapRun(err)
}

func wrapRun(err error) error {
	if err != nil {
		return fmt.Errorf("onnx runtime: %w", err)
	}
	return nil
}

func destroy(values []ort.Value) {
	for _, v := range values {
		if v != nil {
			v.Destroy()
		}
	}
}

// match pairs the request's tensors with the model's inputs, checking each,
// and returns them in the model's order.
func match(specs []slipway.TensorSpec, inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	ordered := make([]runtime.Tensor, len(specs))
	seen := make([]bool, len(specs))
	for _, t := range inputs {
		i := slices.IndexFunc(specs, func(s slipway.TensorSpec) bool { return s.Name == t.Name })
		if i < 0 {
			return nil, inputErr(t.Name, "not an input of this model; it takes %s", list(specs))
		}
		if seen[i] {
			return nil, inputErr(t.Name, "sent twice")
		}
		seen[i] = true
		if err := check(specs[i], t); err != nil {
			return nil, err
		}
		ordered[i] = t
	}
	for i, ok := range seen {
		if !ok {
			return nil, inputErr(specs[i].Name, "missing; the model takes %s", list(specs))
		}
	}
	return ordered, nil
}

// check holds one tensor to its spec: datatype, shape, then element count.
func check(spec slipway.TensorSpec, t runtime.Tensor) error {
	if t.Datatype != spec.Datatype {
		return inputErr(t.Name, "datatype %s: want %s", t.Datatype, spec.Datatype)
	}
	if !fits(t.Shape, spec.Shape) {
		return inputErr(t.Name, "shape %v: want %v", t.Shape, spec.Shape)
	}
	if overflows(t.Shape) {
		return inputErr(t.Name, "shape %v: too many values", t.Shape)
	}
	n := elements(t.Shape)
	got, ok := length(t.Data, t.Datatype)
	if !ok {
		return inputErr(t.Name, "datatype %s: data is %T", t.Datatype, t.Data)
	}
	if got != n {
		return inputErr(t.Name, "shape %v holds %d values, got %d", t.Shape, n, got)
	}
	return nil
}

// fits reports whether a request's shape has the spec's rank, no negative
// dimension, and the spec's value for every fixed dimension.
func fits(shape, spec []int64) bool {
	if len(shape) != len(spec) {
		return false
	}
	for i, d := range shape {
		if d < 0 || (spec[i] >= 0 && d != spec[i]) {
			return false
		}
	}
	return true
}

// elements is the number of values a shape of non-negative dimensions
// holds; see overflows.
func elements(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

func overflows(shape []int64) bool {
	if slices.Contains(shape, 0) {
		return false
	}
	n := int64(1)
	for _, d := range shape {
		if d > math.MaxInt/n {
			return true
		}
		n *= d
	}
	return false
}

// length is the number of elements in data, which must be the Go slice
// type of datatype.
func length(data any, datatype string) (int, bool) {
	switch d := data.(type) {
	case []float32:
		return len(d), datatype == runtime.FP32
	case []float64:
		return len(d), datatype == runtime.FP64
	case []int32:
		return len(d), datatype == runtime.INT32
	case []int64:
		return len(d), datatype == runtime.INT64
	case []bool:
		return len(d), datatype == runtime.BOOL
	}
	return 0, false
}

// value wraps a checked tensor's data as an ONNX Runtime value, without
// copying it.
func value(t runtime.Tensor) (ort.Value, error) {
	switch d := t.Data.(type) {
	case []float32:
		return newValue(t.Shape, d)
	case []float64:
		return newValue(t.Shape, d)
	case []int32:
		return newValue(t.Shape, d)
	case []int64:
		return newValue(t.Shape, d)
	case []bool:
		return newValue(t.Shape, d)
	}
	return nil, fmt.Errorf("data of type %T", t.Data) // check rules this out
}

func newValue[T ort.TensorData](shape []int64, data []T) (ort.Value, error) {
	if len(shape) == 0 {
		v, err := ort.NewScalar(data[0])
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	v, err := ort.NewTensor(ort.Shape(shape), data)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// tensors converts the session's outputs; their data is already Go-owned
// copies, so the values can be destroyed afterwards.
func tensors(specs []slipway.TensorSpec, values []ort.Value) ([]runtime.Tensor, error) {
	out := make([]runtime.Tensor, len(values))
	for i, v := range values {
		t := runtime.Tensor{Name: specs[i].Name, Shape: []int64(v.GetShape())}
		switch v := v.(type) {
		case *ort.Tensor[float32]:
			t.Datatype, t.Data = runtime.FP32, v.GetData()
		case *ort.Tensor[float64]:
			t.Datatype, t.Data = runtime.FP64, v.GetData()
		case *ort.Tensor[int32]:
			t.Datatype, t.Data = runtime.INT32, v.GetData()
		case *ort.Tensor[int64]:
			t.Datatype, t.Data = runtime.INT64, v.GetData()
		case *ort.Tensor[bool]:
			t.Datatype, t.Data = runtime.BOOL, v.GetData()
		default:
			return nil, fmt.Errorf("onnx output %q: ONNX Runtime returned a %T", specs[i].Name, v)
		}
		out[i] = t
	}
	return out, nil
}

func inputErr(tensor, format string, args ...any) error {
	return &runtime.InputError{Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}
