// Command netpoll forwards HTTP/1.1 requests to one backend the way the
// least Go router on the network poller would: internal/h1's server loop
// in, its client out, the body copied unread.
//
// It is a probe: bench/routing/probe/run.sh puts it beside nginx and the
// epoll probe, to separate what slipway's own work costs per request from
// what Go's goroutine-per-connection I/O costs on this machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/slipway-ml/slipway/internal/h1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	backend := flag.String("backend", "", "backend host:port")
	flag.Parse()
	c := &h1.Client{Addr: *backend, MaxIdle: 256}
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		resp, err := c.Post(ctx, r.URL.RequestURI(), r.Header.Get("Content-Type"), body, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "netpoll probe: listening on %s, backend %s\n", ln.Addr(), *backend)
	s := &h1.Server{Handler: forward, Fast: func(method, _ string) bool { return method == http.MethodPost }}
	log.Fatal(s.Serve(ln))
}
