package report_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/report"
	"github.com/slipway-ml/slipway/internal/server"
	"github.com/slipway-ml/slipway/internal/simulate"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// TestReportsOfRealRollouts runs two rollouts on a real server on
// loopback with the fraud models and holdout traffic (as the rollout
// package's end-to-end tests do): 1.0.0 → 2.0.0 promoted on its
// analysis, then 2.0.0 → 3.0.0 rolled back by a log-loss trigger. Each
// report's timeline and decisions must match the stored events.
func TestReportsOfRealRollouts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end rollouts; skipped with -short")
	}
	ctx := context.Background()
	url := serveFraud(t)
	c := &api.Client{BaseURL: url, Actor: "release-bot"}
	stop := play(t, ctx, url)
	defer stop()

	promoted := deployAndWait(t, c, `
deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 30
      duration: 5s
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1, minSamples: 50}
            - {name: log-loss, relative: 1.3, minSamples: 50}
    - name: half
      weight: 60
      duration: 1s
  rollback:
    triggers:
      - {metric: error-rate, above: 5, minSamples: 20}
`, slipway.RolloutCompleted)
	rep, out := reportOf(t, c, fmt.Sprint(promoted.ID))
	checkAgainstEvents(t, c, rep, out)
	if len(rep.Rollbacks) != 0 || !strings.Contains(rep.Outcome(), "2.0.0 took all traffic and is production (it replaced 1.0.0)") {
		t.Errorf("promoted rollout: %d rollbacks, outcome %q", len(rep.Rollbacks), rep.Outcome())
	}
	canary := rep.Stages[0]
	if canary.Name != "canary" || canary.Verdict == nil || canary.Verdict.Result != slipway.Pass || len(canary.Verdict.Metrics) != 2 {
		t.Fatalf("canary stage %+v", canary)
	}
	for _, m := range canary.Verdict.Metrics {
		// Both versions side by side, from the verdict stored at the
		// stage's end.
		row := fmt.Sprintf("| %s | %s | ", m.Metric, m.Rule)
		relative := strings.Contains(m.Rule, "baseline")
		if !strings.Contains(out, row) || m.Candidate == nil || relative && m.Baseline == nil {
			t.Errorf("metric %s: row %q missing or values absent (%v, %v)", m.Metric, row, m.Candidate, m.Baseline)
		}
	}
	assertIn(t, out, "### canary (30%): pass", "It completed after", "and 2.0.0 became production", "## Live traffic since the start")

	rolled := deployAndWait(t, c, `
deployment:
  model: fraud
  version: 3.0.0
  stages:
    - {name: canary, weight: 30, duration: 30s}
  rollback:
    triggers:
      - {metric: log-loss, relative: 1.5}
`, slipway.RolloutRolledBack)
	rep, out = reportOf(t, c, "fraud")
	if rep.Rollout.ID != rolled.ID {
		t.Fatalf("report of fraud is rollout #%d; want the latest, #%d", rep.Rollout.ID, rolled.ID)
	}
	checkAgainstEvents(t, c, rep, out)
	if len(rep.Rollbacks) != 2 || rep.Rollbacks[0].Kind != "trigger-fired" || rep.Rollbacks[1].Kind != "rolled-back" {
		t.Fatalf("rollbacks %+v", rep.Rollbacks)
	}
	assertIn(t, out, "| Rollbacks by the controller | 1 |", "| Aborts and undos by people | 0 |", "**trigger-fired** by controller", "log-loss above 1.5× baseline", "It was rolled back automatically after",
		"all traffic is back on 2.0.0", "with 30% of traffic on the candidate before it")
	if !strings.HasPrefix(rep.Outcome(), "Rolled back by controller: all traffic back on 2.0.0.") {
		t.Errorf("outcome %q", rep.Outcome())
	}
}

