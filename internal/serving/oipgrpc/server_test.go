package oipgrpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
)

// The gateway the server is built for must fit the interface.
var _ Gateway = (*serving.Gateway)(nil)

// echoGateway answers every request with its inputs as outputs, from
// version "2" unless the request pins one, and records what it received.
// A non-nil err makes Infer, Metadata and Ready fail with it.
type echoGateway struct {
	err   error
	block bool // Infer waits for the caller's context to end

	mu   sync.Mutex // guards last
	last *serving.Request
}

func (g *echoGateway) Infer(ctx context.Context, req *serving.Request) (*serving.Response, error) {
	g.mu.Lock()
	g.last = req
	g.mu.Unlock()
	if g.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if g.err != nil {
		return nil, g.err
	}
	id := req.ID
	if id == "" {
		id = "gateway-made"
	}
	version := req.Version
	if version == "" {
		version = "2"
	}
	return &serving.Response{ID: id, Model: req.Model, Version: version, Outputs: req.Inputs, Parameters: req.Parameters}, nil
}

func (g *echoGateway) Metadata(_ context.Context, model, version string) (serving.ModelMetadata, error) {
	if g.err != nil {
		return serving.ModelMetadata{}, g.err
	}
	return serving.ModelMetadata{
		Name: model, Versions: []string{"2"}, Platform: "xgboost",
		Inputs:  []slipway.TensorSpec{{Name: "x", Datatype: runtime.FP32, Shape: []int64{-1, 3}}},
		Outputs: []slipway.TensorSpec{{Name: "predict", Datatype: runtime.FP32, Shape: []int64{-1}}},
	}, nil
}

func (g *echoGateway) Ready(context.Context, string, string) error { return g.err }

func (g *echoGateway) lastRequest() *serving.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// start serves g on a loopback port and returns a client of it.
func start(t *testing.T, g Gateway, opts ...Option) inferencepb.GRPCInferenceServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewServer(g, opts...).GRPCServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		gs.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		<-done
	})
	return inferencepb.NewGRPCInferenceServiceClient(conn)
}

var tensors = []runtime.Tensor{
	{Name: "f32", Datatype: runtime.FP32, Shape: []int64{2, 2}, Data: []float32{1.5, -2, float32(math.Inf(1)), 0}},
	{Name: "f64", Datatype: runtime.FP64, Shape: []int64{3}, Data: []float64{math.Pi, -1e300, 0}},
	{Name: "i32", Datatype: runtime.INT32, Shape: []int64{1, 2}, Data: []int32{math.MinInt32, 7}},
	{Name: "i64", Datatype: runtime.INT64, Shape: []int64{2}, Data: []int64{math.MaxInt64, -1}},
	{Name: "bool", Datatype: runtime.BOOL, Shape: []int64{3}, Data: []bool{true, false, true}},
	{Name: "bytes", Datatype: runtime.BYTES, Shape: []int64{2, 1}, Data: []string{"héllo", ""}},
	{Name: "empty", Datatype: runtime.FP32, Shape: []int64{0, 4}, Data: []float32{}},
}

// request builds a ModelInferRequest carrying ts as typed or raw contents.
func request(t testing.TB, raw bool, ts ...runtime.Tensor) *inferencepb.ModelInferRequest {
	t.Helper()
	in := &inferencepb.ModelInferRequest{ModelName: "fraud"}
	for _, tt := range ts {
		pt := &inferencepb.ModelInferRequest_InferInputTensor{Name: tt.Name, Datatype: tt.Datatype, Shape: tt.Shape}
		var err error
		if raw {
			var b []byte
			b, err = oip.AppendRaw(nil, tt)
			in.RawInputContents = append(in.RawInputContents, b)
		} else {
			pt.Contents, err = oip.EncodeContents(tt)
		}
		if err != nil {
			t.Fatal(err)
		}
		in.Inputs = append(in.Inputs, pt)
	}
	return in
}

