package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/runtime/onnx"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

const examples = "../../examples/"

// load reads an example version (fraud/v2, digits/v1) the way the demo
// bundle does: its artifact, format and signature.json.
func load(tb testing.TB, dir string) runtime.Predictor {
	tb.Helper()
	v := slipway.Version{Model: strings.Split(dir, "/")[0], Version: dir, Format: slipway.FormatXGBoost}
	file := examples + dir + "/model.json"
	if strings.HasPrefix(dir, "digits") {
		requireONNX(tb)
		v.Format, file = slipway.FormatONNX, examples+dir+"/model.onnx"
	}
	sig, err := os.ReadFile(examples + dir + "/signature.json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(sig, &v.Signature); err != nil {
		tb.Fatal(err)
	}
	art, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := runtime.Load(context.Background(), v, art)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// requireONNX skips a test when the ONNX Runtime library is not
// installed; every other test still runs.
func requireONNX(tb testing.TB) {
	tb.Helper()
	if err := onnx.Init(); err != nil {
		if errors.Is(err, onnx.ErrNoLibrary) {
			tb.Skipf("skipping the ONNX digits model: %v", err)
		}
		tb.Fatal(err)
	}
}

func num(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// reference reads an example's reference.csv: XGBoost's (or ONNX
// Runtime's) own predictions on the holdout, one row per holdout row.
func reference(tb testing.TB, dir string) [][]float64 {
	tb.Helper()
	var out [][]float64
	for _, row := range csvtest.Read(tb, examples+dir+"/reference.csv")[1:] {
		vals := make([]float64, len(row))
		for i, s := range row {
			vals[i] = num(tb, s)
		}
		out = append(out, vals)
	}
	return out
}

// repeatHoldout writes the fraud holdout's rows n times over, for runs
// long enough to interrupt.
func repeatHoldout(tb testing.TB, path string, n int) int {
	tb.Helper()
	b, err := os.ReadFile(examples + "fraud/holdout.csv")
	if err != nil {
		tb.Fatal(err)
	}
	header, body, _ := strings.Cut(string(b), "\n")
	var sb strings.Builder
	sb.WriteString(header + "\n")
	for range n {
		sb.WriteString(body)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return n * strings.Count(body, "\n")
}
