package metricsource_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
)

func ExampleExpand() {
	q, err := metricsource.Expand(
		`sum(rate(slipway_requests_total{model="{{.Model}}",version="{{.Version}}",outcome="server_error"}[{{.Window}}]))`,
		metricsource.Vars{Model: `fr"aud`, Version: "2.0.0", Window: 90 * time.Second})
	fmt.Println(q, err)
	// Output:
	// sum(rate(slipway_requests_total{model="fr\"aud",version="2.0.0",outcome="server_error"}[1m30s])) <nil>
}

// No data is not a failure: the caller waits for more.
func ExamplePrometheus_Query() {
	// A stand-in for a Prometheus whose series for version 2 do not exist yet.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer srv.Close()

	prom := &metricsource.Prometheus{URL: srv.URL}
	v, err := prom.Query(context.Background(), `sum(slipway_requests_total{model="{{.Model}}",version="{{.Version}}"})`,
		metricsource.Vars{Model: "fraud", Version: "2"})
	switch {
	case errors.Is(err, metricsource.ErrNoData), errors.Is(err, metricsource.ErrNotFinite):
		fmt.Println("inconclusive:", err)
	case err != nil:
		fmt.Println("error:", err)
	default:
		fmt.Println("value:", v.Number)
	}
	// Output:
	// inconclusive: prometheus query `sum(slipway_requests_total{model="fraud",version="2"})`: query returned no data
}

func ExampleWebhook_Measure() {
	// A webhook that judges the candidate itself.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"pass": false, "reason": "chargebacks up 12%"}`)
	}))
	defer srv.Close()

	hook := &metricsource.Webhook{URL: srv.URL, Timeout: 5 * time.Second}
	r, err := hook.Measure(context.Background(), "chargebacks",
		metricsource.Vars{Model: "fraud", Version: "2.0.0", Baseline: "1.4.0", Window: 5 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	if r.Pass != nil {
		fmt.Println("pass:", *r.Pass, "-", r.Reason)
	}
	// Output:
	// pass: false - chargebacks up 12%
}