func TestRoundTrip(t *testing.T) {
	client := start(t, &echoGateway{})
	for _, tt := range tensors {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/raw=%v", tt.Name, raw), func(t *testing.T) {
				var header metadata.MD
				resp, err := client.ModelInfer(context.Background(), request(t, raw, tt), grpc.Header(&header))
				if err != nil {
					t.Fatal(err)
				}
				if got := len(resp.RawOutputContents) > 0; got != raw {
					t.Errorf("answered raw = %v, want %v (as the request)", got, raw)
				}
				if len(resp.Outputs) != 1 {
					t.Fatalf("got %d outputs, want 1", len(resp.Outputs))
				}
				o := resp.Outputs[0]
				var got runtime.Tensor
				if raw {
					if oip.HasContents(o.Contents) {
						t.Error("raw answer also has typed contents")
					}
					got, err = oip.DecodeRaw(o.Name, o.Datatype, o.Shape, resp.RawOutputContents[0])
				} else {
					got, err = oip.DecodeContents(o.Name, o.Datatype, o.Shape, o.Contents)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt) {
					t.Errorf("got %+v, want %+v", got, tt)
				}
				if resp.ModelName != "fraud" || resp.ModelVersion != "2" || resp.Id != "gateway-made" {
					t.Errorf("model, version, id = %q, %q, %q; want fraud, 2, gateway-made", resp.ModelName, resp.ModelVersion, resp.Id)
				}
				if v := header.Get(MetadataVersion); len(v) != 1 || v[0] != "2" {
					t.Errorf("header %s = %v, want [2]", MetadataVersion, v)
				}
			})
		}
	}
}

func TestAllDatatypesInOneRequest(t *testing.T) {
	g := &echoGateway{}
	client := start(t, g)
	for _, raw := range []bool{false, true} {
		in := request(t, raw, tensors...)
		in.ModelVersion = "1"
		in.Outputs = []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "f64"}, {Name: "bool"}}
		in.Parameters = map[string]*inferencepb.InferParameter{
			"sticky": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "user-7"}},
			"n":      {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: 3}},
		}
		resp, err := client.ModelInfer(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		req := g.lastRequest()
		if !reflect.DeepEqual(req.Inputs, tensors) {
			t.Errorf("raw=%v: gateway got inputs %+v, want %+v", raw, req.Inputs, tensors)
		}
		if want := []string{"f64", "bool"}; !reflect.DeepEqual(req.Outputs, want) {
			t.Errorf("gateway got outputs %v, want %v", req.Outputs, want)
		}
		if want := map[string]any{"sticky": "user-7", "n": int64(3)}; !reflect.DeepEqual(req.Parameters, want) {
			t.Errorf("gateway got parameters %v, want %v", req.Parameters, want)
		}
		if req.Version != "1" || resp.ModelVersion != "1" {
			t.Errorf("pinned version: gateway got %q, answer names %q; want 1", req.Version, resp.ModelVersion)
		}
		if got := resp.Parameters["sticky"].GetStringParam(); got != "user-7" {
			t.Errorf("answer parameter sticky = %q, want user-7", got)
		}
		if raw && len(resp.RawOutputContents) != len(tensors) {
			t.Errorf("got %d raw outputs, want %d", len(resp.RawOutputContents), len(tensors))
		}
	}
}

func TestRequestID(t *testing.T) {
	client := start(t, &echoGateway{})
	cases := []struct {
		name     string
		id       string // in the request body
		metadata string // x-request-id sent by the client
		want     string
	}{
		{"body", "body-id", "", "body-id"},
		{"metadata", "", "md-id", "md-id"},
		{"body wins", "body-id", "md-id", "body-id"},
		{"gateway", "", "", "gateway-made"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.metadata != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, MetadataRequestID, c.metadata)
			}
			in := request(t, false, tensors[0])
			in.Id = c.id
			var header metadata.MD
			resp, err := client.ModelInfer(ctx, in, grpc.Header(&header))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Id != c.want {
				t.Errorf("id = %q, want %q", resp.Id, c.want)
			}
			if got := header.Get(MetadataRequestID); len(got) != 1 || got[0] != c.want {
				t.Errorf("header %s = %v, want [%s]", MetadataRequestID, got, c.want)
			}
		})
	}
}

