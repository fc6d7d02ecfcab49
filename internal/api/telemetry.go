package api

import (
	"net/http"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// Stats reports live measurements; telemetry.Recorder implements it.
type Stats interface {
	Snapshot(model string, window time.Duration) telemetry.ModelStats
}

// DefaultStatsWindow is the look-back of a telemetry request without one.
const DefaultStatsWindow = 5 * time.Minute

func (s *Server) telemetry(r *http.Request) (int, any, error) {
	if s.Stats == nil {
		return 0, nil, &Error{Status: http.StatusNotImplemented, Message: "this server keeps no telemetry"}
	}
	model := r.PathValue("model")
	if _, err := s.reg.Model(r.Context(), model); err != nil {
		return 0, nil, err
	}
	window := DefaultStatsWindow
	if w := r.URL.Query().Get("window"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d <= 0 {
			return 0, nil, slipway.Errorf(slipway.ErrInvalid, "window %q: want a positive duration such as 30s, 5m or 1h", w)
		}
		window = d
	}
	return http.StatusOK, s.Stats.Snapshot(model, window), nil
}
