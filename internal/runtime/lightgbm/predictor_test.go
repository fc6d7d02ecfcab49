package lightgbm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func loadPredictor(t *testing.T, artifact []byte) runtime.Predictor {
	t.Helper()
	v := slipway.Version{Model: "m", Version: "1", Format: slipway.FormatLightGBM}
	p, err := runtime.Load(context.Background(), v, artifact)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestPredictor serves reference models through the runtime registry and
// checks that a [rows, features] tensor, and one tensor per feature, give
// exactly Model's predictions.
func TestPredictor(t *testing.T) {
	dir := leavesTestdata(t)
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			data, m, input, rows := c.load(t, dir)
			x := toFloat32(input)
			want, err := m.Predictions(x, rows)
			if err != nil {
				t.Fatal(err)
			}
			p := loadPredictor(t, data)

			sig := p.Signature()
			var names []string
			for _, in := range sig.Inputs {
				names = append(names, in.Name)
			}
			if !slices.Equal(names, m.FeatureNames()) {
				t.Fatalf("signature inputs %q, want the model's feature names %q", names, m.FeatureNames())
			}
			wantShape := []int64{int64(rows)}
			if m.NumOutput() > 1 {
				wantShape = append(wantShape, int64(m.NumOutput()))
			}

			nf := int64(m.NumFeature())
			matrix := []runtime.Tensor{{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), nf}, Data: x}}
			columns := make([]runtime.Tensor, nf)
			for j, name := range names {
				col := make([]float32, rows)
				for r := range rows {
					col[r] = x[r*int(nf)+j]
				}
				columns[j] = runtime.Tensor{Name: name, Datatype: runtime.FP32, Shape: []int64{int64(rows)}, Data: col}
			}
			for layout, inputs := range map[string][]runtime.Tensor{"matrix": matrix, "columns": columns} {
				out, err := p.Predict(context.Background(), inputs)
				if err != nil {
					t.Fatalf("%s: %v", layout, err)
				}
				if len(out) != 1 || out[0].Name != "predict" || !slices.Equal(out[0].Shape, wantShape) {
					t.Fatalf("%s: got %d outputs, first %q of shape %v; want predict of shape %v",
						layout, len(out), out[0].Name, out[0].Shape, wantShape)
				}
				if got := out[0].Data.([]float32); !slices.Equal(got, want) {
					t.Errorf("%s: predictions differ from Model.Predict", layout)
				}
			}
		})
	}
}

func TestPredictorErrors(t *testing.T) {
	if _, err := runtime.Load(context.Background(),
		slipway.Version{Model: "m", Version: "1", Format: slipway.FormatLightGBM}, []byte("garbage\n")); err == nil ||
		!errors.Is(err, slipway.ErrInvalid) || !strings.Contains(err.Error(), "lightgbm model: ") {
		t.Errorf("loading garbage: got %v, want a lightgbm model error", err)
	}

	p := loadPredictor(t, tinyModel(t))
	_, err := p.Predict(context.Background(), []runtime.Tensor{
		{Name: "input", Datatype: runtime.FP32, Shape: []int64{1, 2}, Data: []float32{1, 2}},
	})
	var inErr *runtime.InputError
	if !errors.As(err, &inErr) || !strings.Contains(err.Error(), "want [rows, 3]") {
		t.Errorf("two features for a three-feature model: got %v, want an input error naming 3 features", err)
	}
}
