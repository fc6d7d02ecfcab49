package onnx

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// digitsDir holds the digits example: a small torch MLP exported to ONNX
// (64 pixel features, 10 class probabilities) in two versions, with
// torch's float32 predictions on the holdout set as reference.
const digitsDir = "../../../examples/digits"

// tolerance is how far ONNX Runtime's probabilities may stray from
// torch's: both compute in float32, but may sum in different orders.
const tolerance = 1e-5

// TestDigitsConformance predicts the whole holdout set, as one batch and
// row by row, and compares with torch's reference predictions.
func TestDigitsConformance(t *testing.T) {
	requireRuntime(t)
	x, labels := holdout(t)
	rows := len(labels)
	for _, version := range []string{"v1", "v2"} {
		t.Run(version, func(t *testing.T) {
			want := reference(t, version, rows)
			p := loadDigits(t, version, slipway.Signature{})

			got := predict(t, p, runtime.Tensor{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), 64}, Data: x})
			if want, got := []int64{int64(rows), 10}, got.Shape; !reflect.DeepEqual(got, want) {
				t.Fatalf("batch: output shape %v, want %v", got, want)
			}
			batch := maxDiff(got.Data.([]float32), want)
			t.Logf("batch of %d rows: max |onnx - torch| = %.3g, accuracy %.3f", rows, batch, accuracy(got.Data.([]float32), labels))
			if batch > tolerance {
				t.Errorf("batch: max abs diff %.3g > %g", batch, tolerance)
			}

			single := 0.0
			for r := range rows {
				row := runtime.Tensor{Name: "input", Datatype: runtime.FP32, Shape: []int64{1, 64}, Data: x[r*64 : (r+1)*64]}
				out := predict(t, p, row)
				single = max(single, maxDiff(out.Data.([]float32), want[r*10:(r+1)*10]))
			}
			t.Logf("row by row: max |onnx - torch| = %.3g", single)
			if single > tolerance {
				t.Errorf("row by row: max abs diff %.3g > %g", single, tolerance)
			}
		})
	}
}

// TestSignatureFromModel loads versions without a signature: the one read
// from the model must be the one train.py wrote beside it.
func TestSignatureFromModel(t *testing.T) {
	requireRuntime(t)
	for _, version := range []string{"v1", "v2"} {
		p := loadDigits(t, version, slipway.Signature{})
		if got, want := p.Signature(), signature(t, version); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: signature %+v, want %+v", version, got, want)
		}
		// The version's own signature is accepted and reported as is.
		p = loadDigits(t, version, signature(t, version))
		if got, want := p.Signature(), signature(t, version); !reflect.DeepEqual(got, want) {
			t.Errorf("%s with signature: %+v, want %+v", version, got, want)
		}
	}
}

func TestSignatureMismatch(t *testing.T) {
	requireRuntime(t)
	in := func(specs ...slipway.TensorSpec) slipway.Signature { return slipway.Signature{Inputs: specs} }
	fp32 := func(name string, shape ...int64) slipway.TensorSpec {
		return slipway.TensorSpec{Name: name, Datatype: runtime.FP32, Shape: shape}
	}
	for _, tc := range []struct {
		name string
		sig  slipway.Signature
		want string
	}{
		{"unknown input", in(fp32("input", -1, 64), fp32("pixels", -1, 64)),
			`signature input "pixels": the model has no such input (it has "input" FP32 [-1 64])`},
		{"missing input", in(), ""}, // an empty list means "read it from the model"
		{"other input", in(fp32("pixels", -1, 64)),
			`signature input "pixels": the model has no such input (it has "input" FP32 [-1 64])` + "\n" +
				`model input "input" is missing from the signature`},
		{"datatype", in(slipway.TensorSpec{Name: "input", Datatype: runtime.FP64, Shape: []int64{-1, 64}}),
			`signature input "input": datatype FP64, the model's is FP32`},
		{"shape", in(fp32("input", -1, 63)),
			`signature input "input": shape [-1 63], the model's is [-1 64]`},
		{"rank", in(fp32("input", -1)),
			`signature input "input": shape [-1], the model's is [-1 64]`},
		{"output", slipway.Signature{Outputs: []slipway.TensorSpec{fp32("probs", -1, 10)}},
			`signature output "probs": the model has no such output (it has "probabilities" FP32 [-1 10])`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(digitsModel(t, "v2"), tc.sig, Options{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := "onnx model: signature does not match the model: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error does not match slipway.ErrInvalid")
			}
		})
	}
}

// TestSignatureTightens fixes the batch size in the version's signature:
// requests are then held to it.
func TestSignatureTightens(t *testing.T) {
	requireRuntime(t)
	sig := slipway.Signature{Inputs: []slipway.TensorSpec{{Name: "input", Datatype: runtime.FP32, Shape: []int64{1, 64}}}}
	p := loadDigits(t, "v2", sig)
	_, err := p.Predict(context.Background(), []runtime.Tensor{zeroRows(2)})
	if want := `input "input": shape [2 64]: want [1 64]`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	predict(t, p, zeroRows(1))
}

