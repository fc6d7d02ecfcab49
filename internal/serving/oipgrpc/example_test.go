package oipgrpc_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/serving/oipgrpc"
)

// doubler is a stand-in for *serving.Gateway: version "3" of every model
// doubles its FP32 input.
type doubler struct{}

func (doubler) Infer(_ context.Context, req *serving.Request) (*serving.Response, error) {
	in := req.Inputs[0]
	out := make([]float32, len(in.Data.([]float32)))
	for i, v := range in.Data.([]float32) {
		out[i] = 2 * v
	}
	return &serving.Response{ID: req.ID, Model: req.Model, Version: "3",
		Outputs: []runtime.Tensor{{Name: "y", Datatype: runtime.FP32, Shape: in.Shape, Data: out}}}, nil
}

func (doubler) Metadata(context.Context, string, string) (serving.ModelMetadata, error) {
	return serving.ModelMetadata{}, nil
}

func (doubler) Ready(context.Context, string, string) error { return nil }

func ExampleNewServer() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	gs := oipgrpc.NewServer(doubler{}, oipgrpc.ServerVersion("1.0.0")).GRPCServer()
	go gs.Serve(lis)
	defer gs.Stop()

	// Any Open Inference Protocol client works; this one is generated
	// from the same .proto.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	resp, err := inferencepb.NewGRPCInferenceServiceClient(conn).ModelInfer(context.Background(), &inferencepb.ModelInferRequest{
		ModelName: "fraud",
		Id:        "req-1",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
			Name: "x", Datatype: "FP32", Shape: []int64{1, 2},
			Contents: &inferencepb.InferTensorContents{Fp32Contents: []float32{1.5, 4}},
		}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.ModelVersion, resp.Id, resp.Outputs[0].Name, resp.Outputs[0].Contents.Fp32Contents)
	// Output: 3 req-1 y [3 8]
}
