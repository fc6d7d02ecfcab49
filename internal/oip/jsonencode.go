package oip

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// AppendJSONRequest appends the request body that asks for outputs (nil
// for all) on inputs: the bytes encoding/json gave for the same request,
// except that NaN and infinities, which JSON cannot carry, are null, the
// protocol's missing value. It fails only on data of a type no tensor has;
// dst is then returned as it was.
func AppendJSONRequest(dst []byte, inputs []runtime.Tensor, outputs []string) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"inputs":`...)
	if inputs == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, t := range inputs {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendJSONTensor(dst, t); err != nil {
				return dst[:start], fmt.Errorf("input %q: %w", t.Name, err)
			}
		}
		dst = append(dst, ']')
	}
	if len(outputs) > 0 {
		dst = append(dst, `,"outputs":[`...)
		for i, name := range outputs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = AppendJSONString(dst, name)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// AppendJSONTensor appends t as the protocol's tensor object, its data
// flat: {"name":…,"shape":[…],"datatype":…,"data":[…]}. On an error, dst is
// returned as it was.
func AppendJSONTensor(dst []byte, t runtime.Tensor) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"name":`...)
	dst = AppendJSONString(dst, t.Name)
	dst = append(dst, `,"shape":`...)
	dst = AppendJSONInts(dst, t.Shape)
	dst = append(dst, `,"datatype":`...)
	dst = AppendJSONString(dst, t.Datatype)
	dst = append(dst, `,"data":`...)
	dst, err := AppendJSONData(dst, t.Data)
	if err != nil {
		return dst[:start], err
	}
	return append(dst, '}'), nil
}

// AppendJSONData appends a tensor's data as a flat JSON array (null for a
// nil slice, as encoding/json renders one), floats as encoding/json formats
// them but NaN and infinities as null.
func AppendJSONData(dst []byte, data any) ([]byte, error) {
	switch d := data.(type) {
	case []float32:
		return appendArray(dst, d, func(b []byte, v float32) []byte { return appendFloat(b, float64(v), 32) }), nil
	case []float64:
		return appendArray(dst, d, func(b []byte, v float64) []byte { return appendFloat(b, v, 64) }), nil
	case []int32:
		return appendArray(dst, d, func(b []byte, v int32) []byte { return strconv.AppendInt(b, int64(v), 10) }), nil
	case []int64:
		return AppendJSONInts(dst, d), nil
	case []bool:
		return appendArray(dst, d, strconv.AppendBool), nil
	case []string:
		return appendArray(dst, d, AppendJSONString), nil
	}
	b, err := json.Marshal(data) // not a Tensor's data type: as encoding/json did
	return append(dst, b...), err
}

// AppendJSONInts appends d as a JSON array of integers, null for nil.
func AppendJSONInts(dst []byte, d []int64) []byte {
	return appendArray(dst, d, func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) })
}
