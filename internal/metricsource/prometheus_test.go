package metricsource_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
	"github.com/slipway-ml/slipway/internal/metricsource/promtest"
)

// exposition is what the test's exporter serves: a model with 93 good
// answers and 7 server errors, two whose names need escaping (the %s is
// a no-break space, which PromQL spells \u00a0), and a counter that grows
// by 3 on every scrape (%d).
const exposition = `# TYPE slipway_requests_total counter
slipway_requests_total{model="fraud",version="2.0.0",outcome="ok"} 93
slipway_requests_total{model="fraud",version="2.0.0",outcome="server_error"} 7
slipway_requests_total{model="fr\"a\\ud",version="1",outcome="ok"} 11
slipway_requests_total{model="line\nbreak%s",version="1",outcome="ok"} 13
# TYPE slipway_predictions_total counter
slipway_predictions_total{model="fraud",version="2.0.0"} %d
`

// A real Prometheus (Debian's package) scrapes a small exporter, and
// Query's answers are compared with what it served.
func TestPrometheusQuery(t *testing.T) {
	var scrapes atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, exposition, "\u00a0", 3*scrapes.Add(1))
	}))
	t.Cleanup(exporter.Close)
	prom := &metricsource.Prometheus{URL: promtest.Start(t, exporter.Listener.Addr().String()), Timeout: 5 * time.Second}

	fraud := metricsource.Vars{Model: "fraud", Version: "2.0.0", Baseline: "1.0.0", Window: 5 * time.Second}
	model := func(name string) metricsource.Vars {
		v := fraud
		v.Model = name
		return v
	}
	const errors5xx = `sum(slipway_requests_total{model="{{.Model}}",version="{{.Version}}",outcome="server_error"})`
	const byModel = `sum(slipway_requests_total{model="{{.Model}}"})`
	tests := []struct {
		name        string
		query       string
		vars        metricsource.Vars
		want        float64
		tolerance   float64
		wantSamples int
		wantErr     error    // a sentinel the error must wrap
		wantMsg     []string // what the error must say
	}{
		{name: "sum", query: errors5xx, vars: fraud, want: 7, wantSamples: 1},
		{name: "ratio", query: errors5xx + ` / sum(slipway_requests_total{model="{{.Model}}",version="{{.Version}}"})`,
			vars: fraud, want: 0.07, tolerance: 1e-12, wantSamples: 1},
		{name: "scalar", query: "scalar(" + errors5xx + ")", vars: fraud, want: 7},
		{name: "window", query: `idelta(slipway_predictions_total{model="{{.Model}}",version="{{.Version}}"}[{{.Window}}])`,
			vars: fraud, want: 3, wantSamples: 1},
		// rate extrapolates over the scrapes the window holds, so it
		// is only near 3 a second.
		{name: "rate", query: `sum(rate(slipway_predictions_total{model="{{.Model}}"}[{{.Window}}]))`,
			vars: fraud, want: 3, tolerance: 2, wantSamples: 1},
		{name: "quote and backslash escaped", query: byModel, vars: model(`fr"a\ud`), want: 11, wantSamples: 1},
		{name: "control characters escaped", query: byModel, vars: model("line\nbreak\u00a0"), want: 13, wantSamples: 1},
		{name: "escaping defeats injection", query: byModel, vars: model(`x"} or vector(42) or {__name__="y`),
			wantErr: metricsource.ErrNoData},
		{name: "no data", query: byModel, vars: model("churn"), wantErr: metricsource.ErrNoData,
			wantMsg: []string{"query returned no data", `model="churn"`}},
		{name: "two series", query: `slipway_requests_total{model="{{.Model}}",version="{{.Version}}"}`, vars: fraud,
			wantMsg: []string{"2 series", `outcome="ok"`, `outcome="server_error"`, "sum()"}},
		{name: "bad PromQL", query: `sum(slipway_requests_total{model="{{.Model}}"}`, vars: fraud,
			wantMsg: []string{"400", "bad_data", "parse error", `sum(slipway_requests_total{model="fraud"}`}},
		{name: "NaN", query: `sum(slipway_requests_total{model="{{.Model}}"}) * 0 / 0`, vars: fraud,
			wantErr: metricsource.ErrNotFinite, wantMsg: []string{"NaN"}},
		{name: "infinite", query: `sum(slipway_requests_total{model="{{.Model}}"}) / 0`, vars: fraud,
			wantErr: metricsource.ErrNotFinite, wantMsg: []string{"+Inf"}},
		{name: "scalar NaN", query: `0 / 0`, vars: fraud, wantErr: metricsource.ErrNotFinite},
		{name: "range vector", query: `slipway_predictions_total{model="{{.Model}}"}[1m]`, vars: fraud,
			wantMsg: []string{"range vector", "rate()"}},
		{name: "string", query: `"fraud"`, vars: fraud, wantMsg: []string{"a string, not a number"}},
		{name: "template error", query: `sum(x{model="{{.Modle}}"})`, vars: fraud,
			wantMsg: []string{"Modle", `sum(x{model="{{.Modle}}"})`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			got, err := prom.Query(t.Context(), tt.query, tt.vars)
			if tt.wantErr == nil && tt.wantMsg == nil {
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got.Number-tt.want) > tt.tolerance || got.Samples != tt.wantSamples {
					t.Errorf("got %v from %d series, want %v±%v from %d", got.Number, got.Samples, tt.want, tt.tolerance, tt.wantSamples)
				}
				if got.At.Before(before.Add(-time.Second)) || got.At.After(time.Now().Add(time.Second)) {
					t.Errorf("evaluated at %v, not now (%v)", got.At, before)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			var qe *metricsource.QueryError
			if !errors.As(err, &qe) {
				t.Errorf("error %v is a %T, not a *QueryError", err, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			if tt.wantErr == nil && (errors.Is(err, metricsource.ErrNoData) || errors.Is(err, metricsource.ErrNotFinite)) {
				t.Errorf("error %q says there is no data, but the query is at fault", err)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if got != (metricsource.Value{}) {
				t.Errorf("value %+v beside an error, want zero", got)
			}
		})
	}
}

// The request Prometheus gets, and the errors that are the server's or
// the network's rather than the query's, from a stand-in server.
func TestPrometheusHTTP(t *testing.T) {
	vars := metricsource.Vars{Model: "fraud", Version: "2"}
	const query = `sum(up{model="{{.Model}}",version="{{.Version}}"})`

	t.Run("request", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			var problems []string
			if r.Method != http.MethodPost || r.URL.Path != "/prom/api/v1/query" {
				problems = append(problems, "sent "+r.Method+" "+r.URL.Path)
			}
			if q := r.PostForm.Get("query"); q != `sum(up{model="fraud",version="2"})` {
				problems = append(problems, "query "+q)
			}
			var at float64
			if _, err := fmt.Sscan(r.PostForm.Get("time"), &at); err != nil || math.Abs(at-float64(time.Now().UnixMilli())/1000) > 5 {
				problems = append(problems, "time "+r.PostForm.Get("time"))
			}
			if d := r.PostForm.Get("timeout"); d != "3s" {
				problems = append(problems, "timeout "+d)
			}
			if problems != nil {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%q}`, strings.Join(problems, "; "))
				return
			}
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.25,"0.5"]}]}}`)
		}))
		defer srv.Close()
		p := &metricsource.Prometheus{URL: srv.URL + "/prom/", Timeout: 3 * time.Second}
		got, err := p.Query(t.Context(), query, vars)
		want := metricsource.Value{Number: 0.5, Samples: 1, At: time.UnixMilli(1700000000250)}
		if err != nil || got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	})

	tests := []struct {
		name    string
		handler http.HandlerFunc
		ctx     func(context.Context) context.Context
		wantErr error
		wantMsg []string
	}{
		{name: "not the API", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream connect error", http.StatusBadGateway)
		}, wantMsg: []string{"502 Bad Gateway", "upstream connect error", `sum(up{model="fraud",version="2"})`}},
		{name: "timeout", handler: hang, wantErr: context.DeadlineExceeded, wantMsg: []string{"no answer from http://", "within 200ms"}},
		{name: "evaluation timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)
		}, wantMsg: []string{"503 (timeout)", "query timed out"}},
		{name: "caller cancels", handler: hang, ctx: func(ctx context.Context) context.Context {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx
		}, wantErr: context.Canceled},
		{name: "native histogram", handler: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"lat"},"histogram":[1700000000,{"count":"3"}]}]}}`)
		}, wantMsg: []string{"lat{}", "native histogram", "histogram_quantile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			p := &metricsource.Prometheus{URL: srv.URL, Timeout: 200 * time.Millisecond}
			start := time.Now()
			got, err := p.Query(ctx, query, vars)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := (&metricsource.Prometheus{URL: srv.URL}).Query(t.Context(), query, vars)
		if err == nil || !strings.Contains(err.Error(), srv.URL) {
			t.Fatalf("error %v does not name %s", err, srv.URL)
		}
	})
	t.Run("no URL", func(t *testing.T) {
		_, err := (&metricsource.Prometheus{}).Query(t.Context(), query, vars)
		if err == nil || !strings.Contains(err.Error(), "no URL") {
			t.Fatalf("error %v does not say the URL is missing", err)
		}
	})
}
