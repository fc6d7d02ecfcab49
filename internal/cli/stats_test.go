package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// The stats table says whether the history before the server's last
// start is there: restored, or missing and why.
func TestStatsTableSaysWhatWasRestored(t *testing.T) {
	for _, tc := range []struct {
		restore *telemetry.Restore
		want    string
	}{
		{nil, ""},
		{&telemetry.Restore{SavedAt: time.Date(2026, 11, 24, 8, 10, 0, 0, time.Local), Buckets: 42, Pending: 7},
			"history before the server's last start: restored from 2026-11-24 08:10:00 (42 buckets, 7 predictions waiting for feedback)"},
		{&telemetry.Restore{Error: "telemetry: not a saved telemetry file: gzip: invalid header", File: "/data/telemetry.json.gz.bad"},
			"history before the server's last start: not restored (telemetry: not a saved telemetry file: gzip: invalid header; the file is kept at /data/telemetry.json.gz.bad)"},
	} {
		var out bytes.Buffer
		printStatsTable(&out, telemetry.ModelStats{Model: "fraud", WindowSeconds: 300, Restore: tc.restore})
		got := out.String()
		if tc.want == "" && strings.Contains(got, "history before") || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("restore %+v: table\n%s\nwant the line %q", tc.restore, got, tc.want)
		}
	}
}
