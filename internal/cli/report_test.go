package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

// The report of real rollouts is tested end to end in internal/report;
// this checks the command: what it asks the server for, and where its
// output goes.
func TestReportCommand(t *testing.T) {
	fake := &fakeController{events: testEvents(), rollouts: []slipway.Rollout{testRollout()}}
	url := serveController(t, fake)

	out := mustRun(t, url, "report", "fraud")
	assertContains(t, "report", out,
		"# Post-deployment report: fraud 1.0.0 (production) → 2.0.0 (rollout #7)",
		"| alice | started | 1 canary | 1% | deployed from deploy.yaml |",
		"**rolled-back** by controller",
		"trigger error-rate fired: 6.1% > 5%",
		"## Live traffic since the start",
	)
	if fake.eventsID != 7 {
		t.Errorf("report fraud asked for the events of rollout %d; want 7", fake.eventsID)
	}

	file := filepath.Join(t.TempDir(), "report.md")
	if out := mustRun(t, url, "report", "#7", "-o", file); !strings.Contains(out, "wrote the report to "+file) {
		t.Errorf("report -o: %q", out)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "## Timeline") {
		t.Errorf("report.md (%v):\n%s", err, b)
	}
	var rep struct {
		Rollout   struct{ ID int64 }
		Decisions []json.RawMessage
	}
	if err := json.Unmarshal([]byte(mustRun(t, url, "report", "7", "-o", "json")), &rep); err != nil || rep.Rollout.ID != 7 || len(rep.Decisions) != 4 {
		t.Fatalf("report -o json: %+v, %v", rep, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "#99"}, "no rollout #99"},
		{[]string{"report"}, "accepts 1 arg(s)"},
	} {
		if r := run(t, url, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %s: exit %d, %q; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}
