package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// transports runs every contract test over HTTP and over gRPC, against
// the same fake model.
var transports = []struct {
	name  string
	serve func(testing.TB, behaviour) string
	// refused builds a URL for a port nothing listens on.
	refused func(addr string) string
}{
	{"http", serveHTTP, func(addr string) string { return "http://" + addr + "/v2/models/" + fakeModel }},
	{"grpc", serveGRPC, func(addr string) string { return "grpc://" + addr + "/" + fakeModel }},
	{"grpc-raw", func(t testing.TB, b behaviour) string { b.raw = true; return serveGRPC(t, b) },
		func(addr string) string { return "grpc://" + addr + "/" + fakeModel }},
}

func open(t testing.TB, url string, meta map[string]string) *Predictor {
	t.Helper()
	p, err := Open(context.Background(), slipway.Version{Model: "m", Version: "1", Format: slipway.FormatRemote, URL: url, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

var batch = []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6.5}}}

var wantSum = []runtime.Tensor{{Name: "sum", Datatype: runtime.FP32, Shape: []int64{2}, Data: []float32{6, 15.5}}}

func TestPredict(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			var versions atomic.Value
			url := tr.serve(t, behaviour{versions: &versions})
			p := open(t, withVersion(url, "7"), nil)
			got, err := p.Predict(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantSum) {
				t.Errorf("got %+v, want %+v", got, wantSum)
			}
			if v := versions.Load(); v != "7" {
				t.Errorf("server was asked for version %v, want 7", v)
			}
			want := slipway.Signature{
				Inputs:  []slipway.TensorSpec{{Name: "x", Datatype: "FP32", Shape: []int64{-1, -1}}},
				Outputs: []slipway.TensorSpec{{Name: "sum", Datatype: "FP32", Shape: []int64{-1}}},
			}
			if sig := p.Signature(); !reflect.DeepEqual(sig, want) {
				t.Errorf("signature fetched from the server = %+v, want %+v", sig, want)
			}
			if err := p.Ready(context.Background()); err != nil {
				t.Errorf("Ready: %v", err)
			}
		})
	}
}

func TestLoadThroughRuntime(t *testing.T) {
	url := serveHTTP(t, behaviour{})
	sig := slipway.Signature{Outputs: []slipway.TensorSpec{{Name: "sum", Datatype: "FP32", Shape: []int64{-1}}}}
	p, err := runtime.Load(context.Background(), slipway.Version{Model: "m", Version: "1", Format: slipway.FormatRemote, URL: url, Signature: sig}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !reflect.DeepEqual(p.Signature(), sig) {
		t.Errorf("signature = %+v, want the version's own %+v", p.Signature(), sig)
	}
	if _, err := p.Predict(context.Background(), batch); err != nil {
		t.Error(err)
	}
}

func TestTimeout(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := open(t, tr.serve(t, behaviour{sleep: 10 * time.Second}), map[string]string{"timeout": "100ms"})
			start := time.Now()
			_, err := p.Predict(context.Background(), batch)
			elapsed := time.Since(start)
			t.Log(err)
			var be *runtime.BackendError
			if !errors.As(err, &be) || !be.Timeout {
				t.Fatalf("err = %v, want a *runtime.BackendError with Timeout", err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %v to time out after 100ms", elapsed)
			}
			if !strings.Contains(err.Error(), "within 100ms") {
				t.Errorf("err = %q, want it to name the timeout", err)
			}
		})
	}
}

func TestCallerCancels(t *testing.T) {
	p := open(t, serveHTTP(t, behaviour{sleep: 10 * time.Second}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Predict(ctx, batch)
	var be *runtime.BackendError
	if !errors.Is(err, context.Canceled) || errors.As(err, &be) {
		t.Errorf("err = %v, want context.Canceled and no blame on the server", err)
	}
}

func TestFailures(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			cases := []struct {
				name string
				url  func(t *testing.T) string
				want string
			}{
				{"refused", func(t *testing.T) string { return tr.refused(closedPort(t)) }, "connection refused"},
				{"garbage", func(t *testing.T) string { return tr.serve(t, behaviour{garbage: true}) }, map[string]string{
					"http": "answered 200 but the body is not JSON", "grpc": `answered output "sum" that does not decode: shape [2] holds 2 elements but contents have 5`,
					"grpc-raw": "does not decode"}[tr.name]},
				{"server error", func(t *testing.T) string { return tr.serve(t, behaviour{fail: true}) }, map[string]string{
					"http": `answered 500: CUDA out of memory`, "grpc": "Internal: CUDA out of memory", "grpc-raw": "Internal: CUDA out of memory"}[tr.name]},
				{"unknown model", func(t *testing.T) string { return strings.Replace(tr.serve(t, behaviour{}), fakeModel, "nope", 1) }, map[string]string{
					"http": "answered 404", "grpc": "NotFound", "grpc-raw": "NotFound"}[tr.name]},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					p := open(t, c.url(t), map[string]string{"timeout": "5s"})
					_, err := p.Predict(context.Background(), batch)
					t.Log(err)
					var be *runtime.BackendError
					if !errors.As(err, &be) || be.Timeout {
						t.Fatalf("err = %v, want a *runtime.BackendError without Timeout", err)
					}
					if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "model server 127.0.0.1:") {
						t.Errorf("err = %q, want it to start with the server's address and contain %q", err, c.want)
					}
					if errors.Is(err, slipway.ErrInvalid) {
						t.Error("the server's failure is blamed on the request")
					}
				})
			}
		})
	}
}

