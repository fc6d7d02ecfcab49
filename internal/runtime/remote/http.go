package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/h1"
	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// MaxResponseBytes caps the body slipway reads from a model server.
const MaxResponseBytes = 64 << 20

// transport is shared by every HTTP version, so calls to one server reuse
// pooled keep-alive connections. Calls are bounded by their context, not
// by a client timeout.
var (
	transport  = newTransport()
	httpClient = &http.Client{Transport: transport}
)

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	// Model servers answer small JSON bodies, mostly on fast links: gzip
	// would cost CPU on both sides to save little.
	t.DisableCompression = true
	return t
}

// bodyBuf holds an answer's body while it is decoded, so that reading
// allocates nothing once the buffer is grown.
type bodyBuf struct{ b []byte }

// bufs recycles answers' bodies; what is decoded from them is copied.
var bufs = sync.Pool{New: func() any { return new(bodyBuf) }}

type httpBackend struct {
	t         target
	inferURL  string
	readyURL  string
	inferPath string // the request target, and for errors
	// fast sends inference calls on the caller's goroutine (package h1)
	// when the server is plain HTTP reached without a proxy; nil
	// otherwise, and calls go through net/http.
	fast *h1.Client
}

func newHTTPBackend(t target, timeout time.Duration) *httpBackend {
	b := &httpBackend{t: t, inferURL: t.base + "/infer", readyURL: t.base + "/ready"}
	u, err := url.Parse(b.inferURL)
	if err != nil {
		return b
	}
	b.inferPath = u.RequestURI()
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); u.Scheme == "http" && proxy == nil && err == nil {
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		b.fast = &h1.Client{Addr: addr, Host: u.Host, MaxIdle: 256, MaxBody: MaxResponseBytes, Timeout: timeout}
	}
	return b
}

func (b *httpBackend) close() error {
	if b.fast != nil {
		b.fast.CloseIdle()
	}
	return nil
}

// jsonError is the protocol's error body.
type jsonError struct {
	Error string `json:"error"`
}

// infer sends the batch as the protocol's JSON body and decodes the answer,
// both with the codec the gateway uses for its own requests (package oip):
// no reflection, and the answer is decoded from a pooled buffer into
// memory of its own.
func (b *httpBackend) infer(ctx context.Context, inputs []runtime.Tensor, outputs []string) ([]runtime.Tensor, error) {
	// The request body is pooled only for h1, which is done with it when
	// Post returns; net/http's transport may still read it after.
	var req *bodyBuf
	var dst []byte
	if b.fast != nil {
		req = bufs.Get().(*bodyBuf)
		dst = req.b[:0]
	} else {
		dst = make([]byte, 0, requestSize(inputs))
	}
	body, err := oip.AppendJSONRequest(dst, inputs, outputs)
	if err != nil {
		return nil, &runtime.InputError{Msg: fmt.Sprintf("cannot encode as JSON: %v", err)}
	}
	if req != nil {
		req.b = body
		defer putBuf(req)
	}
	buf := bufs.Get().(*bodyBuf)
	defer putBuf(buf)
	var resp []byte
	if b.fast != nil {
		resp, err = b.postFast(ctx, body, buf)
	} else {
		resp, err = b.post(ctx, body, buf)
	}
	if err != nil {
		return nil, err
	}
	jr, err := oip.DecodeJSONResponse(resp)
	if err != nil {
		var oe *oip.OutputError
		if errors.As(err, &oe) {
			return nil, fmt.Errorf("answered output %q that does not decode: %s", oe.Output, oe.Msg)
		}
		return nil, b.bodyErr(http.StatusOK, resp, err)
	}
	return jr.Outputs, nil
}

// postFast sends an inference request's body on the caller's goroutine.
// An answer that redirects is sent again through net/http, which follows
// it.
func (b *httpBackend) postFast(ctx context.Context, body []byte, buf *bodyBuf) ([]byte, error) {
	r, err := b.fast.Post(ctx, b.inferPath, "application/json", body, buf.b[:0])
	if errors.Is(err, h1.ErrBodyTooLarge) {
		return nil, fmt.Errorf("POST %s: answered more than %d bytes", b.inferPath, MaxResponseBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", b.inferPath, err)
	}
	buf.b = r.Body
	if r.Location != "" && redirectStatus(r.Status) {
		// net/http may read the body after returning: not the pooled one.
		return b.post(ctx, bytes.Clone(body), buf)
	}
	return b.answer(http.MethodPost, b.inferPath, r.Status, r.Body)
}

// post sends an inference request's body through net/http.
func (b *httpBackend) post(ctx context.Context, body []byte, buf *bodyBuf) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.inferURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = jsonContentType
	return b.do(req, buf)
}

