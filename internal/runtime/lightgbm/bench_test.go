package lightgbm

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// BenchmarkPredict predicts with lg_breast_cancer.txt from leaves'
// testdata, a binary model of 39 trees over 30 features, directly and
// through the runtime's tabular Predictor.
func BenchmarkPredict(b *testing.B) {
	path := filepath.Join(leavesTestdata(b), "lg_breast_cancer.txt")
	m := parseFile(b, path)
	data, n, _ := readNumbers(b, filepath.Join(filepath.Dir(path), "lg_breast_cancer_data.txt"), false)
	p := runtime.NewTabular(m, slipway.Signature{}, nil)
	for _, rows := range []int{1, 1000} {
		x := make([]float32, rows*m.NumFeature())
		for i := range x {
			x[i] = float32(data[i%(n*m.NumFeature())])
		}
		out := make([]float32, rows*m.NumOutput())
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Predict(x, rows, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
		in := []runtime.Tensor{{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), int64(m.NumFeature())}, Data: x}}
		b.Run(fmt.Sprintf("tabular/rows=%d", rows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Predict(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