func TestRemoteRefusesRequest(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := open(t, tr.serve(t, behaviour{}), nil)
			bad := []runtime.Tensor{{Name: "bad", Datatype: runtime.FP32, Shape: []int64{1, 1}, Data: []float32{1}}}
			_, err := p.Predict(context.Background(), bad)
			t.Log(err)
			var ie *runtime.InputError
			if !errors.As(err, &ie) || !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("err = %v (%T), want a *runtime.InputError", err, err)
			}
			if !strings.Contains(err.Error(), "refused the request: want one input x") {
				t.Errorf("err = %q, want the server's message", err)
			}
		})
	}
}

func TestWrongOutputs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			url := tr.serve(t, behaviour{})
			// The version says the model has two outputs; the server
			// answers one (HTTP's fake ignores the request's outputs list,
			// gRPC's too).
			sig := slipway.Signature{Outputs: []slipway.TensorSpec{{Name: "sum"}, {Name: "mean"}}}
			p, err := Open(context.Background(), slipway.Version{URL: url, Signature: sig})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Predict(context.Background(), batch)
			var be *runtime.BackendError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), "answered 1 outputs (sum), want 2 (sum, mean)") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestReady(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := open(t, tr.serve(t, behaviour{notReady: true}), nil)
			var be *runtime.BackendError
			if err := p.Ready(context.Background()); !errors.As(err, &be) {
				t.Errorf("not ready: err = %v, want a *runtime.BackendError", err)
			}
			down := open(t, tr.refused(closedPort(t)), map[string]string{"timeout": "2s"})
			if err := down.Ready(context.Background()); !errors.As(err, &be) {
				t.Errorf("down: err = %v, want a *runtime.BackendError", err)
			}
		})
	}
}

// A server that cannot give its metadata at load leaves the signature
// unknown; the first successful Ready fills it in.
func TestSignatureLater(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			var starting atomic.Bool
			starting.Store(true)
			p := open(t, tr.serve(t, behaviour{noMetadata: &starting}), nil)
			if sig := p.Signature(); len(sig.Inputs) != 0 {
				t.Fatalf("signature = %+v, want unknown", sig)
			}
			if _, err := p.Predict(context.Background(), batch); err != nil {
				t.Fatalf("Predict with an unknown signature: %v", err)
			}
			starting.Store(false)
			if err := p.Ready(context.Background()); err != nil {
				t.Fatal(err)
			}
			if sig := p.Signature(); len(sig.Inputs) != 1 || sig.Inputs[0].Name != "x" {
				t.Errorf("signature after Ready = %+v", sig)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			p := open(t, tr.serve(t, behaviour{}), nil)
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for g := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						v := float32(g*100 + i)
						in := []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{1, 2}, Data: []float32{v, 1}}}
						out, err := p.Predict(context.Background(), in)
						if err != nil {
							errs <- err
							return
						}
						if got := out[0].Data.([]float32)[0]; got != v+1 {
							errs <- fmt.Errorf("goroutine %d call %d: sum %v, want %v", g, i, got, v+1)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestSharedGRPCConn(t *testing.T) {
	url := serveGRPC(t, behaviour{})
	a, b := open(t, url, nil), open(t, withVersion(url, "2"), nil)
	if a.b.(*grpcBackend).client == nil || connRefs(url) != 2 {
		t.Fatalf("refs = %d, want 2 versions on one connection", connRefs(url))
	}
	a.Close()
	a.Close() // a second Close must not release b's reference
	if connRefs(url) != 1 {
		t.Errorf("after one Close: refs = %d, want 1", connRefs(url))
	}
	if _, err := b.Predict(context.Background(), batch); err != nil {
		t.Errorf("the other version after Close: %v", err)
	}
	b.Close()
	if connRefs(url) != 0 {
		t.Errorf("after both Close: refs = %d, want 0", connRefs(url))
	}
}

func connRefs(url string) int {
	t, _ := parseTarget(url)
	conns.mu.Lock()
	defer conns.mu.Unlock()
	if sc, ok := conns.m[t.scheme+"://"+t.host]; ok {
		return sc.refs
	}
	return 0
}

func TestNaNTravelsAsNull(t *testing.T) {
	in := []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{1, 3}, Data: []float32{1, float32(nan()), 2}}}
	body, err := oip.AppendJSONRequest(nil, in, []string{"sum"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,null,2]}],"outputs":[{"name":"sum"}]}`
	if string(body) != want {
		t.Errorf("request body\n%s\nwant\n%s", body, want)
	}
}

// A model server behind a redirect answers as before: the redirect is
// followed, with the body, for every status http.Client follows for a POST.
func TestHTTPFollowsRedirects(t *testing.T) {
	target := serveHTTP(t, behaviour{})
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		var hits atomic.Int64
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Redirect(w, r, strings.TrimSuffix(target, "/v2/models/"+fakeModel)+r.URL.Path, code)
		}))
		t.Cleanup(front.Close)
		p := open(t, front.URL+"/v2/models/"+fakeModel, nil)
		got, err := p.Predict(context.Background(), batch)
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if !reflect.DeepEqual(got, wantSum) {
			t.Errorf("%d: got %+v, want %+v", code, got, wantSum)
		}
		if hits.Load() == 0 {
			t.Errorf("%d: the redirecting server was not asked", code)
		}
	}
}

// An answer whose outputs break the protocol is the server's failure,
// named by output, never the request's.
func TestHTTPInvalidOutputs(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"outputs":[{"name":"sum","datatype":"FP32","shape":[3],"data":[1,2]}]}`, `answered output "sum" that does not decode: shape [3] holds 3 elements but data has 2`},
		{`{"outputs":[{"name":"sum","datatype":"INT32","shape":[2],"data":[1,null]}]}`, `answered output "sum" that does not decode: data is not INT32: element 1 is null`},
		{`{"outputs":[{"name":"sum","datatype":"FP8","shape":[1],"data":[1]}]}`, `datatype "FP8" not supported`},
		{`{"outputs":{"name":"sum"}}`, "answered 200 but the body is not an inference response: outputs: want an array, not an object"},
		{`{"outputs":[{"name":"sum",`, "answered 200 but the body is not JSON"},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(c.body)) }))
		t.Cleanup(srv.Close)
		p := open(t, srv.URL+"/v2/models/"+fakeModel, nil)
		_, err := p.Predict(context.Background(), batch)
		var be *runtime.BackendError
		if !errors.As(err, &be) || errors.Is(err, slipway.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a *runtime.BackendError containing %q", c.body, err, c.want)
		}
	}
}

