package serving

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// Response headers naming who answered.
const (
	HeaderVersion   = "X-Slipway-Version"
	HeaderRequestID = "X-Request-Id"
)

// HTTP serves the Open Inference Protocol v2 REST endpoints and the v1
// predict form over a Gateway.
type HTTP struct {
	g   *Gateway
	mux *http.ServeMux

	// MaxBodyBytes caps an inference request body; zero means 32 MiB.
	MaxBodyBytes int64
	// ServerVersion is reported by GET /v2.
	ServerVersion string
	// Feedback receives ground truth joined by request id; nil answers
	// the feedback endpoint with 501.
	Feedback FeedbackSink
}

// FeedbackSink joins feedback to the predictions it is about;
// telemetry.Recorder implements it.
type FeedbackSink interface {
	Feedback(model string, f telemetry.Feedback) (telemetry.FeedbackResult, error)
}

// NewHTTP returns the inference handler over g.
func NewHTTP(g *Gateway) *HTTP {
	h := &HTTP{g: g, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v2", h.serverMetadata)
	h.mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	h.mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
	})
	h.mux.HandleFunc("GET /v2/models/{model}", h.metadata)
	h.mux.HandleFunc("GET /v2/models/{model}/versions/{version}", h.metadata)
	h.mux.HandleFunc("GET /v2/models/{model}/ready", h.ready)
	h.mux.HandleFunc("GET /v2/models/{model}/versions/{version}/ready", h.ready)
	h.mux.HandleFunc("POST /v2/models/{model}/infer", h.infer)
	h.mux.HandleFunc("POST /v2/models/{model}/versions/{version}/infer", h.infer)
	h.mux.HandleFunc("POST /v1/models/{target}", h.predictV1)
	h.mux.HandleFunc("POST /v2/models/{model}/feedback", h.feedback)
	return h
}

func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *HTTP) serverMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "slipway", "version": h.ServerVersion, "extensions": []string{"model_repository", "v1_predict"}})
}

func (h *HTTP) metadata(w http.ResponseWriter, r *http.Request) {
	md, err := h.g.Metadata(r.Context(), r.PathValue("model"), r.PathValue("version"))
	if err != nil {
		writeInferError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, md)
}

func (h *HTTP) ready(w http.ResponseWriter, r *http.Request) {
	model := r.PathValue("model")
	err := h.g.Ready(r.Context(), model, r.PathValue("version"))
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"name": model, "ready": true})
	case errors.Is(err, slipway.ErrNotFound):
		writeInferError(w, err)
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"name": model, "ready": false, "error": err.Error()})
	}
}

// wholeBody is a request body already in memory, as package h1 reads
// them; its bytes are valid until the handler returns.
type wholeBody interface{ Bytes() []byte }

// readBody returns the request's body, up to MaxBodyBytes. The bytes may
// be the server's own buffer: they must not outlive the handler (the
// decoder copies what it keeps).
func (h *HTTP) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = 32 << 20
	}
	if wb, ok := r.Body.(wholeBody); ok && int64(len(wb.Bytes())) <= limit {
		return wb.Bytes(), nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// ServeInfer serves the infer calls, POST /v2/models/{model}/infer and
// POST /v2/models/{model}/versions/{version}/infer, without routing them
// through the mux: the server's hot path hands them here directly. A
// request whose path is anything else, or would need cleaning, goes
// through the mux as it would otherwise.
func (h *HTTP) ServeInfer(w http.ResponseWriter, r *http.Request) {
	model, version, ok := inferTarget(r)
	if !ok {
		h.ServeHTTP(w, r)
		return
	}
	h.serveInfer(w, r, model, version)
}

// inferTarget reads the model and version an infer call's path names.
func inferTarget(r *http.Request) (model, version string, ok bool) {
	if r.Method != http.MethodPost {
		return "", "", false
	}
	rest, ok1 := strings.CutPrefix(r.URL.Path, "/v2/models/")
	rest, ok2 := strings.CutSuffix(rest, "/infer")
	if !ok1 || !ok2 {
		return "", "", false
	}
	model, version, pinned := strings.Cut(rest, "/versions/")
	if !pathSegment(model) || pinned && !pathSegment(version) {
		return "", "", false
	}
	return model, version, true
}

// pathSegment reports whether s is one path segment the mux would match
// as it is.
func pathSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/")
}

