package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

func f64(x float64) *float64 { return &x }

var testAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.Local)

func testRollout() slipway.Rollout {
	return slipway.Rollout{ID: 7, Model: "fraud", Candidate: "2.0.0", Baseline: "1.0.0", BaselineRef: "production",
		Strategy: "canary", Status: slipway.RolloutProgressing, Step: 1, StepStarted: testAt,
		Reason: "stage canary passed its analysis", Rev: 4, CreatedBy: "alice", CreatedAt: testAt.Add(-time.Hour), UpdatedAt: testAt}
}

// testStatus is a canary at its second step, waiting for data.
func testStatus() rollout.Status {
	return rollout.Status{
		Rollout: testRollout(),
		Steps: []rollout.StepView{
			{Name: "canary", Kind: "canary", Weight: 100, DurationSeconds: 1800, Analysis: []string{"error-rate ≤ 1% (n ≥ 100)", "latency-p99 ≤ 100ms"}},
			{Name: "limited", Kind: "canary", Weight: 1000, Mirror: 500, DurationSeconds: 3600},
			{Name: "full", Kind: "switch", Weight: 10000, Approval: true},
		},
		Weight: 1000, Mirror: 500,
		ElapsedSeconds: 750, RemainingSeconds: 2850,
		Verdict: &slipway.Verdict{Result: slipway.Inconclusive, Reason: "error-rate has 37 of 100 samples", Window: 5 * time.Minute,
			Metrics: []slipway.MetricResult{
				{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Inconclusive, Candidate: f64(0.4), Baseline: f64(0.5),
					CandidateN: 37, BaselineN: 412, MinSamples: 100, Reason: "37 of 100 samples"},
				{Metric: "latency-p99", Rule: "latency-p99 ≤ 100ms", Result: slipway.Pass, Candidate: f64(41.5), CandidateN: 37, Reason: "41.5ms ≤ 100ms"},
			}},
		Triggers: []slipway.MetricResult{{Metric: "error-rate", Rule: "trigger: error-rate > 5% → rollback", Result: slipway.Pass,
			Candidate: f64(0.4), CandidateN: 37, Reason: "0.4% ≤ 5%"}},
		Waiting: "120 more samples of error-rate",
	}
}

func testStats() telemetry.ModelStats {
	return telemetry.ModelStats{Model: "fraud", WindowSeconds: 300, Versions: []telemetry.VersionStats{
		{Version: "1.0.0", Requests: 10800, ErrorRate: 0.005, LatencyMS: telemetry.LatencyStats{P50: 3.2, P99: 17},
			Quality: telemetry.QualityStats{N: 900, Accuracy: f64(0.931)}},
		{Version: "2.0.0", Requests: 1200, ErrorRate: 0.004, LatencyMS: telemetry.LatencyStats{P50: 2.9, P99: 41.5},
			Quality: telemetry.QualityStats{N: 100, Accuracy: f64(0.948)}},
	}}
}

func testEvents() []slipway.RolloutEvent {
	fail := &slipway.Verdict{Result: slipway.Fail, Reason: "error-rate 6.1% > 5%", Window: 2 * time.Minute,
		Metrics: []slipway.MetricResult{{Metric: "error-rate", Rule: "trigger: error-rate > 5% → rollback", Result: slipway.Fail,
			Candidate: f64(6.1), Baseline: f64(0.5), CandidateN: 820, BaselineN: 7400, MinSamples: 100, Reason: "6.1% > 5%"}}}
	return []slipway.RolloutEvent{
		{Rollout: 7, Seq: 1, At: testAt, Actor: "alice", Kind: "started", Status: slipway.RolloutProgressing, StepName: "canary", Weight: 100, Reason: "deployed from deploy.yaml"},
		{Rollout: 7, Seq: 2, At: testAt.Add(time.Minute), Actor: "controller", Kind: "decision", Status: slipway.RolloutProgressing, StepName: "canary", Weight: 100,
			Reason: "waiting for data", Verdict: &slipway.Verdict{Result: slipway.Inconclusive, Reason: "error-rate has 37 of 100 samples", Window: time.Minute,
				Metrics: []slipway.MetricResult{{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Inconclusive, CandidateN: 37, BaselineN: 400, MinSamples: 100, Reason: "37 of 100 samples"}}}},
		{Rollout: 7, Seq: 3, At: testAt.Add(2 * time.Minute), Actor: "controller", Kind: "decision", Status: slipway.RolloutProgressing, StepName: "canary", Weight: 100, Reason: "heartbeat"},
		{Rollout: 7, Seq: 4, At: testAt.Add(30 * time.Minute), Actor: "controller", Kind: "stage-advanced", Status: slipway.RolloutProgressing, Step: 1, StepName: "limited", Weight: 1000, Reason: "stage canary passed"},
		{Rollout: 7, Seq: 5, At: testAt.Add(35 * time.Minute), Actor: "controller", Kind: "rolled-back", Status: slipway.RolloutRolledBack, Step: 1, StepName: "limited", Weight: 0,
			Reason: "trigger error-rate fired: 6.1% > 5%", Verdict: fail},
	}
}

