package oipgrpc

import (
	"fmt"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
)

// decodeRequest turns a ModelInferRequest into a serving.Request,
// checking every input's name, datatype, shape and element count. raw
// reports whether the inputs came as raw_input_contents, so the answer
// can use raw_output_contents as Triton's clients expect. Errors match
// slipway.ErrInvalid.
func decodeRequest(in *inferencepb.ModelInferRequest) (req *serving.Request, raw bool, err error) {
	if in.GetModelName() == "" {
		return nil, false, slipway.Errorf(slipway.ErrInvalid, "request has no model_name")
	}
	if len(in.GetInputs()) == 0 {
		return nil, false, slipway.Errorf(slipway.ErrInvalid, "request has no inputs")
	}
	raw = len(in.GetRawInputContents()) > 0
	if raw && len(in.RawInputContents) != len(in.Inputs) {
		return nil, false, slipway.Errorf(slipway.ErrInvalid,
			"request has %d raw_input_contents for %d inputs; send one per input, in order", len(in.RawInputContents), len(in.Inputs))
	}
	params, err := oip.DecodeParams(in.GetParameters())
	if err != nil {
		return nil, false, slipway.Errorf(slipway.ErrInvalid, "%v", err)
	}
	req = &serving.Request{
		ID:         in.GetId(),
		Model:      in.GetModelName(),
		Version:    in.GetModelVersion(),
		Inputs:     make([]runtime.Tensor, len(in.Inputs)),
		Parameters: params,
	}
	seen := make(map[string]bool, len(in.Inputs))
	for i, pt := range in.Inputs {
		if req.Inputs[i], err = decodeInput(pt, i, in.GetRawInputContents(), seen); err != nil {
			return nil, false, err
		}
	}
	for i, o := range in.GetOutputs() {
		if o.GetName() == "" {
			return nil, false, slipway.Errorf(slipway.ErrInvalid, "requested output %d has no name", i)
		}
		req.Outputs = append(req.Outputs, o.GetName())
	}
	return req, raw, nil
}

func decodeInput(pt *inferencepb.ModelInferRequest_InferInputTensor, i int, raw [][]byte, seen map[string]bool) (runtime.Tensor, error) {
	name := pt.GetName()
	if name == "" {
		return runtime.Tensor{}, &runtime.InputError{Msg: fmt.Sprintf("input %d has no name", i)}
	}
	if seen[name] {
		return runtime.Tensor{}, &runtime.InputError{Tensor: name, Msg: "sent twice"}
	}
	seen[name] = true
	if raw == nil {
		return oip.DecodeContents(name, pt.GetDatatype(), pt.GetShape(), pt.GetContents())
	}
	if oip.HasContents(pt.GetContents()) {
		return runtime.Tensor{}, &runtime.InputError{Tensor: name,
			Msg: "has both contents and raw_input_contents; a request uses one or the other for every input"}
	}
	return oip.DecodeRaw(name, pt.GetDatatype(), pt.GetShape(), raw[i])
}

// encodeResponse turns a gateway response into a ModelInferResponse, with
// the outputs in raw_output_contents when raw is set, else in typed
// contents. It fails only on a predictor's bug: data that does not match
// its datatype.
func encodeResponse(resp *serving.Response, raw bool) (*inferencepb.ModelInferResponse, error) {
	out := &inferencepb.ModelInferResponse{
		ModelName:    resp.Model,
		ModelVersion: resp.Version,
		Id:           resp.ID,
		Parameters:   oip.EncodeParams(resp.Parameters),
		Outputs:      make([]*inferencepb.ModelInferResponse_InferOutputTensor, len(resp.Outputs)),
	}
	if raw {
		out.RawOutputContents = make([][]byte, len(resp.Outputs))
	}
	for i, t := range resp.Outputs {
		pt := &inferencepb.ModelInferResponse_InferOutputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		var err error
		if raw {
			out.RawOutputContents[i], err = oip.AppendRaw(make([]byte, 0, rawSize(t)), t)
		} else {
			pt.Contents, err = oip.EncodeContents(t)
		}
		if err != nil {
			return nil, fmt.Errorf("encode response: %w", err)
		}
		out.Outputs[i] = pt
	}
	return out, nil
}

// rawSize estimates a tensor's raw size, exactly for fixed-size types.
func rawSize(t runtime.Tensor) int {
	n := t.Len()
	switch t.Datatype {
	case runtime.FP64, runtime.INT64:
		return 8 * n
	case runtime.BOOL:
		return n
	}
	return 4 * n
}
