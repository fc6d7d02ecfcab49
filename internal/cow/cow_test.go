package cow

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestMap(t *testing.T) {
	var m Map[string, int]
	if _, ok := m.Load("a"); ok || m.Snapshot() != nil {
		t.Fatal("the zero Map is not empty")
	}
	m.Store("a", 1)
	before := m.Snapshot()
	m.Store("b", 2)
	if v, ok := m.Load("b"); !ok || v != 2 {
		t.Fatalf("b = %v, %v", v, ok)
	}
	if len(before) != 1 {
		t.Errorf("a snapshot changed after a write: %v", before)
	}
	if v := m.LoadOrCreate("a", func() int { t.Error("created an existing key"); return 0 }); v != 1 {
		t.Errorf("a = %d, want 1", v)
	}
	m.DeleteFunc(func(k string, v int) bool { return v > 1 })
	if _, ok := m.Load("b"); ok || len(m.Snapshot()) != 1 {
		t.Errorf("after DeleteFunc: %v", m.Snapshot())
	}
}

// Concurrent callers of LoadOrCreate for one key create it once and all
// get the same value.
func TestLoadOrCreateOnce(t *testing.T) {
	var m Map[int, *int]
	var created atomic.Int64
	var wg sync.WaitGroup
	got := make([]*int, 16)
	for i := range got {
		wg.Go(func() {
			got[i] = m.LoadOrCreate(7, func() *int { created.Add(1); return new(int) })
		})
	}
	wg.Wait()
	if n := created.Load(); n != 1 {
		t.Fatalf("created %d times, want once", n)
	}
	for i, p := range got {
		if p != got[0] {
			t.Fatalf("caller %d got another value", i)
		}
	}
}
