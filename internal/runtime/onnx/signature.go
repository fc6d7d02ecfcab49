package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// datatype names an ONNX element type in the Open Inference Protocol; ok
// is false for the types slipway does not serve.
func datatype(t ort.TensorElementDataType) (_ string, ok bool) {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return runtime.FP32, true
	case ort.TensorElementDataTypeDouble:
		return runtime.FP64, true
	case ort.TensorElementDataTypeInt32:
		return runtime.INT32, true
	case ort.TensorElementDataTypeInt64:
		return runtime.INT64, true
	case ort.TensorElementDataTypeBool:
		return runtime.BOOL, true
	}
	return "", false
}

// spec describes one model input or output; ok is false when it is not a
// tensor of a supported element type.
func spec(info ort.InputOutputInfo) (_ slipway.TensorSpec, ok bool) {
	if info.OrtValueType != ort.ONNXTypeTensor {
		return slipway.TensorSpec{}, false
	}
	dt, ok := datatype(info.DataType)
	if !ok {
		return slipway.TensorSpec{}, false
	}
	shape := make([]int64, len(info.Dimensions))
	for i, d := range info.Dimensions {
		shape[i] = max(d, -1) // ONNX Runtime reports free (symbolic) dimensions as -1
	}
	return slipway.TensorSpec{Name: info.Name, Datatype: dt, Shape: shape}, true
}

// specs describes the model's inputs and the outputs slipway computes. An
// input slipway cannot send is an error; an output it cannot return is
// left out, and an error only if none is left.
func specs(ins, outs []ort.InputOutputInfo) (inputs, outputs []slipway.TensorSpec, err error) {
	for _, info := range ins {
		s, ok := spec(info)
		if !ok {
			return nil, nil, slipway.Errorf(slipway.ErrInvalid,
				"onnx model: input %q is %s; slipway sends tensors of float, double, int32, int64 or bool", info.Name, kind(info))
		}
		inputs = append(inputs, s)
	}
	var skipped []string
	for _, info := range outs {
		s, ok := spec(info)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%q (%s)", info.Name, kind(info)))
			continue
		}
		outputs = append(outputs, s)
	}
	if len(outputs) == 0 {
		return nil, nil, slipway.Errorf(slipway.ErrInvalid,
			"onnx model: no output slipway can return: %s; it returns tensors of float, double, int32, int64 or bool", strings.Join(skipped, ", "))
	}
	return inputs, outputs, nil
}

// kind says what a model input or output is, for error messages.
func kind(info ort.InputOutputInfo) string {
	if info.OrtValueType != ort.ONNXTypeTensor {
		t := strings.TrimPrefix(info.OrtValueType.String(), "ONNX_TYPE_")
		return "a " + strings.ReplaceAll(strings.ToLower(t), "_", " ")
	}
	t := strings.TrimPrefix(info.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_")
	return "a tensor of " + strings.ToLower(t)
}

// reconcile checks the version's signature against the model's inputs and
// outputs, reporting every mismatch, and fills in what it leaves out. Its
// inputs must be exactly the model's; its outputs, some of those computed.
func reconcile(sig slipway.Signature, inputs, outputs []slipway.TensorSpec) (slipway.Signature, error) {
	var errs []error
	if len(sig.Inputs) == 0 {
		sig.Inputs = clone(inputs)
	} else {
		errs = append(errs, fit("input", sig.Inputs, inputs)...)
		for _, m := range inputs {
			if _, ok := find(sig.Inputs, m.Name); !ok {
				errs = append(errs, fmt.Errorf("model input %q is missing from the signature", m.Name))
			}
		}
	}
	if len(sig.Outputs) == 0 {
		sig.Outputs = clone(outputs)
	} else {
		errs = append(errs, fit("output", sig.Outputs, outputs)...)
	}
	if err := errors.Join(errs...); err != nil {
		return slipway.Signature{}, slipway.Errorf(slipway.ErrInvalid, "onnx model: signature does not match the model: %w", err)
	}
	return sig, nil
}

// fit checks that each of the signature's specs matches one of the model's.
func fit(what string, sig, model []slipway.TensorSpec) []error {
	var errs []error
	for _, s := range sig {
		m, ok := find(model, s.Name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("signature %s %q: the model has no such %s (it has %s)", what, s.Name, what, list(model)))
		case s.Datatype != m.Datatype:
			errs = append(errs, fmt.Errorf("signature %s %q: datatype %s, the model's is %s", what, s.Name, s.Datatype, m.Datatype))
		case !compatible(s.Shape, m.Shape):
			errs = append(errs, fmt.Errorf("signature %s %q: shape %v, the model's is %v", what, s.Name, s.Shape, m.Shape))
		}
	}
	return errs
}

// compatible reports whether two shapes can describe the same tensor: the
// same rank, and equal dimensions wherever both are fixed.
func compatible(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}

// tighten fixes the model's free input dimensions that the signature
// fixes, so requests are held to the signature too.
func tighten(model, sig []slipway.TensorSpec) []slipway.TensorSpec {
	out := clone(model)
	for i, m := range out {
		s, _ := find(sig, m.Name)
		for j := range m.Shape {
			if m.Shape[j] < 0 && j < len(s.Shape) && s.Shape[j] >= 0 {
				out[i].Shape[j] = s.Shape[j]
			}
		}
	}
	return out
}

func find(specs []slipway.TensorSpec, name string) (slipway.TensorSpec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return slipway.TensorSpec{}, false
}

func clone(specs []slipway.TensorSpec) []slipway.TensorSpec {
	out := slices.Clone(specs)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

func names(specs []slipway.TensorSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// list renders specs for messages: "input" FP32 [-1 64], ...
func list(specs []slipway.TensorSpec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = fmt.Sprintf("%q %s %v", s.Name, s.Datatype, s.Shape)
	}
	return strings.Join(parts, ", ")
}
