package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHandler answers with who served the request (the fast loop or
// net/http), and what it got.
func testHandler(release <-chan struct{}, arrived chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		by := "net/http"
		if _, ok := w.(*responseWriter); ok {
			by = "fast"
		}
		switch r.URL.Path {
		case "/panic/infer":
			panic("handler bug")
		case "/slow/infer":
			arrived <- struct{}{}
			<-release
		case "/sniff/infer":
			w.Write([]byte("<html><body>hi</body></html>"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Served-By", by)
		w.WriteHeader(http.StatusAccepted)
		// Host is in r.Host only, as net/http has it.
		fmt.Fprintf(w, "%s %s q=%s host=%s/%s user=%s len=%d body=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("Host"), r.Header.Get("X-User-Id"), r.ContentLength, body)
	})
}

func fastInfer(method, path string) bool {
	return method == http.MethodPost && strings.HasSuffix(path, "/infer")
}

// startServer serves testHandler on a loopback port; release lets /slow
// requests finish.
func startServer(t *testing.T) (*Server, string, chan struct{}, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	s := &Server{Handler: testHandler(release, arrived), Fast: fastInfer, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String(), release, arrived
}

// exchange sends raw on one connection and reads n answers.
func exchange(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		for err == nil && resp.StatusCode < 200 { // 100 Continue
			resp, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d body: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func post(path, body, extra string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: gw\r\nX-User-Id: u7\r\n%sContent-Length: %d\r\n\r\n%s", path, extra, len(body), body)
}

// TestPickedAndHandedOff sends, on one connection and in one write,
// requests the fast loop serves and requests it hands to net/http: each is
// answered, in order, by the right one, and the bytes of the requests
// after the hand-off reach net/http intact.
func TestPickedAndHandedOff(t *testing.T) {
	_, addr, _, _ := startServer(t)
	raw := post("/m/infer?x=1", `{"a":1}`, "") +
		post("/m/infer", `{"b":2}`, "") +
		"GET /m/infer HTTP/1.1\r\nHost: gw\r\n\r\n" +
		post("/m/infer", `{"c":3}`, "")
	got := exchange(t, addr, raw, 4)
	want := []struct{ by, body string }{
		{"fast", `POST /m/infer q=x=1 host=gw/ user=u7 len=7 body={"a":1}`},
		{"fast", `POST /m/infer q= host=gw/ user=u7 len=7 body={"b":2}`},
		{"net/http", `GET /m/infer q= host=gw/ user= len=0 body=`},
		{"net/http", `POST /m/infer q= host=gw/ user=u7 len=7 body={"c":3}`},
	}
	for i, w := range want {
		r := got[i]
		if r.StatusCode != http.StatusAccepted || r.Header.Get("X-Served-By") != w.by || bodyOf(r) != w.body {
			t.Errorf("answer %d: %d by %s %q; want 202 by %s %q", i, r.StatusCode, r.Header.Get("X-Served-By"), bodyOf(r), w.by, w.body)
		}
		if r.Header.Get("Date") == "" || r.ContentLength != int64(len(w.body)) {
			t.Errorf("answer %d: Date %q, Content-Length %d", i, r.Header.Get("Date"), r.ContentLength)
		}
	}
}

// TestReusedRequestStartsClean: picked requests on one connection are
// parsed into the same request, header and URL; nothing of one reaches
// the next: a header it lacks, a query, an escaped path.
func TestReusedRequestStartsClean(t *testing.T) {
	_, addr, _, _ := startServer(t)
	raw := post("/m/infer?x=1", `{"a":1}`, "") +
		"POST /m/infer HTTP/1.1\r\nHost: other\r\nContent-Length: 2\r\n\r\n{}" +
		post("/m%20n/infer", `{}`, "X-User-Id: u8\r\n") +
		post("/m/infer", `{"b":2}`, "")
	got := exchange(t, addr, raw, 4)
	want := []string{
		`POST /m/infer q=x=1 host=gw/ user=u7 len=7 body={"a":1}`,
		`POST /m/infer q= host=other/ user= len=2 body={}`,
		`POST /m n/infer q= host=gw/ user=u7 len=2 body={}`, // the first X-User-Id of two
		`POST /m/infer q= host=gw/ user=u7 len=7 body={"b":2}`,
	}
	for i, w := range want {
		if r := got[i]; r.Header.Get("X-Served-By") != "fast" || bodyOf(r) != w {
			t.Errorf("answer %d by %s: %q, want %q", i, r.Header.Get("X-Served-By"), bodyOf(r), w)
		}
	}
}

// TestNotPicked: requests the fast loop must leave to net/http.
func TestNotPicked(t *testing.T) {
	_, addr, _, _ := startServer(t)
	cases := map[string]string{
		"chunked body":    "POST /m/infer HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"expect continue": post("/m/infer", "abc", "Expect: 100-continue\r\n"),
		"HTTP/1.0":        "POST /m/infer HTTP/1.0\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc",
		"huge header":     post("/m/infer", "abc", "X-Big: "+strings.Repeat("b", 10<<10)+"\r\n"),
		"other path":      post("/m/metadata", "abc", ""),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			r := exchange(t, addr, raw, 1)[0]
			if by := r.Header.Get("X-Served-By"); by != "net/http" || !strings.HasSuffix(bodyOf(r), "body=abc") {
				t.Errorf("%d by %q: %q; want net/http with the body", r.StatusCode, by, bodyOf(r))
			}
		})
	}
}

// TestMalformedGoesToNetHTTP: a request the fast loop cannot read is left
// to net/http, which answers 400.
func TestMalformedGoesToNetHTTP(t *testing.T) {
	_, addr, _, _ := startServer(t)
	r := exchange(t, addr, "POST /m/infer HTTP/1.1\r\nHost: gw\r\nContent-Length: x\r\n\r\n", 1)[0]
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 from net/http", r.StatusCode)
	}
}

func TestConnectionClose(t *testing.T) {
	_, addr, _, _ := startServer(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, post("/m/infer", "x", "Connection: close\r\n"))
	all, err := io.ReadAll(c) // ends only if the server closes
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(all), "Connection: close\r\n") || !strings.HasSuffix(string(all), "body=x") {
		t.Errorf("answer %q: want Connection: close and the body, then the end", all)
	}
}

func TestSniffedContentType(t *testing.T) {
	_, addr, _, _ := startServer(t)
	r := exchange(t, addr, post("/sniff/infer", "", ""), 1)[0]
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.StatusCode != 200 {
		t.Errorf("%d, Content-Type %q; want 200 text/html as net/http sniffs", r.StatusCode, ct)
	}
}

// TestPanicClosesConnection: a handler's panic costs its connection, not
// the server.
func TestPanicClosesConnection(t *testing.T) {
	_, addr, _, _ := startServer(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, post("/panic/infer", "x", ""))
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Errorf("after the panic: %q, %v; want the connection closed without an answer", b, err)
	}
	c.Close()
	if r := exchange(t, addr, post("/m/infer", "y", ""), 1)[0]; r.StatusCode != http.StatusAccepted {
		t.Errorf("after a panic the server answers %d", r.StatusCode)
	}
}

// TestShutdown: idle connections close at once, a request in flight
// finishes and is answered, and Serve returns.
func TestShutdown(t *testing.T) {
	s, addr, release, arrived := startServer(t)
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(idle, post("/m/infer", "1", ""))
	br := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		io.ReadAll(resp.Body)
	}

	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busy.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(busy, post("/slow/infer", "2", ""))
	<-arrived // the request is in the handler

	var wg sync.WaitGroup
	var shutErr error
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutErr = s.Shutdown(ctx)
	})
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want closed by the shutdown", err)
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != http.StatusAccepted || !resp.Close {
		t.Errorf("request in flight: %v, %v; want answered 202 with Connection: close", resp, err)
	}
	wg.Wait()
	if shutErr != nil {
		t.Errorf("Shutdown: %v", shutErr)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestThroughH1Client: the client and the server of this package together,
// many calls on few connections.
func TestThroughH1Client(t *testing.T) {
	_, addr, _, _ := startServer(t)
	c := &Client{Addr: addr, Host: "gw"}
	defer c.CloseIdle()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				body := fmt.Sprintf("%d.%d", g, i)
				r, err := c.Post(context.Background(), "/m/infer", "text/plain", []byte(body), nil)
				if err != nil || r.Status != http.StatusAccepted || !strings.HasSuffix(string(r.Body), "body="+body) {
					t.Errorf("%s: %d %q %v", body, r.Status, r.Body, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkServe measures a small POST served by the fast loop against
// the same handler behind net/http, both called through this package's
// client.
func BenchmarkServe(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.08]}]}`))
	})
	body := []byte(strings.Repeat("x", 600))
	for _, fast := range []bool{true, false} {
		name := map[bool]string{true: "h1", false: "net-http"}[fast]
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s := &Server{Handler: h, Fast: func(string, string) bool { return fast }}
			go s.Serve(ln)
			defer s.Shutdown(context.Background())
			postParallel(b, ln.Addr().String(), body)
		})
	}
}
