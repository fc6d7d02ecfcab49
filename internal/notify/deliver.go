package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	// URL is the target, with any password in it masked.
	URL        string
	StatusCode int
	// Body is the start of the response, where receivers explain.
	Body string
	// RetryAfter is what a Retry-After header in seconds asked for; zero
	// when there was none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("POST %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}

// Temporary reports whether trying again may succeed: the receiver was
// overloaded (429) or broken (5xx). Other statuses say the request itself
// is wrong, and sending it again would only repeat the answer.
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// errPermanent marks an error no retry can mend, such as a malformed URL.
var errPermanent = errors.New("not retried")

// bodyExcerpt bounds how much of a response the error keeps, and
// drainLimit how much is read to reuse the connection.
const (
	bodyExcerpt = 256
	drainLimit  = 64 << 10
)

// post makes up to Attempts attempts of d, waiting between them, and
// returns the last error, or nil once one succeeded.
func (n *Notifier) post(ctx context.Context, d delivery) error {
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := n.attempt(ctx, d)
		if err == nil || attempt >= n.cfg.Attempts || !retryable(err) {
			return err
		}
		delay := wait
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > delay {
			delay = min(se.RetryAfter, maxWait)
		}
		n.log.Debug("notification attempt failed, retrying", "delivery", d.id, "attempt", attempt, "in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		wait = min(2*wait, maxWait)
	}
}

func retryable(err error) bool {
	if errors.Is(err, errPermanent) || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	return true // the network: refused, reset, timed out
}

// attempt POSTs d once.
func (n *Notifier) attempt(ctx context.Context, d delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return fmt.Errorf("notify %s: %w: %w", redact(d.url), errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slipway")
	req.Header.Set("X-Slipway-Event", d.kind)
	req.Header.Set("X-Slipway-Delivery", d.id)
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return err // a *url.Error, which names the method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, bodyExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	return &StatusError{
		URL:        redact(d.url),
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(string(excerpt)),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
	}
}

// retryAfter reads a Retry-After given in seconds; the HTTP-date form is
// rare from webhooks and reads as none.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// redact masks a password in raw, which errors and logs must not show.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(malformed URL)"
	}
	return u.Redacted()
}