// serveFraud starts a server on loopback with the fraud example's
// versions pushed and 1.0.0 in production, and returns its URL.
func serveFraud(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, server.Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", ControllerTick: 50 * time.Millisecond,
		Telemetry: telemetry.Config{Bucket: 100 * time.Millisecond, Retention: 5 * time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	exs, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if ex.Model == "fraud" {
			data, _ := ex.Artifact()
			if _, err := srv.Registry.Push(ctx, registry.Push{Version: ex.Meta, Artifact: bytes.NewReader(data), Filename: ex.File}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := srv.Registry.MoveAlias(ctx, "fraud", slipway.AliasProduction, "1.0.0", "test", ""); err != nil {
		t.Fatal(err)
	}
	return "http://" + <-addrc
}

// TestReportOfAnAbortedRollout aborts a live canary by hand on a real
// server: the report counts no rollback by the controller and one abort
// by a person, and says what the person said once.
func TestReportOfAnAbortedRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end rollout; skipped with -short")
	}
	ctx := context.Background()
	url := serveFraud(t)
	stop := play(t, ctx, url)
	defer stop()
	bot := &api.Client{BaseURL: url, Actor: "release-bot"}
	r := deployAndWait(t, bot, `
deployment:
  model: fraud
  version: 2.0.0
  stages:
    - {name: canary, weight: 20, duration: 1h}
  rollback:
    triggers:
      - {metric: error-rate, above: 50}
`, slipway.RolloutProgressing)
	// Abort once the candidate has answered real requests.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := bot.Telemetry(ctx, "fraud", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := versionRequests(st, "2.0.0"); ok && v >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2.0.0 answered no traffic at 20%%: %+v", st)
		}
	}
	alice := &api.Client{BaseURL: url, Actor: "alice"}
	if _, err := alice.RolloutAct(ctx, "fraud", "abort", false, "wrong feature set"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bot, r, slipway.RolloutAborted)

	rep, out := reportOf(t, bot, fmt.Sprint(r.ID))
	checkAgainstEvents(t, bot, rep, out)
	if len(rep.Rollbacks) != 0 || len(rep.Stops) != 1 || rep.Stops[0].Kind != "aborted" || rep.Stops[0].Actor != "alice" {
		t.Fatalf("rollbacks %+v, stops %+v", rep.Rollbacks, rep.Stops)
	}
	wantOutcome := `Aborted by alice ("wrong feature set"): all traffic back on 1.0.0, 2.0.0 kept for inspection.`
	if got := rep.Outcome(); got != wantOutcome {
		t.Errorf("outcome\n got %q\nwant %q", got, wantOutcome)
	}
	assertIn(t, out,
		"| Rollbacks by the controller | 0 |",
		"| Aborts and undos by people | 1 |",
		"| Outcome | "+wantOutcome+" |",
		`It was aborted by alice ("wrong feature set") after `,
		"at stage canary; all traffic is back on 1.0.0 and 2.0.0 is kept for inspection.",
		"None by the controller: no trigger fired; people sent the traffic back (see Aborts and undos).",
		"## Aborts and undos",
		"**aborted** by alice at stage 1 canary",
		"with 20% of traffic on the candidate before it",
	)
	// The person's words appear in the summary, the stakeholder paragraph,
	// the timeline, the stages, the decisions and the abort's entry, but
	// never twice in one line.
	for _, line := range strings.Split(out, "\n") {
		if strings.Count(line, "wrong feature set") > 1 {
			t.Errorf("line repeats the abort's reason: %s", line)
		}
	}
	if strings.Contains(out, "rolled back automatically") {
		t.Errorf("an abort is worded as a rollback:\n%s", out)
	}
}

func versionRequests(st telemetry.ModelStats, version string) (int64, bool) {
	for _, v := range st.Versions {
		if v.Version == version {
			return int64(v.Requests), true
		}
	}
	return 0, false
}

func play(t *testing.T, ctx context.Context, url string) (stop func()) {
	raw, err := examples.Holdout("fraud")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := simulate.ParseCSV(raw, "", "region")
	if err != nil {
		t.Fatal(err)
	}
	tr := &simulate.Traffic{BaseURL: url, Model: "fraud", Data: ds, Users: 300, Rate: 250, Workers: 8,
		FeedbackDelay: 50 * time.Millisecond, IDPrefix: "report-"}
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() { defer close(finished); tr.Run(ctx) }()
	return func() { cancel(); <-finished }
}

