package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// MaxResponseBytes caps the body slipway reads from a model server.
const MaxResponseBytes = 64 << 20

// httpClient is shared by every HTTP version, so calls to one server reuse
// pooled keep-alive connections. Calls are bounded by their context, not
// by a client timeout.
var httpClient = &http.Client{Transport: newTransport()}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// bufs recycles response bodies; what is decoded from them is copied.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type httpBackend struct {
	t         target
	inferURL  string
	readyURL  string
	inferPath string // for errors
}

func newHTTPBackend(t target) *httpBackend {
	b := &httpBackend{t: t, inferURL: t.base + "/infer", readyURL: t.base + "/ready"}
	if u, err := url.Parse(b.inferURL); err == nil {
		b.inferPath = u.Path
	}
	return b
}

func (b *httpBackend) close() error { return nil }

// The Open Inference Protocol's JSON bodies.
type (
	jsonRequest struct {
		ID         string           `json:"id,omitempty"`
		Inputs     []jsonTensor     `json:"inputs"`
		Outputs    []jsonOutputName `json:"outputs,omitempty"`
		Parameters map[string]any   `json:"parameters,omitempty"`
	}
	jsonTensor struct {
		Name     string  `json:"name"`
		Shape    []int64 `json:"shape"`
		Datatype string  `json:"datatype"`
		Data     any     `json:"data"`
	}
	jsonOutputName struct {
		Name string `json:"name"`
	}
	jsonResponse struct {
		ModelName    string       `json:"model_name"`
		ModelVersion string       `json:"model_version"`
		ID           string       `json:"id"`
		Outputs      []jsonOutput `json:"outputs"`
	}
	jsonOutput struct {
		Name     string          `json:"name"`
		Shape    []int64         `json:"shape"`
		Datatype string          `json:"datatype"`
		Data     json.RawMessage `json:"data"`
	}
	jsonError struct {
		Error string `json:"error"`
	}
)

func (b *httpBackend) infer(ctx context.Context, inputs []runtime.Tensor, outputs []string) ([]runtime.Tensor, error) {
	// The request body is not pooled: the transport may still read it
	// after Do returns.
	body, err := json.Marshal(encodeRequest(inputs, outputs))
	if err != nil {
		return nil, &runtime.InputError{Msg: fmt.Sprintf("cannot encode as JSON: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.inferURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	buf := bufs.Get().(*bytes.Buffer)
	defer putBuf(buf)
	resp, err := b.do(req, buf)
	if err != nil {
		return nil, err
	}
	var jr jsonResponse
	if err := json.Unmarshal(resp, &jr); err != nil {
		return nil, b.bodyErr(http.StatusOK, resp, err)
	}
	outs := make([]runtime.Tensor, len(jr.Outputs))
	for i, o := range jr.Outputs {
		if outs[i], err = decodeOutput(o); err != nil {
			return nil, fmt.Errorf("answered output %q that does not decode: %w", o.Name, err)
		}
	}
	return outs, nil
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // do not keep huge buffers alive
		bufs.Put(b)
	}
}

func encodeRequest(inputs []runtime.Tensor, outputs []string) jsonRequest {
	jr := jsonRequest{Inputs: make([]jsonTensor, len(inputs))}
	for i, t := range inputs {
		jr.Inputs[i] = jsonTensor{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Data: jsonData(t.Data)}
	}
	for _, o := range outputs {
		jr.Outputs = append(jr.Outputs, jsonOutputName{Name: o})
	}
	return jr
}

// jsonData replaces NaN and infinities, which JSON cannot carry, by null,
// the protocol's missing value.
func jsonData(d any) any {
	switch d := d.(type) {
	case []float32:
		for _, v := range d {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return nullable(d)
			}
		}
	case []float64:
		for _, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nullable(d)
			}
		}
	}
	return d
}

func nullable[F float32 | float64](d []F) []any {
	out := make([]any, len(d))
	for i, v := range d {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out[i] = v
		}
	}
	return out
}

