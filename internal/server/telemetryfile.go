package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// The server keeps its measurements across restarts in one file of the
// data directory (telemetry.Recorder.Save says what is in it): saved
// every Config.TelemetrySave and at a graceful stop, restored at start
// before any rollout resumes, so that a canary or a bandit picks up its
// evidence where it was.

const telemetryFile = "telemetry.json.gz"

// restoreTelemetry loads what a previous run saved in dir. A file that
// cannot be restored is set aside as telemetry.json.gz.bad, for a person
// to look at, and the server starts without it: measurements are
// evidence, not state, and must not keep slipway from starting.
func restoreTelemetry(rec *telemetry.Recorder, dir string, log *slog.Logger) {
	path := filepath.Join(dir, telemetryFile)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return
	}
	if err == nil {
		var st telemetry.SaveStats
		st, err = rec.Load(f)
		f.Close()
		if err == nil {
			log.Info("telemetry restored", "file", path, "series", st.Series, "buckets", st.Buckets, "skipped", st.Skipped)
			return
		}
	}
	bad := path + ".bad"
	if rerr := os.Rename(path, bad); rerr != nil {
		log.Error("telemetry not restored, and the file could not be set aside", "file", path, "error", err, "rename", rerr)
		rec.RestoreFailed(err, path)
		return
	}
	log.Error("telemetry not restored: starting without it; the file is kept", "file", bad, "error", err)
	rec.RestoreFailed(err, bad)
}

// saveTelemetry writes rec to dir through a temporary file and a rename,
// so that a crash while writing leaves the previous file whole.
func saveTelemetry(rec *telemetry.Recorder, dir string) (telemetry.SaveStats, error) {
	tmp, err := os.CreateTemp(dir, telemetryFile+".*.tmp")
	if err != nil {
		return telemetry.SaveStats{}, fmt.Errorf("save telemetry: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	st, err := rec.Save(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, telemetryFile))
	}
	if err != nil {
		return st, fmt.Errorf("save telemetry to %s: %w", dir, err)
	}
	return st, nil
}

// keepTelemetry saves the measurements every period until ctx ends.
func (s *Server) keepTelemetry(ctx context.Context, period time.Duration) {
	every(ctx, period, func() {
		if _, err := saveTelemetry(s.rec, s.cfg.dataDir()); err != nil {
			s.log.Error("telemetry not saved", "error", err)
		}
	})
}
