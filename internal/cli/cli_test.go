package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/server"
)

// startServer runs a real slipway server on a loopback port with its own
// data directory and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", BuildVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("server stop: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a
	case err := <-errc:
		t.Fatal(err)
	}
	return ""
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, url string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), "test", append([]string{"--server", url}, args...), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, url string, args ...string) string {
	t.Helper()
	r := run(t, url, args...)
	if r.code != 0 {
		t.Fatalf("slipway %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

const ex = "../../examples/"

func TestModelLifecycleEndToEnd(t *testing.T) {
	url := startServer(t)
	out := mustRun(t, url, "model", "push", "fraud", ex+"fraud/v1/model.json", "--version", "1.0.0",
		"--signature", ex+"fraud/v1/signature.json", "--card", ex+"fraud/v1/card.md",
		"--metrics", ex+"fraud/v1/metrics.json", "--meta", "team=risk", "--meta", "ticket=FR-12")
	if !strings.Contains(out, "pushed fraud@1.0.0") || !strings.Contains(out, "xgboost") || !strings.Contains(out, "sha256:") {
		t.Fatalf("push output: %s", out)
	}
	mustRun(t, url, "model", "push", "fraud", ex+"fraud/v2/model.json", "--version", "2.0.0", "--parent", "1.0.0")
	mustRun(t, url, "model", "update", "fraud", "--description", "card fraud score", "--owner", "someone", "--tag", "tabular", "--tag", "pci")
	out = mustRun(t, url, "-o", "json", "model", "update", "fraud", "--owner", "risk-team")
	if !strings.Contains(out, `"description": "card fraud score"`) || !strings.Contains(out, `"pci"`) || !strings.Contains(out, "risk-team") {
		t.Fatalf("update of one field lost the others: %s", out)
	}
	mustRun(t, url, "model", "push", "digits", ex+"digits/v1/model.onnx", "--version", "1.0.0", "--format", "onnx")

	// No production alias yet: show without a selector is a clear 404.
	r := run(t, url, "model", "show", "fraud@production")
	if r.code == 0 || !strings.Contains(r.stderr, `no version or alias "production"`) {
		t.Fatalf("show before alias: exit %d, %s", r.code, r.stderr)
	}
	out = mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0", "--reason", "first release")
	if !strings.Contains(out, "fraud@production: - -> 1.0.0") {
		t.Fatalf("alias output: %s", out)
	}
	out = mustRun(t, url, "model", "show", "fraud@production")
	for _, want := range []string{"Version:", "1.0.0", "Resolved via:", "alias production", "Format:", "xgboost",
		"Input:", "amount FP32 [-1]", "Output:", "score", "Meta team:", "risk", "Metric auc:", "registered"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, url, "model", "alias", "fraud", "production", "2.0.0", "--reason", "better AUC")
	if !strings.Contains(out, "1.0.0 -> 2.0.0") {
		t.Fatalf("second alias: %s", out)
	}

	var shown struct {
		slipway.Version
		Via     string   `json:"via_alias"`
		Aliases []string `json:"aliases"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "model", "show", "fraud")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Version.Version != "2.0.0" || shown.Via != "production" || shown.Lineage.Parent != "1.0.0" {
		t.Fatalf("show -o json = %+v", shown)
	}

	var listed []struct {
		Name     string `json:"name"`
		Versions int    `json:"versions"`
	}
	json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "model", "list")), &listed)
	if len(listed) != 2 || listed[0].Name != "digits" || listed[1].Name != "fraud" || listed[1].Versions != 2 {
		t.Fatalf("model list -o json = %+v", listed)
	}
	out = mustRun(t, url, "model", "list")
	if !strings.Contains(out, "production=2.0.0") || !strings.Contains(out, "risk-team") {
		t.Fatalf("model list table: %s", out)
	}
	out = mustRun(t, url, "model", "versions", "fraud")
	if !strings.Contains(out, "VERSION") || !strings.Contains(out, "production") || strings.Count(out, "xgboost") != 2 {
		t.Fatalf("versions table: %s", out)
	}
	out = mustRun(t, url, "model", "history", "fraud", "production")
	if !strings.Contains(out, "first release") || !strings.Contains(out, "better AUC") {
		t.Fatalf("history: %s", out)
	}

	// Deleting what an alias points at is refused; the rest works.
	r = run(t, url, "model", "delete", "fraud@2.0.0")
	if r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("delete aliased version: exit %d, %s", r.code, r.stderr)
	}
	mustRun(t, url, "model", "delete", "fraud@1.0.0")
	mustRun(t, url, "model", "state", "fraud@2.0.0", "validated")
	if out := mustRun(t, url, "model", "show", "fraud@2.0.0"); !strings.Contains(out, "validated") {
		t.Fatalf("state not shown: %s", out)
	}

	// The artifact comes back byte for byte.
	var buf bytes.Buffer
	c := (&app{serverURL: url}).client()
	if err := c.Artifact(context.Background(), slipway.Ref{Model: "fraud", Selector: "production"}, &buf); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(ex + "fraud/v2/model.json")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("downloaded artifact differs from the pushed file")
	}
}

func TestCLIErrors(t *testing.T) {
	url := startServer(t)
	dir := t.TempDir()
	pickle := filepath.Join(dir, "model.pkl")
	os.WriteFile(pickle, []byte("\x80\x04\x95."), 0o644)
	truncated := filepath.Join(dir, "model.json")
	full, _ := os.ReadFile(ex + "fraud/v1/model.json")
	os.WriteFile(truncated, full[:len(full)/2], 0o644)
	mustRun(t, url, "model", "push", "fraud", ex+"fraud/v1/model.json", "--version", "1.0.0")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"model", "push", "fraud", pickle, "--version", "2"}, "arbitrary code"},
		{[]string{"model", "push", "fraud", truncated, "--version", "2"}, "model.json: corrupt JSON model: truncated"},
		{[]string{"model", "push", "fraud", ex + "fraud/v2/model.json", "--version", "1.0.0"}, "fraud@1.0.0: version already exists"},
		{[]string{"model", "push", "fraud", ex + "fraud/v2/model.json"}, `"version" not set`},
		{[]string{"model", "push", "fraud", filepath.Join(dir, "missing.json"), "--version", "3"}, "missing.json: no such file"},
		{[]string{"model", "push", "fraud", ex + "fraud/v2/model.json", "--version", "3", "--meta", "novalue"}, `--meta "novalue": want key=value`},
		{[]string{"model", "push", "../x", ex + "fraud/v2/model.json", "--version", "3"}, `model name "../x"`},
		{[]string{"model", "alias", "fraud", "production", "9.9.9"}, "version fraud@9.9.9 not found"},
		{[]string{"model", "show", "nosuch"}, "nosuch"},
		{[]string{"model", "versions", "nosuch"}, "not found"},
		{[]string{"model", "state", "fraud@1.0.0", "gone"}, `state "gone"`},
		{[]string{"-o", "yaml", "model", "list"}, `-o "yaml": want table or json`},
	} {
		r := run(t, url, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want non-zero and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	// None of the refusals touched what was stored.
	out := mustRun(t, url, "-o", "json", "model", "versions", "fraud")
	var vs []slipway.Version
	json.Unmarshal([]byte(out), &vs)
	if len(vs) != 1 || vs[0].Version != "1.0.0" || vs[0].Size != int64(len(full)) {
		t.Fatalf("versions after refusals = %+v", vs)
	}
}

func TestServerUnreachable(t *testing.T) {
	r := run(t, "http://127.0.0.1:1", "model", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "slipway server at http://127.0.0.1:1") {
		t.Fatalf("exit %d, %s", r.code, r.stderr)
	}
}

func TestServerCommandFailsOnUnreachableStore(t *testing.T) {
	start := time.Now()
	r := run(t, "", "server", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--store", "postgres://postgres@127.0.0.1:1/none?sslmode=disable")
	if r.code == 0 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q; want non-zero naming the address", r.code, r.stderr)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("took %s to give up", d)
	}
}

func TestDemoRuns(t *testing.T) {
	var out bytes.Buffer
	code := Execute(context.Background(), "test", []string{"demo", "--speed", "60"}, &out, io.Discard)
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{
		"pushed fraud@3.0.0", "pushed digits@2.0.0", "fraud@production -> 1.0.0",
		"✓ fraud   stage-advanced  stage canary passed", "2.0.0 is now production",
		"✘ fraud   rolled-back     trigger log-loss above 1.5× baseline fired",
		"✔ digits  completed       stage shadow passed", "agreement",
		// The bandit: what the simulated users are assumed to do, the
		// shares following the conversions, and the winner promoted.
		"The simulation assumes the digits users fill in a sign-up form",
		"== digits 1.0.0 vs 2.0.0: a bandit", "▶ digits  started         started by demo: 1.0.0 → 2.0.0, bandit",
		"… digits  decision        bandit reallocated traffic: arm 1.0.0: ",
		"✔ digits  completed       bandit served its 10s: 2.0.0 leads: arm 2.0.0: ", "; 2.0.0 is now production",
		"fraud@production is 2.0.0", "digits@production is 2.0.0",
		"$ slipway rollout explain fraud",
		"labelled samples; limit above 1.5× baseline: roll back",
		"$ slipway rollout explain digits", "values.conversion  arm 2.0.0: ", "· arm 1.0.0: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	// The live view shows each arm's traffic beside its share and
	// conversions while the bandit runs.
	for _, arm := range []string{"1.0.0", "2.0.0"} {
		re := regexp.MustCompile(`│   ` + regexp.QuoteMeta(arm) + ` +\d+ req, [0-9.]+% errors, p99 [^ ]+ +[0-9.]+% of traffic: P\(best\)=[01]\.\d\d, mean [0-9.]+ ± `)
		if !re.MatchString(out.String()) {
			t.Errorf("no live view of bandit arm %s in the demo output:\n%s", arm, out.String())
		}
	}
}

func TestPredictCSVAndData(t *testing.T) {
	url := startServer(t)
	mustRun(t, url, "model", "push", "fraud", ex+"fraud/v2/model.json", "--version", "2.0.0", "--signature", ex+"fraud/v2/signature.json")
	mustRun(t, url, "model", "alias", "fraud", "production", "2.0.0")
	mustRun(t, url, "model", "push", "digits", ex+"digits/v1/model.onnx", "--version", "1.0.0")

	// Every holdout row, in batches, equals XGBoost's own scores.
	out := mustRun(t, url, "-o", "json", "predict", "fraud", "--csv", ex+"fraud/holdout.csv", "--batch", "700")
	var resps []struct {
		ModelVersion string `json:"model_version"`
		Outputs      []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(out), &resps); err != nil {
		t.Fatal(err)
	}
	ref, _ := os.ReadFile(ex + "fraud/v2/reference.csv")
	want := strings.Split(strings.TrimSpace(string(ref)), "\n")[1:]
	var got []float64
	for _, r := range resps {
		if r.ModelVersion != "2.0.0" {
			t.Fatalf("answered by %q", r.ModelVersion)
		}
		got = append(got, r.Outputs[0].Data...)
	}
	if len(resps) != 3 || len(got) != len(want) {
		t.Fatalf("%d responses, %d predictions for %d rows", len(resps), len(got), len(want))
	}
	for i, w := range want {
		var wv float64
		fmt.Sscan(w, &wv)
		if d := got[i] - wv; d > 1e-6 || d < -1e-6 {
			t.Fatalf("row %d: %g, XGBoost %g", i, got[i], wv)
		}
	}

	// A single [rows, 64] input takes every column but the label.
	out = mustRun(t, url, "predict", "digits@1.0.0", "--csv", ex+"digits/holdout.csv")
	if !strings.Contains(out, "ROW") || !strings.Contains(out, "probabilities") || strings.Count(out, "\n") != 451 {
		t.Fatalf("digits predict table has %d lines:\n%.400s", strings.Count(out, "\n"), out)
	}

	body := `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,64],"data":[` + strings.TrimSuffix(strings.Repeat("0,", 64), ",") + `]}]}`
	out = mustRun(t, url, "predict", "digits@1.0.0", "--data", body)
	if !strings.Contains(out, "1.0.0") || strings.Count(out, "\n") != 2 {
		t.Fatalf("predict --data: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", "digits@1.0.0", "--data", strings.Replace(body, `"input"`, `"pixels"`, 1)}, `input "pixels"`},
		{[]string{"predict", "fraud"}, "exactly one of --data and --csv"},
		{[]string{"predict", "digits@1.0.0", "--csv", ex + "fraud/holdout.csv"}, `input "input" wants 64`},
		{[]string{"predict", "nosuch", "--csv", ex + "fraud/holdout.csv"}, "nosuch"},
	} {
		if r := run(t, url, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %v: exit %d %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestRouteCommands(t *testing.T) {
	url := startServer(t)
	for _, v := range []string{"1", "2", "3"} {
		mustRun(t, url, "model", "push", "fraud", ex+"fraud/v"+v+"/model.json", "--version", v+".0.0")
	}
	out := mustRun(t, url, "route", "set", "fraud", "--split", "2.0.0=0.5", "--split", "1.0.0=99.5", "--sticky", "header:X-User-Id", "--mirror", "3.0.0=100", "--reason", "canary")
	for _, want := range []string{"2.0.0", "0.5%", "99.5%", "header:X-User-Id", "Mirror:", "3.0.0", "100%", "canary"} {
		if !strings.Contains(out, want) {
			t.Errorf("route set output lacks %q:\n%s", want, out)
		}
	}
	policy := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(policy, []byte(`splits:
  - version: 1.0.0
    weight: 10000
segments:
  - name: internal
    match:
      - header: X-Cohort
        exact: internal
    version: 3.0.0
`), 0o644)
	mustRun(t, url, "route", "set", "fraud", "-f", policy, "--reason", "dogfood")
	if out := mustRun(t, url, "route", "show", "fraud"); !strings.Contains(out, "Segment internal:") || !strings.Contains(out, "header X-Cohort = internal -> 3.0.0") {
		t.Fatalf("route show: %s", out)
	}
	out = mustRun(t, url, "route", "history", "fraud")
	if !strings.Contains(out, "2.0.0=0.5%,1.0.0=99.5%") || !strings.Contains(out, "dogfood") {
		t.Fatalf("route history: %s", out)
	}
	mustRun(t, url, "route", "clear", "fraud", "--reason", "done")
	if out := mustRun(t, url, "route", "history", "fraud"); !strings.Contains(out, "(cleared)") {
		t.Fatalf("history after clear: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"route", "set", "fraud", "--split", "2.0.0=10"}, "weights sum to 1000 basis points"},
		{[]string{"route", "set", "fraud", "--split", "2.0.0=abc"}, `--split "2.0.0=abc"`},
		{[]string{"route", "set", "fraud", "--split", "2.0.0=0.001"}, "finest share is 0.01%"},
		{[]string{"route", "set", "fraud"}, "at least one --split"},
		{[]string{"route", "set", "fraud", "--split", "9.0.0=100"}, "9.0.0"},
		{[]string{"route", "show", "fraud"}, "not found"},
	} {
		if r := run(t, url, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("slipway %v: exit %d %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestModelStats(t *testing.T) {
	url := startServer(t)
	for _, v := range []string{"1", "2"} {
		mustRun(t, url, "model", "push", "fraud", ex+"fraud/v"+v+"/model.json", "--version", v+".0.0", "--signature", ex+"fraud/v"+v+"/signature.json")
	}
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	mustRun(t, url, "predict", "fraud", "--csv", ex+"fraud/holdout.csv", "--batch", "500")
	mustRun(t, url, "predict", "fraud@2.0.0", "--csv", ex+"fraud/holdout.csv", "--batch", "1000")
	out := mustRun(t, url, "model", "stats", "fraud", "--window", "1m")
	for _, want := range []string{"METRIC", "1.0.0", "2.0.0", "requests", "error rate", "0.00%", "latency p99", "throughput", "feedback: 0 joined"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "requests") && !(strings.Contains(l, " 4 ") || strings.HasSuffix(strings.TrimSpace(l), "2")) {
			t.Errorf("requests row %q: want 4 for 1.0.0 and 2 for 2.0.0", l)
		}
	}
	if r := run(t, url, "model", "stats", "fraud", "--window", "-1m"); r.code == 0 || !strings.Contains(r.stderr, "positive duration") {
		t.Errorf("negative window: exit %d %q", r.code, r.stderr)
	}
}
