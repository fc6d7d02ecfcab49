// Package metricsource measures a rollout from outside slipway: from a
// Prometheus server, with a PromQL query, or from a webhook, an HTTP
// endpoint the user runs that answers with a number or a verdict. The
// rollout analysis calls them on each tick, for the candidate version,
// alongside slipway's built-in telemetry.
//
// # Variables
//
// Both sources take Vars, which say what is being measured:
//
//	{{.Model}}     the model's name, e.g. fraud
//	{{.Version}}   the candidate version, e.g. 2.0.0
//	{{.Baseline}}  the version the candidate is compared with; empty when none
//	{{.Window}}    the look-back span as a PromQL duration: 5m, 1m30s, 1h, 500ms
//
// # Prometheus
//
// Prometheus.Query expands a query with text/template, then asks the
// server's HTTP API for an instant query at the current time:
//
//	sum(rate(slipway_requests_total{model="{{.Model}}",version="{{.Version}}",outcome="server_error"}[{{.Window}}]))
//	  / sum(rate(slipway_requests_total{model="{{.Model}}",version="{{.Version}}"}[{{.Window}}]))
//
// Model, Version and Baseline are escaped for a double-quoted PromQL
// string ("" and \ and control characters), so write them between double
// quotes: model="{{.Model}}". A value then matches only itself and cannot
// change the query, whatever characters it has. Inside a regular
// expression matcher (=~) the value's regexp metacharacters keep their
// meaning. Expand shows what a query becomes, and checks it, without
// asking Prometheus.
//
// The answer must be one number: a scalar, or an instant vector with
// exactly one series (aggregate with sum, max, ... to get one). No series
// at all is ErrNoData and a NaN or infinite value is ErrNotFinite; both
// say there is nothing to judge yet, so the analysis treats them as
// inconclusive, not as a failure. Every other error, such as a PromQL
// syntax error, two series or an unreachable server, is a *QueryError
// that names the query.
//
// # Webhook
//
// Webhook.Measure POSTs, with Content-Type application/json:
//
//	{"metric": "business-kpi", "model": "fraud", "version": "2.0.0",
//	 "baseline": "1.4.0", "window_seconds": 300}
//
// window_seconds may have a fraction. The endpoint answers 2xx with one of
//
//	{"value": 0.97}
//	{"pass": false, "reason": "chargebacks up 12%"}
//
// A value is then judged like any other metric, against the spec's
// condition; a pass is the endpoint's own verdict. "reason" is optional
// with either, and other fields are ignored. An answer with both value and
// pass, with neither, or that is not JSON is an error. A network error, a
// timeout, 429 or 5xx is tried again, with a growing wait, up to
// Webhook.Attempts times; any other status is an error at once.
package metricsource
