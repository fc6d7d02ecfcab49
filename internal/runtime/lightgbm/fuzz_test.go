package lightgbm

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

// FuzzLoad checks that no input makes Parse panic, that every error is a
// model error, and that any model Parse accepts predicts rows of missing,
// zero and extreme values without panicking or hanging.
func FuzzLoad(f *testing.F) {
	f.Add(tinyModel(f))
	f.Add(tinyWith(f, "version=v4", "version=v3", "cat_boundaries=0 1", "cat_boundaries=0"))
	f.Add(tinyWith(f, "left_child=-1 -2\nright_child=1 -3", "left_child=1 -2\nright_child=1 -3"))
	f.Add(tinyWith(f, "objective=regression", "objective=multiclass num_class:1"))
	// A small model LightGBM wrote, from leaves' testdata.
	if dir, err := leavesDir(); err == nil {
		if data, err := os.ReadFile(filepath.Join(dir, "testdata", "model_simple.txt")); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lightgbm model: ") || !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("error is not a model error: %v", err)
			}
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			row := make([]float32, m.NumFeature())
			for _, v := range []float32{float32(math.NaN()), 0, -1, math.MaxFloat32, float32(math.Inf(-1))} {
				for i := range row {
					row[i] = v
				}
				out, err := m.Predictions(row, 1)
				if err != nil {
					t.Errorf("predicting a row of %v: %v", v, err)
					return
				}
				if len(out) != m.NumOutput() {
					t.Errorf("got %d predictions, want %d", len(out), m.NumOutput())
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Predict did not return within 10s")
		}
	})
}
