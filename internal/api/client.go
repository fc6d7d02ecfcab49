package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Client speaks to a slipway server's control plane.
type Client struct {
	// BaseURL is the server address, such as http://127.0.0.1:8080.
	BaseURL string
	// Token, when set, is sent as a bearer token.
	Token string
	// Actor, when set, is recorded as the author of changes.
	Actor string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Actor != "" {
		req.Header.Set(ActorHeader, c.Actor)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("slipway server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// decodeError turns an error response into an *Error that still matches
// the slipway sentinels with errors.Is.
func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode}
	if json.Unmarshal(body, e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return &ResponseError{Err: e}
}

// ResponseError is an error answered by the server.
type ResponseError struct{ Err *Error }

func (r *ResponseError) Error() string { return r.Err.Message }

// Unwrap maps the status back to slipway's sentinel errors.
func (r *ResponseError) Unwrap() error {
	switch r.Err.Status {
	case http.StatusNotFound:
		return slipway.ErrNotFound
	case http.StatusConflict:
		d, _ := r.Err.Detail.(map[string]any)
		switch d["kind"] {
		case "in_use":
			return slipway.ErrInUse
		case "conflict":
			return slipway.ErrConflict
		}
		return slipway.ErrExists
	case http.StatusBadRequest:
		return slipway.ErrInvalid
	}
	return nil
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, "", out)
}

func (c *Client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, bytes.NewReader(b), "application/json", out)
}

func esc(s string) string { return url.PathEscape(s) }

// ServerVersion returns the server's build version.
func (c *Client) ServerVersion(ctx context.Context) (string, error) {
	var out map[string]string
	err := c.getJSON(ctx, "/api/v1/version", &out)
	return out["version"], err
}

// Models lists every model with its aliases.
func (c *Client) Models(ctx context.Context) ([]ModelSummary, error) {
	var out []ModelSummary
	return out, c.getJSON(ctx, "/api/v1/models", &out)
}

// Model returns one model with its aliases.
func (c *Client) Model(ctx context.Context, name string) (ModelSummary, error) {
	var out ModelSummary
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(name), &out)
}

// PutModel creates or updates a model's description, owner and tags.
func (c *Client) PutModel(ctx context.Context, m slipway.Model) (slipway.Model, error) {
	var out slipway.Model
	body := struct {
		Description string   `json:"description,omitempty"`
		Owner       string   `json:"owner,omitempty"`
		Tags        []string `json:"tags,omitempty"`
	}{m.Description, m.Owner, m.Tags}
	return out, c.sendJSON(ctx, http.MethodPut, "/api/v1/models/"+esc(m.Name), body, &out)
}

// DeleteModel removes a model; force removes its unaliased versions too.
func (c *Client) DeleteModel(ctx context.Context, name string, force bool) error {
	q := ""
	if force {
		q = "?force=true"
	}
	return c.do(ctx, http.MethodDelete, "/api/v1/models/"+esc(name)+q, nil, "", nil)
}

// Versions lists a model's versions, oldest first.
func (c *Client) Versions(ctx context.Context, model string) ([]slipway.Version, error) {
	var out []slipway.Version
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/versions", &out)
}

// Version resolves NAME@VERSION or NAME@ALIAS.
func (c *Client) Version(ctx context.Context, ref slipway.Ref) (VersionView, error) {
	sel := ref.Selector
	if sel == "" {
		sel = slipway.AliasProduction
	}
	var out VersionView
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(ref.Model)+"/versions/"+esc(sel), &out)
}

// Artifact writes a version's verified artifact to w.
func (c *Client) Artifact(ctx context.Context, ref slipway.Ref, w io.Writer) error {
	return c.do(ctx, http.MethodGet, "/api/v1/models/"+esc(ref.Model)+"/versions/"+esc(ref.Selector)+"/artifact", nil, "", w)
}

// PushFile pushes the model file at path as a new version described by meta.
func (c *Client) PushFile(ctx context.Context, model string, meta slipway.Version, path string) (slipway.Version, error) {
	f, err := os.Open(path)
	if err != nil {
		return slipway.Version{}, fmt.Errorf("open model file: %w", err)
	}
	defer f.Close()
	return c.Push(ctx, model, meta, filepath.Base(path), f)
}

// Push streams artifact as a new version of model described by meta. A
// nil artifact registers a remote version (meta.URL set).
func (c *Client) Push(ctx context.Context, model string, meta slipway.Version, filename string, artifact io.Reader) (slipway.Version, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writePush(mw, meta, filename, artifact))
	}()
	var out slipway.Version
	err := c.do(ctx, http.MethodPost, "/api/v1/models/"+esc(model)+"/versions", pr, mw.FormDataContentType(), &out)
	pr.Close()
	return out, err
}

