package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	slipwayserver "github.com/slipway-ml/slipway/internal/server"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// oneRow is a request of bench/serving's infer.lua: one fraud holdout row,
// a missing value as null.
const oneRow = `{"inputs":[{"name":"amount","shape":[1],"datatype":"FP32","data":[26.75]},{"name":"hour","shape":[1],"datatype":"FP32","data":[19]},{"name":"merchant_risk","shape":[1],"datatype":"FP32","data":[0.086]},{"name":"distance_from_home","shape":[1],"datatype":"FP32","data":[null]},{"name":"tx_count_24h","shape":[1],"datatype":"FP32","data":[2]},{"name":"is_foreign","shape":[1],"datatype":"FP32","data":[0]},{"name":"card_age_days","shape":[1],"datatype":"FP32","data":[689]}]}`

// routedSlipway starts, in this process, the routing setup of run.sh: three
// backends (a, b, shadow), a slipway with each registered as a remote
// version and fraud routed a=90 b=10 with a 10% mirror to shadow. It
// returns slipway's inference URL and the backends.
func routedSlipway(tb testing.TB) (string, map[string]*server) {
	tb.Helper()
	backends := map[string]*server{}
	urls := map[string]string{}
	for _, v := range []string{"a", "b", "shadow"} {
		s := newServer("fraud", v, 0)
		ts := httptest.NewServer(s.handler())
		tb.Cleanup(ts.Close)
		backends[v], urls[v] = s, ts.URL
	}
	srv, err := slipwayserver.Open(context.Background(), slipwayserver.Config{
		DataDir: tb.TempDir(), HTTPAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	tb.Cleanup(func() { cancel(); <-errc })
	base := "http://" + <-addrc
	c := &api.Client{BaseURL: base, Actor: "bench"}
	var sig slipway.Signature
	raw, err := os.ReadFile("../../../examples/fraud/v2/signature.json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sig); err != nil {
		tb.Fatal(err)
	}
	for _, v := range []string{"a", "b", "shadow"} {
		meta := slipway.Version{Version: v, URL: urls[v] + "/v2/models/fraud", Signature: sig, Meta: map[string]string{"timeout": "2s"}}
		if _, err := c.Push(ctx, "fraud", meta, "", nil); err != nil {
			tb.Fatalf("push %s: %v", v, err)
		}
	}
	policy := traffic.Policy{
		Splits:  []traffic.Split{{Version: "a", Weight: 9000}, {Version: "b", Weight: 1000}},
		Mirrors: []traffic.Mirror{{Version: "shadow", Percent: 1000}},
	}
	if _, err := c.SetRoute(ctx, "fraud", policy, "routing benchmark"); err != nil {
		tb.Fatal(err)
	}
	return base + "/v2/models/fraud/infer", backends
}

// BenchmarkSlipwayRouting is one request through slipway routing to remote
// backends, as in run.sh but in one process: the load generator (an
// http.Client), slipway and the backends all count in ns/op and allocs/op,
// so compare runs of this benchmark with each other, not with run.sh. Use
// -cpuprofile to see where slipway's share goes.
func BenchmarkSlipwayRouting(b *testing.B) {
	url, backends := routedSlipway(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(oneRow)
	post := func() error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"outputs":[{"name":"score"`)) {
			b.Fatalf("answered %d: %s", resp.StatusCode, out)
		}
		return nil
	}
	for range 100 { // load the versions, fill the connection pools
		if err := post(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 connections on 2 cores, like run.sh's first point
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// CPU time, unlike ns/op, does not depend on what else the machine
	// runs meanwhile.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	// Let the shadow copies finish, then check where requests went.
	time.Sleep(50 * time.Millisecond)
	if bad := backends["a"].bad.Load() + backends["b"].bad.Load() + backends["shadow"].bad.Load(); bad > 0 {
		b.Fatalf("backends refused %d requests as malformed", bad)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