func lineWith(t *testing.T, out, substr string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("no line contains %q in:\n%s", substr, out)
	return ""
}

// rowStarting returns the first line of out that starts with prefix.
func rowStarting(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, out)
	return ""
}

func assertContains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

func TestRenderRolloutStatus(t *testing.T) {
	stats := testStats()
	var b bytes.Buffer
	renderRolloutStatus(&b, testStatus(), &stats)
	out := b.String()
	assertContains(t, "status", out,
		"fraud: 1.0.0 (production) → 2.0.0 (canary), progressing",
		"reason: stage canary passed its analysis",
		"rollout #7", "by alice",
		"weights now: candidate 10% / baseline 90%; 5% of requests mirrored to the candidate",
		"step 2/3 limited: 12m30s elapsed, 47m30s remaining",
		"waiting for: 120 more samples of error-rate",
		"latest verdict: inconclusive over 5m: error-rate has 37 of 100 samples",
		"rollback triggers:", "trigger: error-rate > 5% → rollback",
		"live traffic over the last 5m:", "CANDIDATE 2.0.0", "BASELINE 1.0.0",
	)
	if cur := lineWith(t, out, currentStep); !strings.Contains(cur, "limited") || !strings.Contains(cur, "10%") || !strings.Contains(cur, "1h") {
		t.Errorf("current step line %q; want step limited at 10%% for 1h", cur)
	}
	if n := strings.Count(out, currentStep); n != 1 {
		t.Errorf("%d current-step markers; want 1", n)
	}
	for _, tc := range []struct{ key, want string }{
		{"1  canary", "error-rate ≤ 1% (n ≥ 100); latency-p99 ≤ 100ms"},
		{"switch", "required"},
	} {
		if l := lineWith(t, out, tc.key); !strings.Contains(l, tc.want) {
			t.Errorf("step line %q lacks %q", l, tc.want)
		}
	}
	// Table rows, by the first cell: the verdict's metrics, then live
	// traffic.
	for _, tc := range []struct{ row, want string }{
		{"error-rate ", "0.4  "},
		{"error-rate ", "0.5  "},
		{"error-rate ", "37/412 (min 100)"},
		{"error-rate ", "inconclusive"},
		{"latency-p99 ", "41.5ms ≤ 100ms"},
		{"latency-p99 ", "pass"},
		{"latency-p99 ", "37/- "},
		{"requests ", "1200"},
		{"requests ", "10800"},
		{"error rate ", "0.40%"},
		{"error rate ", "0.50%"},
		{"latency p99 ", "41.5 ms"},
		{"accuracy ", "0.948 (n=100)"},
		{"accuracy ", "0.931 (n=900)"},
	} {
		if l := rowStarting(t, out, tc.row); !strings.Contains(l, tc.want) {
			t.Errorf("row %q lacks %q", l, tc.want)
		}
	}
	// The candidate's column comes first.
	if l := rowStarting(t, out, "requests "); strings.Index(l, "1200") > strings.Index(l, "10800") {
		t.Errorf("candidate is not the first column: %q", l)
	}

	// Without telemetry the section is left out; an ended rollout shows
	// no timing.
	st := testStatus()
	st.Rollout.Status, st.Waiting, st.Verdict = slipway.RolloutCompleted, "", nil
	b.Reset()
	renderRolloutStatus(&b, st, nil)
	for _, absent := range []string{"live traffic", "elapsed", "waiting for", "latest verdict"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("completed rollout without telemetry shows %q:\n%s", absent, b.String())
		}
	}

	// A failing webhook is shown with its error.
	st.Notifications = []rollout.NotificationStatus{
		{Webhook: "https://hooks.example.com/…", Sent: 2, Failed: 1, Failing: true, LastError: "POST https://hooks.example.com/…: 500 Internal Server Error"},
		{Webhook: "https://ok.example.com", Sent: 3},
	}
	b.Reset()
	renderRolloutStatus(&b, st, nil)
	for _, want := range []string{
		"notifications to https://hooks.example.com/…: 2 sent, 1 failed, 0 dropped; FAILING: POST https://hooks.example.com/…: 500",
		"notifications to https://ok.example.com: 3 sent, 0 failed, 0 dropped; ok",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}

