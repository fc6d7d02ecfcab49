package metricsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prometheus answers PromQL queries from a Prometheus server's HTTP API.
// Its zero value is not usable: URL is required.
type Prometheus struct {
	// URL is the server's base address, such as http://prometheus:9090 or
	// https://example.com/prometheus; /api/v1/query is added to it.
	URL string
	// Client sends the requests. Nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds each query, both the wait here and Prometheus's own
	// evaluation. Zero or less means 10 seconds.
	Timeout time.Duration
}

// Value is a query's answer.
type Value struct {
	// Number is the answer, always finite.
	Number float64
	// Samples is how many series the answer came from: 1 for an instant
	// vector, 0 for a scalar, which belongs to no series.
	Samples int
	// At is the time Prometheus evaluated the query at.
	At time.Time
}

var (
	// ErrNoData is a query that matched no series: the version has no
	// traffic yet, or the metric is not exported. The analysis cannot
	// tell, so it is inconclusive, never a failure.
	ErrNoData = errors.New("query returned no data")
	// ErrNotFinite is a query whose answer is NaN or infinite, as a
	// ratio is when its denominator is zero: as with ErrNoData, nothing
	// can be judged from it yet.
	ErrNotFinite = errors.New("query returned a value that is not a finite number")
)

// QueryError is a query that gave no number. Errors.Is finds ErrNoData
// and ErrNotFinite through it.
type QueryError struct {
	// Query is the PromQL sent, after expansion; the template when
	// expanding it failed.
	Query string
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("prometheus query `%s`: %v", e.Query, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

const defaultTimeout = 10 * time.Second

// Query expands query with vars (see Expand), evaluates it at the current
// time, and returns its single number. Every error is a *QueryError; one
// that wraps ErrNoData or ErrNotFinite means there is nothing to judge
// yet, any other that the query or the server is at fault. On error the
// Value is zero.
func (p *Prometheus) Query(ctx context.Context, query string, vars Vars) (Value, error) {
	q, err := Expand(query, vars)
	if err != nil {
		return Value{}, &QueryError{Query: query, Err: err}
	}
	v, err := p.query(ctx, q)
	if err != nil {
		return Value{}, &QueryError{Query: q, Err: err}
	}
	return v, nil
}

// query asks Prometheus for q and reads the answer.
func (p *Prometheus) query(ctx context.Context, q string) (Value, error) {
	if p.URL == "" {
		return Value{}, errors.New("prometheus has no URL")
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	endpoint := strings.TrimRight(p.URL, "/") + "/api/v1/query"
	form := url.Values{
		"query": {q},
		"time":  {strconv.FormatFloat(float64(time.Now().UnixMilli())/1000, 'f', 3, 64)},
	}
	if d, err := promDuration(timeout); err == nil {
		form.Set("timeout", d)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Value{}, fmt.Errorf("prometheus URL %s: %w", redact(p.URL), err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "slipway")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Value{}, transportError(parent, redact(endpoint), timeout, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Value{}, transportError(parent, redact(endpoint), timeout, fmt.Errorf("reading the answer of %s: %w", redact(endpoint), err))
	}
	return decodeQuery(resp.StatusCode, body)
}

// maxAnswer bounds how much of an answer is read: far more than one
// number needs, and enough to name the series of a query that matched
// too many.
const maxAnswer = 4 << 20

// apiAnswer is the envelope of every Prometheus API answer.
type apiAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// vectorSample is one series of an instant vector. A native histogram has
// Histogram instead of Value.
type vectorSample struct {
	Metric    map[string]string `json:"metric"`
	Value     json.RawMessage   `json:"value"`
	Histogram json.RawMessage   `json:"histogram"`
}

// decodeQuery reads an answer to /api/v1/query.
func decodeQuery(status int, body []byte) (Value, error) {
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.Status == "" {
		return Value{}, fmt.Errorf("prometheus answered %d %s, not its API's JSON: %q",
			status, http.StatusText(status), excerpt(body))
	}
	if a.Status != "success" {
		return Value{}, fmt.Errorf("prometheus answered %d (%s): %s", status, a.ErrorType, a.Error)
	}
	if status < 200 || status > 299 {
		return Value{}, fmt.Errorf("prometheus answered %d %s", status, http.StatusText(status))
	}
	switch a.Data.ResultType {
	case "scalar":
		v, err := decodePoint(a.Data.Result)
		if err != nil {
			return Value{}, err
		}
		return v, finite(v)
	case "vector":
		var samples []vectorSample
		if err := json.Unmarshal(a.Data.Result, &samples); err != nil {
			return Value{}, fmt.Errorf("reading the vector prometheus answered: %w", err)
		}
		switch len(samples) {
		case 0:
			return Value{}, ErrNoData
		case 1:
		default:
			return Value{}, tooManySeries(samples)
		}
		s := samples[0]
		if s.Value == nil {
			return Value{}, fmt.Errorf("the series %s is a native histogram, not a number: use histogram_quantile, histogram_count or histogram_sum", labelSet(s.Metric))
		}
		v, err := decodePoint(s.Value)
		if err != nil {
			return Value{}, err
		}
		v.Samples = 1
		return v, finite(v)
	case "matrix":
		return Value{}, errors.New("query returned a range vector, not one number: wrap it in a function such as rate() or avg_over_time()")
	default:
		return Value{}, fmt.Errorf("query returned a %s, not a number", a.Data.ResultType)
	}
}

// decodePoint reads Prometheus's [<unix seconds>, "<number>"].
func decodePoint(raw json.RawMessage) (Value, error) {
	var pair []json.RawMessage
	var at float64
	var num string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 ||
		json.Unmarshal(pair[0], &at) != nil || json.Unmarshal(pair[1], &num) != nil {
		return Value{}, fmt.Errorf("prometheus answered a sample that is not [time, \"number\"]: %s", excerpt(raw))
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return Value{}, fmt.Errorf("prometheus answered a sample that is not a number: %q", num)
	}
	return Value{Number: n, At: time.UnixMilli(int64(math.Round(at * 1000)))}, nil
}

func finite(v Value) error {
	if math.IsNaN(v.Number) || math.IsInf(v.Number, 0) {
		return fmt.Errorf("%w: %v", ErrNotFinite, v.Number)
	}
	return nil
}

// tooManySeries names the label sets of a vector that should have held
// one series, the first few of them.
func tooManySeries(samples []vectorSample) error {
	const shown = 5
	names := make([]string, 0, shown+1)
	for _, s := range samples[:min(len(samples), shown)] {
		names = append(names, labelSet(s.Metric))
	}
	if len(samples) > shown {
		names = append(names, fmt.Sprintf("and %d more", len(samples)-shown))
	}
	return fmt.Errorf("query returned %d series, not one: %s; aggregate them, e.g. with sum()",
		len(samples), strings.Join(names, ", "))
}

// labelSet writes labels as PromQL does: name{a="x", b="y"}.
func labelSet(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(labels["__name__"])
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// transportError says plainly when err is the timeout of one request, as
// opposed to the caller's context ending; others, such as a refused
// connection, read well as they are. url, when not empty, names the
// server that did not answer.
func transportError(parent context.Context, url string, timeout time.Duration, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace("asking "+url), context.Cause(parent))
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		if url != "" {
			url = " from " + url
		}
		return fmt.Errorf("no answer%s within %v: %w", url, timeout, context.DeadlineExceeded)
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// excerpt is the start of an answer, for an error to quote.
func excerpt(b []byte) string {
	const n = 256
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// redact masks a password in raw, which errors must not show.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(malformed URL)"
	}
	return u.Redacted()
}
