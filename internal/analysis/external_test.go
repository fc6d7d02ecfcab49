package analysis_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/metricsource/promtest"
	"github.com/slipway-ml/slipway/internal/spec"
)

// withExternal gives the fixture's judge a provider client on its clock.
func (f *fixture) withExternal() *analysis.External {
	x := &analysis.External{Now: func() time.Time { return f.now }}
	f.judge.External = x
	f.t.Cleanup(x.Wait)
	return x
}

// answered judges until the providers have answered: the first judgement
// asks in the background, Wait lets the answers land, the second reads
// them.
func (f *fixture) answered(x *analysis.External, metrics []spec.Metric, triggers []spec.Trigger) (slipway.Verdict, []analysis.Firing) {
	f.t.Helper()
	v, _ := f.judge.Judge(f.query(), metrics, triggers)
	for _, m := range v.Metrics {
		if m.Result != slipway.Inconclusive {
			f.t.Errorf("%s before any answer: %s %q, want inconclusive", m.Metric, m.Result, m.Reason)
		}
	}
	x.Wait()
	return f.judge.Judge(f.query(), metrics, triggers)
}

// hook is a webhook that answers each version from answers, and counts
// the questions.
func hook(t *testing.T, answers map[string]string) (*httptest.Server, *atomic.Int64) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		var q struct{ Version string }
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a, ok := answers[q.Version]
		if !ok {
			http.Error(w, "no such version "+q.Version, http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, a)
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func webhookMetric(url string) spec.Metric {
	return spec.Metric{Name: "kpi", MinSamples: 50, Provider: &spec.Provider{
		Webhook: &spec.WebhookCall{URL: url, Attempts: 1}, Interval: spec.Duration(30 * time.Second), Timeout: spec.Duration(5 * time.Second),
	}}
}

func TestExternalWebhookValue(t *testing.T) {
	f := newFixture(t)
	x := f.withExternal()
	srv, asked := hook(t, map[string]string{candidate: `{"value": 0.8}`, baseline: `{"value": 1.0}`})
	m := webhookMetric(srv.URL)
	m.MaxDecrease = pct(10)

	// Too little traffic: the answers are in, but the candidate has not
	// served its samples.
	f.requests(candidate, 10, 0, time.Millisecond)
	f.requests(baseline, 100, 0, time.Millisecond)
	v, _ := f.answered(x, []spec.Metric{m}, nil)
	check(t, v.Metrics[0], slipway.Inconclusive, "10 of 50 requests")

	f.requests(candidate, 90, 0, time.Millisecond)
	v, _ = f.judge.Judge(f.query(), []spec.Metric{m}, nil)
	check(t, v.Metrics[0], slipway.Fail, "0.8 < baseline 1 −10%")
	if c, b := value(t, v.Metrics[0].Candidate, "candidate"), value(t, v.Metrics[0].Baseline, "baseline"); c != 0.8 || b != 1 {
		t.Errorf("values %v and %v, want 0.8 and 1", c, b)
	}
	// Within the interval the answers are reused: one question per version.
	if n := asked.Load(); n != 2 {
		t.Errorf("webhook asked %d times, want 2 (candidate and baseline, once each)", n)
	}
	f.now = f.now.Add(31 * time.Second)
	f.judge.Judge(f.query(), []spec.Metric{m}, nil)
	x.Wait()
	if n := asked.Load(); n != 4 {
		t.Errorf("after the interval the webhook was asked %d times in all, want 4", n)
	}
}

func TestExternalWebhookVerdict(t *testing.T) {
	f := newFixture(t)
	x := f.withExternal()
	srv, _ := hook(t, map[string]string{candidate: `{"pass": false, "reason": "chargebacks up 12%"}`})
	m := webhookMetric(srv.URL)
	trig := spec.Trigger{Metric: "review", Action: spec.ActionRollback, MinSamples: 50, Provider: m.Provider}
	f.requests(candidate, 100, 0, time.Millisecond)
	v, fs := f.judge.Judge(f.query(), []spec.Metric{m}, []spec.Trigger{trig})
	check(t, v.Metrics[0], slipway.Inconclusive, "waiting for the first answer from webhook "+srv.URL)
	if fs[0].Fired {
		t.Errorf("trigger fired before any answer: %q", fs[0].Result.Reason)
	}
	x.Wait()
	v, fs = f.judge.Judge(f.query(), []spec.Metric{m}, []spec.Trigger{trig})
	want := "webhook " + srv.URL + " says fail: chargebacks up 12%"
	check(t, v.Metrics[0], slipway.Fail, want)
	if !fs[0].Fired || !strings.Contains(fs[0].Result.Reason, want) {
		t.Errorf("trigger: fired %v, reason %q; want fired, %q", fs[0].Fired, fs[0].Result.Reason, want)
	}
	if v.Metrics[0].Candidate != nil {
		t.Errorf("a verdict has no value, got %v", *v.Metrics[0].Candidate)
	}
}

func TestExternalWebhookError(t *testing.T) {
	f := newFixture(t)
	x := f.withExternal()
	srv, _ := hook(t, map[string]string{})
	m := webhookMetric(srv.URL)
	m.Max = ptr(1)
	f.requests(candidate, 100, 0, time.Millisecond)
	v, _ := f.answered(x, []spec.Metric{m}, nil)
	check(t, v.Metrics[0], slipway.Inconclusive, "400 Bad Request", "no such version 2")
}

// TestExternalPrometheus judges a metric read from a real Prometheus
// scraping an exporter with one series per version.
func TestExternalPrometheus(t *testing.T) {
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE checkout_errors gauge\ncheckout_errors{model=\"m\",version=\"1\"} 1\ncheckout_errors{model=\"m\",version=\"2\"} 3\n")
	}))
	defer exporter.Close()
	url := promtest.Start(t, exporter.Listener.Addr().String())

	f := newFixture(t)
	x := f.withExternal()
	f.requests(candidate, 100, 0, time.Millisecond)
	f.requests(baseline, 100, 0, time.Millisecond)
	prov := &spec.Provider{
		Prometheus: &spec.PrometheusQuery{Address: url, Query: `sum(checkout_errors{model="{{.Model}}",version="{{.Version}}"})`},
		Interval:   spec.Duration(30 * time.Second), Timeout: spec.Duration(5 * time.Second),
	}
	limit := spec.Metric{Name: "checkout-errors", Max: ptr(2), MinSamples: 100, Provider: prov}
	ratio := spec.Metric{Name: "checkout-errors", Expr: "candidate <= 2 * baseline", MinSamples: 100, Provider: prov}
	missing := spec.Metric{Name: "gone", Max: ptr(2), MinSamples: 100, Provider: &spec.Provider{
		Prometheus: &spec.PrometheusQuery{Address: url, Query: `sum(no_such_metric{version="{{.Version}}"})`},
		Interval:   prov.Interval, Timeout: prov.Timeout,
	}}
	v, _ := f.answered(x, []spec.Metric{limit, ratio, missing}, nil)
	check(t, v.Metrics[0], slipway.Fail, "3 > 2")
	check(t, v.Metrics[1], slipway.Fail, "`candidate <= 2 * baseline` is false (candidate 3, baseline 1)")
	check(t, v.Metrics[2], slipway.Inconclusive, "query returned no data")
	if v.Result != slipway.Fail || !strings.Contains(v.Reason, "checkout-errors") {
		t.Errorf("verdict %s %q", v.Result, v.Reason)
	}
}

