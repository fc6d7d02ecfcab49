// Package api serves slipway's control plane under /api/v1/ as JSON, and
// holds the Go client the CLI uses to speak to it.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store"
)

// ActorHeader carries the name of the person or system making a change;
// it is recorded in alias history. Authentication will replace it with the
// token's subject.
const ActorHeader = "X-Slipway-Actor"

// Server is the control-plane HTTP handler.
type Server struct {
	reg *registry.Registry
	mux *http.ServeMux

	// BuildVersion is reported by GET /api/v1/version.
	BuildVersion string
	// MaxMetadataBytes caps the JSON part of a push; zero means 4 MiB.
	MaxMetadataBytes int64
	// Stats, when set, answers the telemetry endpoint.
	Stats Stats
	// Routes, when set, changes routing policies (the gateway, which
	// applies them); without it the route endpoints answer 501.
	Routes Router
	// Rollouts, when set, starts and steers rollouts (the rollout
	// controller); without it the deployment and rollout endpoints answer
	// 501.
	Rollouts Rollouts
	// Gates, when set, stores gate reports and approvals; without it the
	// gate and approval endpoints answer 501.
	Gates store.Gates
	// RuntimeStatus, when set, reports whether a version is loaded in the
	// gateway, and why it failed to load if it did.
	RuntimeStatus func(model, version string) RuntimeView
}

// RuntimeView is a version's state in the inference gateway.
type RuntimeView struct {
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// NewServer returns the control-plane handler over reg.
func NewServer(reg *registry.Registry) *Server {
	s := &Server{reg: reg, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	h := func(pattern string, fn func(*http.Request) (int, any, error)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			status, body, err := fn(r)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, status, body)
		})
	}
	h("GET /api/v1/version", s.version)
	h("GET /api/v1/models", s.listModels)
	h("GET /api/v1/models/{model}", s.getModel)
	h("PUT /api/v1/models/{model}", s.putModel)
	h("DELETE /api/v1/models/{model}", s.deleteModel)
	h("GET /api/v1/models/{model}/versions", s.listVersions)
	h("POST /api/v1/models/{model}/versions", s.pushVersion)
	h("GET /api/v1/models/{model}/versions/{version}", s.getVersion)
	h("DELETE /api/v1/models/{model}/versions/{version}", s.deleteVersion)
	h("PUT /api/v1/models/{model}/versions/{version}/state", s.setState)
	h("GET /api/v1/models/{model}/aliases", s.listAliases)
	h("PUT /api/v1/models/{model}/aliases/{alias}", s.moveAlias)
	h("DELETE /api/v1/models/{model}/aliases/{alias}", s.deleteAlias)
	h("GET /api/v1/models/{model}/history", s.history)
	h("GET /api/v1/models/{model}/telemetry", s.telemetry)
	h("GET /api/v1/models/{model}/routes", s.getRoute)
	h("PUT /api/v1/models/{model}/routes", s.setRoute)
	h("DELETE /api/v1/models/{model}/routes", s.clearRoute)
	h("GET /api/v1/models/{model}/routes/history", s.routeHistory)
	h("GET /api/v1/models/{model}/versions/{version}/gates", s.getGateReport)
	h("POST /api/v1/models/{model}/versions/{version}/gates", s.putGateReport)
	h("GET /api/v1/models/{model}/versions/{version}/approvals", s.listApprovals)
	h("POST /api/v1/models/{model}/versions/{version}/approvals", s.approve)
	h("POST /api/v1/deployments", s.deploy)
	h("GET /api/v1/rollouts", s.listRollouts)
	h("GET /api/v1/rollouts/{model}", s.rolloutStatus)
	h("GET /api/v1/rollouts/{model}/events", s.rolloutEvents)
	h("POST /api/v1/rollouts/{model}/challengers", s.challenge)
	h("POST /api/v1/rollouts/{model}/{action}", s.rolloutAct)
	s.mux.HandleFunc("GET /api/v1/models/{model}/versions/{version}/artifact", s.artifact)
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
	})
}

func actor(r *http.Request) string {
	if a := strings.TrimSpace(r.Header.Get(ActorHeader)); a != "" {
		return a
	}
	return "anonymous"
}

func (s *Server) version(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]string{"version": s.BuildVersion}, nil
}

// ModelSummary is a model with its versions' count and its aliases.
type ModelSummary struct {
	slipway.Model
	Versions int             `json:"versions"`
	Latest   string          `json:"latest,omitempty"`
	Aliases  []slipway.Alias `json:"aliases"`
}

func (s *Server) listModels(r *http.Request) (int, any, error) {
	ctx := r.Context()
	models, err := s.reg.Models(ctx)
	if err != nil {
		return 0, nil, err
	}
	out := make([]ModelSummary, 0, len(models))
	for _, m := range models {
		sum, err := s.summary(ctx, m)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, sum)
	}
	return http.StatusOK, out, nil
}

