package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/dataset"
)

var fraudData = dataset.Options{Label: "label", Group: "region"}

// Scores match XGBoost's own predictions, in input order, whatever the
// batch size and worker count.
func TestScoreFraudMatchesXGBoost(t *testing.T) {
	for _, tc := range []struct {
		dir              string
		workers, batchSz int
	}{{"fraud/v1", 1, 512}, {"fraud/v2", 3, 97}, {"fraud/v3", 8, 1}} {
		t.Run(tc.dir, func(t *testing.T) {
			p := load(t, tc.dir)
			out := filepath.Join(t.TempDir(), "scores.csv")
			data := fraudData
			data.BatchSize = tc.batchSz
			res, err := batch.Score(context.Background(), p, examples+"fraud/holdout.csv", out, batch.Options{Data: data, Workers: tc.workers})
			if err != nil {
				t.Fatal(err)
			}
			ref := reference(t, tc.dir)
			rows := csvtest.Read(t, out)
			if strings.Join(rows[0], ",") != "line,score" {
				t.Fatalf("header %v", rows[0])
			}
			if res.Rows != int64(len(ref)) || res.Scored != res.Rows || len(rows)-1 != len(ref) {
				t.Fatalf("result %+v, %d output rows, want %d", res, len(rows)-1, len(ref))
			}
			for i, row := range rows[1:] {
				if row[0] != strconv.Itoa(i+2) {
					t.Fatalf("row %d: line %s, want %d", i, row[0], i+2)
				}
				if got := num(t, row[1]); math.Abs(got-ref[i][0]) > 1e-6 {
					t.Fatalf("line %d: score %v, XGBoost %v", i+2, got, ref[i][0])
				}
			}
			if _, err := os.Stat(out + ".progress"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a finished run left its checkpoint: %v", err)
			}
		})
	}
}

func TestScoreDigitsONNX(t *testing.T) {
	p := load(t, "digits/v2")
	out := filepath.Join(t.TempDir(), "digits.jsonl")
	if _, err := batch.Score(context.Background(), p, examples+"digits/holdout.csv", out, batch.Options{Data: dataset.Options{Label: "label", BatchSize: 64}}); err != nil {
		t.Fatal(err)
	}
	ref := reference(t, "digits/v2")
	lines := strings.Split(strings.TrimSpace(readFile(t, out)), "\n")
	if len(lines) != len(ref) {
		t.Fatalf("%d rows, want %d", len(lines), len(ref))
	}
	for i, l := range lines {
		var row struct {
			Line  int       `json:"line"`
			Probs []float64 `json:"probabilities"`
			Label int       `json:"label"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		best := 0
		for k, want := range ref[i] {
			if math.Abs(row.Probs[k]-want) > 1e-6 {
				t.Fatalf("line %d class %d: %v, onnxruntime %v", row.Line, k, row.Probs[k], want)
			}
			if want > ref[i][best] {
				best = k
			}
		}
		if row.Line != i+2 || row.Label != best {
			t.Fatalf("row %d: line %d label %d, want %d", i, row.Line, row.Label, best)
		}
	}
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// An id column is carried into the output, and JSON Lines output holds
// the same scores as CSV.
func TestScoreIDAndJSONLines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "with-id.csv")
	rows := csvtest.Read(t, examples+"fraud/holdout.csv")
	var sb strings.Builder
	for i, r := range rows {
		id := "tx-" + strconv.Itoa(i)
		if i == 0 {
			id = "tx id"
		} else if i == 5 {
			id = `odd, "quoted" id`
		}
		sb.WriteString(csvLine(append([]string{id}, r...)))
	}
	os.WriteFile(in, []byte(sb.String()), 0o644)
	p := load(t, "fraud/v2")
	data := fraudData
	data.ID = "tx id"
	out := filepath.Join(dir, "s.jsonl")
	if _, err := batch.Score(context.Background(), p, in, out, batch.Options{Data: data}); err != nil {
		t.Fatal(err)
	}
	ref := reference(t, "fraud/v2")
	for i, l := range strings.Split(strings.TrimSpace(readFile(t, out)), "\n") {
		var row struct {
			Line  int     `json:"line"`
			ID    string  `json:"id"`
			Score float64 `json:"score"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		wantID := "tx-" + strconv.Itoa(i+1)
		if i+1 == 5 {
			wantID = `odd, "quoted" id`
		}
		if row.ID != wantID || row.Line != i+2 || math.Abs(row.Score-ref[i][0]) > 1e-6 {
			t.Fatalf("row %d: %+v", i, row)
		}
	}
	csvOut := filepath.Join(dir, "s.csv")
	if _, err := batch.Score(context.Background(), p, in, csvOut, batch.Options{Data: data}); err != nil {
		t.Fatal(err)
	}
	got := csvtest.Read(t, csvOut)
	if strings.Join(got[0], "|") != "line|tx id|score" || got[5][1] != `odd, "quoted" id` {
		t.Fatalf("csv output: %v %v", got[0], got[5])
	}
}

func csvLine(fields []string) string {
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"") {
			fields[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
	}
	return strings.Join(fields, ",") + "\n"
}

// A bad row stops the run with the file, line and column.
func TestScoreBadRow(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bad.csv")
	b := readFile(t, examples+"fraud/holdout.csv")
	lines := strings.SplitAfter(b, "\n")
	lines[1500] = "abc" + lines[1500][strings.Index(lines[1500], ","):]
	os.WriteFile(in, []byte(strings.Join(lines, "")), 0o644)
	_, err := batch.Score(context.Background(), load(t, "fraud/v1"), in, filepath.Join(dir, "o.csv"), batch.Options{Data: fraudData})
	if err == nil || !strings.Contains(err.Error(), `bad.csv:1501: column amount: "abc" is not a number`) {
		t.Fatalf("got %v", err)
	}
}

// uninterrupted scores in without interruption and returns the output.
func uninterrupted(t *testing.T, in string, opt batch.Options) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "whole.csv")
	if _, err := batch.Score(context.Background(), load(t, "fraud/v2"), in, out, opt); err != nil {
		t.Fatal(err)
	}
	return []byte(readFile(t, out))
}