// TestCorruptModel loads artifacts that are not ONNX models: each must be
// an error, never a crash.
func TestCorruptModel(t *testing.T) {
	requireRuntime(t)
	model := digitsModel(t, "v2")
	noise := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	flipped := append([]byte(nil), model...)
	for i := 100; i < len(flipped); i += 97 {
		flipped[i] ^= 0xff
	}
	for _, tc := range []struct {
		name     string
		artifact []byte
	}{
		{"empty", nil},
		{"text", []byte("this is not an onnx model\n")},
		{"json", []byte(`{"learner": {}}`)},
		{"noise", noise},
		{"truncated", model[:len(model)/2]},
		{"header only", model[:16]},
		{"flipped bytes", flipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := runtime.Load(context.Background(), digitsVersion(slipway.Signature{}), tc.artifact)
			if err == nil {
				p.Close()
				t.Fatal("loaded a corrupt model")
			}
			t.Log(err)
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error %q does not match slipway.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "onnx model") {
				t.Errorf("error %q does not say it is the onnx model", err)
			}
		})
	}
}

func TestThreads(t *testing.T) {
	requireRuntime(t)
	t.Run("option", func(t *testing.T) {
		s, err := New(digitsModel(t, "v2"), slipway.Signature{}, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		predict(t, s, zeroRows(300))
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv(EnvThreads, "2")
		s, err := New(digitsModel(t, "v2"), slipway.Signature{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
	t.Run("bad env", func(t *testing.T) {
		t.Setenv(EnvThreads, "zero")
		_, err := New(digitsModel(t, "v2"), slipway.Signature{}, Options{})
		if want := `SLIPWAY_ONNX_THREADS="zero": want a whole number of threads, at least 1`; err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	})
}

func TestWarmUpShape(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want []int64
		ok   bool
	}{
		{[]int64{-1, 64}, []int64{1, 64}, true},
		{[]int64{4, 64}, []int64{4, 64}, true},
		{[]int64{}, []int64{}, true},
		{[]int64{-1, -1}, nil, false},
		{[]int64{-1, 3, -1, 224}, nil, false},
	} {
		got, ok := warmUpShape(tc.in)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("warmUpShape(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// requireRuntime fails the test when the ONNX Runtime library cannot be
// loaded, or skips it when SLIPWAY_SKIP_ONNX=1.
func requireRuntime(tb testing.TB) {
	tb.Helper()
	err := Init()
	if err == nil {
		return
	}
	if os.Getenv("SLIPWAY_SKIP_ONNX") == "1" {
		tb.Skipf("SLIPWAY_SKIP_ONNX=1: %v", err)
	}
	tb.Fatalf("%v\nRun scripts/install-onnxruntime.sh first (CI does), or set SLIPWAY_SKIP_ONNX=1 to skip the ONNX tests.", err)
}

func digitsVersion(sig slipway.Signature) slipway.Version {
	return slipway.Version{Model: "digits", Version: "2.0.0", Format: slipway.FormatONNX, Signature: sig}
}

func digitsModel(tb testing.TB, version string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(digitsDir, version, "model.onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// loadDigits loads a digits version through the runtime registry, as the
// server does, and closes it when the test ends.
func loadDigits(tb testing.TB, version string, sig slipway.Signature) runtime.Predictor {
	tb.Helper()
	p, err := runtime.Load(context.Background(), digitsVersion(sig), digitsModel(tb, version))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Error(err)
		}
	})
	return p
}

func signature(tb testing.TB, version string) slipway.Signature {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(digitsDir, version, "signature.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var sig slipway.Signature
	if err := json.Unmarshal(b, &sig); err != nil {
		tb.Fatal(err)
	}
	return sig
}

// predict runs one single-input prediction and returns the only output.
func predict(tb testing.TB, p runtime.Predictor, in runtime.Tensor) runtime.Tensor {
	tb.Helper()
	out, err := p.Predict(context.Background(), []runtime.Tensor{in})
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) != 1 || out[0].Name != "probabilities" || out[0].Datatype != runtime.FP32 {
		tb.Fatalf("outputs %+v, want one FP32 tensor named probabilities", out)
	}
	return out[0]
}

func zeroRows(rows int) runtime.Tensor {
	return runtime.Tensor{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), 64}, Data: make([]float32, rows*64)}
}

// holdout reads the holdout pixels, row-major, and their labels.
func holdout(tb testing.TB) (x []float32, labels []int) {
	tb.Helper()
	records := readCSV(tb, filepath.Join(digitsDir, "holdout.csv"), 65)
	for _, rec := range records {
		for _, f := range rec[:64] {
			x = append(x, float32(parse(tb, f)))
		}
		labels = append(labels, int(parse(tb, rec[64])))
	}
	return x, labels
}

// reference reads torch's probabilities for a version, row-major.
func reference(tb testing.TB, version string, rows int) []float64 {
	tb.Helper()
	records := readCSV(tb, filepath.Join(digitsDir, version, "reference.csv"), 10)
	if len(records) != rows {
		tb.Fatalf("%s reference has %d rows, holdout %d", version, len(records), rows)
	}
	var out []float64
	for _, rec := range records {
		for _, f := range rec {
			out = append(out, parse(tb, f))
		}
	}
	return out
}

// readCSV reads a CSV file with a header line and width fields a record.
func readCSV(tb testing.TB, path string, width int) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = width
	records, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return records[1:]
}

func parse(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func maxDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// accuracy is the share of rows whose most probable class is the label.
func accuracy(probs []float32, labels []int) float64 {
	right := 0
	for r, label := range labels {
		row := probs[r*10 : (r+1)*10]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best == label {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}