func TestRenderVersionsWithoutTraffic(t *testing.T) {
	var b bytes.Buffer
	renderVersionsSideBySide(&b, telemetry.ModelStats{WindowSeconds: 60}, "2.0.0", "1.0.0")
	if got := b.String(); got != "live traffic: no requests to 2.0.0 or 1.0.0 in the last 1m\n" {
		t.Fatalf("got %q", got)
	}
	stats := testStats()
	stats.Versions = stats.Versions[:1] // the baseline only
	b.Reset()
	renderVersionsSideBySide(&b, stats, "2.0.0", "1.0.0")
	if l := rowStarting(t, b.String(), "requests "); !strings.Contains(l, "-") || !strings.Contains(l, "10800") {
		t.Fatalf("candidate without traffic: %q", l)
	}
}

func TestRenderExplain(t *testing.T) {
	var b bytes.Buffer
	renderExplain(&b, "fraud", testEvents())
	out := b.String()
	assertContains(t, "explain", out,
		"rollout #7 of fraud: 4 decisions",
		"started by alice → progressing at step 1 canary, candidate 1%",
		"deployed from deploy.yaml",
		"verdict: inconclusive over 1m: error-rate has 37 of 100 samples",
		"stage-advanced by controller → progressing at step 2 limited, candidate 10%",
		"rolled-back by controller → rolled-back at step 2 limited, candidate 0%",
		"trigger error-rate fired: 6.1% > 5%",
		"verdict: fail over 2m: error-rate 6.1% > 5%",
	)
	if strings.Contains(out, "heartbeat") {
		t.Errorf("a decision without a verdict is explained:\n%s", out)
	}
	row := lineWith(t, out, "trigger: error-rate > 5% → rollback")
	for _, want := range []string{"6.1  ", "0.5  ", "820/7400 (min 100)", "fail", "6.1% > 5%"} {
		if !strings.Contains(row, want) {
			t.Errorf("metric row %q lacks %q", row, want)
		}
	}
	if !strings.HasPrefix(row, "    ") {
		t.Errorf("metric row %q is not indented under its decision", row)
	}
	if l := lineWith(t, out, "37/400 (min 100)"); !strings.Contains(l, "-  ") {
		t.Errorf("unmeasured values should show as -: %q", l)
	}

	b.Reset()
	renderExplain(&b, "fraud", nil)
	if b.String() != "fraud: no decisions recorded\n" {
		t.Fatalf("explain without events: %q", b.String())
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 30 * time.Minute: "30m", time.Hour: "1h",
		90 * time.Minute: "1h30m", 750 * time.Second: "12m30s", 1500 * time.Millisecond: "2s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q; want %q", d, got, want)
		}
	}
}

// fakeController stands in for the rollout controller behind a real API
// server, recording what the commands send.
type fakeController struct {
	mu sync.Mutex // guards every field
	// deployErr and actErr, when set, are what Deploy/DryRun and Act answer.
	deployErr, actErr error
	// statuses are answered in turn, the last one again and again.
	statuses []rollout.Status
	events   []slipway.RolloutEvent
	rollouts []slipway.Rollout

	spec        []byte
	actor       string
	dryRun      bool
	acts        []rollout.Request
	filter      store.RolloutFilter
	eventsID    int64
	statusCalls int
}

func (f *fakeController) Deploy(ctx context.Context, spec []byte, actor string) (slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec, f.actor = spec, actor
	if f.deployErr != nil {
		return slipway.Rollout{}, f.deployErr
	}
	r := testRollout()
	r.ID, r.Step, r.Reason, r.CreatedBy = 8, 0, "deployed", actor
	return r, nil
}

