package runtime_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

var features = []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"}

func fraud(t *testing.T, signed bool) runtime.Predictor {
	t.Helper()
	b, err := os.ReadFile("../../examples/fraud/v2/model.json")
	if err != nil {
		t.Fatal(err)
	}
	v := slipway.Version{Model: "fraud", Version: "2", Format: slipway.FormatXGBoost}
	if signed {
		for _, f := range features {
			v.Signature.Inputs = append(v.Signature.Inputs, slipway.TensorSpec{Name: f, Datatype: "FP32", Shape: []int64{-1}})
		}
		v.Signature.Outputs = []slipway.TensorSpec{{Name: "score", Datatype: "FP32", Shape: []int64{-1}}}
	}
	p, err := runtime.Load(context.Background(), v, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The two layouts clients send, and every numeric datatype, give the same
// predictions.
func TestTabularLayoutsAgree(t *testing.T) {
	p := fraud(t, true)
	rows := [][]float64{{120, 3, 0.9, math.NaN(), 10, 1, 10}, {3000, 14, 0.1, 5, 1, 0, 900}}
	var matrix []float32
	for _, r := range rows {
		for _, v := range r {
			matrix = append(matrix, float32(v))
		}
	}
	ctx := context.Background()
	want, err := p.Predict(ctx, []runtime.Tensor{{Name: "input", Datatype: "FP32", Shape: []int64{2, 7}, Data: matrix}})
	if err != nil {
		t.Fatal(err)
	}
	var cols []runtime.Tensor
	for j, f := range features {
		cols = append(cols, runtime.Tensor{Name: f, Datatype: "FP64", Shape: []int64{2}, Data: []float64{rows[0][j], rows[1][j]}})
	}
	got, err := p.Predict(ctx, cols)
	if err != nil {
		t.Fatal(err)
	}
	w, g := want[0].Data.([]float32), got[0].Data.([]float32)
	if len(w) != 2 || w[0] != g[0] || w[1] != g[1] || got[0].Name != "score" {
		t.Fatalf("matrix %v, columns %v (%s)", w, g, got[0].Name)
	}
}

func TestTabularInputErrors(t *testing.T) {
	p := fraud(t, true)
	col := func(name, dt string, shape []int64, data any) runtime.Tensor {
		return runtime.Tensor{Name: name, Datatype: dt, Shape: shape, Data: data}
	}
	good := func() []runtime.Tensor {
		var ts []runtime.Tensor
		for _, f := range features {
			ts = append(ts, col(f, "FP32", []int64{1}, []float32{1}))
		}
		return ts
	}
	for _, tc := range []struct {
		name   string
		inputs []runtime.Tensor
		want   string
	}{
		{"none", nil, "no inputs"},
		{"matrix too narrow", []runtime.Tensor{col("input", "FP32", []int64{1, 6}, make([]float32, 6))}, `input "input": shape [1 6]: want [rows, 7]`},
		{"one feature missing", good()[1:], "got 6 tensors"},
		{"text feature", append(good()[1:], col("amount", "BYTES", []int64{1}, []string{"x"})), `input "amount": datatype BYTES`},
		{"renamed feature", append(good()[1:], col("amt", "FP32", []int64{1}, []float32{1})), `input "amount": missing`},
		{"rows differ", append(good()[1:], col("amount", "FP32", []int64{2}, []float32{1, 2})), `input "amount": shape [2]: want [1]`},
	} {
		_, err := p.Predict(context.Background(), tc.inputs)
		var ie *runtime.InputError
		if !errors.As(err, &ie) || !errors.Is(err, slipway.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an InputError containing %q", tc.name, err, tc.want)
		}
	}
}

func TestUnsignedVersionGetsSignatureFromModel(t *testing.T) {
	sig := fraud(t, false).Signature()
	if len(sig.Inputs) == 0 || len(sig.Outputs) != 1 || sig.Outputs[0].Name != "predict" {
		t.Fatalf("derived signature %+v", sig)
	}
}

func TestLoadUnknownFormat(t *testing.T) {
	_, err := runtime.Load(context.Background(), slipway.Version{Model: "m", Version: "1", Format: "tensorflow"}, nil)
	if err == nil || !strings.Contains(err.Error(), `no runtime for format "tensorflow"`) {
		t.Fatalf("Load = %v", err)
	}
}

func TestElementsAndCheckShape(t *testing.T) {
	for _, tc := range []struct {
		shape []int64
		n     int
		bad   bool
	}{{[]int64{2, 3}, 6, false}, {[]int64{0, 5}, 0, false}, {nil, 0, true}, {[]int64{-1}, 0, true}, {[]int64{1 << 20, 1 << 20}, 0, true}} {
		n, err := runtime.Elements(tc.shape)
		if (err != nil) != tc.bad || n != tc.n {
			t.Errorf("Elements(%v) = %d, %v", tc.shape, n, err)
		}
	}
	if err := (runtime.Tensor{Shape: []int64{2}, Data: []int64{1}}).CheckShape(); err == nil {
		t.Error("CheckShape accepted 1 element for shape [2]")
	}
}
