// Package h1 sends HTTP/1.1 requests over pooled keep-alive connections
// and reads the answers on the caller's goroutine.
//
// It exists for one hot path: the gateway calling a remote model server
// over plain HTTP, once per routed request. net/http's Transport gives
// every connection a reading and a writing goroutine, so each call hands
// off between three goroutines (the caller, the writer, the reader) and
// back; on a busy two-core machine those wake-ups cost more CPU than the
// call's own system calls. Here the caller writes the request and reads
// the answer itself, and the network poller wakes the caller directly.
//
// It speaks only what a model server's answer needs: a request with a
// body of known length, and answers with Content-Length, chunked or
// read-to-close bodies. No TLS, no proxies, no redirects (the answer's
// Location is returned for the caller to follow), no compression.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Client calls one server. Its zero value is not usable: set Addr.
// A Client is safe for concurrent use; each call holds a connection of
// its own.
type Client struct {
	// Addr is the server's host:port.
	Addr string
	// Host is the Host header; empty means Addr.
	Host string
	// MaxIdle bounds the connections kept open between calls; 0 means 64.
	MaxIdle int
	// IdleTimeout is how long an unused connection is kept; a server
	// likely closed it by then. 0 means 60 s.
	IdleTimeout time.Duration
	// MaxBody bounds an answer's body; 0 means 64 MiB.
	MaxBody int64
	// Timeout bounds each call besides its context's deadline; 0 means
	// none. It costs no timer of its own: it is the connection's
	// deadline, where a context.WithTimeout per call would start one.
	Timeout time.Duration

	mu   sync.Mutex
	idle []*conn // most recently used last
}

// Response is a server's answer.
type Response struct {
	Status int
	// Location is the Location header, for a redirect.
	Location string
	// Body is the answer's body, appended to the buffer the caller gave.
	Body []byte
}

// ErrBodyTooLarge is returned when an answer's body is over MaxBody.
var ErrBodyTooLarge = errors.New("answer body too large")

// conn is one connection and its reading buffer.
type conn struct {
	nc   net.Conn
	rw   io.ReadWriter // nc's reads and writes, as raw system calls
	br   *bufio.Reader
	wbuf []byte
	// used says the connection has carried a call before: a failure
	// before any answer may then be the server having closed it while it
	// sat idle.
	used      bool
	idleSince time.Time
	// fresh says the connection is new or came back to the pool less
	// than a second ago (see send).
	fresh bool
}

// send writes a request. With raw I/O it also waits for the answer to
// begin (writeAwait), which spares the read that would find nothing yet;
// the wait's own failure is left for that read to report. The wait sees
// only what arrives after it began: anything the answer brings, but not
// bytes a server sent unasked while the connection sat idle, so a
// connection idle for long (a server may have written "408" and closed
// it) is written to plainly.
func (cn *conn) send(b []byte) error {
	sc, ok := cn.rw.(*sysConn)
	if !ok || cn.br.Buffered() > 0 || !cn.fresh {
		_, err := cn.rw.Write(b)
		return err
	}
	n, err := sc.writeAwait(b, nil)
	if n == len(b) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = cn.rw.Write(b[n:])
	return err
}

// headerLimit bounds an answer's status line and headers together.
const headerLimit = 1 << 20

// Post sends body to path with the given Content-Type and returns the
// answer, its body appended to dst. The context bounds the whole call:
// its deadline is the connection's, and cancelling it aborts the call.
func (c *Client) Post(ctx context.Context, path, contentType string, body, dst []byte) (Response, error) {
	for attempt := 0; ; attempt++ {
		cn, err := c.get(ctx)
		if err != nil {
			return Response{}, err
		}
		resp, answered, err := c.roundTrip(ctx, cn, path, contentType, body, dst)
		if err == nil {
			return resp, nil
		}
		cn.nc.Close()
		// A connection that sat idle may have been closed by the server
		// just as it was taken: nothing was answered, so nothing was
		// done, and the call is sent once more on a new connection, as
		// net/http does for a request it can send again.
		if cn.used && !answered && attempt == 0 && ctx.Err() == nil && staleConn(err) {
			continue
		}
		if isTimeout(err) {
			// The connection's deadline is the context's or Timeout's:
			// the call ran out of time, though the context's own timer
			// may not have fired yet.
			if ctx.Err() != nil {
				return Response{}, ctx.Err()
			}
			return Response{}, context.DeadlineExceeded
		}
		return Response{}, err
	}
}