func (h *HTTP) infer(w http.ResponseWriter, r *http.Request) {
	h.serveInfer(w, r, r.PathValue("model"), r.PathValue("version"))
}

func (h *HTTP) serveInfer(w http.ResponseWriter, r *http.Request, model, version string) {
	body, err := h.readBody(w, r)
	if err != nil {
		writeInferError(w, err)
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		writeInferError(w, err)
		return
	}
	req.Model, req.Version = model, version
	resp, err := h.run(r, req)
	if err != nil {
		writeInferError(w, err)
		return
	}
	bp := responseBuffers.Get().(*[]byte)
	out, err := appendResponse((*bp)[:0], resp)
	if err != nil {
		responseBuffers.Put(bp)
		writeInferError(w, err)
		return
	}
	out = append(out, '\n')
	setAnswerHeaders(w, resp)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	if cap(out) <= 64<<10 { // keep small buffers only
		*bp = out
		responseBuffers.Put(bp)
	}
}

// responseBuffers recycles the buffers inference answers are written to.
var responseBuffers = sync.Pool{New: func() any { return new([]byte) }}

// run fills in what the headers say and calls the gateway.
func (h *HTTP) run(r *http.Request, req *Request) (*Response, error) {
	req.Header = r.Header
	if id := r.Header.Get(HeaderRequestID); id != "" && req.ID == "" {
		req.ID = id
	}
	return h.g.Infer(r.Context(), req)
}

func setAnswerHeaders(w http.ResponseWriter, resp *Response) {
	w.Header().Set(HeaderVersion, resp.Version)
	w.Header().Set(HeaderRequestID, resp.ID)
}

// statusClientClosed is nginx's status for a request whose client hung up
// before the answer: nobody reads it, but logs and metrics keep it apart
// from the server's own failures.
const statusClientClosed = 499

// statusOf maps gateway errors to HTTP statuses.
func statusOf(err error) int {
	var maxErr *http.MaxBytesError
	var be *runtime.BackendError
	var le *LoadError
	switch {
	case errors.As(err, &le):
		return http.StatusServiceUnavailable
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &be) && be.Timeout, errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.As(err, &be):
		return http.StatusBadGateway
	case errors.Is(err, slipway.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, slipway.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	}
	return http.StatusInternalServerError
}

func writeInferError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// feedback serves POST /v2/models/{model}/feedback:
// {"id": "...", "label": 1, "reward": 0.5, "values": {"revenue": 12.5}}.
// The answer says whether it joined a prediction, and which version made
// it; feedback for an unknown or expired id is counted, not lost.
func (h *HTTP) feedback(w http.ResponseWriter, r *http.Request) {
	if h.Feedback == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "this server does not take feedback"})
		return
	}
	model := r.PathValue("model")
	if _, err := h.g.reg.Model(r.Context(), model); err != nil {
		writeInferError(w, err)
		return
	}
	var f telemetry.Feedback
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeInferError(w, slipway.Errorf(slipway.ErrInvalid, "feedback body: %v (want {\"id\", \"label\", \"reward\", \"values\"})", err))
		return
	}
	res, err := h.Feedback.Feedback(model, f)
	if err != nil {
		writeInferError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// predictV1 serves POST /v1/models/{model}:predict with
// {"instances": [...]}, each instance a row of numbers or an object of
// named features mapped through the version's signature.
func (h *HTTP) predictV1(w http.ResponseWriter, r *http.Request) {
	model, ok := strings.CutSuffix(r.PathValue("target"), ":predict")
	if !ok {
		writeInferError(w, slipway.Errorf(slipway.ErrNotFound, "no such endpoint %s (want /v1/models/NAME:predict)", r.URL.Path))
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		writeInferError(w, err)
		return
	}
	md, err := h.g.Metadata(r.Context(), model, "")
	if err != nil {
		writeInferError(w, err)
		return
	}
	req, err := decodeInstances(body, md.Inputs)
	if err != nil {
		writeInferError(w, err)
		return
	}
	req.Model, req.Header = model, r.Header
	if id := r.Header.Get(HeaderRequestID); id != "" {
		req.ID = id
	}
	resp, err := h.g.Infer(r.Context(), req)
	if err != nil {
		writeInferError(w, err)
		return
	}
	setAnswerHeaders(w, resp)
	writeJSON(w, http.StatusOK, map[string]any{"predictions": predictions(resp), "model_version": resp.Version, "id": resp.ID})
}
