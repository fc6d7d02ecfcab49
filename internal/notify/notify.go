package notify

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Target is one webhook and what it wants. It mirrors spec.Notification
// without importing the spec package, so that anything (a server-wide
// setting, a test) can notify without a deployment spec.
type Target struct {
	// URL receives a POST per event. Required.
	URL string
	// Slack sends {"text": …} instead of slipway's JSON.
	Slack bool
	// Events are the event kinds sent. Empty: every kind but "decision".
	Events []string
}

// wants reports whether t is sent events of kind.
func (t Target) wants(kind string) bool {
	if kind == "decision" {
		return false
	}
	return len(t.Events) == 0 || slices.Contains(t.Events, kind)
}

// Config sets a Notifier up. The zero Config is usable.
type Config struct {
	// Client sends the requests. Nil: a client whose attempts time out
	// after 5 s.
	Client *http.Client
	// QueueSize bounds the deliveries waiting for a worker; Send drops
	// what does not fit. Zero or less: 256.
	QueueSize int
	// Workers is how many deliveries are under way at once. Zero or less: 2.
	Workers int
	// Attempts is how many times a delivery is tried before it counts as
	// failed. Zero or less: 3.
	Attempts int
	// Backoff is the wait after the first failed attempt; it doubles after
	// each one after that, up to 30 s. Zero or less: 500 ms.
	Backoff time.Duration
	// Logger is told of failed and dropped deliveries. Nil: slog.Default().
	Logger *slog.Logger
	// Now stamps the times in Stats. Nil: time.Now.
	Now func() time.Time
}

const maxWait = 30 * time.Second

func (c Config) withDefaults() Config {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// delivery is one POST to make: the body is encoded when the event is
// sent, so the caller may reuse or change the message afterwards.
type delivery struct {
	url  string
	kind string
	id   string
	body []byte
}

// Notifier delivers messages in the background. Its workers start in New
// and stop in Close.
type Notifier struct {
	cfg Config
	log *slog.Logger

	// mu guards closed and the sending on queue, so that Close never
	// closes the queue under a Send; Send holds it for reading only, and
	// never blocks while holding it.
	mu     sync.RWMutex
	closed bool
	queue  chan delivery

	// stop is cancelled when Close gives up waiting: in-flight requests
	// and backoff waits end, and the workers drop what is left.
	stop    context.Context
	abandon context.CancelFunc
	wg      sync.WaitGroup

	// statsMu guards targets. A mutex rather than atomics: a Send takes it
	// only to count a drop, a worker once per delivery.
	statsMu sync.Mutex
	targets map[string]*TargetStats
}

// New starts a Notifier's workers. Close stops them.
func New(cfg Config) *Notifier {
	cfg = cfg.withDefaults()
	n := &Notifier{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "notify"),
		queue:   make(chan delivery, cfg.QueueSize),
		targets: make(map[string]*TargetStats),
	}
	n.stop, n.abandon = context.WithCancel(context.Background())
	n.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go n.work()
	}
	return n
}

// Send queues m for every target that wants its kind, and returns at
// once: when the queue is full, or the Notifier closed, the delivery is
// dropped and counted.
func (n *Notifier) Send(targets []Target, m Message) {
	var slipwayBody, slackBody []byte
	for _, t := range targets {
		if !t.wants(m.Event.Kind) {
			continue
		}
		body, err := n.body(t.Slack, m, &slipwayBody, &slackBody)
		if err != nil {
			n.log.Error("cannot encode a notification", "url", redact(t.URL), "event", m.Event.Kind, "rollout", m.rolloutID(), "err", err)
			n.count(t.URL, func(s *TargetStats) { s.Failed++; s.setError(err, n.cfg.Now()) })
			continue
		}
		d := delivery{url: t.URL, kind: m.Event.Kind, id: m.deliveryID(), body: body}
		if !n.enqueue(d) {
			n.drop(d)
		}
	}
}

