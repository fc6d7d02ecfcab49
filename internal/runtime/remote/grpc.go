package remote

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// MaxMessageBytes caps gRPC messages to and from a model server.
const MaxMessageBytes = 64 << 20

// conns shares one grpc.ClientConn per server among the versions it
// serves; the last Close closes it.
var conns = struct {
	mu sync.Mutex // guards m
	m  map[string]*sharedConn
}{m: map[string]*sharedConn{}}

type sharedConn struct {
	cc   *grpc.ClientConn
	refs int
}

// dial returns the shared connection to scheme://host, creating it on
// first use. Connecting is lazy: an unreachable server fails calls, not
// dial.
func dial(scheme, host string) (*grpc.ClientConn, error) {
	key := scheme + "://" + host
	conns.mu.Lock()
	defer conns.mu.Unlock()
	if sc, ok := conns.m[key]; ok {
		sc.refs++
		return sc.cc, nil
	}
	creds := insecure.NewCredentials()
	if scheme == "grpcs" {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	cc, err := grpc.NewClient(host,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)))
	if err != nil {
		return nil, err
	}
	conns.m[key] = &sharedConn{cc: cc, refs: 1}
	return cc, nil
}

func release(scheme, host string) error {
	key := scheme + "://" + host
	conns.mu.Lock()
	defer conns.mu.Unlock()
	sc, ok := conns.m[key]
	if !ok {
		return nil
	}
	if sc.refs--; sc.refs > 0 {
		return nil
	}
	delete(conns.m, key)
	return sc.cc.Close()
}

type grpcBackend struct {
	t      target
	client inferencepb.GRPCInferenceServiceClient
	once   sync.Once // guards the release in close
}

func newGRPCBackend(t target) (*grpcBackend, error) {
	cc, err := dial(t.scheme, t.host)
	if err != nil {
		return nil, err
	}
	return &grpcBackend{t: t, client: inferencepb.NewGRPCInferenceServiceClient(cc)}, nil
}

func (b *grpcBackend) close() error {
	var err error
	b.once.Do(func() { err = release(b.t.scheme, b.t.host) })
	return err
}

func (b *grpcBackend) infer(ctx context.Context, inputs []runtime.Tensor, outputs []string) ([]runtime.Tensor, error) {
	in := &inferencepb.ModelInferRequest{
		ModelName:    b.t.model,
		ModelVersion: b.t.version,
		Inputs:       make([]*inferencepb.ModelInferRequest_InferInputTensor, len(inputs)),
	}
	for i, t := range inputs {
		c, err := oip.EncodeContents(t)
		if err != nil {
			return nil, &runtime.InputError{Tensor: t.Name, Msg: err.Error()}
		}
		in.Inputs[i] = &inferencepb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape, Contents: c}
	}
	for _, o := range outputs {
		in.Outputs = append(in.Outputs, &inferencepb.ModelInferRequest_InferRequestedOutputTensor{Name: o})
	}
	resp, err := b.client.ModelInfer(ctx, in)
	if err != nil {
		return nil, b.statusErr("ModelInfer", err)
	}
	return decodeOutputs(resp)
}

// decodeOutputs reads a response's outputs from raw_output_contents (as
// Triton answers) or typed contents.
func decodeOutputs(resp *inferencepb.ModelInferResponse) ([]runtime.Tensor, error) {
	raw := resp.GetRawOutputContents()
	if len(raw) > 0 && len(raw) != len(resp.GetOutputs()) {
		return nil, fmt.Errorf("answered %d raw_output_contents for %d outputs", len(raw), len(resp.GetOutputs()))
	}
	outs := make([]runtime.Tensor, len(resp.GetOutputs()))
	for i, o := range resp.GetOutputs() {
		var err error
		if len(raw) > 0 {
			outs[i], err = oip.DecodeRaw(o.GetName(), o.GetDatatype(), o.GetShape(), raw[i])
		} else {
			outs[i], err = oip.DecodeContents(o.GetName(), o.GetDatatype(), o.GetShape(), o.GetContents())
		}
		if err != nil {
			// A bad answer is the server's failure, not the request's.
			msg := err.Error()
			if ie, ok := err.(*runtime.InputError); ok {
				msg = ie.Msg
			}
			return nil, fmt.Errorf("answered output %q that does not decode: %s", o.GetName(), msg)
		}
	}
	return outs, nil
}

// statusErr turns a failed call's status into slipway's errors: the
// server rejecting the request is an *runtime.InputError, anything else
// the server's failure.
func (b *grpcBackend) statusErr(method string, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return &runtime.InputError{Msg: fmt.Sprintf("model server %s refused the request: %s", b.t.host, st.Message())}
	case codes.DeadlineExceeded:
		// The deadline may end on the server's side a moment before ours.
		return fmt.Errorf("%s: %w", method, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s: %s", method, st.Code(), st.Message())
}

func (b *grpcBackend) ready(ctx context.Context) error {
	resp, err := b.client.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: b.t.model, Version: b.t.version})
	if err != nil {
		st := status.Convert(err)
		if st.Code() == codes.DeadlineExceeded {
			return fmt.Errorf("ModelReady: %w", context.DeadlineExceeded)
		}
		return fmt.Errorf("ModelReady: %s: %s", st.Code(), st.Message())
	}
	if !resp.GetReady() {
		return fmt.Errorf("ModelReady: model %s is not ready", b.t.model)
	}
	return nil
}

func (b *grpcBackend) metadata(ctx context.Context) (slipway.Signature, error) {
	resp, err := b.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: b.t.model, Version: b.t.version})
	if err != nil {
		return slipway.Signature{}, b.statusErr("ModelMetadata", err)
	}
	return slipway.Signature{Inputs: specs(resp.GetInputs()), Outputs: specs(resp.GetOutputs())}, nil
}

func specs(ts []*inferencepb.ModelMetadataResponse_TensorMetadata) []slipway.TensorSpec {
	out := make([]slipway.TensorSpec, len(ts))
	for i, t := range ts {
		out[i] = slipway.TensorSpec{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()}
	}
	return out
}
