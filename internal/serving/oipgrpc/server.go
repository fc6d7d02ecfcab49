// Package oipgrpc serves the Open Inference Protocol over gRPC
// (inference.GRPCInferenceService, as KServe and Triton clients call it)
// in front of slipway's inference gateway. It is a thin adapter: requests
// become serving.Requests, answers become ModelInferResponses, and errors
// become gRPC status codes.
package oipgrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
)

// Gateway is what the gRPC endpoint needs from the inference gateway;
// *serving.Gateway implements it.
type Gateway interface {
	// Infer runs a request and names the version that answered.
	Infer(ctx context.Context, req *serving.Request) (*serving.Response, error)
	// Metadata describes a version; an empty version means the one the
	// gateway would choose.
	Metadata(ctx context.Context, model, version string) (serving.ModelMetadata, error)
	// Ready returns nil when the version can answer.
	Ready(ctx context.Context, model, version string) error
}

// Response header metadata keys. Every successful ModelInfer answer
// carries both; a failed one carries the request id when the client sent
// one.
const (
	MetadataVersion   = "x-slipway-version" // the version that answered
	MetadataRequestID = "x-request-id"      // also read from the request when its id is empty
)

// DefaultMaxMessageSize caps request and response messages unless
// MaxMessageSize says otherwise; it matches the HTTP endpoint's body limit.
const DefaultMaxMessageSize = 32 << 20

// Server implements inference.GRPCInferenceService over a Gateway. Get one
// from NewServer.
type Server struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer

	g          Gateway
	version    string
	extensions []string
	maxMsg     int
}

var _ inferencepb.GRPCInferenceServiceServer = (*Server)(nil)

// Option configures a Server.
type Option func(*Server)

// ServerVersion sets the version ServerMetadata reports; the default is
// empty.
func ServerVersion(v string) Option { return func(s *Server) { s.version = v } }

// Extensions sets the protocol extensions ServerMetadata lists; the
// default is none.
func Extensions(names ...string) Option {
	return func(s *Server) { s.extensions = append([]string(nil), names...) }
}

// MaxMessageSize caps the size in bytes of a request and of a response
// message; zero or less means DefaultMaxMessageSize. It applies to the
// grpc.Server that GRPCServer builds.
func MaxMessageSize(n int) Option { return func(s *Server) { s.maxMsg = n } }

// NewServer returns the gRPC endpoint over g.
func NewServer(g Gateway, opts ...Option) *Server {
	s := &Server{g: g}
	for _, o := range opts {
		o(s)
	}
	if s.maxMsg <= 0 {
		s.maxMsg = DefaultMaxMessageSize
	}
	return s
}

// GRPCServer returns a new grpc.Server with s registered and the message
// size limit applied; opts come after the limit, so they may override it.
// The caller owns the server: it calls Serve and, to stop,
// GracefulStop or Stop. To register s on a grpc.Server of your own, use
// inferencepb.RegisterGRPCInferenceServiceServer and set
// grpc.MaxRecvMsgSize yourself (gRPC's default is 4 MiB).
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	all := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(s.maxMsg), grpc.MaxSendMsgSize(s.maxMsg)}, opts...)
	gs := grpc.NewServer(all...)
	inferencepb.RegisterGRPCInferenceServiceServer(gs, s)
	return gs
}

// ServerLive always answers live: a server that answers is.
func (s *Server) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: true}, nil
}

// ServerReady always answers ready; readiness is per model (ModelReady).
func (s *Server) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	return &inferencepb.ServerReadyResponse{Ready: true}, nil
}

// ServerMetadata names the server "slipway" with its version and
// extensions.
func (s *Server) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	return &inferencepb.ServerMetadataResponse{Name: "slipway", Version: s.version, Extensions: s.extensions}, nil
}

// ModelReady answers ready when the gateway can run the version, not
// ready when it cannot (yet), and NotFound for an unknown model or
// version.
func (s *Server) ModelReady(ctx context.Context, in *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	if in.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "request has no model name")
	}
	err := s.g.Ready(ctx, in.GetName(), in.GetVersion())
	switch {
	case err == nil:
		return &inferencepb.ModelReadyResponse{Ready: true}, nil
	case errors.Is(err, slipway.ErrNotFound), errors.Is(err, slipway.ErrInvalid), ctx.Err() != nil:
		return nil, statusOf(err)
	}
	return &inferencepb.ModelReadyResponse{Ready: false}, nil
}

// ModelMetadata describes a version from its signature.
func (s *Server) ModelMetadata(ctx context.Context, in *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	if in.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "request has no model name")
	}
	md, err := s.g.Metadata(ctx, in.GetName(), in.GetVersion())
	if err != nil {
		return nil, statusOf(err)
	}
	return &inferencepb.ModelMetadataResponse{
		Name:     md.Name,
		Versions: md.Versions,
		Platform: md.Platform,
		Inputs:   tensorMetadata(md.Inputs),
		Outputs:  tensorMetadata(md.Outputs),
	}, nil
}

func tensorMetadata(specs []slipway.TensorSpec) []*inferencepb.ModelMetadataResponse_TensorMetadata {
	out := make([]*inferencepb.ModelMetadataResponse_TensorMetadata, len(specs))
	for i, s := range specs {
		out[i] = &inferencepb.ModelMetadataResponse_TensorMetadata{Name: s.Name, Datatype: s.Datatype, Shape: s.Shape}
	}
	return out
}

// ModelInfer runs one request through the gateway. The answer names the
// version that produced it in model_version and in the x-slipway-version
// header, and carries the request id (the request's, else the
// x-request-id header's, else one the gateway made up).
func (s *Server) ModelInfer(ctx context.Context, in *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	req, raw, err := decodeRequest(in)
	if err != nil {
		return nil, statusOf(err)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if req.ID == "" {
		if ids := md.Get(MetadataRequestID); len(ids) > 0 {
			req.ID = ids[0]
		}
	}
	// Metadata keys are lower case; routing rules look headers up in
	// either form.
	req.Header = md
	resp, err := s.g.Infer(ctx, req)
	if err != nil {
		if req.ID != "" {
			grpc.SetHeader(ctx, metadata.Pairs(MetadataRequestID, req.ID))
		}
		return nil, statusOf(err)
	}
	if resp.ID == "" {
		resp.ID = req.ID
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	out, err := encodeResponse(resp, raw)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	// SetHeader fails only outside a gRPC call, as in direct calls from
	// tests; the answer itself still names the version.
	grpc.SetHeader(ctx, metadata.Pairs(MetadataVersion, resp.Version, MetadataRequestID, resp.ID))
	return out, nil
}

// statusOf maps a gateway error to a gRPC status, as the HTTP endpoint
// maps it to an HTTP status: a version that failed to load or a model
// server that failed is Unavailable (DeadlineExceeded when it timed out),
// an unknown model or version NotFound, a bad request InvalidArgument.
func statusOf(err error) error {
	var le *serving.LoadError
	var be *runtime.BackendError
	code := codes.Internal
	switch {
	case errors.As(err, &le):
		code = codes.Unavailable
	case errors.As(err, &be) && be.Timeout, errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.As(err, &be):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, slipway.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, slipway.ErrInvalid):
		code = codes.InvalidArgument
	}
	return status.Error(code, err.Error())
}
