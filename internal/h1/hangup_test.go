package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// waitHandler holds each request until its context ends or hold passes,
// then reports the context's cause (nil if it did not end) on ended.
func waitHandler(hold time.Duration, arrived chan<- struct{}, ended chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-time.After(hold):
		}
		ended <- context.Cause(r.Context())
		w.Write([]byte("done"))
	})
}

func startWaitServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, Fast: fastInfer, Logger: slog.New(slog.DiscardHandler), HangupCheck: 10 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// sendAndWait sends a picked request on a new connection and returns the
// connection once the handler has the request.
func sendAndWait(t *testing.T, addr string, arrived <-chan struct{}) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, post("/m/infer", `{"inputs":[]}`, "")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	return c
}

// A client that hangs up while its request runs has the request's
// context cancelled, with ErrClientGone as the cause, long before the
// handler would have ended by itself.
func TestHangupCancelsRunningRequest(t *testing.T) {
	arrived, ended := make(chan struct{}, 1), make(chan error, 1)
	addr := startWaitServer(t, waitHandler(30*time.Second, arrived, ended))
	c := sendAndWait(t, addr, arrived)
	start := time.Now()
	c.Close()
	select {
	case cause := <-ended:
		if !errors.Is(cause, ErrClientGone) {
			t.Fatalf("request context ended with cause %v, want ErrClientGone", cause)
		}
		t.Logf("cancelled %v after the client left", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the request still runs 10 s after its client hung up")
	}
}

// A client that stays, with or without a second request pipelined behind
// the first, keeps its requests: many hang-up checks pass while each
// runs, and none is cancelled.
func TestConnectedClientKeepsItsRequests(t *testing.T) {
	arrived, ended := make(chan struct{}, 2), make(chan error, 2)
	addr := startWaitServer(t, waitHandler(150*time.Millisecond, arrived, ended))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := post("/m/infer", `{"inputs":[]}`, "")
	if _, err := io.WriteString(c, req+req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "done" {
			t.Fatalf("answer %d: %q", i, body)
		}
		if cause := <-ended; cause != nil {
			t.Fatalf("request %d of a connected client was cancelled: %v", i, cause)
		}
	}
}

// A hang-up also wakes the Client call the request waits on: the slow
// backend sees its connection closed, and the call returns the
// cancellation, long before the client's own timeout.
func TestHangupAbortsTheBackendCall(t *testing.T) {
	backendGone := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // net/http watches for a hang-up once the body is read
		select {
		case <-r.Context().Done():
			close(backendGone)
		case <-time.After(30 * time.Second):
		}
	}))
	defer backend.Close()
	client := &Client{Addr: backend.Listener.Addr().String(), Timeout: 30 * time.Second}
	defer client.CloseIdle()

	arrived, callErr := make(chan struct{}, 1), make(chan error, 1)
	addr := startWaitServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		_, err := client.Post(r.Context(), "/slow", "application/json", []byte(`{}`), nil)
		callErr <- err
	}))
	c := sendAndWait(t, addr, arrived)
	time.Sleep(50 * time.Millisecond) // the call is waiting on the backend
	c.Close()
	select {
	case err := <-callErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("backend call ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend call still waits 10 s after the client hung up")
	}
	select {
	case <-backendGone:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend never saw its request abandoned")
	}
}
