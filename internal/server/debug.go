package server

import (
	"net/http"
	"net/http/pprof"
)

// debugHandler serves the Go runtime's profiles and execution trace
// (net/http/pprof) on a listener of its own, never on the API's: they
// show a running server's CPU, heap, goroutines and scheduling delays to
// whoever can reach them, so an operator chooses where (a loopback
// address, as a rule) with --debug-http.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
