package cli

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/csvtest"
)

// batch score fetches the version from a real server, scores the holdout
// in-process and matches XGBoost's own predictions.
func TestBatchScoreEndToEnd(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "2.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "2.0.0")
	out := filepath.Join(t.TempDir(), "scores.csv")
	got := mustRun(t, url, "batch", "score", "fraud@production", "--in", ex+"fraud/holdout.csv", "--out", out, "--workers", "2", "--batch-size", "128", "--ignore", "label,region")
	if !strings.Contains(got, "scored 2000 rows with fraud@2.0.0 into "+out) {
		t.Fatalf("output: %s", got)
	}
	rows, ref := csvtest.Read(t, out), csvtest.Read(t, ex+"fraud/v2/reference.csv")
	if len(rows) != len(ref) || strings.Join(rows[0], ",") != "line,score" {
		t.Fatalf("%d rows (header %v), reference %d", len(rows), rows[0], len(ref))
	}
	for i := 1; i < len(rows); i++ {
		g, _ := strconv.ParseFloat(rows[i][1], 64)
		w, _ := strconv.ParseFloat(ref[i][0], 64)
		if math.Abs(g-w) > 1e-6 || rows[i][0] != strconv.Itoa(i+1) {
			t.Fatalf("row %d: %v, reference %v", i, rows[i], ref[i])
		}
	}

	// JSON output of the summary, and a clear error for a bad file.
	var res struct{ Rows int64 }
	json.Unmarshal([]byte(mustRun(t, url, "-o", "json", "batch", "score", "fraud@2.0.0", "--in", ex+"fraud/holdout.csv", "--out", out, "--label", "label", "--id", "region")), &res)
	if res.Rows != 2000 {
		t.Fatalf("-o json rows %d", res.Rows)
	}
	// No column is dropped unless named: without flags the fraud holdout's
	// label and region are refused by name, whatever model it is.
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, "holdout.csv:1: unexpected columns: region, label: they are not inputs of the model"},
		{[]string{"--ignore", "label"}, "holdout.csv:1: unexpected columns: region"},
		{[]string{"--label", "label"}, "holdout.csv:1: unexpected columns: region"},
	} {
		r := run(t, url, append([]string{"batch", "score", "fraud@2.0.0", "--in", ex + "fraud/holdout.csv", "--out", out}, c.flags...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("flags %v: exit %d, %s", c.flags, r.code, r.stderr)
		}
	}
	r := run(t, url, "batch", "score", "fraud@9.0.0", "--in", ex+"fraud/holdout.csv", "--out", out)
	if r.code == 0 || !strings.Contains(r.stderr, "9.0.0") {
		t.Fatalf("unknown version: exit %d, %s", r.code, r.stderr)
	}
}

func TestBatchCompareEndToEnd(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "3.0.0")
	var rep struct {
		Rows      int64    `json:"rows"`
		Agreement *float64 `json:"agreement"`
		KS        float64  `json:"ks"`
		A, B      struct {
			Name     string   `json:"name"`
			Accuracy *float64 `json:"accuracy"`
		}
		Segments []struct {
			Group string `json:"group"`
			Rows  int64  `json:"rows"`
		} `json:"segments"`
	}
	out := mustRun(t, url, "-o", "json", "batch", "compare", "fraud@1.0.0", "fraud@3.0.0", "--in", ex+"fraud/holdout.csv",
		"--group", "region", "--label", "label", "--task", "binary")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Rows != 2000 || rep.Agreement == nil || *rep.Agreement >= 1 || rep.KS == 0 || rep.A.Name != "fraud@1.0.0" || rep.B.Name != "fraud@3.0.0" || rep.A.Accuracy == nil || len(rep.Segments) != 3 {
		t.Fatalf("v1 vs v3: %s", out)
	}
	table := mustRun(t, url, "batch", "compare", "fraud@1.0.0", "fraud@1.0.0", "--in", ex+"fraud/holdout.csv", "--group", "region", "--ignore", "label")
	for _, want := range []string{"METRIC", "label agreement", "100.00% (2000 of 2000 rows)", "PSI", "0.0000 (stable)", "REGION"} {
		if !strings.Contains(table, want) {
			t.Errorf("v1 vs v1 table lacks %q:\n%s", want, table)
		}
	}
	r := run(t, url, "batch", "compare", "fraud@1.0.0", "fraud@3.0.0", "--in", ex+"fraud/holdout.csv", "--task", "multiclass")
	if r.code == 0 || !strings.Contains(r.stderr, "at least 2") {
		t.Fatalf("multiclass without classes: exit %d, %s", r.code, r.stderr)
	}
}

