package serving

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/cow"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// mirrorJob is one copy of a request for a shadow version, with what the
// primary answered so the two can be compared.
type mirrorJob struct {
	model, primary, shadow string
	inputs                 []runtime.Tensor // shared with the primary's request: read only
	outputs                []runtime.Tensor
	primaryLatency         time.Duration
}

// mirrorPool runs shadow requests on a few workers fed by a bounded
// queue. The primary's path only ever does a non-blocking send.
type mirrorPool struct {
	queue   chan mirrorJob
	wg      sync.WaitGroup
	sent    atomic.Int64
	dropped atomic.Int64
	failed  atomic.Int64
	paused  atomic.Int64
	// breakers hold back copies to shadows that keep failing; a shadow
	// has one once it has failed.
	breakers cow.Map[shadowKey, *breaker]
	// run handles one job; set by start.
	run func(context.Context, mirrorJob)
	// ctx ends at stop, so shadows in flight give up and queued ones are
	// dropped rather than delaying shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once // stop runs once
}

// send queues a job, or drops and counts it when the queue is full (or
// the pool is not running); it reports whether the job was queued.
func (m *mirrorPool) send(j mirrorJob) bool {
	if m.queue == nil {
		m.dropped.Add(1)
		return false
	}
	select {
	case m.queue <- j:
		m.sent.Add(1)
		return true
	default:
		m.dropped.Add(1)
		return false
	}
}

func (g *Gateway) sendMirror(j mirrorJob) {
	result := telemetry.MirrorSent
	if b, ok := g.mirror.breakers.Load(shadowKey{j.model, j.shadow}); ok && b.paused(g.now()) {
		g.mirror.paused.Add(1)
		g.observer().ShadowPaused(j.model, j.primary, j.shadow)
		result = telemetry.MirrorPaused
	} else if !g.mirror.send(j) {
		result = telemetry.MirrorDropped
	}
	g.observer().MirrorResult(j.model, j.shadow, result)
}

func (m *mirrorPool) start(size, workers int, run func(context.Context, mirrorJob)) {
	m.queue, m.run = make(chan mirrorJob, size), run
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for range workers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for j := range m.queue {
				if m.ctx.Err() != nil {
					m.dropped.Add(1)
					continue
				}
				m.run(m.ctx, j)
			}
		}()
	}
}

// stop abandons the shadows still queued or running and waits for the
// workers. The gateway stops taking requests before it calls stop.
func (m *mirrorPool) stop() {
	m.once.Do(func() {
		if m.queue != nil {
			m.cancel()
			close(m.queue)
			m.wg.Wait()
		}
	})
}

// MirrorStats counts shadow copies: queued, dropped because the queue was
// full, failed in the shadow, and held back while a shadow that kept
// failing was paused.
type MirrorStats struct {
	Sent, Dropped, Failed, Paused int64
}

// MirrorStats reports the shadow counters since start.
func (g *Gateway) MirrorStats() MirrorStats {
	return MirrorStats{Sent: g.mirror.sent.Load(), Dropped: g.mirror.dropped.Load(), Failed: g.mirror.failed.Load(), Paused: g.mirror.paused.Load()}
}

// StartMirrors starts the shadow workers: queue is the bound on waiting
// copies (0 means 128) and workers their number (0 means 2). Close stops
// them.
func (g *Gateway) StartMirrors(queue, workers int) {
	if queue <= 0 {
		// Deep enough for bursts; a deeper queue only holds copies that
		// are stale by the time they run, and the requests they keep
		// alive cost the primaries CPU (a 1,024-deep queue full of copies
		// for a slow shadow cost 6–24 µs per routed request in
		// bench/routing's isolation experiment, 128 about nothing).
		queue = 128
	}
	if workers <= 0 {
		workers = 2
	}
	g.mirror.start(queue, workers, g.shadow)
}

// shadow runs one mirrored request on the shadow version. Its answer goes
// nowhere but the comparison; its failures are counted, never returned.
func (g *Gateway) shadow(ctx context.Context, j mirrorJob) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	e, err := g.loaded(ctx, j.model, j.shadow)
	var outs []runtime.Tensor
	if err == nil {
		e.lastUse.Store(g.now().UnixNano())
		outs, err = e.pred.Predict(ctx, j.inputs)
	}
	if err != nil {
		g.mirror.failed.Add(1)
		g.observer().MirrorResult(j.model, j.shadow, telemetry.MirrorFailed)
		g.mirror.breakers.LoadOrCreate(shadowKey{j.model, j.shadow}, newBreaker).record(g.now(), true)
	} else if b, ok := g.mirror.breakers.Load(shadowKey{j.model, j.shadow}); ok {
		b.record(g.now(), false)
	}
	g.observer().Compare(j.model, j.primary, j.shadow, j.outputs, outs, j.primaryLatency, time.Since(start), err)
}
