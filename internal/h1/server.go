package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the requests Fast picks on its own loop, one goroutine
// per connection and nothing else, and hands a connection to net/http at
// the first request it does not pick, with the bytes already read.
//
// net/http's server starts a goroutine per request to watch for the
// client hanging up while the handler runs, and wakes it again when the
// handler is done: a goroutine start and two wake-ups per request, which
// on a two-core machine cost about as much as the request's own system
// calls. Here one goroutine per server checks, now and then, the
// requests that have been running a while (watchHangups): a picked
// request's context is cancelled within two HangupCheck periods of its
// client going away, not at once.
//
// A picked request's body is read whole before the handler runs and is
// valid until the handler returns; the request itself, its URL and its
// header are reused for the connection's next request, so a handler must
// not keep them past its return either.
//
// A picked request is HTTP/1.1 with a body of known length (no chunked
// body, no Expect: 100-continue, no upgrade) whose head fits the read
// buffer; anything else goes to net/http, so every request gets the same
// handler and a correct answer.
type Server struct {
	// Handler serves every request, picked or not.
	Handler http.Handler
	// Fast picks the requests served here, by method and path.
	Fast func(method, path string) bool
	// FastHandler serves the picked requests in place of Handler, when
	// set: a handler for them alone can skip the routing Handler does.
	// It must answer them as Handler would.
	FastHandler http.Handler
	// HTTP serves the connections handed over; its Handler is replaced
	// by Handler. Nil means a server with a 10 s ReadHeaderTimeout.
	HTTP *http.Server
	// MaxBody is the largest body a picked request may have; larger
	// bodies go to net/http. 0 means 32 MiB.
	MaxBody int64
	// HeaderTimeout bounds reading a request's head once its first byte
	// has arrived. 0 means 10 s.
	HeaderTimeout time.Duration
	// Logger reports handler panics; nil means slog.Default().
	Logger *slog.Logger
	// HangupCheck is how often picked requests still in their handler
	// are checked for a client that hung up, whose context is then
	// cancelled (see watchHangups). 0 means DefaultHangupCheck; a
	// negative period turns the check off.
	HangupCheck time.Duration

	mu    sync.Mutex
	conns map[*serverConn]struct{}
	// closing is read by every connection before each request, so
	// without the lock; it is set under mu, which track also holds.
	closing  atomic.Bool
	handoff  *handoff
	listener net.Listener
	active   sync.WaitGroup
}

// serverConn is one connection served here.
type serverConn struct {
	nc net.Conn
	rw io.ReadWriter // nc's reads and writes, as raw system calls where it can (newSysConn)
	br *bufio.Reader
	// idle says the connection waits for a request; Shutdown closes
	// those at once and lets the others finish theirs.
	idle atomic.Bool
	// buf holds a picked request's body, reused from one request to the
	// next, and body reads it: it is valid until the handler returns.
	buf  []byte
	body body
	// reused is what picked requests are parsed into.
	reused reused
	// watch is the connection's part in the hang-up check; its context
	// is every picked request's.
	watch watchState
}

// body is a request body held in memory.
type body struct {
	bytes.Reader
	b []byte
}

// Bytes returns the whole body, however much was read, valid until the
// handler returns: a handler that wants all of it need not copy it.
func (b *body) Bytes() []byte { return b.b }

func (*body) Close() error { return nil }

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln until Shutdown, serving picked requests
// here and the rest through net/http.
func (s *Server) Serve(ln net.Listener) error {
	hs := s.HTTP
	if hs == nil {
		hs = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	}
	hs.Handler = s.Handler
	h := &handoff{conns: make(chan net.Conn), done: make(chan struct{}), addr: ln.Addr()}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.HTTP, s.handoff, s.listener = hs, h, ln
	s.conns = make(map[*serverConn]struct{})
	s.mu.Unlock()
	// net/http's Serve ends when Shutdown closes h (through hs.Shutdown);
	// its error then says only that.
	go hs.Serve(h)
	watching := make(chan struct{})
	defer close(watching)
	go s.watchHangups(watching)

	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond) // out of file descriptors, say
				continue
			}
			h.Close()
			return err
		}
		rw := newSysConn(nc)
		c := &serverConn{nc: nc, rw: rw, br: bufio.NewReaderSize(rw, 8<<10)}
		c.watch.ctx = newConnContext()
		c.watch.peek = peeker(nc)
		c.reused.base = *new(http.Request).WithContext(c.watch.ctx)
		if !s.track(c) {
			nc.Close()
			return ErrServerClosed
		}
		go s.serveConn(c)
	}
}

func (s *Server) track(c *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.active.Add(1)
	return true
}

func (s *Server) untrack(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.active.Done()
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish, and shuts the net/http server down, all within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	ln, h, hs := s.listener, s.handoff, s.HTTP
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.SetReadDeadline(aLongTimeAgo) // wakes it: it sees closing
		}
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		err = ctx.Err()
	}
	if hs != nil && h != nil {
		err = errors.Join(err, hs.Shutdown(ctx))
	}
	return err
}

