package batch_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/dataset"
)

// BenchmarkScore scores the fraud holdout ten times over (20,000 rows)
// with fraud v2; rows/s is the figure to watch.
func BenchmarkScore(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in.csv")
	n := repeatHoldout(b, in, 10)
	p := load(b, "fraud/v2")
	opt := batch.Options{Data: dataset.Options{Ignore: []string{"label", "region"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := batch.Score(context.Background(), p, in, filepath.Join(dir, "out.csv"), opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRead is the dataset side alone: framing and parsing.
func BenchmarkRead(b *testing.B) {
	in := filepath.Join(b.TempDir(), "in.csv")
	n := repeatHoldout(b, in, 10)
	sig := load(b, "fraud/v2").Signature()
	b.ReportAllocs()
	for b.Loop() {
		r, err := dataset.Open(in, sig, dataset.Options{Ignore: []string{"label", "region"}})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
