package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// behaviour says how a fake model server misbehaves; the zero value is a
// well-behaved server.
type behaviour struct {
	sleep      time.Duration // before answering (cut short when the client goes away)
	garbage    bool          // answer 200 with something that is not an inference response
	fail       bool          // answer 500 (gRPC: Internal)
	notReady   bool          // the ready endpoint says no
	noMetadata *atomic.Bool  // while true, the metadata endpoint fails
	raw        bool          // gRPC: answer in raw_output_contents, as Triton does
	versions   *atomic.Value // records the model version each call asked for
}

// The fake model "sum" takes x, FP32 [rows, k], and answers sum, FP32
// [rows], each row's sum. An input named "bad" is refused as invalid.
const fakeModel = "sum"

var fakeSignature = `{"name":"sum","versions":["1"],"platform":"fake",` +
	`"inputs":[{"name":"x","datatype":"FP32","shape":[-1,-1]}],"outputs":[{"name":"sum","datatype":"FP32","shape":[-1]}]}`

// sumRows is the fake model itself.
func sumRows(inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	if len(inputs) != 1 || inputs[0].Name != "x" || len(inputs[0].Shape) != 2 {
		return nil, fmt.Errorf("want one input x of shape [rows, k]")
	}
	x, ok := inputs[0].Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("input x: want FP32")
	}
	rows, k := int(inputs[0].Shape[0]), int(inputs[0].Shape[1])
	out := make([]float32, rows)
	for r := range rows {
		for _, v := range x[r*k : (r+1)*k] {
			out[r] += v
		}
	}
	return []runtime.Tensor{{Name: "sum", Datatype: runtime.FP32, Shape: []int64{int64(rows)}, Data: out}}, nil
}

func wait(ctx context.Context, d time.Duration) {
	if d == 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// serveHTTP starts a fake OIP v2 REST server and returns its model URL.
func serveHTTP(t testing.TB, b behaviour) string {
	mux := http.NewServeMux()
	base := "/v2/models/" + fakeModel
	metadata := func(w http.ResponseWriter, r *http.Request) {
		if b.noMetadata != nil && b.noMetadata.Load() {
			http.Error(w, `{"error":"starting"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(fakeSignature))
	}
	mux.HandleFunc("GET "+base, metadata)
	mux.HandleFunc("GET "+base+"/versions/{v}", metadata)
	ready := func(w http.ResponseWriter, r *http.Request) {
		if b.notReady {
			http.Error(w, `{"error":"model sum is loading"}`, http.StatusServiceUnavailable)
		}
	}
	mux.HandleFunc("GET "+base+"/ready", ready)
	mux.HandleFunc("GET "+base+"/versions/{v}/ready", ready)
	infer := func(w http.ResponseWriter, r *http.Request) {
		if b.versions != nil {
			b.versions.Store(r.PathValue("v"))
		}
		// Read the body before waiting: only then does the server notice
		// a client that hangs up.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		wait(r.Context(), b.sleep)
		if r.Context().Err() != nil {
			return
		}
		switch {
		case b.garbage:
			w.Write([]byte("<html>gateway hiccup</html>"))
			return
		case b.fail:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":"CUDA out of memory"}`))
			return
		}
		var req struct {
			Inputs []struct {
				Name     string    `json:"name"`
				Shape    []int64   `json:"shape"`
				Datatype string    `json:"datatype"`
				Data     []float32 `json:"data"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		var ins []runtime.Tensor
		for _, in := range req.Inputs {
			ins = append(ins, runtime.Tensor{Name: in.Name, Shape: in.Shape, Datatype: in.Datatype, Data: in.Data})
		}
		outs, err := sumRows(ins)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"model_name": fakeModel, "model_version": "1",
			"outputs": []map[string]any{{"name": outs[0].Name, "datatype": outs[0].Datatype, "shape": outs[0].Shape, "data": outs[0].Data}},
		})
	}
	mux.HandleFunc("POST "+base+"/infer", infer)
	mux.HandleFunc("POST "+base+"/versions/{v}/infer", infer)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + base
}

// fakeGRPC is the same model over gRPC.
type fakeGRPC struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	b behaviour
}

func (f *fakeGRPC) ModelReady(context.Context, *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	return &inferencepb.ModelReadyResponse{Ready: !f.b.notReady}, nil
}

func (f *fakeGRPC) ModelMetadata(_ context.Context, in *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	if f.b.noMetadata != nil && f.b.noMetadata.Load() {
		return nil, status.Error(codes.Unavailable, "starting")
	}
	return &inferencepb.ModelMetadataResponse{
		Name: fakeModel, Versions: []string{"1"}, Platform: "fake",
		Inputs:  []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "x", Datatype: runtime.FP32, Shape: []int64{-1, -1}}},
		Outputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "sum", Datatype: runtime.FP32, Shape: []int64{-1}}},
	}, nil
}

func (f *fakeGRPC) ModelInfer(ctx context.Context, in *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	if f.b.versions != nil {
		f.b.versions.Store(in.ModelVersion)
	}
	wait(ctx, f.b.sleep)
	if err := ctx.Err(); err != nil { // a slow server does not answer once the client gave up
		return nil, status.FromContextError(err).Err()
	}
	if in.ModelName != fakeModel {
		return nil, status.Errorf(codes.NotFound, "no model %q", in.ModelName)
	}
	if f.b.fail {
		return nil, status.Error(codes.Internal, "CUDA out of memory")
	}
	var ins []runtime.Tensor
	for _, pt := range in.Inputs {
		t, err := oip.DecodeContents(pt.Name, pt.Datatype, pt.Shape, pt.Contents)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		ins = append(ins, t)
	}
	outs, err := sumRows(ins)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	o := outs[0]
	resp := &inferencepb.ModelInferResponse{ModelName: fakeModel, ModelVersion: "1",
		Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape}}}
	switch {
	case f.b.garbage: // three elements for a shape of rows
		resp.Outputs[0].Contents = &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4, 5}}
	case f.b.raw:
		raw, _ := oip.AppendRaw(nil, o)
		resp.RawOutputContents = [][]byte{raw}
	default:
		resp.Outputs[0].Contents, _ = oip.EncodeContents(o)
	}
	return resp, nil
}

// serveGRPC starts the fake over gRPC and returns its model URL.
func serveGRPC(t testing.TB, b behaviour) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	inferencepb.RegisterGRPCInferenceServiceServer(gs, &fakeGRPC{b: b})
	done := make(chan struct{})
	go func() {
		defer close(done)
		gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return "grpc://" + lis.Addr().String() + "/" + fakeModel
}

// closedPort returns an address nothing listens on.
func closedPort(t testing.TB) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// withVersion pins version V in a fake's model URL.
func withVersion(u, v string) string {
	if strings.HasPrefix(u, "grpc") {
		return u + "/" + v
	}
	return u + "/versions/" + v
}
