package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
	"github.com/slipway-ml/slipway/internal/spec"
)

// External asks the providers of metrics measured outside slipway
// (spec.Provider: a Prometheus query or a webhook) in the background and
// keeps their last answers. A judgement reads the last answer at once, so a
// slow or unreachable provider never holds up a tick of the controller,
// which judges every live rollout in turn. Each question (a provider, a
// metric, a model and a version) is asked at most once per provider
// interval, and only while judgements keep reading it. The zero value is
// ready to use.
type External struct {
	// Client sends the questions. Nil means http.DefaultClient.
	Client *http.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	answers   map[question]*answer
	lastSweep time.Time
	inflight  sync.WaitGroup
}

// question is one thing asked of a provider.
type question struct {
	provider                         string // the provider's kind and address, query or URL
	metric, model, version, baseline string
}

// answer is a provider's last answer to a question, and the state of the
// asking.
type answer struct {
	value float64
	// pass is a webhook's own verdict, nil when it answered a value.
	pass   *bool
	reason string
	err    error
	// at is when the answer arrived; zero before the first.
	at time.Time
	// asked is when the last question was sent; asking says it is still
	// out. read is when a judgement last read the answer.
	asked, read time.Time
	asking      bool
}

func (x *External) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// read returns the last answer to the question p is asked about metric of
// vars.Version, and asks again in the background when the last question
// is older than p's interval.
func (x *External) read(p *spec.Provider, metric string, vars metricsource.Vars) answer {
	q := question{provider: providerKey(p), metric: metric, model: vars.Model, version: vars.Version, baseline: vars.Baseline}
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.answers == nil {
		x.answers = make(map[question]*answer)
	}
	x.sweep(now)
	a, ok := x.answers[q]
	if !ok {
		a = &answer{}
		x.answers[q] = a
	}
	a.read = now
	if !a.asking && (a.asked.IsZero() || now.Sub(a.asked) >= time.Duration(p.Interval)) {
		a.asking, a.asked = true, now
		x.inflight.Add(1)
		go x.ask(q, *p, metric, vars)
	}
	return *a
}

// forgetAfter is how long an answer nobody reads is kept: a rollout that
// ended stops being judged, and its questions go.
const forgetAfter = 10 * time.Minute

// sweep drops answers no judgement has read for forgetAfter, once a
// minute at most. x.mu is held.
func (x *External) sweep(now time.Time) {
	if now.Sub(x.lastSweep) < time.Minute {
		return
	}
	x.lastSweep = now
	for q, a := range x.answers {
		if !a.asking && now.Sub(a.read) > forgetAfter {
			delete(x.answers, q)
		}
	}
}

// ask puts the question to the provider and records the answer.
func (x *External) ask(q question, p spec.Provider, metric string, vars metricsource.Vars) {
	defer x.inflight.Done()
	timeout := time.Duration(p.Timeout)
	// The providers bound each attempt by the timeout; the webhook's
	// retries get their own time on top.
	ctx, cancel := context.WithTimeout(context.Background(), timeout*time.Duration(max(1, attempts(p)))+time.Second)
	defer cancel()
	var got answer
	switch {
	case p.Prometheus != nil:
		prom := metricsource.Prometheus{URL: p.Prometheus.Address, Client: x.Client, Timeout: timeout}
		v, err := prom.Query(ctx, p.Prometheus.Query, vars)
		got.value, got.err = v.Number, err
	case p.Webhook != nil:
		hook := metricsource.Webhook{URL: p.Webhook.URL, Client: x.Client, Timeout: timeout, Attempts: p.Webhook.Attempts}
		r, err := hook.Measure(ctx, metric, vars)
		got.err, got.pass, got.reason = err, r.Pass, r.Reason
		if r.Value != nil {
			got.value = *r.Value
		}
	default:
		got.err = errors.New("the provider names neither prometheus nor webhook")
	}
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.answers[q]
	if !ok {
		return // swept while asking: nobody reads it any more
	}
	got.at, got.asked, got.read = now, a.asked, a.read
	*a = got
}

func attempts(p spec.Provider) int {
	if p.Webhook != nil {
		return p.Webhook.Attempts
	}
	return 1
}

// Wait blocks until the questions out now have been answered or have
// failed; for tests and an orderly shutdown.
func (x *External) Wait() { x.inflight.Wait() }

func providerKey(p *spec.Provider) string {
	switch {
	case p.Prometheus != nil:
		return "prometheus\x00" + p.Prometheus.Address + "\x00" + p.Prometheus.Query
	case p.Webhook != nil:
		return "webhook\x00" + p.Webhook.URL
	}
	return ""
}

// external measures a provider's metric: the candidate's last answer and,
// when a condition needs it, the baseline's (the same question about the
// baseline's version). The samples behind both are the versions' requests
// in slipway's telemetry over the window, so that MinSamples holds a
// provider's metric back as it does any other until the candidate has
// served enough traffic.
func (e *Evidence) external(t target) measurement {
	ms := measurement{noun: nounRequests}
	ms.cand = e.externalReading(t, e.Query.Candidate, e.Query.Baseline, e.requests(false))
	if t.needBase {
		ms.base = e.externalReading(t, e.Query.Baseline, "", e.requests(true))
	}
	return ms
}

// requests is the requests a version served (or, for a shadowed
// candidate, was mirrored) over the window.
func (e *Evidence) requests(baseline bool) int64 {
	if !baseline && e.Query.Shadow {
		if s := e.shadow(); s != nil {
			return s.Compared + s.ShadowErrors + s.Mismatched
		}
		return 0
	}
	a := e.Candidate
	if baseline {
		a = e.Baseline
	}
	if a == nil {
		return 0
	}
	return a.Requests
}

func (e *Evidence) externalReading(t target, version, other string, n int64) reading {
	p := t.provider
	if e.ext == nil {
		return impossible("measured by " + p.String() + ", but this judge has no provider client")
	}
	a := e.ext.read(p, t.name, metricsource.Vars{Model: e.Query.Model, Version: version, Baseline: other, Window: e.Query.Window})
	switch {
	case a.at.IsZero():
		return missing(n, "waiting for the first answer from "+p.String())
	case errors.Is(a.err, metricsource.ErrNoData), errors.Is(a.err, metricsource.ErrNotFinite):
		return missing(n, fmt.Sprintf("%s: %v", p.String(), a.err))
	case a.err != nil:
		return reading{n: n, why: a.err.Error(), hard: true}
	case a.pass != nil:
		return reading{n: n, ok: true, verdict: a.pass, why: a.reason}
	}
	return measured(a.value, n)
}
