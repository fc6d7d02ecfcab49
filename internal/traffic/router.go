package traffic

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Router holds every model's Table. Reads take no lock: Table loads one
// pointer to an immutable map. Writes copy the map, change the copy and
// swap it in, so a request sees either the old table or the new one, never
// a mixture. Copying is fine for a map that changes a few times a minute
// and is read on every request. The zero value is not usable; call
// NewRouter.
type Router struct {
	// mu serialises Set and Delete, so that two writers do not each copy
	// the same map and lose the other's change. Readers never take it.
	mu     sync.Mutex
	tables atomic.Pointer[map[string]*Table] // never nil after NewRouter; the map is never modified once stored
}

// NewRouter returns a Router without tables.
func NewRouter() *Router {
	r := &Router{}
	r.tables.Store(&map[string]*Table{})
	return r
}

// Set makes t the model's table, replacing any other. A nil t is Delete.
func (r *Router) Set(model string, t *Table) {
	if t == nil {
		r.Delete(model)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(*r.tables.Load())
	next[model] = t
	r.tables.Store(&next)
}

// Delete removes the model's table; deleting a model without one does
// nothing.
func (r *Router) Delete(model string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := *r.tables.Load()
	if _, ok := cur[model]; !ok {
		return
	}
	next := maps.Clone(cur)
	delete(next, model)
	r.tables.Store(&next)
}

// Table returns the model's table, and false when the model has none.
func (r *Router) Table(model string) (*Table, bool) {
	t, ok := (*r.tables.Load())[model]
	return t, ok
}

// Route routes a request for model with its table; ok is false when the
// model has no table.
func (r *Router) Route(model string, a Attrs, rnd uint64) (d Decision, ok bool) {
	t, ok := r.Table(model)
	if !ok {
		return Decision{}, false
	}
	return t.Route(a, rnd), true
}