// Cancelling mid-run and rerunning gives exactly the uninterrupted output:
// one row per input row, none twice, none missing.
func TestResumeAfterCancel(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	n := repeatHoldout(t, in, 3)
	data := fraudData
	data.BatchSize = 100
	want := uninterrupted(t, in, batch.Options{Data: data})
	if got := bytes.Count(want, []byte("\n")); got != n+1 {
		t.Fatalf("uninterrupted output has %d lines for %d rows", got, n)
	}
	p := load(t, "fraud/v2")
	for _, stopAfter := range []int64{100, 2300, 4800, int64(n)} {
		out := filepath.Join(dir, "out-"+strconv.FormatInt(stopAfter, 10)+".csv")
		ctx, cancel := context.WithCancel(context.Background())
		opt := batch.Options{Data: data, Workers: 3, CheckpointRows: 700, Progress: func(pr batch.Progress) {
			if pr.Rows >= stopAfter {
				cancel()
			}
		}}
		res, err := batch.Score(ctx, p, in, out, opt)
		cancel()
		if stopAfter == int64(n) && err == nil {
			continue // cancelled after the last row: nothing to resume
		}
		if !errors.Is(err, context.Canceled) || res.Rows < stopAfter {
			t.Fatalf("stop after %d: %+v, %v", stopAfter, res, err)
		}
		if _, err := os.Stat(out + ".progress"); err != nil {
			t.Fatalf("no checkpoint after cancelling: %v", err)
		}
		// The output may hold rows after the checkpoint; resume cuts them.
		res2, err := batch.Score(context.Background(), p, in, out, batch.Options{Data: data, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res2.ResumedAt != res.Rows || res2.Rows != int64(n) || res2.Scored != int64(n)-res.Rows {
			t.Fatalf("resume: %+v after %+v", res2, res)
		}
		if got := []byte(readFile(t, out)); !bytes.Equal(got, want) {
			t.Fatalf("stop after %d: resumed output differs from the uninterrupted one (%d vs %d bytes)", stopAfter, len(got), len(want))
		}
	}
}

// A checkpoint is only trusted for the input, model and layout it was
// written for.
func TestResumeRefusesOtherRuns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	repeatHoldout(t, in, 2)
	out := filepath.Join(dir, "out.csv")
	p := load(t, "fraud/v2")
	interrupt := func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := batch.Score(ctx, p, in, out, batch.Options{Data: fraudData, Model: "fraud@2", CheckpointRows: 1, Progress: func(batch.Progress) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupt: %v", err)
		}
	}
	interrupt()
	_, err := batch.Score(context.Background(), p, in, out, batch.Options{Data: fraudData, Model: "fraud@3"})
	if err == nil || !strings.Contains(err.Error(), `written by model "fraud@2", not "fraud@3"`) {
		t.Fatalf("other model: %v", err)
	}
	idData := fraudData
	idData.Ignore = []string{"x"}
	if _, err := batch.Score(context.Background(), p, in, out, batch.Options{Data: idData, Model: "fraud@2", OutputFormat: dataset.JSONL}); err == nil || !strings.Contains(err.Error(), "written as csv") {
		t.Fatalf("other layout: %v", err)
	}
	repeatHoldout(t, in, 3)
	_, err = batch.Score(context.Background(), p, in, out, batch.Options{Data: fraudData, Model: "fraud@2"})
	if err == nil || !strings.Contains(err.Error(), "written from another input") || !strings.Contains(err.Error(), "to start over") {
		t.Fatalf("other input: %v", err)
	}
}
