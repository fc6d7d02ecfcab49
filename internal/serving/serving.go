// Package serving is slipway's inference gateway: it resolves which
// version answers a request, loads versions on first use (or at deploy
// time), runs them, and speaks the Open Inference Protocol v2 over HTTP.
// The gRPC endpoint (package oipgrpc) is another adapter over the same
// Gateway.
package serving

import (
	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// Request is a decoded inference request, whatever protocol carried it.
type Request struct {
	// ID is the request id; the gateway generates one when empty.
	ID    string
	Model string
	// Version pins a version or alias; empty lets the gateway choose
	// (the production alias, until routing decides).
	Version    string
	Inputs     []runtime.Tensor
	Outputs    []string       // requested output names; empty means all
	Parameters map[string]any // request parameters, passed through
	// Header holds the request's HTTP headers or gRPC metadata, read by
	// routing rules and sticky keys; nil means none.
	Header map[string][]string
}

// Response is the answer, naming the version that produced it.
type Response struct {
	ID         string
	Model      string
	Version    string
	Outputs    []runtime.Tensor
	Parameters map[string]any
}

// ModelMetadata describes a model version as the protocol's metadata
// endpoint does.
type ModelMetadata struct {
	Name     string               `json:"name"`
	Versions []string             `json:"versions,omitempty"`
	Platform string               `json:"platform"`
	Inputs   []slipway.TensorSpec `json:"inputs"`
	Outputs  []slipway.TensorSpec `json:"outputs"`
}
