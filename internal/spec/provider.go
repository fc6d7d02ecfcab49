package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
)

// Provider measures a metric outside slipway's own telemetry: a PromQL
// query against a Prometheus server, or a webhook the user runs. Exactly
// one of Prometheus and Webhook is given. A provider's metric is named
// freely (checkout-errors); a catalogue name keeps the catalogue's unit
// and better side, any other name is a value with no known better side,
// so its conditions are min, max, maxIncrease, maxDecrease or expr.
//
// The analysis asks a provider in the background, at most every
// Interval, and judges the last answer, so a slow provider never holds up
// a tick; until the first answer the metric is inconclusive.
type Provider struct {
	Prometheus *PrometheusQuery `yaml:"prometheus,omitempty"`
	Webhook    *WebhookCall     `yaml:"webhook,omitempty"`
	// Interval is how often the provider is asked. Default 30s.
	Interval Duration `yaml:"interval,omitempty"`
	// Timeout bounds each question. Default 10s.
	Timeout Duration `yaml:"timeout,omitempty"`
}

// Provider defaults.
const (
	DefaultProviderInterval = Duration(30 * time.Second)
	DefaultProviderTimeout  = Duration(10 * time.Second)
)

func (p *Provider) setDefaults() {
	p.Interval = DefaultProviderInterval
	p.Timeout = DefaultProviderTimeout
}

// PrometheusQuery is a PromQL query with {{.Model}}, {{.Version}},
// {{.Baseline}} and {{.Window}} filled in (package metricsource). For a
// condition relative to the baseline the same query is asked again with
// {{.Version}} the baseline's version.
type PrometheusQuery struct {
	// Address is the server's base URL, such as http://127.0.0.1:9090.
	// Required.
	Address string `yaml:"address"`
	// Query must answer one number. Required.
	Query string `yaml:"query"`
}

// WebhookCall is an HTTP endpoint that answers {"value": 0.97} or
// {"pass": false, "reason": "…"} (package metricsource).
type WebhookCall struct {
	// URL is POSTed to. Required.
	URL string `yaml:"url"`
	// Attempts is how many times a question is tried on a network error,
	// a timeout, 429 or 5xx. Default 3.
	Attempts int `yaml:"attempts"`
}

func (w *WebhookCall) setDefaults() { w.Attempts = 3 }

// externalNameRE is a provider metric's name.
var externalNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$`)

// externalInfo is the catalogue entry of a provider's metric: the
// catalogue's when the name is in it, else a value with no better side.
func externalInfo(name string) MetricInfo {
	if info, ok := LookupMetric(name); ok {
		info.Source = SourceExternal
		return info
	}
	return MetricInfo{Name: name, Unit: UnitValue, Better: EitherBetter, Source: SourceExternal, Description: "measured by a provider"}
}

// externalName checks a provider metric's name.
func (c *checker) externalName(path, name string) (MetricInfo, bool) {
	if !externalNameRE.MatchString(name) {
		c.addf(path, "%q: a provider's metric is named with letters, digits, '.', '_' or '-', starting with a letter", name)
		return MetricInfo{}, false
	}
	return externalInfo(name), true
}

func (c *checker) provider(path string, p *Provider) {
	switch {
	case p.Prometheus != nil && p.Webhook != nil:
		c.addf(path, "give one of prometheus or webhook, not both")
	case p.Prometheus == nil && p.Webhook == nil && !c.anyBad(path):
		c.addf(path, "give prometheus: {address, query} or webhook: {url}")
	}
	c.duration(path+".interval", p.Interval)
	c.duration(path+".timeout", p.Timeout)
	if q := p.Prometheus; q != nil {
		qp := path + ".prometheus"
		c.httpURL(qp+".address", q.Address)
		if q.Query == "" {
			c.addf(qp+".query", "required: a PromQL query answering one number")
		} else if _, err := metricsource.Expand(q.Query, metricsource.Vars{Model: "m", Version: "v", Baseline: "b", Window: time.Minute}); err != nil {
			c.addf(qp+".query", "%v", err)
		}
	}
	if w := p.Webhook; w != nil {
		c.httpURL(path+".webhook.url", w.URL)
		if w.Attempts < 1 || w.Attempts > 10 {
			c.addf(path+".webhook.attempts", "%d: from 1 to 10", w.Attempts)
		}
	}
}

// httpURL checks a required http or https URL.
func (c *checker) httpURL(path, s string) {
	if s == "" {
		c.addf(path, "required: an http or https URL")
		return
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.addf(path, "%q is not an http or https URL", s)
	}
}

// String is what the provider asks, for plans: "prometheus
// http://127.0.0.1:9090" or "webhook https://…", with the URL's path
// left out since it may hold a secret.
func (p *Provider) String() string {
	switch {
	case p == nil:
		return ""
	case p.Prometheus != nil:
		return "prometheus " + hostOf(p.Prometheus.Address)
	case p.Webhook != nil:
		return "webhook " + hostOf(p.Webhook.URL)
	}
	return "provider"
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return fmt.Sprintf("%s://%s", u.Scheme, u.Host)
}
