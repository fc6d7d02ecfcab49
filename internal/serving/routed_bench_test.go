package serving_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/h1"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// fixedBackend serves a fixed, valid OIP answer to every infer call, like
// bench/routing's backend, so a benchmark times the router alone.
func fixedBackend(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	answer := []byte(`{"model_name":"fraud","model_version":"a","id":"a-1","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.0837]}]}`)
	s := &h1.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		}),
		Fast: func(method, _ string) bool { return method == http.MethodPost },
	}
	go s.Serve(ln)
	tb.Cleanup(func() { s.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}

// BenchmarkRoutedRemote is one routed request through the whole server:
// slipway in front of remote versions a (90 %) and b (10 %) with 10 %
// mirrored to a shadow, as bench/routing runs it, client and backend in
// the same process (their allocations count too).
func BenchmarkRoutedRemote(b *testing.B) {
	front, _ := gateway(b)
	c := &api.Client{BaseURL: front, Actor: "bench"}
	ctx := context.Background()
	sig, err := c.Version(ctx, slipway.Ref{Model: "fraud", Selector: "2.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []string{"a", "b", "shadow"} {
		url := fixedBackend(b) + "/v2/models/fraud"
		if _, err := c.Push(ctx, "fraud", slipway.Version{Version: v, URL: url, Signature: sig.Signature, Meta: map[string]string{"timeout": "2s"}}, "", nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:  []traffic.Split{{Version: "a", Weight: 9000}, {Version: "b", Weight: 1000}},
		Mirrors: []traffic.Mirror{{Version: "shadow", Percent: 1000}},
	}, "bench"); err != nil {
		b.Fatal(err)
	}
	_, cols := holdout(b, examples+"fraud/holdout.csv")
	body := inferBody(cols, 0, 1)
	client := &h1.Client{Addr: front[len("http://"):], Timeout: 5 * time.Second}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(ctx, "/v2/models/fraud/infer", "application/json", body, dst[:0])
		if err != nil || resp.Status != 200 {
			b.Fatalf("%v %d %s", err, resp.Status, resp.Body)
		}
		dst = resp.Body
	}
}
