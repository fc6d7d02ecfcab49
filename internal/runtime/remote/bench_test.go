package remote

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

var row = []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{1, 8}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}}}

// BenchmarkRemoteHTTP is one single-row call to a loopback OIP REST
// server, the fake model's own work included.
func BenchmarkRemoteHTTP(b *testing.B) {
	benchmarkRemote(b, serveHTTP(b, behaviour{}), row)
}

// BenchmarkRemoteGRPC is the same call over gRPC.
func BenchmarkRemoteGRPC(b *testing.B) {
	benchmarkRemote(b, serveGRPC(b, behaviour{}), row)
}

// fraudRow is one row of the fraud model's seven features, one missing,
// as bench/routing sends it.
var fraudRow = func() []runtime.Tensor {
	var ins []runtime.Tensor
	for i, name := range []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"} {
		v := []float32{26.75, 19, 0.086, float32(nan()), 2, 0, 689}[i]
		ins = append(ins, runtime.Tensor{Name: name, Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{v}})
	}
	return ins
}()

// BenchmarkRemoteHTTPFixed is a call with bench/routing's request to a
// server with a fixed answer and almost no cost of its own, as
// bench/routing's backend: what is measured is the client's side.
func BenchmarkRemoteHTTPFixed(b *testing.B) {
	answer := []byte(`{"model_name":"fraud","model_version":"a","id":"a-1f","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.0837]}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	benchmarkRemote(b, srv.URL+"/v2/models/fraud", fraudRow)
}

func benchmarkRemote(b *testing.B, url string, inputs []runtime.Tensor) {
	p := open(b, url, nil)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if _, err := p.Predict(ctx, inputs); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, client and server, unlike ns/op, does not depend on what
	// else the machine runs meanwhile.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
