package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRolloutChallenge adds challengers to a live champion-challenger
// through the CLI and the real server.
func TestRolloutChallenge(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0", "3.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	spec := filepath.Join(t.TempDir(), "cc.yaml")
	if err := os.WriteFile(spec, []byte(`
deployment:
  model: fraud
  version: 2.0.0
  strategy: champion-challenger
  experiment:
    metric: values.conversion
    arms: [{version: 2.0.0, share: 10}]
    duration: 7d
`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, url, "deploy", "-f", spec)
	out := mustRun(t, url, "rollout", "challenge", "fraud", "3.0.0", "--share", "15", "--reason", "new features")
	assertContains(t, "challenge output", out, "champion 1.0.0", "challenger 3.0.0 added at 15% by", "new features")
	if r := run(t, url, "rollout", "challenge", "fraud", "3.0.0"); r.code == 0 || !strings.Contains(r.stderr, "3.0.0 is a challenger already") {
		t.Errorf("second challenge: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, url, "rollout", "challenge", "fraud", "1.0.0"); r.code == 0 || !strings.Contains(r.stderr, "1.0.0 is the champion") {
		t.Errorf("challenging the champion: exit %d, %q", r.code, r.stderr)
	}
	out = mustRun(t, url, "rollout", "history", "fraud")
	if !strings.Contains(out, "challenger-added") {
		t.Errorf("history lacks the added challenger:\n%s", out)
	}
	out = mustRun(t, url, "route", "show", "fraud")
	assertContains(t, "route show", out, "3.0.0", "2.0.0", "1.0.0")
}
