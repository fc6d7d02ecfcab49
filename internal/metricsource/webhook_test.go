package metricsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
)

// answer is one reply of a test webhook: a status and body, or none.
type answer struct {
	status int
	body   string
	hang   bool
}

func TestWebhookMeasure(t *testing.T) {
	value := func(v float64) *float64 { return &v }
	pass := func(b bool) *bool { return &b }
	ok := func(body string) answer { return answer{status: 200, body: body} }
	tests := []struct {
		name      string
		answers   []answer // the i-th request gets answers[i], later ones the last
		attempts  int
		want      metricsource.Result
		wantCalls int
		wantErr   error
		wantMsg   []string
	}{
		{name: "value", answers: []answer{ok(`{"value": 0.97}`)},
			want: metricsource.Result{Value: value(0.97)}, wantCalls: 1},
		{name: "value with reason and unknown fields", answers: []answer{ok(`{"value": -3, "reason": "fewer refunds", "source": "bi"}`)},
			want: metricsource.Result{Value: value(-3), Reason: "fewer refunds"}, wantCalls: 1},
		{name: "fail", answers: []answer{ok(`{"pass": false, "reason": "chargebacks up 12%"}`)},
			want: metricsource.Result{Pass: pass(false), Reason: "chargebacks up 12%"}, wantCalls: 1},
		{name: "pass", answers: []answer{ok(`{"pass": true}`)},
			want: metricsource.Result{Pass: pass(true)}, wantCalls: 1},
		{name: "retried after 500", answers: []answer{{status: 500, body: "warming up"}, ok(`{"value": 1}`)},
			want: metricsource.Result{Value: value(1)}, wantCalls: 2},
		{name: "retried after a timeout", answers: []answer{{hang: true}, ok(`{"pass": true}`)},
			want: metricsource.Result{Pass: pass(true)}, wantCalls: 2},
		{name: "timeout", answers: []answer{{hang: true}}, attempts: 2, wantCalls: 2, wantErr: context.DeadlineExceeded,
			wantMsg: []string{"2 attempts failed", "no answer within 100ms"}},
		{name: "5xx every time", answers: []answer{{status: 503, body: "overloaded"}}, wantCalls: 3,
			wantMsg: []string{"3 attempts failed", "503 Service Unavailable", "overloaded"}},
		{name: "4xx not retried", answers: []answer{{status: 404, body: "no such metric"}}, wantCalls: 1,
			wantMsg: []string{"404 Not Found", "no such metric"}},
		{name: "not JSON", answers: []answer{ok(`<html>hello</html>`)}, wantCalls: 1,
			wantMsg: []string{"not {\"value\": number}", "<html>"}},
		{name: "value of the wrong type", answers: []answer{ok(`{"value": "0.9"}`)}, wantCalls: 1,
			wantMsg: []string{"cannot unmarshal string"}},
		{name: "both", answers: []answer{ok(`{"value": 1, "pass": true}`)}, wantCalls: 1,
			wantMsg: []string{`both "value" and "pass"`}},
		{name: "neither", answers: []answer{ok(`{"reason": "no idea"}`)}, wantCalls: 1,
			wantMsg: []string{`neither "value" nor "pass"`}},
		{name: "null value", answers: []answer{ok(`{"value": null}`)}, wantCalls: 1,
			wantMsg: []string{`neither "value" nor "pass"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			var problems atomic.Value // a request that was not as documented
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if p := checkRequest(r); p != "" {
					problems.Store(p)
				}
				a := tt.answers[min(n, len(tt.answers))-1]
				if a.hang {
					hang(w, r)
					return
				}
				w.WriteHeader(a.status)
				io.WriteString(w, a.body)
			}))
			defer srv.Close()
			hook := &metricsource.Webhook{URL: srv.URL + "/kpi", Timeout: 100 * time.Millisecond, Attempts: tt.attempts}
			vars := metricsource.Vars{Model: "fraud", Version: "2.0.0", Baseline: "1.4.0", Window: 90 * time.Second}

			start := time.Now()
			got, err := hook.Measure(t.Context(), "business-kpi", vars)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v", took)
			}
			if p := problems.Load(); p != nil {
				t.Errorf("request: %s", p)
			}
			if n := int(calls.Load()); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if tt.wantErr == nil && tt.wantMsg == nil {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %s, %v; want %s", show(got), err, show(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("got %s, want an error", show(got))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			for _, m := range append(tt.wantMsg, srv.URL+"/kpi", "business-kpi") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

// checkRequest says what is wrong with a webhook request, or "".
func checkRequest(r *http.Request) string {
	if r.Method != http.MethodPost || r.URL.Path != "/kpi" || r.Header.Get("Content-Type") != "application/json" {
		return fmt.Sprintf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
		return err.Error()
	}
	want := map[string]any{"metric": "business-kpi", "model": "fraud", "version": "2.0.0", "baseline": "1.4.0", "window_seconds": 90.0}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("body %v, want %v", got, want)
	}
	return ""
}

func show(r metricsource.Result) string {
	s := fmt.Sprintf("{Reason: %q", r.Reason)
	if r.Value != nil {
		s += fmt.Sprintf(" Value: %v", *r.Value)
	}
	if r.Pass != nil {
		s += fmt.Sprintf(" Pass: %v", *r.Pass)
	}
	return s + "}"
}

// A caller's context ending stops the retries at once and says so.
func TestWebhookCallerCancels(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond) // ends during the first backoff
	defer cancel()
	hook := &metricsource.Webhook{URL: srv.URL, Attempts: 5}
	start := time.Now()
	_, err := hook.Measure(ctx, "kpi", metricsource.Vars{Model: "fraud"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Errorf("error %v, want the context's end and the last answer", err)
	}
	if n, took := calls.Load(), time.Since(start); n != 1 || took > time.Second {
		t.Errorf("%d requests in %v, want 1 and no more waiting", n, took)
	}
}

func TestWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	hook := &metricsource.Webhook{URL: srv.URL, Attempts: 2}
	_, err := hook.Measure(t.Context(), "kpi", metricsource.Vars{})
	if err == nil || !strings.Contains(err.Error(), "2 attempts failed") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %v, want two refused attempts", err)
	}
	_, err = (&metricsource.Webhook{}).Measure(t.Context(), "kpi", metricsource.Vars{})
	if err == nil || !strings.Contains(err.Error(), "no URL") {
		t.Errorf("error %v, want one saying the URL is missing", err)
	}
}