func deployAndWait(t *testing.T, c *api.Client, spec string, want slipway.RolloutStatus) slipway.Rollout {
	t.Helper()
	ctx := context.Background()
	r, err := c.Deploy(ctx, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return waitFor(t, c, r, want)
}

// waitFor waits until rollout r has status want and its routing applied.
func waitFor(t *testing.T, c *api.Client, r slipway.Rollout, want slipway.RolloutStatus) slipway.Rollout {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := c.RolloutStatus(ctx, r.Model)
		if err != nil {
			t.Fatal(err)
		}
		if st.Rollout.ID == r.ID && st.Rollout.Status == want && (want.Live() || st.Rollout.Applied) {
			return st.Rollout
		}
		if !st.Rollout.Status.Live() && st.Rollout.Status != want {
			t.Fatalf("rollout #%d ended %s (%s); want %s", r.ID, st.Rollout.Status, st.Rollout.Reason, want)
		}
	}
	st, _ := c.RolloutStatus(ctx, r.Model)
	t.Fatalf("rollout #%d did not reach %s in time: %s (%s), waiting for %q", r.ID, want, st.Rollout.Status, st.Rollout.Reason, st.Waiting)
	return r
}

func reportOf(t *testing.T, c *api.Client, target string) (report.Report, string) {
	t.Helper()
	in, err := report.Gather(context.Background(), c, c, target, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(in)
	var b bytes.Buffer
	if err := rep.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	return rep, b.String()
}

// checkAgainstEvents requires the report's timeline to list every stored
// event in order with its time, actor, kind and reason, and its decisions
// to be every transition and noted analysis.
func checkAgainstEvents(t *testing.T, c *api.Client, rep report.Report, out string) {
	t.Helper()
	evs, err := c.RolloutEvents(context.Background(), rep.Rollout.Model, rep.Rollout.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 2 { // an ended rollout has its start and its end at least
		t.Fatalf("only %d events stored", len(evs))
	}
	timeline := out[strings.Index(out, "## Timeline"):strings.Index(out, "## Stages")]
	rows := strings.Split(strings.TrimSpace(timeline), "\n")[3:] // heading, blank, header, rule
	rows = rows[1:]
	if len(rows) != len(evs) {
		t.Fatalf("timeline has %d rows for %d events:\n%s", len(rows), len(evs), timeline)
	}
	var decisions int
	for i, e := range evs {
		want := fmt.Sprintf("| %s | +", e.At.UTC().Format("2006-01-02 15:04:05"))
		if !strings.HasPrefix(rows[i], want) || !strings.Contains(rows[i], "| "+e.Actor+" | "+e.Kind+" | ") ||
			!strings.Contains(rows[i], strings.ReplaceAll(e.Reason, "|", `\|`)) {
			t.Errorf("timeline row %d %q does not show event %d (%s %s by %s: %s)", i, rows[i], e.Seq, e.At.UTC(), e.Kind, e.Actor, e.Reason)
		}
		if e.Kind != "decision" || e.Verdict != nil {
			decisions++
			if !strings.Contains(out, fmt.Sprintf("**%s** by %s at %s", e.Kind, e.Actor, e.At.UTC().Format("2006-01-02 15:04:05"))) {
				t.Errorf("decision %d (%s by %s) missing", e.Seq, e.Kind, e.Actor)
			}
		}
	}
	if len(rep.Decisions) != decisions {
		t.Errorf("%d decisions; the events hold %d", len(rep.Decisions), decisions)
	}
	if first, last := evs[0], evs[len(evs)-1]; rep.Duration() < last.At.Sub(first.At)-time.Millisecond || first.Kind != "started" {
		t.Errorf("duration %v; events span %v", rep.Duration(), last.At.Sub(first.At))
	}
	if first := evs[0]; !strings.Contains(out, "by "+first.Actor) {
		t.Errorf("the starter %s is not named", first.Actor)
	}
}

func assertIn(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
}
