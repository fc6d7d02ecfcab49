package xgboost

import (
	"math"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every error is a
// model error, and that any model Parse accepts predicts a row of missing
// values and a row of zeros without panicking.
func FuzzParse(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.model)
	}
	f.Add([]byte(tinyModel))
	f.Add([]byte(tinyModel[:len(tinyModel)-40]))
	f.Add(tinyWith(f, func(_, tree map[string]any) { tree["left_children"] = []any{1, 0, -1} }))
	f.Add(tinyWith(f, func(_, tree map[string]any) { tree["split_indices"] = []any{7, 0, 0} }))
	f.Add(tinyWith(f, func(l, _ map[string]any) {
		at(l, "objective")["name"] = "multi:softmax"
		at(l, "learner_model_param")["num_class"] = "2"
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "xgboost model: ") {
				t.Fatalf("error without the model prefix: %v", err)
			}
			return
		}
		if b.NumFeature() > 1<<16 {
			return // valid, but a row would be needlessly large
		}
		row := make([]float32, b.NumFeature())
		for _, v := range []float32{float32(math.NaN()), 0} {
			for i := range row {
				row[i] = v
			}
			out, err := b.Predictions(row, 1)
			if err != nil {
				t.Fatalf("predicting one row of %v: %v", v, err)
			}
			if len(out) != b.NumOutput() {
				t.Fatalf("got %d predictions, want %d", len(out), b.NumOutput())
			}
			if b.link == linkArgmax && !(out[0] >= 0 && int(out[0]) < b.numGroup) {
				t.Fatalf("class %v out of range [0, %d)", out[0], b.numGroup)
			}
		}
	})
}
