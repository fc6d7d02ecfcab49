package runbook

import (
	"strings"
	"testing"
)

// TestExperimentPlans renders the runbook of each experiment strategy: the
// arms, the decision metric and the rollback commands are in it.
func TestExperimentPlans(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{`deployment:
  model: fraud
  version: 2.0.0
  strategy: ab-test
  experiment:
    metric: values.conversion
    duration: 7d
    guardrails: [{name: error-rate, relative: 1.5}]
`, []string{"ab-test", "values.conversion", "arms: production (control) 50%, 2.0.0 50%", "slipway rollout abort fraud"}},
		{`deployment:
  model: fraud
  version: 2.0.0
  strategy: bandit
  experiment:
    metric: values.conversion
    duration: 2h
`, []string{"bandit", "thompson allocates by values.conversion, floor 5%"}},
		{`deployment:
  model: fraud
  version: 2.0.0
  strategy: champion-challenger
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 10}]
    duration: 7d
`, []string{"champion-challenger", "arms: production (control) 90%, 2.0.0 10%"}},
	} {
		out := render(t, Build(inputs(t, tc.spec, "500rps")))
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("plan lacks %q:\n%s", w, out)
			}
		}
	}
}
