package serving_test

import (
	"context"
	"math"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
)

// The same model answers over gRPC as over HTTP, through the real server.
func TestGRPCInferOnRealServer(t *testing.T) {
	_, srv := gateway(t)
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := inferencepb.NewGRPCInferenceServiceClient(conn)
	ctx := context.Background()

	live, err := client.ServerLive(ctx, &inferencepb.ServerLiveRequest{})
	if err != nil || !live.Live {
		t.Fatalf("ServerLive = %v, %v", live, err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	ref := referenceScores(t, "2")
	const rows = 20
	req := &inferencepb.ModelInferRequest{ModelName: "fraud", Id: "grpc-1"}
	for _, name := range fraudFeatures {
		vals := make([]float32, rows)
		for r := range vals {
			vals[r] = float32(cols[name][r]) // NaN stays NaN: missing
		}
		req.Inputs = append(req.Inputs, &inferencepb.ModelInferRequest_InferInputTensor{
			Name: name, Datatype: "FP32", Shape: []int64{rows},
			Contents: &inferencepb.InferTensorContents{Fp32Contents: vals},
		})
	}
	var header metadata.MD
	resp, err := client.ModelInfer(ctx, req, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ModelVersion != "2.0.0" || resp.Id != "grpc-1" || len(header.Get("x-slipway-version")) != 1 || header.Get("x-slipway-version")[0] != "2.0.0" {
		t.Fatalf("answered by %q id %q header %v", resp.ModelVersion, resp.Id, header)
	}
	got := resp.Outputs[0].Contents.Fp32Contents
	for r := range rows {
		if math.Abs(float64(got[r])-ref[r]) > 1e-6 {
			t.Fatalf("row %d: %g, XGBoost %g", r, got[r], ref[r])
		}
	}

	req.Inputs[0].Name = "amt"
	if _, err := client.ModelInfer(ctx, req); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong tensor name: %v, want InvalidArgument", err)
	}
	req.ModelName = "nosuch"
	if _, err := client.ModelInfer(ctx, req); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown model: %v, want NotFound", err)
	}
}
