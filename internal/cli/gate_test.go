package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gateSpec writes a canary spec of fraud@version with the given gates
// section.
func gateSpec(t *testing.T, version, gates string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deploy.yaml")
	text := "deployment:\n  model: fraud\n  version: " + version + "\n  stages:\n    - {weight: 10, duration: 1h}\n" + gates
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGateApproveAndDeployEndToEnd(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0", "3.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	holdout := ex + "fraud/holdout.csv"
	strict := gateSpec(t, "2.0.0", "  gates:\n    accuracy: {min: 0.97}\n")
	deploy := gateSpec(t, "2.0.0", "  gates:\n    accuracy: {min: 95%}\n    fairness: {group: region, maxGap: 0.25}\n    approvals: [ml-lead]\n")

	// No report yet: the rollout is refused, naming the command to run.
	r := run(t, url, "deploy", "-f", deploy)
	if r.code == 0 || !strings.Contains(r.stderr, "no gate report: run slipway gate fraud@2.0.0 --data HOLDOUT") ||
		!strings.Contains(r.stderr, "--skip-gates") {
		t.Fatalf("deploy without a report: exit %d, %s", r.code, r.stderr)
	}

	// A failing run prints both tables, stores the report and exits 1.
	r = run(t, url, "gate", "fraud@2.0.0", "--data", holdout, "-f", strict, "--ignore", "region")
	if r.code != 1 || !strings.Contains(r.stderr, "failed 1 of") || !strings.Contains(r.stderr, "accuracy") {
		t.Fatalf("failing gate: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{"GATE", "REQUIRED", "accuracy", "≥ 0.9700", "0.9610", "FAIL",
		"PREVIOUS (1.0.0)", "CANDIDATE (2.0.0)", "auc", "0.8414", "0.9178", "+0.0764", "FAILED", "stored as gate report #1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gate output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, url, "deploy", "-f", deploy)
	if r.code == 0 || !strings.Contains(r.stderr, "failed (quality accuracy: 0.9610, required ≥ 0.9700)") {
		t.Fatalf("deploy after a failed run: exit %d, %s", r.code, r.stderr)
	}

	// A passing run with an approval still to come: exit 0, PENDING.
	out := mustRun(t, url, "gate", "fraud@2.0.0", "--data", holdout, "-f", deploy)
	assertContains(t, "gate output", out, "recall gap across region", "ml-lead", "PENDING", "PASSED", "GROUP", "apac")
	r = run(t, url, "deploy", "-f", deploy)
	if r.code == 0 || !strings.Contains(r.stderr, "no approval by ml-lead: slipway approve fraud@2.0.0 --role ml-lead") ||
		strings.Contains(r.stderr, "gate report") {
		t.Fatalf("deploy without approval: exit %d, %s", r.code, r.stderr)
	}
	out = mustRun(t, url, "approve", "fraud@2.0.0", "--role", "ml-lead", "--note", "reviewed the fairness table")
	if !strings.Contains(out, "fraud@2.0.0 approved by") || !strings.Contains(out, "as ml-lead") {
		t.Fatalf("approve: %s", out)
	}
	out = mustRun(t, url, "deploy", "-f", deploy)
	if !strings.Contains(out, "rollout #1 of fraud") {
		t.Fatalf("deploy after the gates: %s", out)
	}

	// The stored report is the JSON the gate printed.
	js := mustRun(t, url, "-o", "json", "gate", "fraud@2.0.0", "--data", holdout, "-f", deploy)
	var rep struct {
		Passed bool `json:"passed"`
		Checks []struct {
			Metric, Status string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || !rep.Passed || len(rep.Checks) == 0 {
		t.Fatalf("gate -o json: %v\n%s", err, js)
	}
	for _, c := range rep.Checks {
		if c.Metric == "ml-lead" && c.Status != "PASS" {
			t.Errorf("ml-lead after approval: %s", c.Status)
		}
	}

	// Skipping the gates needs a reason, which the rollout records.
	mustRun(t, url, "rollout", "abort", "fraud")
	v3 := gateSpec(t, "3.0.0", "  gates:\n    approvals: [ml-lead]\n")
	if r := run(t, url, "deploy", "-f", v3, "--skip-gates"); r.code == 0 || !strings.Contains(r.stderr, "needs a reason") {
		t.Fatalf("skip without reason: exit %d, %s", r.code, r.stderr)
	}
	mustRun(t, url, "deploy", "-f", v3, "--skip-gates", "--reason", "hotfix for incident 42")
	out = mustRun(t, url, "rollout", "history", "fraud")
	if !strings.Contains(out, "pre-deployment gates skipped by") || !strings.Contains(out, "hotfix for incident 42") {
		t.Fatalf("history does not record the override:\n%s", out)
	}
}

func TestGateRefusals(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	bad := gateSpec(t, "2.0.0", "  gates:\n    acuracy: {min: 0.9}\n")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"gate", "fraud@1.0.0"}, []string{"--data FILE"}},
		{[]string{"gate", "fraud@1.0.0", "--data", ex + "fraud/holdout.csv", "-f", bad}, []string{`unknown gate "acuracy"`, "accuracy, auc"}},
		{[]string{"gate", "fraud@1.0.0", "--data", ex + "fraud/holdout.csv", "--min", "acc=1"}, []string{`unknown metric "acc"`}},
		{[]string{"gate", "fraud@1.0.0", "--data", ex + "digits/holdout.csv"}, []string{"digits/holdout.csv", "amount"}},
		{[]string{"deploy", "-f", bad, "--dry-run"}, []string{"deployment.gates.acuracy", "unknown gate"}},
		{[]string{"approve", "fraud@1.0.0"}, []string{"--role"}},
		{[]string{"approve", "fraud@9.9.9", "--role", "ml-lead"}, []string{"9.9.9"}},
	} {
		r := run(t, url, c.args...)
		if r.code == 0 {
			t.Errorf("slipway %s succeeded", strings.Join(c.args, " "))
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("slipway %s: %q does not mention %q", strings.Join(c.args, " "), r.stderr, w)
			}
		}
	}
}

// TestGateExamplesRunAsWritten runs every gate command that gate --help
// and the README show, as written, against a real server holding the
// fraud example's versions: each passes.
func TestGateExamplesRunAsWritten(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0", "3.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	help := helpExamples(t, "gate")
	cmds := append(help, readmeExamples(t, "gate")...)
	if len(help) != 3 || len(cmds) < 5 {
		t.Fatalf("found %d help and %d README examples", len(help), len(cmds)-len(help))
	}
	for _, args := range cmds {
		out := mustRun(t, url, localArgs(args, t.TempDir())...)
		if !strings.Contains(out, "PASSED") {
			t.Errorf("slipway %s did not pass:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(strings.Join(args, " "), "--group region") {
			assertContains(t, "gate --group region", out, "recall gap across region", "≤ max(0.1000, chance", "groups drawn at random reach")
		}
	}
}
