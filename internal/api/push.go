package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/registry"
)

// A push is a multipart/form-data request with two parts, in this order:
// "metadata", a JSON slipway.Version (model, digest, size, state and times
// are set by the server), and "artifact", the model file, streamed to the
// registry without being held in memory. A remote version sends only the
// metadata, with its URL.
const (
	partMetadata = "metadata"
	partArtifact = "artifact"
)

func (s *Server) pushVersion(r *http.Request) (int, any, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "push wants multipart/form-data with parts %q and %q: %v", partMetadata, partArtifact, err)
	}
	meta, err := s.readMetadata(mr)
	if err != nil {
		return 0, nil, err
	}
	meta.Model = r.PathValue("model")
	meta.CreatedBy = actor(r)
	push := registry.Push{Version: meta}
	part, err := mr.NextPart()
	switch {
	case errors.Is(err, io.EOF):
		// No artifact: a remote version, which has a URL instead.
	case err != nil || part.FormName() != partArtifact:
		return 0, nil, slipway.Errorf(slipway.ErrInvalid, "push: second part must be %q (the model file)", partArtifact)
	default:
		defer part.Close()
		push.Artifact, push.Filename = part, part.FileName()
	}
	v, err := s.reg.Push(r.Context(), push)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v, nil
}

func (s *Server) readMetadata(mr *multipart.Reader) (slipway.Version, error) {
	var meta slipway.Version
	part, err := mr.NextPart()
	if err != nil || part.FormName() != partMetadata {
		return meta, slipway.Errorf(slipway.ErrInvalid, "push: first part must be %q (JSON)", partMetadata)
	}
	defer part.Close()
	limit := s.MaxMetadataBytes
	if limit <= 0 {
		limit = 4 << 20
	}
	dec := json.NewDecoder(io.LimitReader(part, limit))
	if err := dec.Decode(&meta); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("truncated or over %d bytes", limit)
		}
		return meta, slipway.Errorf(slipway.ErrInvalid, "push metadata: %v", err)
	}
	return meta, nil
}