func (f *fakeController) DryRun(ctx context.Context, spec []byte) (rollout.DryRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spec, f.dryRun = spec, true
	if f.deployErr != nil {
		return rollout.DryRun{}, f.deployErr
	}
	return rollout.DryRun{
		Spec:            "deployment:\n  model: fraud\n  version: 2.0.0\n  baseline: production\n  strategy: canary\n",
		Plan:            "1. canary: 1% of traffic for 30m, then analysis error-rate ≤ 1%\n2. full: 100%",
		DurationSeconds: 5400,
	}, nil
}

func (f *fakeController) Act(ctx context.Context, req rollout.Request) (slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, req)
	if f.actErr != nil {
		return slipway.Rollout{}, f.actErr
	}
	r := testRollout()
	r.Status, r.Step = slipway.RolloutCompleted, 2
	r.Reason = "promoted to 100% by " + req.Actor + ": " + req.Reason
	return r, nil
}

func (f *fakeController) Status(ctx context.Context, model string) (rollout.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if model != "fraud" || len(f.statuses) == 0 {
		return rollout.Status{}, slipway.Errorf(slipway.ErrNotFound, "model %s has no rollouts", model)
	}
	st := f.statuses[min(f.statusCalls, len(f.statuses)-1)]
	f.statusCalls++
	return st, nil
}

func (f *fakeController) List(ctx context.Context, flt store.RolloutFilter) ([]slipway.Rollout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filter = flt
	return f.rollouts, nil
}

func (f *fakeController) Events(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventsID = id
	if model != "fraud" {
		return nil, slipway.Errorf(slipway.ErrNotFound, "model %s has no rollouts", model)
	}
	return f.events, nil
}

var _ api.Rollouts = (*fakeController)(nil)

type fixedStats telemetry.ModelStats

func (s fixedStats) Snapshot(model string, window time.Duration) telemetry.ModelStats {
	return telemetry.ModelStats(s)
}

// serveController runs the control-plane API over a real registry
// holding model fraud, with fake as its rollout controller and fixed
// telemetry, and returns its URL.
func serveController(t *testing.T, fake *fakeController) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.OpenDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); blobs.Close() })
	reg := registry.New(st, blobs)
	if _, err := reg.PutModel(ctx, slipway.Model{Name: "fraud"}); err != nil {
		t.Fatal(err)
	}
	s := api.NewServer(reg)
	s.Rollouts = fake
	s.Stats = fixedStats(testStats())
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL
}

const deploySpec = `deployment:
  model: fraud
  version: 2.0.0
  strategy: canary
  stages:
    - name: canary
      weight: 1
      duration: 30m
`

func TestDeployCommand(t *testing.T) {
	t.Setenv("SLIPWAY_ACTOR", "carol")
	fake := &fakeController{}
	url := serveController(t, fake)
	file := filepath.Join(t.TempDir(), "deploy.yaml")
	os.WriteFile(file, []byte(deploySpec), 0o644)

	out := mustRun(t, url, "deploy", "-f", file)
	assertContains(t, "deploy", out,
		"rollout #8 of fraud: 1.0.0 (production) → 2.0.0 (canary) started",
		"slipway rollout status fraud --watch")
	if string(fake.spec) != deploySpec || fake.actor != "carol" || fake.dryRun {
		t.Fatalf("controller got spec %q from %q (dry run %v)", fake.spec, fake.actor, fake.dryRun)
	}

	var r slipway.Rollout
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "deploy", "-f", file)), &r); err != nil || r.ID != 8 {
		t.Fatalf("deploy -o json: %+v, %v", r, err)
	}

	out = mustRun(t, url, "deploy", "-f", file, "--dry-run")
	assertContains(t, "dry run", out,
		"baseline: production", // the defaulted spec
		"plan:\n1. canary: 1% of traffic for 30m",
		"2. full: 100%",
		"expected duration: 1h30m")
	if !fake.dryRun {
		t.Fatal("--dry-run did not ask for a dry run")
	}

	// -f - reads standard input.
	fake.spec = nil
	var stdout, stderr bytes.Buffer
	root := New("test", &stdout, &stderr)
	root.SetIn(strings.NewReader(deploySpec))
	root.SetArgs([]string{"--server", url, "deploy", "-f", "-"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("deploy -f -: %v", err)
	}
	if string(fake.spec) != deploySpec {
		t.Fatalf("deploy -f - sent %q", fake.spec)
	}
}