// TestExprConditions judges expressions over slipway's own telemetry.
func TestExprConditions(t *testing.T) {
	f := newFixture(t)
	f.requests(baseline, 200, 0, 20*time.Millisecond)
	f.requests(candidate, 200, 0, 24*time.Millisecond)
	tenPct := spec.Metric{Name: "latency-p99", Expr: "candidate <= baseline * 1.1", MinSamples: 100}
	orFive := spec.Metric{Name: "latency-p99", Expr: "candidate <= max(baseline * 1.1, baseline + 5)", MinSamples: 100}
	own := spec.Metric{Name: "error-rate", Expr: "candidate < 1 && candidateN >= 200", MinSamples: 100}
	v := f.analyze(tenPct, orFive, own)
	check(t, v.Metrics[0], slipway.Fail, "`candidate <= baseline * 1.1` is false (candidate 2")
	check(t, v.Metrics[1], slipway.Pass, "is true")
	check(t, v.Metrics[2], slipway.Pass, "`candidate < 1 && candidateN >= 200` is true (candidate 0%)")

	trig := spec.Trigger{Metric: "latency-p99", Expr: "candidate > baseline * 1.1", Action: spec.ActionRollback, MinSamples: 100}
	fs := f.judge.Check(f.query(), []spec.Trigger{trig})
	if !fs[0].Fired {
		t.Errorf("expr trigger did not fire: %s", fs[0])
	}
	// Drift already compares the versions: an expression cannot read a
	// baseline value of it.
	drift := spec.Metric{Name: "prediction-drift", Expr: "candidate < baseline", MinSamples: 0}
	check(t, f.analyze(drift).Metrics[0], slipway.Inconclusive, "no baseline value")
}
