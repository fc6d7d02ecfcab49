// Package remote runs model versions served by another Open Inference
// Protocol server (KServe, Triton, MLServer or another slipway): a version
// of format "remote" names the server in its URL, and slipway forwards
// each batch to it, over HTTP/REST or gRPC.
//
// URL forms:
//
//	http://HOST:PORT/v2/models/NAME[/versions/VERSION]   (https too; a path prefix before /v2 is kept)
//	grpc://HOST:PORT/NAME[/VERSION]                      (grpcs for TLS)
//
// Every call is bounded by the version's timeout: Version.Meta["timeout"]
// as a Go duration ("250ms"), else DefaultTimeout. HTTP calls share one
// pooled transport; gRPC calls share one connection per server.
//
// Failures of the server are *runtime.BackendError (Timeout set when it
// did not answer in time); a request the server rejects as invalid (HTTP
// 400, gRPC InvalidArgument) is a *runtime.InputError carrying the
// server's message.
package remote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func init() {
	runtime.Register(slipway.FormatRemote, func(ctx context.Context, v slipway.Version, _ []byte) (runtime.Predictor, error) {
		return Open(ctx, v)
	})
}

// DefaultTimeout bounds each call to a model server whose version sets no
// Meta["timeout"].
const DefaultTimeout = 10 * time.Second

// backend speaks the protocol to one model (version) on one server.
type backend interface {
	// infer runs a batch; outputs names the outputs wanted, nil for all.
	infer(ctx context.Context, inputs []runtime.Tensor, outputs []string) ([]runtime.Tensor, error)
	// ready returns nil when the server says the model is ready.
	ready(ctx context.Context) error
	// metadata fetches the model's signature.
	metadata(ctx context.Context) (slipway.Signature, error)
	close() error
}

// Predictor forwards batches to a model on another server. It is safe for
// concurrent use. Get one from Open (or runtime.Load).
type Predictor struct {
	b       backend
	addr    string // HOST:PORT, for errors
	timeout time.Duration
	// selfTimed says b's infer bounds its calls by timeout itself (the h1
	// client's connection deadline), so Predict starts no timer per call.
	selfTimed bool
	// sig is the signature: the version's own, else the server's metadata
	// once fetched; nil while unknown.
	sig atomic.Pointer[signature]
}

// signature is a known signature and the names of its outputs, which every
// call asks for: listed once, not per call.
type signature struct {
	slipway.Signature
	outputs []string // nil when the signature names no outputs
}

func newSignature(sig slipway.Signature) *signature {
	s := &signature{Signature: sig}
	for _, o := range sig.Outputs {
		s.outputs = append(s.outputs, o.Name)
	}
	return s
}

var _ runtime.Predictor = (*Predictor)(nil)

// Open returns a Predictor for v, whose URL names the server and model.
// A malformed URL or timeout fails (matching slipway.ErrInvalid); an
// unreachable server does not: the server may start after slipway, and
// every call reports its own failure.
//
// The signature is v.Signature when it names any input or output.
// Otherwise Open asks the server's metadata endpoint; if that fails, the
// signature stays unknown (the zero Signature) until a Ready call finds
// the server up and fetches it.
func Open(ctx context.Context, v slipway.Version) (*Predictor, error) {
	timeout, err := parseTimeout(v.Meta["timeout"])
	if err != nil {
		return nil, err
	}
	t, err := parseTarget(v.URL)
	if err != nil {
		return nil, err
	}
	p := &Predictor{addr: t.host, timeout: timeout}
	switch t.scheme {
	case "http", "https":
		hb := newHTTPBackend(t, timeout)
		p.b, p.selfTimed = hb, hb.fast != nil
	default:
		if p.b, err = newGRPCBackend(t); err != nil {
			return nil, &runtime.BackendError{Backend: t.host, Err: err}
		}
	}
	if len(v.Signature.Inputs) > 0 || len(v.Signature.Outputs) > 0 {
		p.sig.Store(newSignature(v.Signature))
	} else {
		p.fetchSignature(ctx)
	}
	return p, nil
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, slipway.Errorf(slipway.ErrInvalid, "meta timeout %q: want a positive duration such as 250ms or 10s", s)
	}
	return d, nil
}

// target is a parsed version URL.
type target struct {
	scheme string // http, https, grpc or grpcs
	host   string // HOST:PORT
	model  string
	// version is the model version on the server; "" lets it choose.
	version string
	// base is, for HTTP, the URL of the model (version) resource, to which
	// /infer and /ready are appended.
	base string
}

const urlForms = "want http://HOST:PORT/v2/models/NAME[/versions/VERSION] or grpc://HOST:PORT/NAME[/VERSION]"