func TestDeployRefusals(t *testing.T) {
	specErr := "spec:7: deployment.stages[0].weight: 250 is over 100\nspec:8: deployment.stages[0].duration: \"soon\": want a duration such as 30m"
	fake := &fakeController{deployErr: slipway.Errorf(slipway.ErrInvalid, "%s", specErr)}
	url := serveController(t, fake)
	file := filepath.Join(t.TempDir(), "deploy.yaml")
	os.WriteFile(file, []byte(deploySpec), 0o644)

	for _, args := range [][]string{{"deploy", "-f", file}, {"deploy", "-f", file, "--dry-run"}} {
		r := run(t, url, args...)
		if r.code == 0 || !strings.Contains(r.stderr, specErr) || r.stdout != "" {
			t.Errorf("slipway %s: exit %d, stdout %q, stderr %q; want the server's message with every line", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	fake.deployErr = slipway.Errorf(slipway.ErrConflict, "fraud has a live rollout (#7): finish or abort it first")
	if r := run(t, url, "deploy", "-f", file); r.code == 0 || !strings.Contains(r.stderr, "fraud has a live rollout (#7)") {
		t.Errorf("conflicting deploy: exit %d, %q", r.code, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "-f FILE"},
		{[]string{"deploy", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml: no such file"},
	} {
		if r := run(t, url, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %s: exit %d, %q; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

func TestRolloutCommands(t *testing.T) {
	t.Setenv("SLIPWAY_ACTOR", "carol")
	listed := testRollout()
	listed.Reason = strings.Repeat("a very long reason ", 10)
	fake := &fakeController{statuses: []rollout.Status{testStatus()}, events: testEvents(), rollouts: []slipway.Rollout{listed}}
	url := serveController(t, fake)

	out := mustRun(t, url, "rollout", "list", "--model", "fraud", "--live", "--limit", "3")
	assertContains(t, "list", out, "ID", "CANDIDATE", "BASELINE", "STRATEGY", "STATUS", "STEP", "UPDATED", "REASON",
		"fraud", "2.0.0", "1.0.0 (production)", "canary", "progressing", "…")
	if strings.Contains(out, listed.Reason) {
		t.Errorf("the reason is not truncated:\n%s", out)
	}
	if want := (store.RolloutFilter{Model: "fraud", Live: true, Limit: 3}); fake.filter != want {
		t.Errorf("list sent filter %+v; want %+v", fake.filter, want)
	}
	var rs []slipway.Rollout
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "rollout", "list")), &rs); err != nil || len(rs) != 1 || rs[0].ID != 7 {
		t.Fatalf("list -o json: %+v, %v", rs, err)
	}

	out = mustRun(t, url, "rollout", "status", "fraud")
	assertContains(t, "status", out, currentStep, "weights now: candidate 10% / baseline 90%",
		"waiting for: 120 more samples of error-rate", "37/412 (min 100)", "CANDIDATE 2.0.0", "0.948 (n=100)")
	var st rollout.Status
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "rollout", "status", "fraud")), &st); err != nil ||
		st.Verdict == nil || st.Verdict.Window != 5*time.Minute || st.ElapsedSeconds != 750 {
		t.Fatalf("status -o json: %+v, %v", st, err)
	}
	if r := run(t, url, "rollout", "status", "digits"); r.code == 0 || !strings.Contains(r.stderr, "model digits has no rollouts") {
		t.Errorf("status of a model without rollouts: exit %d, %q", r.code, r.stderr)
	}

	out = mustRun(t, url, "rollout", "promote", "fraud", "--full", "--reason", "metrics are fine")
	assertContains(t, "promote", out, "rollout #7 of fraud: completed at step 3", "reason: promoted to 100% by carol: metrics are fine")
	want := rollout.Request{Model: "fraud", Action: "promote", Full: true, Actor: "carol", Reason: "metrics are fine"}
	if got := fake.acts[len(fake.acts)-1]; got != want {
		t.Errorf("promote sent %+v; want %+v", got, want)
	}
	for _, action := range []string{"pause", "resume", "abort", "undo", "retry"} {
		mustRun(t, url, "rollout", action, "fraud", "--reason", "by hand")
		if got := fake.acts[len(fake.acts)-1]; got.Action != action || got.Reason != "by hand" || got.Full {
			t.Errorf("%s sent %+v", action, got)
		}
	}
	if r := run(t, url, "rollout", "pause", "fraud", "--full"); r.code == 0 || !strings.Contains(r.stderr, "unknown flag: --full") {
		t.Errorf("pause --full: exit %d, %q", r.code, r.stderr)
	}
	fake.actErr = slipway.Errorf(slipway.ErrConflict, "rollout #7 of fraud is completed: nothing to pause")
	if r := run(t, url, "rollout", "pause", "fraud"); r.code == 0 || !strings.Contains(r.stderr, "rollout #7 of fraud is completed: nothing to pause") {
		t.Errorf("refused pause: exit %d, %q", r.code, r.stderr)
	}

	out = mustRun(t, url, "rollout", "history", "fraud", "--id", "7")
	assertContains(t, "history", out, "TIME", "ACTOR", "EVENT", "WEIGHT", "started", "alice", "2 limited", "rolled-back", "trigger error-rate fired", "heartbeat")
	if fake.eventsID != 7 {
		t.Errorf("history --id 7 asked for rollout %d", fake.eventsID)
	}
	var events []slipway.RolloutEvent
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "rollout", "history", "fraud")), &events); err != nil || len(events) != 5 || fake.eventsID != 0 {
		t.Fatalf("history -o json: %d events, %v, id %d", len(events), err, fake.eventsID)
	}

	out = mustRun(t, url, "rollout", "explain", "fraud")
	assertContains(t, "explain", out, "rollout #7 of fraud: 4 decisions", "820/7400 (min 100)", "verdict: fail over 2m")
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "rollout", "explain", "fraud")), &events); err != nil ||
		len(events) != 4 || events[3].Verdict.Metrics[0].CandidateN != 820 {
		t.Fatalf("explain -o json: %+v, %v", events, err)
	}
}

