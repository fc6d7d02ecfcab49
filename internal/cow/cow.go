// Package cow holds a map that readers use without locks and writers
// copy: for lookups on every request into a map that changes rarely
// (defaults per model, metric children, per-shadow state).
package cow

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Map is a copy-on-write map. The zero value is empty and ready to use.
// Reads never lock or allocate; every write copies the whole map, so it
// suits maps of a few dozen entries written now and then.
type Map[K comparable, V any] struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[K]V]
}

// Load returns the value stored for k.
func (c *Map[K, V]) Load(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// LoadOrCreate returns the value stored for k, storing create() first
// when there is none; create runs at most once per missing key, under
// the writers' lock.
func (c *Map[K, V]) LoadOrCreate(k K, create func() V) V {
	if v, ok := c.Load(k); ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.Load(k); ok {
		return v
	}
	v := create()
	c.write(func(m map[K]V) { m[k] = v })
	return v
}

// Store sets the value for k.
func (c *Map[K, V]) Store(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(func(m map[K]V) { m[k] = v })
}

// DeleteFunc removes the entries del reports true for.
func (c *Map[K, V]) DeleteFunc(del func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(func(m map[K]V) { maps.DeleteFunc(m, del) })
}

// Snapshot returns the map as it is now; the caller must not modify it.
func (c *Map[K, V]) Snapshot() map[K]V {
	if m := c.m.Load(); m != nil {
		return *m
	}
	return nil
}

// write stores a copy of the map changed by change. c.mu is held.
func (c *Map[K, V]) write(change func(map[K]V)) {
	next := map[K]V{}
	if old := c.m.Load(); old != nil {
		next = maps.Clone(*old) // never nil: only non-nil maps are stored
	}
	change(next)
	c.m.Store(&next)
}