// Missing values in a float answer are NaN, as null is in a request.
func TestHTTPNullOutputIsNaN(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"model_name":"sum","outputs":[{"name":"sum","datatype":"FP32","shape":[2],"data":[1.5,null]}]}`))
	}))
	t.Cleanup(srv.Close)
	got, err := open(t, srv.URL+"/v2/models/"+fakeModel, nil).Predict(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if d := got[0].Data.([]float32); len(d) != 2 || d[0] != 1.5 || !math.IsNaN(float64(d[1])) {
		t.Errorf("data %v, want [1.5 NaN]", d)
	}
}

// TestHTTPAnswerShapes: a server may stream its answer (chunked) or send
// more than a model server should; the first decodes like any answer,
// the second is refused without being read whole.
func TestHTTPAnswerShapes(t *testing.T) {
	answer := `{"model_name":"sum","outputs":[{"name":"sum","shape":[2],"datatype":"FP32","data":[6,15.5]}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/infer") && strings.Contains(r.URL.Path, "/stream/"):
			for i := range len(answer) { // a flush per byte: many chunks
				io.WriteString(w, answer[i:i+1])
				w.(http.Flusher).Flush()
			}
		case strings.HasSuffix(r.URL.Path, "/infer"):
			w.Header().Set("Content-Length", strconv.Itoa(MaxResponseBytes+1))
			w.Write(make([]byte, 1<<20)) // the client must stop at the header
		default:
			w.Write([]byte(fakeSignature))
		}
	}))
	t.Cleanup(srv.Close)

	p := open(t, srv.URL+"/stream/v2/models/"+fakeModel, nil)
	got, err := p.Predict(context.Background(), batch)
	if err != nil || !reflect.DeepEqual(got, wantSum) {
		t.Errorf("chunked answer: %+v, %v; want %+v", got, err, wantSum)
	}

	p = open(t, srv.URL+"/v2/models/"+fakeModel, nil)
	_, err = p.Predict(context.Background(), batch)
	var be *runtime.BackendError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), fmt.Sprintf("answered more than %d bytes", MaxResponseBytes)) {
		t.Errorf("oversized answer: err = %v, want a *runtime.BackendError saying it is too large", err)
	}
}

// TestPlainHTTPOnCallersGoroutine: plain HTTP servers are called through
// package h1; https ones through net/http.
func TestPlainHTTPOnCallersGoroutine(t *testing.T) {
	for raw, fast := range map[string]bool{
		"http://127.0.0.1:8000/v2/models/m":  true,
		"http://model-server/v2/models/m":    true,
		"https://127.0.0.1:8443/v2/models/m": false,
	} {
		tg, err := parseTarget(raw)
		if err != nil {
			t.Fatal(err)
		}
		b := newHTTPBackend(tg, time.Second)
		if (b.fast != nil) != fast {
			t.Errorf("%s: through h1 %v, want %v", raw, b.fast != nil, fast)
		}
		if b.fast != nil && raw == "http://model-server/v2/models/m" && b.fast.Addr != "model-server:80" {
			t.Errorf("%s: dials %s, want model-server:80", raw, b.fast.Addr)
		}
	}
}