func writePush(mw *multipart.Writer, meta slipway.Version, filename string, artifact io.Reader) error {
	mp, err := mw.CreateFormField(partMetadata)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(mp).Encode(meta); err != nil {
		return err
	}
	if artifact == nil {
		return mw.Close()
	}
	ap, err := mw.CreateFormFile(partArtifact, filename)
	if err != nil {
		return err
	}
	if _, err := io.Copy(ap, artifact); err != nil {
		return err
	}
	return mw.Close()
}

// DeleteVersion removes a version no alias points at.
func (c *Client) DeleteVersion(ctx context.Context, model, version string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/models/"+esc(model)+"/versions/"+esc(version), nil, "", nil)
}

// SetState changes a version's lifecycle state.
func (c *Client) SetState(ctx context.Context, model, version string, s slipway.VersionState) error {
	return c.sendJSON(ctx, http.MethodPut, "/api/v1/models/"+esc(model)+"/versions/"+esc(version)+"/state", map[string]string{"state": string(s)}, nil)
}

// Aliases lists a model's aliases.
func (c *Client) Aliases(ctx context.Context, model string) ([]slipway.Alias, error) {
	var out []slipway.Alias
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/aliases", &out)
}

// MoveAlias points alias at version, with a reason for the history.
func (c *Client) MoveAlias(ctx context.Context, model, alias, version, reason string) (slipway.AliasMove, error) {
	var out slipway.AliasMove
	return out, c.sendJSON(ctx, http.MethodPut, "/api/v1/models/"+esc(model)+"/aliases/"+esc(alias), AliasRequest{Version: version, Reason: reason}, &out)
}

// DeleteAlias removes an alias; its history is kept.
func (c *Client) DeleteAlias(ctx context.Context, model, alias, reason string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/models/"+esc(model)+"/aliases/"+esc(alias)+"?reason="+url.QueryEscape(reason), nil, "", nil)
}

// History lists alias moves of a model (of one alias when alias is set).
func (c *Client) History(ctx context.Context, model, alias string) ([]slipway.AliasMove, error) {
	var out []slipway.AliasMove
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/history?alias="+url.QueryEscape(alias), &out)
}

// InferResponse is an Open Inference Protocol v2 response.
type InferResponse struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name     string            `json:"name"`
		Shape    []int64           `json:"shape"`
		Datatype string            `json:"datatype"`
		Data     []json.RawMessage `json:"data"`
	} `json:"outputs"`
}

// ModelMetadata is the Open Inference Protocol's model metadata.
type ModelMetadata struct {
	Name     string               `json:"name"`
	Versions []string             `json:"versions"`
	Platform string               `json:"platform"`
	Inputs   []slipway.TensorSpec `json:"inputs"`
	Outputs  []slipway.TensorSpec `json:"outputs"`
}

func inferPath(ref slipway.Ref) string {
	p := "/v2/models/" + esc(ref.Model)
	if ref.Selector != "" {
		p += "/versions/" + esc(ref.Selector)
	}
	return p
}

// Metadata fetches the inference metadata of a model version (the one
// serving unpinned requests when ref has no selector).
func (c *Client) Metadata(ctx context.Context, ref slipway.Ref) (ModelMetadata, error) {
	var out ModelMetadata
	return out, c.getJSON(ctx, inferPath(ref), &out)
}

// Infer sends an Open Inference Protocol v2 request body.
func (c *Client) Infer(ctx context.Context, ref slipway.Ref, body []byte) (InferResponse, error) {
	var out InferResponse
	return out, c.do(ctx, http.MethodPost, inferPath(ref)+"/infer", bytes.NewReader(body), "application/json", &out)
}

// Route returns a model's current routing policy.
func (c *Client) Route(ctx context.Context, model string) (slipway.RouteChange, error) {
	var out slipway.RouteChange
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/routes", &out)
}

// SetRoute replaces a model's routing policy.
func (c *Client) SetRoute(ctx context.Context, model string, p traffic.Policy, reason string) (slipway.RouteChange, error) {
	var out slipway.RouteChange
	return out, c.sendJSON(ctx, http.MethodPut, "/api/v1/models/"+esc(model)+"/routes", RouteRequest{Policy: p, Reason: reason}, &out)
}

// ClearRoute removes a model's routing policy.
func (c *Client) ClearRoute(ctx context.Context, model, reason string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/models/"+esc(model)+"/routes?reason="+url.QueryEscape(reason), nil, "", nil)
}

// RouteHistory lists every change of a model's routing policy.
func (c *Client) RouteHistory(ctx context.Context, model string) ([]slipway.RouteChange, error) {
	var out []slipway.RouteChange
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/routes/history", &out)
}

// Telemetry returns every version of a model side by side over window
// (zero: the server's default, 5m).
func (c *Client) Telemetry(ctx context.Context, model string, window time.Duration) (telemetry.ModelStats, error) {
	q := ""
	if window > 0 {
		q = "?window=" + url.QueryEscape(window.String())
	}
	var out telemetry.ModelStats
	return out, c.getJSON(ctx, "/api/v1/models/"+esc(model)+"/telemetry"+q, &out)
}