// jsonContentType is the Content-Type header of every request body, shared
// (the transport only reads it).
var jsonContentType = []string{"application/json"}

// requestSize guesses a request body's size, to allocate it once: about
// 80 bytes per tensor and 12 per element.
func requestSize(inputs []runtime.Tensor) int {
	n := 64
	for _, t := range inputs {
		n += 80 + len(t.Name) + 12*t.Len()
	}
	return n
}

func putBuf(b *bodyBuf) {
	if cap(b.b) <= 1<<20 { // do not keep huge buffers alive
		bufs.Put(b)
	}
}

// do sends req through net/http and returns the body of a 200 answer,
// read into buf; other answers are errors (see answer).
func (b *httpBackend) do(req *http.Request, buf *bodyBuf) ([]byte, error) {
	resp, err := send(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := h1.AppendAll(resp.Body, buf.b[:0], MaxResponseBytes)
	buf.b = body
	if errors.Is(err, h1.ErrBodyTooLarge) {
		return nil, fmt.Errorf("%s %s: answered more than %d bytes", req.Method, req.URL.Path, MaxResponseBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: answered %d but reading the body failed: %w", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return b.answer(req.Method, req.URL.Path, resp.StatusCode, body)
}

// answer returns the body of a 200 answer. Other answers become errors: a
// 400 is the request's fault (*runtime.InputError with the server's
// message), anything else the server's.
func (b *httpBackend) answer(method, path string, status int, body []byte) ([]byte, error) {
	switch status {
	case http.StatusOK:
		return body, nil
	case http.StatusBadRequest:
		return nil, &runtime.InputError{Msg: fmt.Sprintf("model server %s refused the request: %s", b.t.host, remoteMessage(body))}
	}
	return nil, fmt.Errorf("%s %s: answered %d: %s", method, path, status, remoteMessage(body))
}

// send sends req on the shared transport, without http.Client: the
// client's own work per call (a copy of the headers kept for redirects, the
// redirect loop) costs a tenth of a call on loopback, and a model server
// rarely redirects. When one does, the request is sent again through the
// client, which follows the redirect as it always did.
func send(req *http.Request) (*http.Response, error) {
	resp, err := transport.RoundTrip(req)
	if err != nil || !redirects(resp) {
		return resp, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // so the connection is reused
	resp.Body.Close()
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return httpClient.Do(again)
}

// redirects reports whether http.Client would follow resp.
func redirects(resp *http.Response) bool {
	return redirectStatus(resp.StatusCode) && resp.Header.Get("Location") != ""
}

func redirectStatus(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// remoteMessage extracts the protocol's {"error": "..."} message from an
// error body, else quotes the start of the body.
func remoteMessage(body []byte) string {
	var je jsonError
	if json.Unmarshal(body, &je) == nil && je.Error != "" {
		return je.Error
	}
	return snippet(body)
}

func snippet(body []byte) string {
	const max = 200
	if len(body) == 0 {
		return "empty body"
	}
	if len(body) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		return strconv.Quote(string(body[:cut])) + "..."
	}
	return strconv.Quote(string(body))
}

// bodyErr explains a 2xx body that is not what the protocol says.
func (b *httpBackend) bodyErr(code int, body []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) || oip.IsJSONSyntaxError(err) || !json.Valid(body) {
		return fmt.Errorf("answered %d but the body is not JSON: %v (body %s)", code, err, snippet(body))
	}
	return fmt.Errorf("answered %d but the body is not an inference response: %v", code, err)
}

func (b *httpBackend) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.readyURL, nil)
	if err != nil {
		return err
	}
	buf := bufs.Get().(*bodyBuf)
	defer putBuf(buf)
	if _, err := b.do(req, buf); err != nil {
		var ie *runtime.InputError
		if errors.As(err, &ie) { // a 400 here says not ready, not a bad request
			return fmt.Errorf("GET %s: answered 400: %s", req.URL.Path, ie.Msg)
		}
		return err
	}
	return nil
}

func (b *httpBackend) metadata(ctx context.Context) (slipway.Signature, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.t.base, nil)
	if err != nil {
		return slipway.Signature{}, err
	}
	buf := bufs.Get().(*bodyBuf)
	defer putBuf(buf)
	body, err := b.do(req, buf)
	if err != nil {
		return slipway.Signature{}, err
	}
	var sig slipway.Signature
	if err := json.Unmarshal(body, &sig); err != nil {
		return slipway.Signature{}, b.bodyErr(http.StatusOK, body, err)
	}
	return sig, nil
}
