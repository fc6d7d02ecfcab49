package traffic

import (
	"fmt"
	"sync"
	"testing"
)

func TestRouter(t *testing.T) {
	r := NewRouter()
	if _, ok := r.Table("fraud"); ok {
		t.Fatal("empty router has a table for fraud")
	}
	if _, ok := r.Route("fraud", Attrs{}, 1); ok {
		t.Fatal("empty router routes fraud")
	}
	t1, t2 := mustCompile(t, canary(1000)), mustCompile(t, canary(2500))
	r.Set("fraud", t1)
	r.Set("churn", t2)
	if got, ok := r.Table("fraud"); !ok || got != t1 {
		t.Errorf("Table(fraud) = %p, %v; want %p", got, ok, t1)
	}
	r.Set("fraud", t2)
	if got, _ := r.Table("fraud"); got != t2 {
		t.Errorf("after Set, Table(fraud) = %p, want %p", got, t2)
	}
	r.Delete("fraud")
	r.Delete("nosuch")
	if _, ok := r.Table("fraud"); ok {
		t.Error("deleted model still has a table")
	}
	if _, ok := r.Table("churn"); !ok {
		t.Error("deleting fraud removed churn")
	}
	r.Set("churn", nil)
	if _, ok := r.Table("churn"); ok {
		t.Error("Set(nil) kept the table")
	}
}

// Writers and readers at once: run with -race. Every read sees a whole
// table, one of those written.
func TestRouterConcurrent(t *testing.T) {
	r := NewRouter()
	tables := []*Table{mustCompile(t, canary(0)), mustCompile(t, canary(1000)), mustCompile(t, canary(Total))}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				model := fmt.Sprint("m", (w+i)%3)
				if i%7 == 0 {
					r.Delete(model)
				} else {
					r.Set(model, tables[i%len(tables)])
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			a := Attrs{Header: map[string][]string{"X-User-Id": {"user-1"}}}
			for i := range 5000 {
				if d, ok := r.Route(fmt.Sprint("m", i%3), a, uint64(i)); ok && d.Version != "v1" && d.Version != "v2" {
					t.Errorf("routed to %q", d.Version)
					return
				}
			}
		})
	}
	wg.Wait()
	// Which write came last is up to the scheduler; the router must still
	// answer, and the same way twice.
	for m := range 3 {
		model := fmt.Sprint("m", m)
		t1, ok1 := r.Table(model)
		t2, ok2 := r.Table(model)
		if ok1 != ok2 || t1 != t2 {
			t.Errorf("%s: two reads without writes differ", model)
		}
	}
}
