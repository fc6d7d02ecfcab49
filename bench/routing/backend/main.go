// Command backend is the model server behind the routers in bench/routing:
// a minimal Open Inference Protocol v2 HTTP server with a fixed cost, so
// that a comparison of routers in front of it measures the routers.
//
// It answers POST /v2/models/{model}[/versions/{v}]/infer with one fixed,
// valid response (an FP32 score of shape [1]) after reading the whole body,
// checking that it looks like an inference request, and sleeping -delay:
//
//	{"model_name":"fraud","model_version":"a","id":"a-1f","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.0837]}]}
//
// It also answers the endpoints a router probes (GET /v2/health/live,
// /v2/health/ready, /v2/models/{model}[/versions/{v}][/ready] with the
// fraud signature), and GET /stats with its counters since start, which the
// harness reads to see how many requests (and mirrored copies) arrived:
//
//	{"infer":1234,"bad":0,"busy_ns":5678}
//
// Usage:
//
//	backend -addr 127.0.0.1:9001 -version a [-model fraud] [-delay 10ms]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// features are the fraud model's inputs, for the metadata endpoint.
var features = []string{
	"amount", "hour", "merchant_risk", "distance_from_home",
	"tx_count_24h", "is_foreign", "card_age_days",
}

type server struct {
	model, version string
	delay          time.Duration
	// head and tail surround the id in every answer; built once.
	head, tail []byte
	metadata   []byte

	infer  atomic.Int64 // inference requests answered 200
	bad    atomic.Int64 // inference requests refused
	busyNS atomic.Int64 // time spent in inference handlers, delay included
	ids    atomic.Uint64
}

func newServer(model, version string, delay time.Duration) *server {
	s := &server{model: model, version: version, delay: delay}
	s.head = fmt.Appendf(nil, `{"model_name":%q,"model_version":%q,"id":"%s-`, model, version, version)
	s.tail = []byte(`","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.0837]}]}`)
	type tensor struct {
		Name     string  `json:"name"`
		Datatype string  `json:"datatype"`
		Shape    []int64 `json:"shape"`
	}
	md := struct {
		Name     string   `json:"name"`
		Versions []string `json:"versions"`
		Platform string   `json:"platform"`
		Inputs   []tensor `json:"inputs"`
		Outputs  []tensor `json:"outputs"`
	}{Name: model, Versions: []string{version}, Platform: "bench-backend"}
	for _, f := range features {
		md.Inputs = append(md.Inputs, tensor{f, "FP32", []int64{-1}})
	}
	md.Outputs = []tensor{{"score", "FP32", []int64{-1}}}
	s.metadata, _ = json.Marshal(md)
	return s
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /v2/health/live", ok)
	mux.HandleFunc("GET /v2/health/ready", ok)
	model := "/v2/models/" + s.model
	for _, p := range []string{model, model + "/versions/{version}"} {
		mux.HandleFunc("GET "+p, s.meta)
		mux.HandleFunc("GET "+p+"/ready", ok)
		mux.HandleFunc("POST "+p+"/infer", s.serveInfer)
	}
	mux.HandleFunc("GET /stats", s.stats)
	return mux
}

func (s *server) meta(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.metadata)
}

func (s *server) serveInfer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.busyNS.Add(int64(time.Since(start))) }()
	buf := bufs.Get().(*bytes.Buffer)
	defer bufs.Put(buf)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r.Body, 1<<20))
	body := bytes.TrimSpace(buf.Bytes())
	if err != nil || len(body) < 2 || body[0] != '{' || !bytes.Contains(body, []byte(`"inputs"`)) {
		// A router that forwards an empty or cut body shows up here.
		s.bad.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"not an inference request (%d bytes)"}`, len(body))
		return
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	out := make([]byte, 0, len(s.head)+len(s.tail)+16)
	out = append(out, s.head...)
	out = strconv.AppendUint(out, s.ids.Add(1), 16)
	out = append(out, s.tail...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	s.infer.Add(1)
}

func (s *server) stats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"infer":%d,"bad":%d,"busy_ns":%d}`+"\n", s.infer.Load(), s.bad.Load(), s.busyNS.Load())
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	model := flag.String("model", "fraud", "model name served")
	version := flag.String("version", "1", "version named in every answer")
	delay := flag.Duration("delay", 0, "sleep before each inference answer (e.g. 10ms)")
	flag.Parse()
	log.SetPrefix("backend " + *version + ": ")
	log.SetFlags(0)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: newServer(*model, *version, *delay).handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("listening on %s, delay %s", ln.Addr(), *delay)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