func parseTarget(raw string) (target, error) {
	bad := func(why string) (target, error) {
		return target{}, slipway.Errorf(slipway.ErrInvalid, "remote url %q: %s; %s", raw, why, urlForms)
	}
	if raw == "" {
		return bad("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad(err.Error())
	}
	if u.Host == "" {
		return bad("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return bad("a query, fragment or user is not allowed")
	}
	t := target{scheme: u.Scheme, host: u.Host}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch u.Scheme {
	case "http", "https":
		i := modelsIndex(segs)
		if i < 0 {
			return bad("no /v2/models/NAME in the path")
		}
		switch rest := segs[i:]; {
		case len(rest) == 1:
			t.model = rest[0]
		case len(rest) == 3 && rest[1] == "versions":
			t.model, t.version = rest[0], rest[2]
		default:
			return bad("the path goes on after the model")
		}
		t.base = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	case "grpc", "grpcs":
		if u.Port() == "" {
			return bad("no port")
		}
		switch len(segs) {
		case 1:
			t.model = segs[0]
		case 2:
			t.model, t.version = segs[0], segs[1]
		default:
			return bad("the path is not NAME or NAME/VERSION")
		}
	default:
		return bad(fmt.Sprintf("scheme %q", u.Scheme))
	}
	for _, s := range segs {
		if s == "" {
			return bad("the path has an empty segment")
		}
	}
	return t, nil
}

// modelsIndex returns the index of the segment after the first "v2",
// "models" pair, or -1.
func modelsIndex(segs []string) int {
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "v2" && segs[i+1] == "models" {
			return i + 2
		}
	}
	return -1
}

// Signature returns the version's signature; see Open for where it comes
// from. The zero value means unknown.
func (p *Predictor) Signature() slipway.Signature {
	if s := p.sig.Load(); s != nil {
		return s.Signature
	}
	return slipway.Signature{}
}

// fetchSignature asks the server for the signature; failure leaves it
// unknown.
func (p *Predictor) fetchSignature(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if sig, err := p.b.metadata(ctx); err == nil {
		p.sig.CompareAndSwap(nil, newSignature(sig))
	}
}

// Predict sends the batch to the server and returns its outputs: those of
// the signature when it names outputs (requested by name, and all must
// come back), else whatever the server returns.
func (p *Predictor) Predict(ctx context.Context, inputs []runtime.Tensor) ([]runtime.Tensor, error) {
	if len(inputs) == 0 {
		return nil, &runtime.InputError{Msg: "no inputs"}
	}
	var want []string
	if s := p.sig.Load(); s != nil {
		want = s.outputs
	}
	// The call's own timer, unless the backend bounds the call without
	// one (a timer per request is a measurable share of a routed call).
	callCtx := ctx
	if !p.selfTimed {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	outs, err := p.b.infer(callCtx, inputs, want)
	if err != nil {
		return nil, p.callErr(ctx, callCtx, "infer", err)
	}
	if err := checkOutputs(outs, want); err != nil {
		return nil, &runtime.BackendError{Backend: p.addr, Err: err}
	}
	return outs, nil
}

// Ready asks the server whether the model is ready: nil when it is, else
// a *runtime.BackendError saying why not. While the signature is unknown,
// a ready server is also asked for it.
func (p *Predictor) Ready(ctx context.Context) error {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := p.b.ready(callCtx); err != nil {
		return p.callErr(ctx, callCtx, "ready check", err)
	}
	if p.sig.Load() == nil {
		p.fetchSignature(ctx)
	}
	return nil
}

// Close releases the connection to a gRPC server (when no other version
// uses it). HTTP connections stay pooled.
func (p *Predictor) Close() error { return p.b.close() }

// callErr classifies the failure of a call made with callCtx, derived from
// ctx: the caller giving up is returned as such, running out of time is a
// timeout, and anything else is the backend's own error.
func (p *Predictor) callErr(ctx, callCtx context.Context, what string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s at %s: %w", what, p.addr, ctx.Err())
	}
	if callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		limit := fmt.Sprintf("within %v", p.timeout)
		if ctx.Err() != nil {
			limit = "before the request's deadline"
		}
		return &runtime.BackendError{Backend: p.addr, Timeout: true, Err: fmt.Errorf("no answer to %s %s", what, limit)}
	}
	var be *runtime.BackendError
	var ie *runtime.InputError
	if errors.As(err, &be) || errors.As(err, &ie) {
		return err
	}
	return &runtime.BackendError{Backend: p.addr, Err: err}
}

// checkOutputs makes sure the server answered what was asked: every
// wanted output exactly once and nothing else, or at least one output
// when any would do.
func checkOutputs(outs []runtime.Tensor, want []string) error {
	if len(want) == 0 {
		if len(outs) == 0 {
			return errors.New("answered no outputs")
		}
		return nil
	}
	got := make([]string, len(outs))
	for i, o := range outs {
		got[i] = o.Name
	}
	if len(outs) != len(want) {
		return fmt.Errorf("answered %d outputs (%s), want %d (%s)", len(outs), strings.Join(got, ", "), len(want), strings.Join(want, ", "))
	}
	for _, w := range want {
		n := 0
		for _, g := range got {
			if g == w {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("answered outputs (%s), want (%s)", strings.Join(got, ", "), strings.Join(want, ", "))
		}
	}
	return nil
}

// AcceptsMissing: whether NaN (sent as null) is meaningful is the remote
// model server's call, not the gateway's.
func (p *Predictor) AcceptsMissing() bool { return true }