func TestRolloutStatusWatch(t *testing.T) {
	live := testStatus()
	done := testStatus()
	done.Rollout.Status, done.Rollout.Reason, done.Waiting = slipway.RolloutCompleted, "all traffic on 2.0.0", ""
	fake := &fakeController{statuses: []rollout.Status{live, live, done}}
	url := serveController(t, fake)

	out := mustRun(t, url, "rollout", "status", "fraud", "--watch", "--interval", "10ms")
	if n := strings.Count(out, "weights now:"); n != 3 {
		t.Fatalf("%d snapshots; want 3, the last when the rollout completed:\n%s", n, out)
	}
	if n := strings.Count(out, "\n--- "); n != 2 {
		t.Errorf("%d separators; want 2", n)
	}
	if strings.Contains(out, "\033[") {
		t.Error("the watch of a non-terminal writes terminal escapes")
	}
	if !strings.HasSuffix(strings.TrimSpace(lineWith(t, out, "reason: all traffic")), "all traffic on 2.0.0") {
		t.Error("the last snapshot is not the completed rollout")
	}
	if r := run(t, url, "rollout", "status", "fraud", "--watch", "--interval", "0s"); r.code == 0 || !strings.Contains(r.stderr, "--interval") {
		t.Errorf("--interval 0s: exit %d, %q", r.code, r.stderr)
	}
}

func TestPrintDryRunStatesDurationOnce(t *testing.T) {
	for _, tc := range []struct {
		plan string
		want int
	}{
		{"1. canary 1% for 30m", 1},
		{"1. canary 1% for 30m\nExpected duration: 30m.", 1},
	} {
		var b bytes.Buffer
		printDryRun(&b, rollout.DryRun{Spec: "deployment: {}", Plan: tc.plan, DurationSeconds: 1800})
		if n := strings.Count(strings.ToLower(b.String()), "expected duration: 30m"); n != tc.want {
			t.Errorf("plan %q: duration stated %d times; want %d:\n%s", tc.plan, n, tc.want, b.String())
		}
		if !strings.HasPrefix(b.String(), "# the deployment spec with every default filled in\ndeployment: {}\n\nplan:\n") {
			t.Errorf("dry run does not open with the spec, then the plan:\n%s", b.String())
		}
	}
}
