package serving_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/serving"
)

// Versions that no unpinned traffic goes to are unloaded once idle; the
// production version stays loaded.
func TestSweepUnloadsIdleVersions(t *testing.T) {
	_, srv := gateway(t)
	g := srv.Gateway
	now := time.Now()
	g.Now = func() time.Time { return now }
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if err := g.Load(ctx, "fraud", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Ready(ctx, "fraud", ""); err != nil { // makes 2.0.0 the default
		t.Fatal(err)
	}
	if got := g.Sweep(time.Minute); len(got) != 0 {
		t.Fatalf("swept fresh versions: %v", got)
	}
	now = now.Add(2 * time.Minute)
	got := g.Sweep(time.Minute)
	if len(got) != 1 || got[0] != "fraud@1.0.0" {
		t.Fatalf("swept %v, want [fraud@1.0.0]", got)
	}
	if s := g.Status("fraud", "1.0.0"); s.State != serving.StateNotLoaded {
		t.Fatalf("1.0.0 is %s after sweep", s.State)
	}
	if s := g.Status("fraud", "2.0.0"); s.State != serving.StateReady {
		t.Fatalf("production version 2.0.0 is %s after sweep", s.State)
	}
	// An unloaded version loads again on its next request.
	if err := g.Ready(ctx, "fraud", "1.0.0"); err != nil {
		t.Fatal(err)
	}
}
