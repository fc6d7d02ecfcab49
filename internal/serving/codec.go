package serving

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// The Open Inference Protocol's JSON request and response bodies.
type (
	jsonRequest struct {
		ID         string           `json:"id,omitempty"`
		Parameters map[string]any   `json:"parameters,omitempty"`
		Inputs     []jsonTensor     `json:"inputs"`
		Outputs    []jsonOutputSpec `json:"outputs,omitempty"`
	}
	jsonTensor struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Parameters map[string]any  `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data"`
	}
	jsonOutputSpec struct {
		Name       string         `json:"name"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}
	jsonResponse struct {
		ModelName    string         `json:"model_name"`
		ModelVersion string         `json:"model_version"`
		ID           string         `json:"id"`
		Parameters   map[string]any `json:"parameters,omitempty"`
		Outputs      []jsonOutput   `json:"outputs"`
	}
	jsonOutput struct {
		Name     string  `json:"name"`
		Shape    []int64 `json:"shape"`
		Datatype string  `json:"datatype"`
		Data     any     `json:"data"`
	}
)

// decodeRequest parses an inference body into a Request, checking every
// tensor's datatype, shape and element count.
func decodeRequest(body []byte) (*Request, error) {
	var jr jsonRequest
	if err := json.Unmarshal(body, &jr); err != nil {
		return nil, slipway.Errorf(slipway.ErrInvalid, "request body is not a valid inference request: %v", err)
	}
	if len(jr.Inputs) == 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, `request has no "inputs"`)
	}
	req := &Request{ID: jr.ID, Parameters: jr.Parameters, Inputs: make([]runtime.Tensor, len(jr.Inputs))}
	for i, jt := range jr.Inputs {
		t, err := decodeTensor(jt)
		if err != nil {
			return nil, err
		}
		req.Inputs[i] = t
	}
	for _, o := range jr.Outputs {
		req.Outputs = append(req.Outputs, o.Name)
	}
	return req, nil
}

func decodeTensor(jt jsonTensor) (runtime.Tensor, error) {
	t := runtime.Tensor{Name: jt.Name, Datatype: jt.Datatype, Shape: jt.Shape}
	bad := func(format string, args ...any) error {
		return &runtime.InputError{Tensor: jt.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if jt.Name == "" {
		return t, bad("input has no name")
	}
	n, err := runtime.Elements(jt.Shape)
	if err != nil {
		return t, bad("%v", err)
	}
	data := flatten(jt.Data)
	switch jt.Datatype {
	case runtime.FP32:
		var d []nullableFloat
		err = json.Unmarshal(data, &d)
		t.Data = toFloat32(d)
	case runtime.FP64:
		var d []nullableFloat
		err = json.Unmarshal(data, &d)
		t.Data = toFloat64(d)
	case runtime.INT32:
		var d []int32
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.INT64:
		var d []int64
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.BOOL:
		var d []bool
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.BYTES:
		var d []string
		err = json.Unmarshal(data, &d)
		t.Data = d
	case "":
		return t, bad("no datatype (want FP32, FP64, INT32, INT64, BOOL or BYTES)")
	default:
		return t, bad("datatype %q not supported (want FP32, FP64, INT32, INT64, BOOL or BYTES)", jt.Datatype)
	}
	if err != nil {
		return t, bad("data is not %s: %v", jt.Datatype, err)
	}
	if got := t.Len(); got != n {
		return t, bad("shape %v holds %d elements but data has %d", jt.Shape, n, got)
	}
	return t, nil
}

// flatten turns nested JSON arrays into one flat array; the protocol
// allows either form for row-major data.
func flatten(raw json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) < 2 || trimmed[0] != '[' {
		return raw
	}
	inner := bytes.TrimSpace(trimmed[1:])
	if len(inner) == 0 || inner[0] != '[' {
		return raw // already flat: the fast path
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '[')
	inString, escaped, first := false, false, true
	for _, c := range trimmed {
		switch {
		case inString:
			out = append(out, c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
			continue
		case c == '[' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r':
			continue
		case c == ',':
			if !first && out[len(out)-1] != ',' {
				out = append(out, ',')
			}
			continue
		case c == '"':
			inString = true
		}
		first = false
		out = append(out, c)
	}
	out = bytes.TrimRight(out, ",")
	return append(out, ']')
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

func toFloat64(d []nullableFloat) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

func encodeResponse(resp *Response) jsonResponse {
	out := jsonResponse{ModelName: resp.Model, ModelVersion: resp.Version, ID: resp.ID, Parameters: resp.Parameters,
		Outputs: make([]jsonOutput, len(resp.Outputs))}
	for i, t := range resp.Outputs {
		out.Outputs[i] = jsonOutput{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Data: jsonSafe(t.Data)}
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