// staleConn reports whether err is what writing to or reading from a
// connection the server has closed gives.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// aLongTimeAgo is a deadline that has passed: setting it wakes a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip makes one call on cn, and gives cn back to the pool when the
// answer leaves it ready for another. answered says whether any byte of
// an answer arrived.
func (c *Client) roundTrip(ctx context.Context, cn *conn, path, contentType string, body, dst []byte) (resp Response, answered bool, err error) {
	if err := cn.nc.SetDeadline(c.deadline(ctx)); err != nil {
		return Response{}, false, err
	}
	// A context that can end early wakes the call. A picked request's
	// (the gateway's hot path) does so through its connection's
	// hang-up check, without a registration per call; one that cannot
	// end early (a deadline at most) is all in the connection's deadline.
	stop := func() bool { return true }
	if cc, ok := ctx.(*connContext); ok {
		cc.enterCall(cn)
		defer cc.leaveCall()
		stop = cc.leaveCall
	} else if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cn.nc.SetDeadline(aLongTimeAgo) })
		defer stop()
	}

	cn.wbuf = c.appendRequest(cn.wbuf[:0], path, contentType, body)
	if err := cn.send(cn.wbuf); err != nil {
		return Response{}, false, fmt.Errorf("writing the request: %w", err)
	}
	if _, err := cn.br.Peek(1); err != nil {
		return Response{}, false, fmt.Errorf("reading the answer: %w", err)
	}
	resp, keep, err := c.readResponse(cn.br, dst)
	if err != nil {
		return Response{}, true, err
	}
	if !stop() { // cancelled as the answer arrived: the deadline is spoilt
		keep = false
	}
	if keep {
		c.put(cn)
	} else {
		cn.nc.Close()
	}
	return resp, true, nil
}

// deadline is the earlier of ctx's deadline and c.Timeout from now; zero
// means none.
func (c *Client) deadline(ctx context.Context) time.Time {
	deadline, ok := ctx.Deadline()
	if c.Timeout > 0 {
		if d := time.Now().Add(c.Timeout); !ok || d.Before(deadline) {
			return d
		}
	}
	return deadline
}

func (c *Client) appendRequest(b []byte, path, contentType string, body []byte) []byte {
	host := c.Host
	if host == "" {
		host = c.Addr
	}
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: slipway\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// readResponse reads one answer from br, skipping interim 1xx answers.
// keep says the connection can carry another call.
func (c *Client) readResponse(br *bufio.Reader, dst []byte) (resp Response, keep bool, err error) {
	var h header
	for {
		h, err = readHeader(br)
		if err != nil {
			return Response{}, false, err
		}
		if h.status >= 200 || h.status == 101 {
			break
		}
	}
	resp = Response{Status: h.status, Location: h.location, Body: dst}
	limit := c.MaxBody
	if limit <= 0 {
		limit = 64 << 20
	}
	keep = !h.close && h.proto11
	switch {
	case h.status == 204 || h.status == 304 || h.status == 101:
		keep = keep && h.status != 101
	case h.chunked:
		resp.Body, err = readChunked(br, dst, limit)
	case h.length >= 0:
		if h.length > limit {
			return Response{}, false, fmt.Errorf("%w: Content-Length %d over %d", ErrBodyTooLarge, h.length, limit)
		}
		resp.Body, err = readN(br, dst, int(h.length))
	default: // the body runs to the end of the connection
		keep = false
		if resp.Body, err = AppendAll(br, dst, limit); err != nil && !errors.Is(err, ErrBodyTooLarge) {
			err = fmt.Errorf("reading the body: %w", err)
		}
	}
	if err != nil {
		return Response{}, false, err
	}
	return resp, keep, nil
}

// header is what an answer's status line and headers say about reading it.
type header struct {
	status   int
	proto11  bool // HTTP/1.1: keep-alive unless it says close
	close    bool
	chunked  bool
	length   int64 // -1: not given
	location string
}

func readHeader(br *bufio.Reader) (header, error) {
	h := header{length: -1}
	budget := headerLimit
	line, err := readLine(br, &budget)
	if err != nil {
		return h, err
	}
	// HTTP/1.1 200 OK
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 {
		return h, fmt.Errorf("malformed status line %q", snippet(line))
	}
	h.proto11 = string(proto) == "HTTP/1.1"
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 || code > 999 || (len(rest) > 3 && rest[3] != ' ') {
		return h, fmt.Errorf("malformed status line %q", snippet(line))
	}
	h.status = code
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			return h, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, fmt.Errorf("malformed header line %q", snippet(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("bad Content-Length %q", snippet(value))
			}
			h.length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			if !asciiEqualFold(value, "chunked") {
				return h, fmt.Errorf("unsupported Transfer-Encoding %q", snippet(value))
			}
			h.chunked = true
		case asciiEqualFold(name, "Connection"):
			for _, tok := range bytes.Split(value, []byte(",")) {
				if asciiEqualFold(bytes.TrimSpace(tok), "close") {
					h.close = true
				}
			}
		case asciiEqualFold(name, "Location"):
			h.location = string(value)
		}
	}
}