// body encodes m in the target's format, once per Send and format.
func (n *Notifier) body(slack bool, m Message, slipwayBody, slackBody *[]byte) ([]byte, error) {
	cache, v := slipwayBody, any(NewPayload(m))
	if slack {
		cache, v = slackBody, slackMessage{Text: SlackText(m)}
	}
	if *cache == nil {
		b, err := encode(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", m.Event.Kind, err)
		}
		*cache = b
	}
	return *cache, nil
}

// enqueue puts d on the queue unless it is full or closed.
func (n *Notifier) enqueue(d delivery) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return false
	}
	select {
	case n.queue <- d:
		return true
	default:
		return false
	}
}

// drop counts d as dropped. It logs the 1st, 2nd, 4th, 8th… drop of a
// target only: a hanging receiver can cost thousands, and the log should
// say so without repeating it thousands of times.
func (n *Notifier) drop(d delivery) {
	var dropped int64
	n.count(d.url, func(s *TargetStats) { s.Dropped++; dropped = s.Dropped })
	if dropped&(dropped-1) == 0 {
		n.log.Warn("notifications dropped: queue full or notifier closed",
			"url", redact(d.url), "event", d.kind, "delivery", d.id, "dropped", dropped)
	}
}

// Close stops accepting messages and waits for the queued ones to be
// delivered, until ctx ends: then it abandons in-flight requests, drops
// (and counts) what is left, and returns ctx's error once the workers
// stopped. Calling it again waits again and returns nil.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()

	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		n.abandon()
		return nil
	case <-ctx.Done():
		n.abandon()
		<-done
		return fmt.Errorf("drain notifications: %w", ctx.Err())
	}
}

func (n *Notifier) work() {
	defer n.wg.Done()
	for d := range n.queue {
		if n.stop.Err() != nil {
			n.drop(d)
			continue
		}
		n.deliver(d)
	}
}

// deliver makes d's attempts and records the outcome.
func (n *Notifier) deliver(d delivery) {
	err := n.post(n.stop, d)
	now := n.cfg.Now()
	switch {
	case err == nil:
		n.count(d.url, func(s *TargetStats) { s.Sent++; s.LastSuccess = now })
	case n.stop.Err() != nil:
		// Abandoned by Close: not the receiver's fault, so no error.
		n.drop(d)
	default:
		n.log.Warn("notification failed", "event", d.kind, "delivery", d.id, "err", err)
		n.count(d.url, func(s *TargetStats) { s.Failed++; s.setError(err, now) })
	}
}

// Stats is what a Notifier did since New.
type Stats struct {
	// Sent, Failed and Dropped total the targets' counts.
	Sent, Failed, Dropped int64
	// Targets are the counts per target URL, for every URL a message
	// was sent to.
	Targets map[string]TargetStats
}

// TargetStats is what a Notifier did for one target URL.
type TargetStats struct {
	// Sent counts deliveries the receiver accepted (2xx).
	Sent int64
	// Failed counts deliveries that ran out of attempts or met a status
	// that is not retried.
	Failed int64
	// Dropped counts deliveries never made: the queue was full, the
	// Notifier closed, or Close gave up on them.
	Dropped int64
	// LastSuccess is when a delivery last succeeded; zero if none did.
	LastSuccess time.Time
	// LastError is why the last failed delivery failed, naming the URL and
	// the status or network error; empty if none failed. The target is
	// failing now when LastErrorAt is after LastSuccess.
	LastError   string
	LastErrorAt time.Time
}

func (s *TargetStats) setError(err error, at time.Time) {
	s.LastError, s.LastErrorAt = err.Error(), at
}

// Stats returns a copy of the counts.
func (n *Notifier) Stats() Stats {
	n.statsMu.Lock()
	defer n.statsMu.Unlock()
	st := Stats{Targets: make(map[string]TargetStats, len(n.targets))}
	for url, t := range maps.All(n.targets) {
		st.Targets[url] = *t
		st.Sent += t.Sent
		st.Failed += t.Failed
		st.Dropped += t.Dropped
	}
	return st
}

// count applies f to url's stats.
func (n *Notifier) count(url string, f func(*TargetStats)) {
	n.statsMu.Lock()
	defer n.statsMu.Unlock()
	s := n.targets[url]
	if s == nil {
		s = new(TargetStats)
		n.targets[url] = s
	}
	f(s)
}
