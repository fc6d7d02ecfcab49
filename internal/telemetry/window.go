package telemetry

import (
	"math"
	"sync"
	"time"
)

// ring is a fixed number of time buckets reused in turn: the bucket of
// epoch e (time / width) lives in slot e mod len(slots) and is reset when a
// newer epoch takes the slot. A ring keeps the most recent len(slots)
// epochs. Only the newest bucket is written; when a newer one starts, the
// ring calls seal on the one before. A ring does no locking of its own.
type ring[T any] struct {
	width  int64 // bucket width in nanoseconds
	slots  []slot[T]
	latest int64 // newest epoch written
	reset  func(*T)
	seal   func(*T) // nil: buckets are not sealed
}

type slot[T any] struct {
	epoch int64
	v     T
}

func newRing[T any](n int, width int64, reset, seal func(*T)) ring[T] {
	slots := make([]slot[T], n)
	for i := range slots {
		slots[i].epoch = math.MinInt64
	}
	return ring[T]{width: width, slots: slots, latest: math.MinInt64, reset: reset, seal: seal}
}

// epoch is the bucket that holds time t (nanoseconds since the Unix epoch).
func (r *ring[T]) epoch(t int64) int64 {
	e := t / r.width
	if t%r.width < 0 {
		e--
	}
	return e
}

func (r *ring[T]) slot(e int64) *slot[T] {
	i := e % int64(len(r.slots))
	if i < 0 {
		i += int64(len(r.slots))
	}
	return &r.slots[i]
}

// at returns the bucket to write for time t: the newest bucket, starting
// a new one when t is past it. A time before the newest bucket (callers
// racing across a bucket boundary, a clock stepping back) counts in the
// newest bucket, so nothing recorded is lost and older buckets stay
// sealed.
func (r *ring[T]) at(t int64) *T {
	if e := r.epoch(t); e > r.latest {
		if old := r.slot(r.latest); r.seal != nil && old.epoch == r.latest {
			r.seal(&old.v)
		}
		r.latest = e
	}
	s := r.slot(r.latest)
	if s.epoch != r.latest {
		r.reset(&s.v)
		s.epoch = r.latest
	}
	return &s.v
}

// get returns the bucket of epoch e if the ring still holds it.
func (r *ring[T]) get(e int64) (*T, bool) {
	s := r.slot(e)
	if s.epoch != e {
		return nil, false
	}
	return &s.v, true
}

// span returns the epochs a window of length w ending at now covers: every
// bucket that overlaps [now-w, now], at most the whole ring. A window of
// zero or less means the whole ring.
func (r *ring[T]) span(now int64, w time.Duration) (first, last int64) {
	last = r.epoch(now)
	oldest := last - int64(len(r.slots)) + 1
	if w <= 0 {
		return oldest, last
	}
	first = r.epoch(now - int64(w))
	if first < oldest {
		first = oldest
	}
	return first, last
}

// series is the measurements of one (model, version).
type series struct {
	model, version string
	created        int64 // when the series was made, in Unix nanoseconds
	prom           seriesMetrics

	mu       sync.Mutex // guards everything below
	buckets  ring[Aggregate]
	pool     sketchPool
	features featureIndex
	values   nameIndex
}

func newSeries(model, version string, slots int, width int64, maxFeatures int, now int64, m *metrics, l *sketchLayout) *series {
	s := &series{
		model:    model,
		version:  version,
		created:  now,
		prom:     m.forSeries(model, version),
		pool:     sketchPool{sketchLayout: l},
		features: newFeatureIndex(maxFeatures),
		values:   nameIndex{max: maxValueNames},
	}
	s.buckets = newRing(slots, width, (*Aggregate).reset, func(a *Aggregate) { a.seal(&s.pool) })
	return s
}

// bucketAt returns the bucket to write for time t; s.mu must be held.
func (s *series) bucketAt(t int64) *Aggregate { return s.buckets.at(t) }

// window merges the buckets that cover [now-w, now] into a new Aggregate.
// The lock is taken per bucket, so Record waits at most for one merge.
func (s *series) window(now int64, w time.Duration) Aggregate {
	first, last := s.buckets.span(now, w)
	var agg Aggregate
	for e := first; e <= last; e++ {
		s.mu.Lock()
		if b, ok := s.buckets.get(e); ok {
			agg.merge(b, s.pool.sketchLayout)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	agg.nameFeatures(s.features.names)
	s.mu.Unlock()
	start := max(first*s.buckets.width, s.created)
	agg.Start = time.Unix(0, start).UTC()
	agg.End = time.Unix(0, now).UTC()
	return agg
}