func (s *Server) summary(ctx context.Context, m slipway.Model) (ModelSummary, error) {
	versions, err := s.reg.Versions(ctx, m.Name)
	if err != nil {
		return ModelSummary{}, err
	}
	aliases, err := s.reg.Aliases(ctx, m.Name)
	if err != nil {
		return ModelSummary{}, err
	}
	sum := ModelSummary{Model: m, Versions: len(versions), Aliases: aliases}
	if len(versions) > 0 {
		sum.Latest = versions[len(versions)-1].Version
	}
	return sum, nil
}

func (s *Server) getModel(r *http.Request) (int, any, error) {
	m, err := s.reg.Model(r.Context(), r.PathValue("model"))
	if err != nil {
		return 0, nil, err
	}
	sum, err := s.summary(r.Context(), m)
	return http.StatusOK, sum, err
}

func (s *Server) putModel(r *http.Request) (int, any, error) {
	var m slipway.Model
	if err := decodeJSON(r, &m); err != nil {
		return 0, nil, err
	}
	m.Name = r.PathValue("model")
	m, err := s.reg.PutModel(r.Context(), m)
	return http.StatusOK, m, err
}

func (s *Server) deleteModel(r *http.Request) (int, any, error) {
	force := r.URL.Query().Get("force") == "true"
	if err := s.reg.DeleteModel(r.Context(), r.PathValue("model"), force); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"deleted": r.PathValue("model")}, nil
}

func (s *Server) listVersions(r *http.Request) (int, any, error) {
	vs, err := s.reg.Versions(r.Context(), r.PathValue("model"))
	return http.StatusOK, vs, err
}

// VersionView is a version as shown to users: the version, and the alias
// the request went through if it named one.
type VersionView struct {
	slipway.Version
	Via     string       `json:"via_alias,omitempty"`
	Aliases []string     `json:"aliases,omitempty"`
	Runtime *RuntimeView `json:"runtime,omitempty"`
}

func (s *Server) getVersion(r *http.Request) (int, any, error) {
	ctx := r.Context()
	ref := slipway.Ref{Model: r.PathValue("model"), Selector: r.PathValue("version")}
	v, via, err := s.reg.Resolve(ctx, ref)
	if err != nil {
		return 0, nil, err
	}
	aliases, err := s.reg.Aliases(ctx, v.Model)
	if err != nil {
		return 0, nil, err
	}
	view := VersionView{Version: v, Via: via}
	if s.RuntimeStatus != nil {
		rs := s.RuntimeStatus(v.Model, v.Version)
		view.Runtime = &rs
	}
	for _, a := range aliases {
		if a.Version == v.Version {
			view.Aliases = append(view.Aliases, a.Name)
		}
	}
	return http.StatusOK, view, nil
}

func (s *Server) deleteVersion(r *http.Request) (int, any, error) {
	m, v := r.PathValue("model"), r.PathValue("version")
	if err := s.reg.DeleteVersion(r.Context(), m, v); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"deleted": m + "@" + v}, nil
}

func (s *Server) setState(r *http.Request) (int, any, error) {
	var body struct {
		State slipway.VersionState `json:"state"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return 0, nil, err
	}
	m, v := r.PathValue("model"), r.PathValue("version")
	if err := s.reg.SetState(r.Context(), m, v, body.State); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"model": m, "version": v, "state": string(body.State)}, nil
}

func (s *Server) listAliases(r *http.Request) (int, any, error) {
	as, err := s.reg.Aliases(r.Context(), r.PathValue("model"))
	return http.StatusOK, as, err
}

// AliasRequest moves an alias.
type AliasRequest struct {
	Version string `json:"version"`
	Reason  string `json:"reason,omitempty"`
}

func (s *Server) moveAlias(r *http.Request) (int, any, error) {
	var body AliasRequest
	if err := decodeJSON(r, &body); err != nil {
		return 0, nil, err
	}
	mv, err := s.reg.MoveAlias(r.Context(), r.PathValue("model"), r.PathValue("alias"), body.Version, actor(r), body.Reason)
	return http.StatusOK, mv, err
}

func (s *Server) deleteAlias(r *http.Request) (int, any, error) {
	m, a := r.PathValue("model"), r.PathValue("alias")
	if err := s.reg.DeleteAlias(r.Context(), m, a, actor(r), r.URL.Query().Get("reason")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"deleted": m + "@" + a}, nil
}

func (s *Server) history(r *http.Request) (int, any, error) {
	h, err := s.reg.History(r.Context(), r.PathValue("model"), r.URL.Query().Get("alias"))
	return http.StatusOK, h, err
}

func (s *Server) artifact(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, _, err := s.reg.Resolve(ctx, slipway.Ref{Model: r.PathValue("model"), Selector: r.PathValue("version")})
	if err != nil {
		writeError(w, err)
		return
	}
	// Verify before sending a byte: a corrupt artifact must be an error
	// status, not a 200 that breaks off midway.
	data, err := s.reg.ReadArtifact(ctx, v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Slipway-Digest", v.Digest)
	w.Write(data)
}

func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("content type %q: want application/json", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return slipway.Errorf(slipway.ErrInvalid, "empty request body: want a JSON object")
		}
		return slipway.Errorf(slipway.ErrInvalid, "request body: %v", err)
	}
	return nil
}
