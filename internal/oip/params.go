package oip

import (
	"fmt"
	"math"

	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
)

// DecodeParams turns protocol parameters into Go values: bool, int64,
// string or float64. A uint64 parameter becomes an int64 when it fits; a
// larger one, or a parameter without a value, is an error. A nil or empty
// map gives nil.
func DecodeParams(m map[string]*inferencepb.InferParameter) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, p := range m {
		switch v := p.GetParameterChoice().(type) {
		case *inferencepb.InferParameter_BoolParam:
			out[k] = v.BoolParam
		case *inferencepb.InferParameter_Int64Param:
			out[k] = v.Int64Param
		case *inferencepb.InferParameter_StringParam:
			out[k] = v.StringParam
		case *inferencepb.InferParameter_DoubleParam:
			out[k] = v.DoubleParam
		case *inferencepb.InferParameter_Uint64Param:
			if v.Uint64Param > math.MaxInt64 {
				return nil, fmt.Errorf("parameter %q: uint64 %d is larger than slipway's int64 parameters allow", k, v.Uint64Param)
			}
			out[k] = int64(v.Uint64Param)
		default:
			return nil, fmt.Errorf("parameter %q has no value", k)
		}
	}
	return out, nil
}

// EncodeParams turns Go values into protocol parameters: booleans, signed
// and unsigned integers, floats and strings as such, anything else as its
// fmt.Sprint text. A nil value is left out.
func EncodeParams(m map[string]any) map[string]*inferencepb.InferParameter {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*inferencepb.InferParameter, len(m))
	for k, v := range m {
		var p inferencepb.InferParameter
		switch v := v.(type) {
		case nil:
			continue
		case bool:
			p.ParameterChoice = &inferencepb.InferParameter_BoolParam{BoolParam: v}
		case string:
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: v}
		case int:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: int64(v)}
		case int32:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: int64(v)}
		case int64:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: v}
		case uint32:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: int64(v)}
		case uint64:
			p.ParameterChoice = &inferencepb.InferParameter_Uint64Param{Uint64Param: v}
		case float32:
			p.ParameterChoice = &inferencepb.InferParameter_DoubleParam{DoubleParam: float64(v)}
		case float64:
			p.ParameterChoice = &inferencepb.InferParameter_DoubleParam{DoubleParam: v}
		default:
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: fmt.Sprint(v)}
		}
		out[k] = &p
	}
	return out
}