// TestBatchExamplesRunAsWritten runs every batch command that the help
// of batch score and batch compare and the README show, as written,
// against a real server holding the example models.
func TestBatchExamplesRunAsWritten(t *testing.T) {
	url := startServer(t)
	pushFraud(t, url, "1.0.0", "2.0.0")
	mustRun(t, url, "model", "alias", "fraud", "production", "1.0.0")
	for _, v := range []string{"1", "2"} {
		dir := ex + "digits/v" + v + "/"
		mustRun(t, url, "model", "push", "digits", dir+"model.onnx", "--version", v+".0.0", "--format", "onnx", "--signature", dir+"signature.json")
	}
	mustRun(t, url, "model", "alias", "digits", "production", "2.0.0")

	cmds := append(helpExamples(t, "batch", "score"), helpExamples(t, "batch", "compare")...)
	cmds = append(cmds, readmeExamples(t, "batch")...)
	if len(cmds) < 6 {
		t.Fatalf("found %d examples, want the help's four and the README's", len(cmds))
	}
	dir := t.TempDir()
	for _, args := range cmds {
		out := mustRun(t, url, localArgs(args, dir)...)
		rows := "2000 rows"
		if strings.Contains(strings.Join(args, " "), "digits") {
			rows = "450"
		}
		if !strings.Contains(out, rows) {
			t.Errorf("slipway %s: output does not mention %s:\n%s", strings.Join(args, " "), rows, out)
		}
	}
}

// helpExamples returns the commands in the Example of the command at
// path, as exampleCommands splits them.
func helpExamples(t *testing.T, path ...string) [][]string {
	t.Helper()
	cmd, _, err := New("test", io.Discard, io.Discard).Find(path)
	if err != nil {
		t.Fatal(err)
	}
	return exampleCommands(cmd.Example, path[0])
}

// readmeExamples returns the README's commands of the top-level command
// name that can run as written.
func readmeExamples(t *testing.T, name string) [][]string {
	t.Helper()
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return exampleCommands(string(text), name)
}

// exampleCommands returns, from text, the arguments of every line that
// runs "slipway NAME …" with no placeholder in it (a word in capitals
// such as HOLDOUT, or an [optional] part): split as a shell splits them
// (double quotes group words, # starts a comment), "slipway" left out.
func exampleCommands(text, name string) [][]string {
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
		if !strings.HasPrefix(line, "slipway "+name+" ") {
			continue
		}
		args := shellWords(line)[1:]
		runnable := true
		for _, a := range args {
			if strings.HasPrefix(a, "[") || placeholder.MatchString(a) {
				runnable = false
			}
		}
		if runnable {
			out = append(out, args)
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`^[A-Z][A-Z_@.]+$`)

// shellWords splits a command line into words: spaces separate them,
// double quotes group them, and an unquoted # ends the line.
func shellWords(line string) []string {
	var words []string
	var word strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case quoted:
			word.WriteRune(r)
		case r == '#' && !inWord:
			return words
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words
}

// localArgs points an example's paths at this checkout: examples/… to
// the repository's examples, and --out files into dir.
func localArgs(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "examples/"):
			a = ex + strings.TrimPrefix(a, "examples/")
		case i > 0 && args[i-1] == "--out":
			a = filepath.Join(dir, a)
		}
		out[i] = a
	}
	return out
}
