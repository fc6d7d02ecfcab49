package metricsource

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Vars say what is measured: which version of which model, compared with
// which, over how much recent time.
type Vars struct {
	// Model is the model's name.
	Model string
	// Version is the candidate version; Baseline the version it is
	// compared with, empty when there is none.
	Version, Baseline string
	// Window is the look-back span ending now. A query that uses
	// {{.Window}} needs it to be at least a millisecond; a webhook gets
	// it as window_seconds, zero when it is zero.
	Window time.Duration
}

// Expand returns query with vars filled in, as Prometheus.Query sends it.
// Label values are escaped for a double-quoted PromQL string; see the
// package documentation. A template that does not parse, names a field
// Vars lacks, or uses {{.Window}} while vars.Window is under a
// millisecond is an error.
func Expand(query string, vars Vars) (string, error) {
	t, err := template.New("query").Parse(query)
	if err != nil {
		return "", fmt.Errorf("parsing query template: %w", err)
	}
	var b strings.Builder
	data := promVars{
		Model:    quoteLabel(vars.Model),
		Version:  quoteLabel(vars.Version),
		Baseline: quoteLabel(vars.Baseline),
		window:   vars.Window,
	}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("expanding query template (its variables are .Model, .Version, .Baseline and .Window): %w", err)
	}
	return b.String(), nil
}

// promVars is what a query template sees: Vars made safe for PromQL.
type promVars struct {
	Model, Version, Baseline string
	window                   time.Duration
}

// Window is a method, not a field, so that only a query that uses it
// needs a window.
func (v promVars) Window() (string, error) {
	return promDuration(v.window)
}

var errShortWindow = errors.New("window must be at least a millisecond")

// promDuration renders d as a PromQL duration (1h30m, 90s as 1m30s,
// 500ms), rounded to the millisecond that is PromQL's finest unit.
func promDuration(d time.Duration) (string, error) {
	ms := d.Round(time.Millisecond).Milliseconds()
	if ms <= 0 {
		return "", fmt.Errorf("%w, not %v", errShortWindow, d)
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		ms   int64
	}{{"h", 3_600_000}, {"m", 60_000}, {"s", 1000}, {"ms", 1}} {
		if n := ms / u.ms; n > 0 {
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteString(u.name)
			ms -= n * u.ms
		}
	}
	return b.String(), nil
}

// quoteLabel escapes s to stand between the double quotes of a PromQL
// string: Go's quoting rules, which PromQL shares, without the quotes.
// It escapes " and \ and control characters, and leaves ' alone, which
// PromQL does not allow escaped inside double quotes.
func quoteLabel(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
