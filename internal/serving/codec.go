package serving

import "github.com/slipway-ml/slipway/internal/oip"

// maxDepth is how deeply a body's arrays and objects may nest.
const maxDepth = oip.MaxJSONDepth

// decodeRequest parses an inference body into a Request, checking every
// tensor's datatype, shape and element count, with the protocol's JSON
// codec (oip.DecodeJSONRequest), which the remote runtime shares.
func decodeRequest(body []byte) (*Request, error) {
	r, err := oip.DecodeJSONRequest(body)
	if err != nil {
		return nil, err
	}
	return &Request{ID: r.ID, Parameters: r.Parameters, Inputs: r.Inputs, Outputs: r.Outputs}, nil
}