// serveConn serves picked requests on c until the client closes, asks to
// close, sends one not picked (the connection then goes to net/http), or
// the server shuts down.
func (s *Server) serveConn(c *serverConn) {
	handedOff := false
	defer func() {
		if !handedOff {
			c.nc.Close()
		}
		c.watch.ctx.cancel(nil) // no picked request runs any more
		s.untrack(c)
	}()
	w := &responseWriter{}
	remote := c.nc.RemoteAddr().String()
	for {
		// Idle, then the check: a Shutdown that did not see this
		// connection idle is seen here, and one that did sets a deadline
		// that wakes the read below. The loop leaves no deadline of its
		// own behind.
		c.idle.Store(true)
		if s.closing.Load() {
			return
		}
		if _, err := c.br.Peek(1); err != nil {
			return // closed, or woken by Shutdown
		}
		c.idle.Store(false)
		// A head that arrived whole with its first bytes, the usual case,
		// needs no deadline: that spares setting and clearing one, two
		// timer changes, per request.
		head, ok := bufferedHead(c.br)
		deadline := !ok
		if deadline {
			timeout := s.HeaderTimeout
			if timeout <= 0 {
				timeout = 10 * time.Second
			}
			c.nc.SetReadDeadline(time.Now().Add(timeout))
			head, ok = peekHead(c.br)
		}
		if !ok {
			handedOff = s.handOff(c)
			return
		}
		req, err := s.parse(head, &c.reused)
		if err != nil {
			handedOff = s.handOff(c)
			return
		}
		c.br.Discard(len(head))
		if deadline || c.br.Buffered() < int(req.ContentLength) {
			// The body is read without a deadline, as net/http does.
			c.nc.SetReadDeadline(time.Time{})
		}
		c.buf = grow(c.buf[:0], int(req.ContentLength))[:req.ContentLength]
		if _, err := io.ReadFull(c.br, c.buf); err != nil {
			return
		}
		c.body.Reset(c.buf)
		c.body.b = c.buf
		req.Body = &c.body
		req.RemoteAddr = remote
		w.reset()
		c.watch.served.Add(1) // odd: in the handler (see watchHangups)
		handled := s.run(w, req)
		c.watch.served.Add(1)
		if !handled {
			return
		}
		close := req.Close || s.closing.Load()
		if close {
			w.header.Set("Connection", "close")
		}
		// The answer is written alone, then the next request read: the
		// client's writeAwait is no use here, since a pipelined request
		// may arrive before the wait begins and would not wake it.
		if _, err := c.rw.Write(w.appendResponse(req)); err != nil || close {
			return
		}
		w.shrink()
		if cap(c.buf) > 1<<20 {
			c.buf = nil
		}
	}
}

// run calls the handler, reporting false when it panicked (the
// connection is then closed, as net/http does).
func (s *Server) run(w *responseWriter, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				return
			}
			log := s.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("panic serving request", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr, "panic", fmt.Sprint(p))
		}
	}()
	h := s.FastHandler
	if h == nil {
		h = s.Handler
	}
	h.ServeHTTP(w, req)
	return true
}

// handOff gives c to net/http, deadlines cleared and the bytes read so far
// still to be read. It reports false when net/http is gone.
func (s *Server) handOff(c *serverConn) bool {
	c.nc.SetReadDeadline(time.Time{})
	s.mu.Lock()
	h := s.handoff
	s.mu.Unlock()
	return h.give(&bufferedConn{Conn: c.nc, br: c.br})
}

// peekHead returns the request's head (up to and including the empty
// line) without consuming it; false when it does not fit the buffer or the
// connection fails first.
func peekHead(br *bufio.Reader) ([]byte, bool) {
	for {
		if head, ok := bufferedHead(br); ok {
			return head, true
		}
		if br.Buffered() == br.Size() {
			return nil, false
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return nil, false
		}
	}
}

// bufferedHead returns the request's head when br holds all of it.
func bufferedHead(br *bufio.Reader) ([]byte, bool) {
	buf, _ := br.Peek(br.Buffered())
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
		return buf[:i+4], true
	}
	return nil, false
}