func TestInvalidRequest(t *testing.T) {
	g := &echoGateway{}
	client := start(t, g)
	f32 := runtime.Tensor{Name: "x", Datatype: runtime.FP32, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5}}
	cases := []struct {
		name string
		in   func() *inferencepb.ModelInferRequest
		want string
	}{
		{"element count", func() *inferencepb.ModelInferRequest { return request(t, false, f32) },
			`input "x": shape [2 3] holds 6 elements but contents have 5`},
		{"raw element count", func() *inferencepb.ModelInferRequest { return request(t, true, f32) },
			`input "x": shape [2 3] holds 6 elements but raw contents have 5`},
		{"unknown datatype", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.Inputs[0].Datatype = "FP16"
			return in
		}, `input "f32": datatype "FP16" not supported`},
		{"negative dimension", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.Inputs[0].Shape = []int64{-2, -2}
			return in
		}, "negative dimension"},
		{"raw and typed", func() *inferencepb.ModelInferRequest {
			in := request(t, true, tensors[0])
			in.Inputs[0].Contents, _ = oip.EncodeContents(tensors[0])
			return in
		}, "both contents and raw_input_contents"},
		{"raw count", func() *inferencepb.ModelInferRequest {
			in := request(t, true, tensors[0], tensors[1])
			in.RawInputContents = in.RawInputContents[:1]
			return in
		}, "1 raw_input_contents for 2 inputs"},
		{"wrong contents field", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.Inputs[0].Datatype = runtime.INT32
			return in
		}, "int_contents"},
		{"no model", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.ModelName = ""
			return in
		}, "no model_name"},
		{"no inputs", func() *inferencepb.ModelInferRequest { return &inferencepb.ModelInferRequest{ModelName: "m"} }, "no inputs"},
		{"duplicate input", func() *inferencepb.ModelInferRequest { return request(t, false, tensors[0], tensors[0]) }, "sent twice"},
		{"unnamed input", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.Inputs[0].Name = ""
			return in
		}, "input 0 has no name"},
		{"parameter without value", func() *inferencepb.ModelInferRequest {
			in := request(t, false, tensors[0])
			in.Parameters = map[string]*inferencepb.InferParameter{"p": {}}
			return in
		}, `parameter "p" has no value`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g.mu.Lock()
			g.last = nil
			g.mu.Unlock()
			_, err := client.ModelInfer(context.Background(), c.in())
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", status.Code(err), err)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not contain %q", msg, c.want)
			}
			if g.lastRequest() != nil {
				t.Error("the gateway was called with an invalid request")
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	cases := []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("resolve fraud@9: %w", slipway.ErrNotFound), codes.NotFound},
		{slipway.Errorf(slipway.ErrInvalid, "bad version"), codes.InvalidArgument},
		{&runtime.InputError{Tensor: "x", Msg: "shape [2]: want [rows, 3]"}, codes.InvalidArgument},
		{&runtime.BackendError{Backend: "10.0.0.1:8000", Timeout: true, Err: errors.New("no answer in 1s")}, codes.DeadlineExceeded},
		{&runtime.BackendError{Backend: "10.0.0.1:8000", Err: errors.New("connection refused")}, codes.Unavailable},
		{fmt.Errorf("predict: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{&serving.LoadError{Model: "fraud", Version: "2", Err: errors.New("corrupt")}, codes.Unavailable},
		{errors.New("boom"), codes.Internal},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			client := start(t, &echoGateway{err: c.err})
			_, err := client.ModelInfer(context.Background(), request(t, false, tensors[0]))
			if status.Code(err) != c.want {
				t.Errorf("code = %v, want %v (%v)", status.Code(err), c.want, err)
			}
			if msg := status.Convert(err).Message(); msg != c.err.Error() {
				t.Errorf("message = %q, want %q", msg, c.err.Error())
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	client := start(t, &echoGateway{block: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.ModelInfer(ctx, request(t, false, tensors[0]))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("code = %v, want DeadlineExceeded", status.Code(err))
	}
}

func TestErrorCarriesRequestID(t *testing.T) {
	client := start(t, &echoGateway{err: errors.New("boom")})
	in := request(t, false, tensors[0])
	in.Id = "req-1"
	var header metadata.MD
	_, err := client.ModelInfer(context.Background(), in, grpc.Header(&header))
	if err == nil {
		t.Fatal("no error")
	}
	if got := header.Get(MetadataRequestID); len(got) != 1 || got[0] != "req-1" {
		t.Errorf("header %s = %v, want [req-1]", MetadataRequestID, got)
	}
}

func TestServerAndModelMetadata(t *testing.T) {
	ctx := context.Background()
	client := start(t, &echoGateway{}, ServerVersion("1.4.0"), Extensions("model_repository"))

	live, err := client.ServerLive(ctx, &inferencepb.ServerLiveRequest{})
	if err != nil || !live.Live {
		t.Errorf("ServerLive = %v, %v", live, err)
	}
	ready, err := client.ServerReady(ctx, &inferencepb.ServerReadyRequest{})
	if err != nil || !ready.Ready {
		t.Errorf("ServerReady = %v, %v", ready, err)
	}
	sm, err := client.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sm.Name != "slipway" || sm.Version != "1.4.0" || !reflect.DeepEqual(sm.Extensions, []string{"model_repository"}) {
		t.Errorf("ServerMetadata = %v", sm)
	}

	mm, err := client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	if mm.Name != "fraud" || mm.Platform != "xgboost" || !reflect.DeepEqual(mm.Versions, []string{"2"}) ||
		len(mm.Inputs) != 1 || mm.Inputs[0].Name != "x" || !reflect.DeepEqual(mm.Inputs[0].Shape, []int64{-1, 3}) ||
		len(mm.Outputs) != 1 || mm.Outputs[0].Datatype != runtime.FP32 {
		t.Errorf("ModelMetadata = %v", mm)
	}
	if _, err := client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ModelMetadata without a name: %v, want InvalidArgument", err)
	}
}

func TestModelReady(t *testing.T) {
	cases := []struct {
		err       error
		wantReady bool
		wantCode  codes.Code
	}{
		{nil, true, codes.OK},
		{&serving.LoadError{Model: "m", Version: "1", Err: errors.New("corrupt")}, false, codes.OK},
		{fmt.Errorf("m@7: %w", slipway.ErrNotFound), false, codes.NotFound},
	}
	for _, c := range cases {
		client := start(t, &echoGateway{err: c.err})
		r, err := client.ModelReady(context.Background(), &inferencepb.ModelReadyRequest{Name: "m", Version: "1"})
		if status.Code(err) != c.wantCode || r.GetReady() != c.wantReady {
			t.Errorf("gateway error %v: ModelReady = %v, %v; want ready %v, code %v", c.err, r, err, c.wantReady, c.wantCode)
		}
	}
}

func TestMaxMessageSize(t *testing.T) {
	client := start(t, &echoGateway{}, MaxMessageSize(1<<10))
	big := runtime.Tensor{Name: "x", Datatype: runtime.FP32, Shape: []int64{1024}, Data: make([]float32, 1024)}
	_, err := client.ModelInfer(context.Background(), request(t, true, big))
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("4 KiB request with a 1 KiB limit: %v, want ResourceExhausted", err)
	}
	small := runtime.Tensor{Name: "x", Datatype: runtime.FP32, Shape: []int64{8}, Data: make([]float32, 8)}
	if _, err := client.ModelInfer(context.Background(), request(t, true, small)); err != nil {
		t.Errorf("small request: %v", err)
	}
}

// A predictor bug (data that does not match its datatype) is the
// server's fault, not the client's.
func TestBadOutputIsInternal(t *testing.T) {
	g := gatewayFunc(func(_ context.Context, req *serving.Request) (*serving.Response, error) {
		return &serving.Response{Version: "1", Outputs: []runtime.Tensor{{Name: "y", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float64{1}}}}, nil
	})
	client := start(t, g)
	_, err := client.ModelInfer(context.Background(), request(t, false, tensors[0]))
	if status.Code(err) != codes.Internal {
		t.Errorf("code = %v, want Internal", status.Code(err))
	}
}

// gatewayFunc is a Gateway whose Infer is a function; the model is always
// ready and has no metadata.
type gatewayFunc func(context.Context, *serving.Request) (*serving.Response, error)

func (f gatewayFunc) Infer(ctx context.Context, req *serving.Request) (*serving.Response, error) {
	return f(ctx, req)
}
func (gatewayFunc) Metadata(context.Context, string, string) (serving.ModelMetadata, error) {
	return serving.ModelMetadata{}, nil
}
func (gatewayFunc) Ready(context.Context, string, string) error { return nil }
