package serving

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// appendResponse appends resp to dst as the protocol's JSON response body:
// the bytes encoding/json gives for encodeResponse(resp) (without
// json.Encoder's trailing newline), except that NaN and infinities in FP64
// data are null as in FP32 data, where encoding/json fails. On an error,
// dst is returned as it was.
func appendResponse(dst []byte, resp *Response) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"model_name":`...)
	dst = appendString(dst, resp.Model)
	dst = append(dst, `,"model_version":`...)
	dst = appendString(dst, resp.Version)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, resp.ID)
	if len(resp.Parameters) > 0 {
		p, err := json.Marshal(resp.Parameters)
		if err != nil {
			return dst[:start], fmt.Errorf("encode response parameters: %w", err)
		}
		dst = append(dst, `,"parameters":`...)
		dst = append(dst, p...)
	}
	dst = append(dst, `,"outputs":[`...)
	for i, t := range resp.Outputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendString(dst, t.Name)
		dst = append(dst, `,"shape":`...)
		dst = appendInts(dst, t.Shape)
		dst = append(dst, `,"datatype":`...)
		dst = appendString(dst, t.Datatype)
		dst = append(dst, `,"data":`...)
		var err error
		if dst, err = appendData(dst, t.Data); err != nil {
			return dst[:start], fmt.Errorf("encode output %q: %w", t.Name, err)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}

// appendData appends a tensor's data as a flat JSON array (null for a nil
// slice, as encoding/json renders one).
func appendData(dst []byte, data any) ([]byte, error) {
	switch d := data.(type) {
	case []float32:
		return appendArray(dst, d, func(b []byte, v float32) []byte { return appendFloat(b, float64(v), 32) }), nil
	case []float64:
		return appendArray(dst, d, func(b []byte, v float64) []byte { return appendFloat(b, v, 64) }), nil
	case []int32:
		return appendArray(dst, d, func(b []byte, v int32) []byte { return strconv.AppendInt(b, int64(v), 10) }), nil
	case []int64:
		return appendInts(dst, d), nil
	case []bool:
		return appendArray(dst, d, strconv.AppendBool), nil
	case []string:
		return appendArray(dst, d, appendString), nil
	}
	b, err := json.Marshal(data) // not a Tensor's data type: as encoding/json did
	return append(dst, b...), err
}

func appendInts(dst []byte, d []int64) []byte {
	return appendArray(dst, d, func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) })
}