// readLine reads one line without its CRLF (or LF), charging its length
// to budget. The line is valid until the next read from br.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: gather it, within the budget.
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) <= *budget {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, fmt.Errorf("answer headers over %d bytes", headerLimit)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}

func readN(br *bufio.Reader, dst []byte, n int) ([]byte, error) {
	dst = grow(dst, n)
	start := len(dst)
	dst = dst[:start+n]
	if _, err := io.ReadFull(br, dst[start:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return dst, nil
}

// AppendAll appends what r holds, up to its end, to dst, and fails with
// ErrBodyTooLarge past limit bytes. It returns dst as far as it grew
// even on failure, so that a pooled buffer keeps its capacity.
func AppendAll(r io.Reader, dst []byte, limit int64) ([]byte, error) {
	start := len(dst)
	for {
		dst = grow(dst, 4096)
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > limit {
			return dst, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// readChunked reads a chunked body (RFC 9112, section 7.1): chunks of a
// hexadecimal size, then a zero-sized one and trailers, which are skipped.
func readChunked(br *bufio.Reader, dst []byte, limit int64) ([]byte, error) {
	start := len(dst)
	budget := headerLimit
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return nil, fmt.Errorf("reading a chunk size: %w", eofIsUnexpected(err))
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 { // chunk extensions
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad chunk size %q", snippet(line))
		}
		if size == 0 {
			for { // trailers, up to the empty line
				line, err := readLine(br, &budget)
				if err != nil {
					return nil, fmt.Errorf("reading the trailers: %w", eofIsUnexpected(err))
				}
				if len(line) == 0 {
					return dst, nil
				}
			}
		}
		if int64(len(dst)-start)+size > limit {
			return nil, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, limit)
		}
		if dst, err = readN(br, dst, int(size)); err != nil {
			return nil, err
		}
		if line, err := readLine(br, &budget); err != nil || len(line) != 0 {
			return nil, errors.New("chunk not followed by CRLF")
		}
	}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(b[:cap(b)], make([]byte, n)...)[:len(b)]
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// snippet quotes at most 64 bytes of b for an error.
func snippet(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// get takes an idle connection, or dials a new one.
func (c *Client) get(ctx context.Context) (*conn, error) {
	timeout := c.IdleTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	now := time.Now()
	c.mu.Lock()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if idle := now.Sub(cn.idleSince); idle < timeout {
			c.mu.Unlock()
			cn.fresh = idle < time.Second
			return cn, nil
		}
		cn.nc.Close()
	}
	c.mu.Unlock()
	d := net.Dialer{Deadline: c.deadline(ctx)}
	nc, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, err
	}
	rw := newSysConn(nc)
	return &conn{nc: nc, rw: rw, br: bufio.NewReaderSize(rw, 4096), fresh: true}, nil
}

// put keeps cn for the next call, or closes it when enough are idle.
func (c *Client) put(cn *conn) {
	max := c.MaxIdle
	if max <= 0 {
		max = 64
	}
	cn.used, cn.idleSince = true, time.Now()
	if cap(cn.wbuf) > 1<<20 { // do not keep a huge request's buffer
		cn.wbuf = nil
	}
	c.mu.Lock()
	if len(c.idle) < max {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

// CloseIdle closes the connections kept between calls.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
}