// do sends req and returns the body of a 200 answer, read into buf. Other
// answers become errors: a 400 is the request's fault (*runtime.InputError
// with the server's message), anything else the server's.
func (b *httpBackend) do(req *http.Request, buf *bytes.Buffer) ([]byte, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes+1)); err != nil {
		return nil, fmt.Errorf("%s %s: answered %d but reading the body failed: %w", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	body := buf.Bytes()
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("%s %s: answered more than %d bytes", req.Method, req.URL.Path, MaxResponseBytes)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusBadRequest:
		return nil, &runtime.InputError{Msg: fmt.Sprintf("model server %s refused the request: %s", b.t.host, remoteMessage(body))}
	}
	return nil, fmt.Errorf("%s %s: answered %d: %s", req.Method, req.URL.Path, resp.StatusCode, remoteMessage(body))
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
	if errors.As(err, &syn) || !json.Valid(body) {
		return fmt.Errorf("answered %d but the body is not JSON: %v (body %s)", code, err, snippet(body))
	}
	return fmt.Errorf("answered %d but the body is not an inference response: %v", code, err)
}

// decodeOutput decodes one output's data straight into the slice type of
// its datatype; nested arrays and nulls take a slower path.
func decodeOutput(o jsonOutput) (runtime.Tensor, error) {
	t := runtime.Tensor{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape}
	var err error
	switch o.Datatype {
	case runtime.FP32:
		t.Data, err = unmarshal[float32](o.Data)
	case runtime.FP64:
		t.Data, err = unmarshal[float64](o.Data)
	case runtime.INT32:
		t.Data, err = unmarshal[int32](o.Data)
	case runtime.INT64:
		t.Data, err = unmarshal[int64](o.Data)
	case runtime.BOOL:
		t.Data, err = unmarshal[bool](o.Data)
	case runtime.BYTES:
		t.Data, err = unmarshal[string](o.Data)
	default:
		return t, fmt.Errorf("datatype %q not supported (want FP32, FP64, INT32, INT64, BOOL or BYTES)", o.Datatype)
	}
	if err != nil {
		if t.Data, err = decodeLoose(o.Datatype, o.Data); err != nil {
			return t, fmt.Errorf("data is not %s: %v", o.Datatype, err)
		}
	}
	return t, t.CheckShape()
}

func unmarshal[T any](raw json.RawMessage) ([]T, error) {
	var d []T
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errors.New("no data")
	}
	return d, nil
}

// decodeLoose decodes data that is nested row by row, or holds null for a
// missing float.
func decodeLoose(datatype string, raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, ok := v.([]any); !ok {
		return nil, errors.New("not an array")
	}
	flat := flatten(v, nil)
	switch datatype {
	case runtime.FP32:
		return convert(flat, func(e any) (float32, error) { f, err := toFloat(e, 32); return float32(f), err })
	case runtime.FP64:
		return convert(flat, func(e any) (float64, error) { return toFloat(e, 64) })
	case runtime.INT32:
		return convert(flat, func(e any) (int32, error) { i, err := toInt(e, 32); return int32(i), err })
	case runtime.INT64:
		return convert(flat, func(e any) (int64, error) { return toInt(e, 64) })
	case runtime.BOOL:
		return convert(flat, func(e any) (bool, error) { b, ok := e.(bool); return b, typeErr(ok, e) })
	default:
		return convert(flat, func(e any) (string, error) { s, ok := e.(string); return s, typeErr(ok, e) })
	}
}

func flatten(v any, out []any) []any {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			out = flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

func convert[T any](flat []any, f func(any) (T, error)) ([]T, error) {
	out := make([]T, len(flat))
	for i, e := range flat {
		v, err := f(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func toFloat(e any, bits int) (float64, error) {
	if e == nil {
		return math.NaN(), nil
	}
	n, ok := e.(json.Number)
	if !ok {
		return 0, typeErr(false, e)
	}
	return strconv.ParseFloat(string(n), bits)
}

func toInt(e any, bits int) (int64, error) {
	n, ok := e.(json.Number)
	if !ok {
		return 0, typeErr(false, e)
	}
	return strconv.ParseInt(string(n), 10, bits)
}

func typeErr(ok bool, e any) error {
	if ok {
		return nil
	}
	return fmt.Errorf("unexpected %T", e)
}

func (b *httpBackend) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.readyURL, nil)
	if err != nil {
		return err
	}
	buf := bufs.Get().(*bytes.Buffer)
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
	buf := bufs.Get().(*bytes.Buffer)
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
