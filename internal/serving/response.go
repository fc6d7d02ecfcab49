package serving

import (
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/internal/oip"
)

// appendResponse appends resp to dst as the protocol's JSON response body:
// the bytes encoding/json gives for encodeResponse(resp) (without
// json.Encoder's trailing newline), except that NaN and infinities in FP64
// data are null as in FP32 data, where encoding/json fails. On an error,
// dst is returned as it was.
func appendResponse(dst []byte, resp *Response) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"model_name":`...)
	dst = oip.AppendJSONString(dst, resp.Model)
	dst = append(dst, `,"model_version":`...)
	dst = oip.AppendJSONString(dst, resp.Version)
	dst = append(dst, `,"id":`...)
	dst = oip.AppendJSONString(dst, resp.ID)
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
		dst = oip.AppendJSONString(dst, t.Name)
		dst = append(dst, `,"shape":`...)
		dst = oip.AppendJSONInts(dst, t.Shape)
		dst = append(dst, `,"datatype":`...)
		dst = oip.AppendJSONString(dst, t.Datatype)
		dst = append(dst, `,"data":`...)
		var err error
		if dst, err = oip.AppendJSONData(dst, t.Data); err != nil {
			return dst[:start], fmt.Errorf("encode output %q: %w", t.Name, err)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}
