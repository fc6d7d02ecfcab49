package metricsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook measures a metric by asking an HTTP endpoint; the package
// documentation gives the JSON it sends and the answers it accepts. Its
// zero value is not usable: URL is required.
type Webhook struct {
	// URL is the endpoint that is POSTed to.
	URL string
	// Client sends the requests. Nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds each attempt. Zero or less means 10 seconds.
	Timeout time.Duration
	// Attempts is how many times a measurement is tried before its last
	// error is returned; a network error, a timeout, 429 or 5xx is tried
	// again, after 100 ms, then twice as long each time, up to 2 s. Zero
	// or less means 3.
	Attempts int
}

// Result is a webhook's answer: exactly one of Value and Pass is set.
type Result struct {
	// Value is the measured number, to be judged against the metric's
	// condition.
	Value *float64
	// Pass is the endpoint's own verdict.
	Pass *bool
	// Reason is the endpoint's explanation, empty when it gave none.
	Reason string
}

const (
	defaultAttempts = 3
	firstBackoff    = 100 * time.Millisecond
	maxBackoff      = 2 * time.Second
)

// webhookRequest is the JSON a webhook receives.
type webhookRequest struct {
	Metric        string  `json:"metric"`
	Model         string  `json:"model"`
	Version       string  `json:"version"`
	Baseline      string  `json:"baseline"`
	WindowSeconds float64 `json:"window_seconds"`
}

// Measure asks the webhook for metric of the version vars name. Its
// errors name the URL and the metric; on error the Result is zero.
func (w *Webhook) Measure(ctx context.Context, metric string, vars Vars) (Result, error) {
	r, err := w.measure(ctx, metric, vars)
	if err != nil {
		return Result{}, fmt.Errorf("webhook %s, metric %s: %w", redact(w.URL), metric, err)
	}
	return r, nil
}

func (w *Webhook) measure(ctx context.Context, metric string, vars Vars) (Result, error) {
	if w.URL == "" {
		return Result{}, errors.New("webhook has no URL")
	}
	body, err := json.Marshal(webhookRequest{
		Metric:        metric,
		Model:         vars.Model,
		Version:       vars.Version,
		Baseline:      vars.Baseline,
		WindowSeconds: vars.Window.Seconds(),
	})
	if err != nil {
		return Result{}, err
	}
	attempts := w.Attempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	wait := firstBackoff
	for attempt := 1; ; attempt++ {
		r, err := w.attempt(ctx, body)
		var t *transient
		if err == nil || !errors.As(err, &t) {
			return r, err
		}
		if attempt >= attempts {
			return Result{}, fmt.Errorf("%d attempts failed, the last: %w", attempts, t.err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return Result{}, fmt.Errorf("giving up after %d attempts: %w; the last: %w", attempt, context.Cause(ctx), t.err)
		}
		wait = min(2*wait, maxBackoff)
	}
}

// transient is an attempt's error that trying again may mend.
type transient struct{ err error }

func (t *transient) Error() string { return t.err.Error() }
func (t *transient) Unwrap() error { return t.err }

// attempt POSTs body once and reads the answer.
func (w *Webhook) attempt(ctx context.Context, body []byte) (Result, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "slipway")
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	// A failure to talk is worth another attempt, unless ctx has ended.
	failed := func(err error) (Result, error) {
		err = transportError(parent, "", timeout, err)
		if parent.Err() != nil {
			return Result{}, err
		}
		return Result{}, &transient{err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswer))
	if err != nil {
		return failed(fmt.Errorf("reading the answer: %w", err))
	}
	return decodeWebhook(resp.StatusCode, answer)
}

// maxWebhookAnswer bounds how much of an answer is read.
const maxWebhookAnswer = 1 << 20

// decodeWebhook reads an answer, marking as transient the statuses worth
// another attempt.
func decodeWebhook(status int, body []byte) (Result, error) {
	if status < 200 || status > 299 {
		err := fmt.Errorf("answered %d %s: %q", status, http.StatusText(status), excerpt(body))
		if status == http.StatusTooManyRequests || status >= 500 {
			return Result{}, &transient{err}
		}
		return Result{}, err
	}
	var a struct {
		Value  *float64 `json:"value"`
		Pass   *bool    `json:"pass"`
		Reason string   `json:"reason"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{}, fmt.Errorf(`answer is not {"value": number} or {"pass": bool, "reason": "..."}: %w: %q`, err, excerpt(body))
	}
	switch {
	case a.Value != nil && a.Pass != nil:
		return Result{}, fmt.Errorf(`answer has both "value" and "pass", so it is unclear which to judge: %q`, excerpt(body))
	case a.Value == nil && a.Pass == nil:
		return Result{}, fmt.Errorf(`answer has neither "value" nor "pass": %q`, excerpt(body))
	}
	return Result{Value: a.Value, Pass: a.Pass, Reason: a.Reason}, nil
}
