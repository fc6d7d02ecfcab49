package serving

import (
	"encoding/json"
	"math"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// decodeInstances turns the v1 {"instances": [...]} form into a request.
// Rows of numbers become one [rows, k] FP32 tensor named after the
// signature's single input; objects of named features become one tensor
// per signature input.
func decodeInstances(body []byte, inputs []slipway.TensorSpec) (*Request, error) {
	var v1 struct {
		Instances []json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal(body, &v1); err != nil {
		return nil, slipway.Errorf(slipway.ErrInvalid, `request body is not {"instances": [...]}: %v`, err)
	}
	if len(v1.Instances) == 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, `no "instances"`)
	}
	if len(inputs) == 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, "the version has no signature to map instances through; use the v2 infer endpoint")
	}
	if first := firstByte(v1.Instances[0]); first == '{' {
		return namedInstances(v1.Instances, inputs)
	}
	return rowInstances(v1.Instances, inputs)
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return c
		}
	}
	return 0
}

func namedInstances(instances []json.RawMessage, inputs []slipway.TensorSpec) (*Request, error) {
	cols := make([][]float32, len(inputs))
	for i := range cols {
		cols[i] = make([]float32, len(instances))
	}
	for r, raw := range instances {
		var obj map[string]*float64
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, slipway.Errorf(slipway.ErrInvalid, "instance %d: want an object of numbers: %v", r, err)
		}
		for name := range obj {
			if !hasInput(inputs, name) {
				return nil, slipway.Errorf(slipway.ErrInvalid, "instance %d: unknown feature %q", r, name)
			}
		}
		for j, in := range inputs {
			v, ok := obj[in.Name]
			switch {
			case !ok || v == nil:
				cols[j][r] = float32(math.NaN()) // missing: trees take the default branch
			default:
				cols[j][r] = float32(*v)
			}
		}
	}
	req := &Request{Inputs: make([]runtime.Tensor, len(inputs))}
	for j, in := range inputs {
		req.Inputs[j] = runtime.Tensor{Name: in.Name, Datatype: runtime.FP32, Shape: []int64{int64(len(instances))}, Data: cols[j]}
	}
	return req, nil
}

func hasInput(inputs []slipway.TensorSpec, name string) bool {
	for _, in := range inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

func rowInstances(instances []json.RawMessage, inputs []slipway.TensorSpec) (*Request, error) {
	var flat []float32
	width := -1
	for r, raw := range instances {
		var row []nullableFloat
		if err := json.Unmarshal(raw, &row); err != nil {
			return nil, slipway.Errorf(slipway.ErrInvalid, "instance %d: want an array of numbers: %v", r, err)
		}
		if width >= 0 && len(row) != width {
			return nil, slipway.Errorf(slipway.ErrInvalid, "instance %d has %d values, instance 0 has %d", r, len(row), width)
		}
		width = len(row)
		flat = append(flat, toFloat32(row)...)
	}
	name := inputs[0].Name
	if len(inputs) > 1 {
		if width != len(inputs) {
			return nil, slipway.Errorf(slipway.ErrInvalid, "instances have %d values, the signature has %d features", width, len(inputs))
		}
		name = "input"
	}
	t := runtime.Tensor{Name: name, Datatype: runtime.FP32, Shape: []int64{int64(len(instances)), int64(width)}, Data: flat}
	return &Request{Inputs: []runtime.Tensor{t}}, nil
}

// predictions renders the first output the v1 way: one value per row for
// a [rows] output, one list per row for [rows, k].
func predictions(resp *Response) any {
	if len(resp.Outputs) == 0 {
		return []any{}
	}
	o := resp.Outputs[0]
	data, ok := o.Data.([]float32)
	if !ok || len(o.Shape) != 2 {
		return jsonSafe(o.Data)
	}
	k := int(o.Shape[1])
	rows := make([]any, 0, len(data)/max(k, 1))
	for i := 0; i+k <= len(data) && k > 0; i += k {
		rows = append(rows, jsonSafe(data[i:i+k]))
	}
	return rows
}

// nullableFloat decodes a JSON number, or null as NaN (a missing value).
type nullableFloat float64

func (f *nullableFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = nullableFloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = nullableFloat(v)
	return nil
}

func toFloat32(d []nullableFloat) []float32 {
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = float32(v)
	}
	return out
}

// jsonSafe replaces NaN and infinities, which JSON cannot carry, by null.
func jsonSafe(d any) any {
	f32, ok := d.([]float32)
	if !ok {
		return d
	}
	for _, v := range f32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			out := make([]any, len(f32))
			for i, v := range f32 {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					out[i] = nil
				} else {
					out[i] = v
				}
			}
			return out
		}
	}
	return d
}
