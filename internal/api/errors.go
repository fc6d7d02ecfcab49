package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
)

// Error is the body of every failed control-plane request:
// {"error": "...", "detail": ...}. Detail is omitted when empty.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Detail  any    `json:"detail,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// statusOf maps slipway's sentinel errors to HTTP statuses.
func statusOf(err error) int {
	var apiErr *Error
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status
	case errors.As(err, &maxErr), errors.Is(err, blob.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, slipway.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, slipway.ErrExists), errors.Is(err, slipway.ErrInUse), errors.Is(err, slipway.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, slipway.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// kindOf names the error class for the detail field, so clients can branch
// without parsing messages.
func kindOf(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{slipway.ErrNotFound, "not_found"}, {slipway.ErrExists, "exists"},
		{slipway.ErrInUse, "in_use"}, {slipway.ErrConflict, "conflict"}, {slipway.ErrInvalid, "invalid"},
		{slipway.ErrCorrupt, "corrupt"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

func writeError(w http.ResponseWriter, err error) {
	body := Error{Message: err.Error()}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		body = *apiErr
	} else if k := kindOf(err); k != "" {
		body.Detail = map[string]string{"kind": k}
	}
	writeJSON(w, statusOf(err), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
