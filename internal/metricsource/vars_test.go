package metricsource_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
)

func TestExpand(t *testing.T) {
	fraud := metricsource.Vars{Model: "fraud", Version: "2.0.0", Baseline: "1.4.0", Window: 5 * time.Minute}
	with := func(f func(*metricsource.Vars)) metricsource.Vars {
		v := fraud
		f(&v)
		return v
	}
	tests := []struct {
		name    string
		query   string
		vars    metricsource.Vars
		want    string
		wantErr string
	}{
		{"all variables", `rate(x{model="{{.Model}}",version=~"{{.Version}}|{{.Baseline}}"}[{{.Window}}])`, fraud,
			`rate(x{model="fraud",version=~"2.0.0|1.4.0"}[5m])`, ""},
		{"no variables", `up`, metricsource.Vars{}, `up`, ""},
		{"quote and backslash", `{model="{{.Model}}"}`, with(func(v *metricsource.Vars) { v.Model = `fr"a\ud` }),
			`{model="fr\"a\\ud"}`, ""},
		{"newline and tab", `{model="{{.Model}}"}`, with(func(v *metricsource.Vars) { v.Model = "a\nb\tc" }),
			`{model="a\nb\tc"}`, ""},
		{"single quote and unicode kept", `{model="{{.Model}}"}`, with(func(v *metricsource.Vars) { v.Model = "o'brien-é" }),
			`{model="o'brien-é"}`, ""},
		{"injection stays a string", `{model="{{.Model}}"}`, with(func(v *metricsource.Vars) { v.Model = `x"} or vector(1) or {a="` }),
			`{model="x\"} or vector(1) or {a=\""}`, ""},
		{"empty baseline", `{version="{{.Baseline}}"}`, with(func(v *metricsource.Vars) { v.Baseline = "" }), `{version=""}`, ""},
		{"90 s", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 90 * time.Second }), `[1m30s]`, ""},
		{"1 h 30 m", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 90 * time.Minute }), `[1h30m]`, ""},
		{"2 days", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 48 * time.Hour }), `[48h]`, ""},
		{"milliseconds", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 1500 * time.Millisecond }), `[1s500ms]`, ""},
		{"rounded to ms", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 10*time.Second + 400*time.Microsecond }), `[10s]`, ""},
		{"zero window unused", `up`, with(func(v *metricsource.Vars) { v.Window = 0 }), `up`, ""},
		{"zero window used", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 0 }), "", "window must be at least a millisecond"},
		{"sub-ms window", `[{{.Window}}]`, with(func(v *metricsource.Vars) { v.Window = 400 * time.Microsecond }), "", "window must be at least a millisecond"},
		{"unknown variable", `{model="{{.Modle}}"}`, fraud, "", "can't evaluate field Modle"},
		{"bad template", `{model="{{.Model}"}`, fraud, "", "parsing query template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricsource.Expand(tt.query, tt.vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Expand(%q) = %q, %v; want an error with %q", tt.query, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Expand(%q) = %q, %v; want %q", tt.query, got, err, tt.want)
			}
		})
	}
}