// parse reads a picked request's head into the connection's reused
// request; an error means not picked (net/http then reads it again, and
// answers a malformed one). Like net/http, it keeps Host out of the
// header map.
func (s *Server) parse(head []byte, r *reused) (*http.Request, error) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" || len(target) == 0 || target[0] != '/' {
		return nil, errNotPicked
	}
	uri := r.intern(0, target)
	path, _, _ := strings.Cut(uri, "?")
	m := methodName(method)
	if s.Fast == nil || !s.Fast(m, path) {
		return nil, errNotPicked
	}
	if plainPath(uri) {
		r.url = url.URL{Path: uri} // what ParseRequestURI makes of it
	} else {
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			return nil, errNotPicked
		}
		r.url = *u
	}
	if r.header == nil {
		r.header = make(http.Header, 8)
	}
	clear(r.header)
	r.req = r.base // the connection's context; every other field zero
	r.req.Method, r.req.URL, r.req.RequestURI = m, &r.url, uri
	r.req.Proto, r.req.ProtoMajor, r.req.ProtoMinor = "HTTP/1.1", 1, 1
	r.req.Header, r.req.ContentLength = r.header, -1
	req := &r.req
	vals := r.vals[:0] // the header's values, one array for all
	for i := 1; len(rest) > 2; i++ {
		var hl []byte
		hl, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(hl, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, errNotPicked
		}
		key := headerKey(name)
		v := r.intern(i, bytes.TrimSpace(value))
		switch key {
		case "Host":
			if req.Host != "" {
				return nil, errNotPicked
			}
			req.Host = v
			continue
		case "Content-Length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || req.ContentLength >= 0 {
				return nil, errNotPicked
			}
			req.ContentLength = n
		case "Transfer-Encoding", "Expect", "Upgrade":
			return nil, errNotPicked
		case "Connection":
			if strings.Contains(strings.ToLower(v), "close") {
				req.Close = true
			}
		}
		if old, ok := req.Header[key]; ok {
			req.Header[key] = append(old[:len(old):len(old)], v)
		} else {
			vals = append(vals, v)
			req.Header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	r.vals = vals
	max := s.MaxBody
	if max <= 0 {
		max = 32 << 20
	}
	if req.Host == "" || req.ContentLength < 0 || req.ContentLength > max {
		return nil, errNotPicked
	}
	return req, nil
}

// reused is what a connection parses its picked requests into, reused
// from one request to the next: a handler must not keep a picked request,
// its URL or its header once it returns. A client sends much the same
// head every time, so the strings of the last one are kept to be reused
// when they come again (a request target, a header value).
type reused struct {
	// base is a request with nothing but the connection's context, which
	// the exported fields cannot set: each picked request starts as a
	// copy of it.
	base   http.Request
	req    http.Request
	url    url.URL
	header http.Header
	vals   []string
	last   []string // the last head's strings by position: target, then each header value
}

// intern returns b as a string, the one at position i of the last head
// when it is the same.
func (r *reused) intern(i int, b []byte) string {
	for len(r.last) <= i {
		r.last = append(r.last, "")
	}
	if r.last[i] != string(b) {
		r.last[i] = string(b)
	}
	return r.last[i]
}

// plainPath reports whether ParseRequestURI would take uri as a path alone,
// unescaped: it has no query, fragment or escape.
func plainPath(uri string) bool {
	for i := 0; i < len(uri); i++ {
		switch c := uri[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '/', c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// methodName is method as a string, without allocating for the one the
// fast path serves.
func methodName(method []byte) string {
	if string(method) == http.MethodPost {
		return http.MethodPost
	}
	return string(method)
}

// headerKey canonicalizes a header name, without allocating for the names
// clients send in canonical form most often.
func headerKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

var commonKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{"Host", "Content-Type", "Content-Length", "User-Agent", "Accept",
		"Accept-Encoding", "Connection", "X-Request-Id", "Traceparent"} {
		m[k] = k
	}
	return m
}()

var errNotPicked = errors.New("not picked")

// responseWriter keeps a picked request's answer until the handler
// returns, to send it with its length in one write.
type responseWriter struct {
	header http.Header
	status int
	body   []byte
	out    []byte
}

func (w *responseWriter) reset() {
	if w.header == nil {
		w.header = make(http.Header, 4)
	}
	clear(w.header)
	w.status = 0
	w.body = w.body[:0]
}

// shrink lets a large answer's buffers go.
func (w *responseWriter) shrink() {
	if cap(w.body) > 1<<20 {
		w.body = nil
	}
	if cap(w.out) > 1<<20 {
		w.out = nil
	}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// appendResponse writes the answer as net/http would: Content-Length, a
// sniffed Content-Type when the handler set none, and Date.
func (w *responseWriter) appendResponse(req *http.Request) []byte {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	bodyless := status == http.StatusNoContent || status == http.StatusNotModified || req.Method == http.MethodHead
	if _, ok := w.header["Content-Type"]; !ok && !bodyless && len(w.body) > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body))
	}
	b := append(w.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	// Content-Length and Date are written here, not set in the header
	// map: that would cost two allocations per answer.
	if !bodyless {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		b = append(b, "\r\n"...)
	}
	if _, ok := w.header["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, "\r\n"...)
	}
	for k, vs := range w.header {
		if k == "Content-Length" {
			continue // the length is the body's
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, headerValue(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	if !bodyless {
		b = append(b, w.body...)
	}
	w.out = b
	return b
}

// headerValue drops line breaks from a header value, which would
// otherwise start a header of the handler's choosing.
func headerValue(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}

// date caches the Date header for the second it names.
var date struct {
	sync.Mutex
	sec int64
	s   string
}

func httpDate() string {
	now := time.Now()
	date.Lock()
	defer date.Unlock()
	if now.Unix() != date.sec {
		date.sec, date.s = now.Unix(), now.UTC().Format(http.TimeFormat)
	}
	return date.s
}

// bufferedConn is a connection handed to net/http: the bytes already
// buffered are read first.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.br.Read(p) }

// handoff is the listener net/http serves: it yields the connections the
// fast loop gives up.
type handoff struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func (h *handoff) give(c net.Conn) bool {
	select {
	case h.conns <- c:
		return true
	case <-h.done:
		return false
	}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }
