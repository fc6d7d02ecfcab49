package oipgrpc

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
)

// FuzzDecodeInferRequest feeds arbitrary bytes through protobuf decoding
// and the request conversion. Nothing may panic; a request that converts
// must hold exactly as many elements as its shapes say, and must survive
// the trip back out as typed and as raw contents bit for bit.
func FuzzDecodeInferRequest(f *testing.F) {
	for _, raw := range []bool{false, true} {
		for _, tt := range tensors {
			f.Add(seed(f, request(f, raw, tt)))
		}
		in := request(f, raw, tensors...)
		in.Id = "seed"
		in.Parameters = map[string]*inferencepb.InferParameter{
			"b": {ParameterChoice: &inferencepb.InferParameter_BoolParam{BoolParam: true}},
			"u": {ParameterChoice: &inferencepb.InferParameter_Uint64Param{Uint64Param: 1 << 63}},
		}
		in.Outputs = []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "f32"}}
		f.Add(seed(f, in))
	}
	f.Add([]byte{})
	f.Add([]byte("\x0a\x01m\x2a\x0b\x0a\x01x\x12\x04FP32\x1a\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		var in inferencepb.ModelInferRequest
		if proto.Unmarshal(data, &in) != nil {
			return
		}
		req, _, err := decodeRequest(&in)
		if err != nil {
			return
		}
		for _, tt := range req.Inputs {
			n, err := runtime.Elements(tt.Shape)
			if err != nil || n != tt.Len() {
				t.Fatalf("input %q: shape %v (%v) but %d elements accepted", tt.Name, tt.Shape, err, tt.Len())
			}
		}
		resp := &serving.Response{Model: req.Model, Version: "1", Outputs: req.Inputs}
		for _, raw := range []bool{false, true} {
			out, err := encodeResponse(resp, raw)
			if err != nil {
				t.Fatalf("encode decoded inputs (raw=%v): %v", raw, err)
			}
			for i, o := range out.Outputs {
				var back = req.Inputs[i]
				if raw {
					back, err = oip.DecodeRaw(o.Name, o.Datatype, o.Shape, out.RawOutputContents[i])
				} else {
					back, err = oip.DecodeContents(o.Name, o.Datatype, o.Shape, o.Contents)
				}
				if err != nil {
					t.Fatalf("decode encoded output %q (raw=%v): %v", o.Name, raw, err)
				}
				want, _ := oip.AppendRaw(nil, req.Inputs[i])
				got, _ := oip.AppendRaw(nil, back)
				if !bytes.Equal(got, want) {
					t.Fatalf("output %q (raw=%v) changed on the way out", o.Name, raw)
				}
			}
		}
	})
}

func seed(tb testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
