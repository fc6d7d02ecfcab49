package remote

import (
	"context"
	"testing"

	"github.com/slipway-ml/slipway/internal/runtime"
)

var row = []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{1, 8}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}}}

// BenchmarkRemoteHTTP is one single-row call to a loopback OIP REST
// server, the fake model's own work included.
func BenchmarkRemoteHTTP(b *testing.B) {
	benchmarkRemote(b, serveHTTP(b, behaviour{}))
}

// BenchmarkRemoteGRPC is the same call over gRPC.
func BenchmarkRemoteGRPC(b *testing.B) {
	benchmarkRemote(b, serveGRPC(b, behaviour{}))
}

func benchmarkRemote(b *testing.B, url string) {
	p := open(b, url, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Predict(ctx, row); err != nil {
			b.Fatal(err)
		}
	}
}
