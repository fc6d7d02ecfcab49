package serving

import (
	"sync"
	"sync/atomic"
	"time"
)

// A shadow that keeps failing gets its copies paused. Every copy would
// otherwise cost a worker a whole call, or a refused connection, taking
// CPU from the primaries for nothing to compare: a shadow that is down
// made each routed request cost twice the CPU in bench/routing. After
// tripAfter failures in a row the copies stop for a pause that doubles
// from minPause up to maxPause while the shadow keeps failing; the first
// copy after a pause is the probe, and one success resets it all.
const (
	tripAfter = 5
	minPause  = time.Second
	maxPause  = 30 * time.Second
)

// breaker is one shadow's failure state.
type breaker struct {
	// until is when copies may flow again, in Unix nanoseconds; read on
	// every copy without a lock.
	until atomic.Int64

	mu    sync.Mutex
	fails int // in a row
	pause time.Duration
}

// paused reports whether copies to the shadow are held at now.
func (b *breaker) paused(now time.Time) bool {
	return now.UnixNano() < b.until.Load()
}

// record counts a copy's outcome, and reports the pause it starts (zero
// when it starts none).
func (b *breaker) record(now time.Time, failed bool) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		b.fails, b.pause = 0, 0
		b.until.Store(0)
		return 0
	}
	b.fails++
	// A copy queued before the pause began fails within it: the pause
	// already accounts for it.
	if b.fails < tripAfter || now.UnixNano() < b.until.Load() {
		return 0
	}
	b.pause = min(max(2*b.pause, minPause), maxPause)
	b.until.Store(now.Add(b.pause).UnixNano())
	return b.pause
}

// shadowKey names a model's shadow version.
type shadowKey struct{ model, shadow string }

func newBreaker() *breaker { return &breaker{} }
