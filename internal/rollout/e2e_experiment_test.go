package rollout_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/simulate"
)

// TestE2EABTestAudience runs an A/B test limited to an audience through
// the real gateway: only users with X-Country: de take part, and the
// control also answers everyone else, who convert far more often. The
// gateway keeps the audience's traffic apart, so the test compares the
// audience alone and promotes the challenger.
func TestE2EABTestAudience(t *testing.T) {
	e := startE2E(t)
	inAudience := func(user string) bool {
		n, _ := strconv.Atoi(strings.TrimPrefix(user, "user-"))
		return n%2 == 0
	}
	stop := e.playWith(func(tr *simulate.Traffic) {
		tr.Headers = func(user string) map[string]string {
			if inAudience(user) {
				return map[string]string{"X-Country": "de"}
			}
			return map[string]string{"X-Country": "fr"}
		}
		tr.Values = func(a simulate.Answer, rng *rand.Rand) map[string]float64 {
			p := 0.30 // everyone outside the audience, on the control
			switch {
			case inAudience(a.User) && a.Version == "2.0.0":
				p = 0.20
			case inAudience(a.User):
				p = 0.05
			}
			v := 0.0
			if rng.Float64() < p {
				v = 1
			}
			return map[string]float64{"conversion": v}
		}
	})
	defer stop()
	if _, err := e.client.Deploy(e.ctx, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: ab-test
  experiment:
    metric: values.conversion
    minSamples: 200
    duration: 2m
    audience:
      - {header: X-Country, exact: de}
`)); err != nil {
		t.Fatal(err)
	}
	st := e.waitFor("fraud", time.Minute, slipway.RolloutCompleted, slipway.RolloutRolledBack, slipway.RolloutPaused)
	r := st.Rollout
	if r.Status != slipway.RolloutCompleted || e.production("fraud") != "2.0.0" {
		t.Fatalf("rollout %s (%s); want 2.0.0 promoted on the audience's conversions", r.Status, r.Reason)
	}
	_, after, _ := strings.Cut(r.Reason, " vs ")
	var control float64
	if _, err := fmt.Sscanf(after, "%g%%", &control); err != nil || control > 12 {
		t.Fatalf("reason %q: the control converts %v%%; want the audience's ~5%%, not everyone's ~17%%", r.Reason, control)
	}
	// Outside the audience every request went to the control.
	for _, resp := range e.since(time.Time{}) {
		if !inAudience(resp.User) && resp.Version != "" && resp.Version != "1.0.0" && resp.Received.Before(r.UpdatedAt.Add(-time.Second)) {
			t.Fatalf("user %s outside the audience was answered by %s during the test", resp.User, resp.Version)
		}
	}
}
