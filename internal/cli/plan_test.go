package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const planSpec = `deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 1
      duration: 30m
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
            - {name: latency-p99, relative: 1.5}
    - name: half
      weight: 50
      duration: 1h
  rollback:
    triggers:
      - {metric: error-rate, above: 5, action: pause}
`

func TestPlanCommand(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yaml")
	os.WriteFile(file, []byte(planSpec), 0o644)

	out := mustRun(t, url, "plan", "-f", file, "--traffic", "2M/day")
	assertContains(t, "plan", out,
		"# Deployment plan: fraud 2.0.0",
		"| Baseline (previous) | 1.0.0 (production), xgboost,",
		"| Production alias now | 1.0.0 |",
		"| Traffic | 23.1 rps (2M/day) |",
		// 1% of 2M/day over 30m: 417 requests, against 41,250 for 1.0.0.
		"| 1 | canary | canary | 1% | 30m | 0s | - | 417 | 41,250 | not enough |",
		"| 2 | half | canary | 50% | 1h | 30m | - | 41,667 | 41,667 | no analysis |",
		"~1,525 requests for a candidate at 2% (twice the 1% limit); after ~1h49m48s",
		"No gate report stored — run `slipway --server "+url+" gate fraud@2.0.0 --data HOLDOUT -f "+file+"`",
		"- trigger error-rate above 5%\n", // pauses
		"slipway --server "+url+" rollout abort fraud --reason",
		"| accuracy | 0.9425 | 0.961 | +0.0185 (+2.0%) | better |",
		"baseline error rate 1%: assumed 1%: no live traffic of 1.0.0;",
		"## Message to stakeholders (draft)",
	)

	// -o writes the file and says so; -o json gives the figures.
	md := filepath.Join(dir, "plan.md")
	out = mustRun(t, url, "plan", "-f", file, "--traffic", "5000rps", "-o", md)
	if !strings.Contains(out, "wrote the plan to "+md) {
		t.Errorf("plan -o: %q", out)
	}
	written, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(written), "| 1 | canary | canary | 1% | 30m | 0s | - | 90,000 | 8.91M | enough |") {
		t.Errorf("plan.md (%v):\n%s", err, written)
	}
	var p struct {
		Stages []struct {
			CandidateRPS float64
			Decides      int
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, url, "plan", "-f", file, "--traffic", "5000rps", "-o", "json")), &p); err != nil ||
		len(p.Stages) != 3 || p.Stages[0].CandidateRPS != 50 || p.Stages[2].CandidateRPS != 5000 {
		t.Fatalf("plan -o json: %+v, %v", p, err)
	}
}

func TestPlanRefusals(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	dir := t.TempDir()
	good := filepath.Join(dir, "deploy.yaml")
	os.WriteFile(good, []byte(planSpec), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(planSpec, "weight: 50", "weight: 150", 1)), 0o644)
	missing := filepath.Join(dir, "missing.yaml")
	os.WriteFile(missing, []byte(strings.Replace(planSpec, "version: 2.0.0", "version: 9.9.9", 1)), 0o644)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", good, "--traffic", "5000"}, `--traffic: traffic "5000": no unit; write 5000rps, 5000rpm, 5000/h or 5000/day`},
		{[]string{"plan", "-f", good, "--traffic", "lots"}, `--traffic: traffic "lots": starts with no number`},
		{[]string{"plan", "-f", good, "--traffic", "10qps"}, `unknown unit "qps"`},
		{[]string{"plan", "-f", good, "--traffic", "0rps"}, "must be above zero"},
		{[]string{"plan", "-f", bad}, bad + ":14:7: deployment.stages[1].weight: 150 is above the maximum 100"},
		{[]string{"plan", "-f", missing}, missing + `:3:3: deployment.version: fraud: no version or alias "9.9.9"`},
		{[]string{"plan"}, "-f FILE"},
		{[]string{"plan", "-f", good, "-o", filepath.Join(dir, "no", "such", "dir", "plan.md")}, "write the plan: open"},
	} {
		r := run(t, url, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}
