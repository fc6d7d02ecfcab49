package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func client(t *testing.T, url string) *Client {
	t.Helper()
	c := &Client{Addr: strings.TrimPrefix(url, "http://")}
	t.Cleanup(c.CloseIdle)
	return c
}

// echo answers every POST with its path, Content-Type and body, and counts
// the connections it accepted.
func echo(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.ContentLength != int64(len(body)) {
			http.Error(w, fmt.Sprintf("%s with length %d, body %d", r.Method, r.ContentLength, len(body)), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s %s %s", r.URL.Path, r.Header.Get("Content-Type"), r.Host, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestPostReusesConnections(t *testing.T) {
	srv, conns := echo(t)
	c := client(t, srv.URL)
	for i := range 50 {
		body := fmt.Sprintf(`{"i":%d}`, i)
		resp, err := c.Post(context.Background(), "/v2/models/m/infer", "application/json", []byte(body), nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		want := "/v2/models/m/infer application/json " + c.Addr + " " + body
		if resp.Status != 200 || string(resp.Body) != want {
			t.Fatalf("call %d: %d %q, want 200 %q", i, resp.Status, resp.Body, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("50 calls in turn opened %d connections, want 1", n)
	}
}

func TestPostConcurrent(t *testing.T) {
	srv, conns := echo(t)
	c := client(t, srv.URL)
	c.MaxIdle = 8
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				body := fmt.Sprintf("%d-%d", g, i)
				resp, err := c.Post(context.Background(), "/p", "text/plain", []byte(body), make([]byte, 0, 64))
				if err != nil || !strings.HasSuffix(string(resp.Body), " "+body) {
					errs <- fmt.Errorf("goroutine %d call %d: %q, %v", g, i, resp.Body, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n > 16+8 {
		t.Errorf("%d connections for 16 callers", n)
	}
}

// raw serves each connection with handle, on a plain TCP listener, for
// answers net/http would not write.
func raw(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c, bufio.NewReader(c))
			})
		}
	})
	return ln.Addr().String()
}

// readRequest reads one request's head and body.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, r.Body)
	return r, err
}

func TestAnswerShapes(t *testing.T) {
	cases := []struct {
		name, answer, body string
		status             int
		reused             bool
	}{
		{"chunked with extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n", "hello, world", 200, true},
		{"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", "ok", 201, true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", "", 204, true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye", "bye", 200, false},
		{"HTTP/1.0 to the end", "HTTP/1.0 200 OK\r\n\r\nall of it", "all of it", 200, false},
		{"LF only, odd case", "HTTP/1.1 200 OK\ncontent-LENGTH: 2\n\nhi", "hi", 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var accepted atomic.Int64
			addr := raw(t, func(c net.Conn, br *bufio.Reader) {
				accepted.Add(1)
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, tc.answer)
					if strings.Contains(tc.answer, "close") || strings.HasPrefix(tc.answer, "HTTP/1.0") {
						return
					}
				}
			})
			c := &Client{Addr: addr}
			defer c.CloseIdle()
			for i := range 2 {
				resp, err := c.Post(context.Background(), "/", "text/plain", []byte("x"), []byte("prefix:"))
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if resp.Status != tc.status || string(resp.Body) != "prefix:"+tc.body {
					t.Errorf("call %d: %d %q, want %d %q", i, resp.Status, resp.Body, tc.status, "prefix:"+tc.body)
				}
			}
			want := int64(2)
			if tc.reused {
				want = 1
			}
			if n := accepted.Load(); n != want {
				t.Errorf("two calls used %d connections, want %d", n, want)
			}
		})
	}
}

func TestBadAnswers(t *testing.T) {
	cases := []struct{ name, answer, want string }{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", `malformed status line "SSH-2.0-OpenSSH"`},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", `bad Content-Length "-3"`},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", `bad Content-Length "4"`},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", `unsupported Transfer-Encoding "gzip"`},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", `bad chunk size "zz"`},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "reading the body: unexpected EOF"},
		{"too large", "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", "answer body too large: Content-Length 2000 over 1000"},
		{"too large chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + strings.Repeat("a", 1000) + "\r\n1\r\n", "answer body too large: over 1000 bytes"},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", "answer headers over 1048576 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := raw(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.answer)
				}
			})
			c := &Client{Addr: addr, MaxBody: 1000}
			_, err := c.Post(context.Background(), "/", "text/plain", nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestStaleConnectionRetried: a server that closes each connection after
// one answer without saying so leaves a dead connection in the pool; the
// next call finds it closed before any answer and goes again on a new
// one.
func TestStaleConnectionRetried(t *testing.T) {
	var accepted atomic.Int64
	addr := raw(t, func(c net.Conn, br *bufio.Reader) {
		accepted.Add(1)
		if _, err := readRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := &Client{Addr: addr}
	defer c.CloseIdle()
	for i := range 5 {
		resp, err := c.Post(context.Background(), "/", "text/plain", []byte("x"), nil)
		if err != nil || string(resp.Body) != "ok" {
			t.Fatalf("call %d: %q, %v", i, resp.Body, err)
		}
		time.Sleep(10 * time.Millisecond) // let the close arrive
	}
	if n := accepted.Load(); n != 5 {
		t.Errorf("%d connections, want 5", n)
	}
}

// TestAnsweredThenClosedNotRetried: once the server has begun answering,
// a broken answer is an error, not a reason to send the call again.
func TestAnsweredThenClosedNotRetried(t *testing.T) {
	var calls atomic.Int64
	addr := raw(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			if calls.Add(1) == 1 {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				continue
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart")
			return
		}
	})
	c := &Client{Addr: addr}
	defer c.CloseIdle()
	if _, err := c.Post(context.Background(), "/", "text/plain", nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.Post(context.Background(), "/", "text/plain", nil, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the server got %d calls, want 2 (no retry)", n)
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	addr := raw(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		<-release
	})
	defer close(release)
	c := &Client{Addr: addr}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Post(ctx, "/", "text/plain", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the deadline of 50ms returned after %v", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Post(ctx, "/", "text/plain", nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if len(c.idle) != 0 {
		t.Errorf("%d connections kept after failed calls, want 0", len(c.idle))
	}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{Addr: addr}
	_, err = c.Post(context.Background(), "/", "text/plain", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want connection refused", err)
	}
}

func TestIdleBounded(t *testing.T) {
	srv, _ := echo(t)
	c := client(t, srv.URL)
	c.MaxIdle = 2
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Post(context.Background(), "/", "text/plain", []byte("x"), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(c.idle); n > 2 {
		t.Errorf("%d idle connections, want at most 2", n)
	}
}

// BenchmarkPost measures a loopback call against net/http's client on the
// same server: the difference is the goroutine hand-offs.
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.08]}]}`))
	}))
	defer srv.Close()
	body := []byte(strings.Repeat("x", 600))
	b.Run("h1", func(b *testing.B) {
		postParallel(b, strings.TrimPrefix(srv.URL, "http://"), body)
	})
	b.Run("net-http", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/infer", strings.NewReader(string(body)))
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
}

// postParallel posts body to addr from every benchmark goroutine through
// one Client.
func postParallel(b *testing.B, addr string, body []byte) {
	c := &Client{Addr: addr}
	defer c.CloseIdle()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 512)
		for pb.Next() {
			if _, err := c.Post(context.Background(), "/infer", "application/json", body, buf[:0]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
