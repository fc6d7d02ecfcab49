package h1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// A write larger than the socket's buffers takes several raw writes, with
// waits for the poller between them; every byte arrives, in order.
func TestSysConnLargeWrite(t *testing.T) {
	a, b := tcpPair(t)
	rw := rawIO(a)
	if _, ok := rw.(*sysConn); !ok {
		t.Fatalf("rawIO(%T) = %T, want raw I/O", a, rw)
	}
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	done := make(chan error, 1)
	go func() {
		n, err := rw.Write(msg)
		if err == nil && n != len(msg) {
			err = io.ErrShortWrite
		}
		done <- err
	}()
	got, err := io.ReadAll(io.LimitReader(rawIO(b), int64(len(msg))))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(msg))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Reads wait for data, end in io.EOF when the peer closes, and honour the
// connection's deadline; writes to a peer that is gone fail with the
// system's error, which the client's retry recognises.
func TestSysConnEOFDeadlineAndBrokenPeer(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := rawIO(a), rawIO(b)
	go func() {
		time.Sleep(20 * time.Millisecond)
		rb.Write([]byte("late"))
		b.Close()
	}()
	buf := make([]byte, 16)
	n, err := ra.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read %q, %v; want %q", buf[:n], err, "late")
	}
	if _, err := ra.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}

	c, d := tcpPair(t)
	rc := rawIO(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := rc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	d.(*net.TCPConn).SetLinger(0) // close with a reset
	d.Close()
	time.Sleep(10 * time.Millisecond)
	var werr error
	for range 10 { // the first write may still be taken
		if _, werr = rc.Write([]byte("x")); werr != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !staleConn(werr) || !errors.Is(werr, syscall.ECONNRESET) && !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("write to a reset peer: %v, want ECONNRESET or EPIPE", werr)
	}
}

// Something that is not a socket keeps its own I/O.
func TestSysConnPassesOthersThrough(t *testing.T) {
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if rw := rawIO(p); rw != p {
		t.Fatalf("rawIO(pipe) = %T, want the pipe itself", rw)
	}
}

// writeAwait writes, then returns once there is something to read: an
// answer that comes at once is not missed, afterWrite can end it without
// waiting, and a write the socket does not take whole is left to the
// caller.
func TestWriteAwait(t *testing.T) {
	a, b := tcpPair(t)
	sa := rawIO(a).(*sysConn)
	go func() { // the peer answers each line it reads
		br := make([]byte, 64)
		for {
			n, err := b.Read(br)
			if err != nil {
				return
			}
			if bytes.HasPrefix(br[:n], []byte("ping")) {
				b.Write([]byte("pong"))
			}
		}
	}()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	for i := range 50 { // answers arrive while, or before, the wait begins
		if n, err := sa.writeAwait([]byte("ping"), nil); n != 4 || err != nil {
			t.Fatalf("round %d: wrote %d, %v", i, n, err)
		}
		buf := make([]byte, 8)
		if n, err := sa.Read(buf); string(buf[:n]) != "pong" || err != nil {
			t.Fatalf("round %d: read %q, %v", i, buf[:n], err)
		}
	}

	// afterWrite false: back at once, nothing to read yet.
	start := time.Now()
	n, err := sa.writeAwait([]byte("quiet"), func() bool { return false })
	if n != 5 || err != nil || time.Since(start) > time.Second {
		t.Fatalf("afterWrite false: wrote %d, %v after %v", n, err, time.Since(start))
	}

	// A wait that nothing ends runs into the deadline, the write made.
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := sa.writeAwait([]byte("quiet"), nil); n != 5 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("unanswered: wrote %d, %v; want 5 and the deadline", n, err)
	}
}

// A write too large for the socket's buffers comes back part written,
// without an error, for the caller to finish.
func TestWriteAwaitPartial(t *testing.T) {
	a, b := tcpPair(t)
	sa := rawIO(a).(*sysConn)
	a.SetDeadline(time.Now().Add(5 * time.Second))
	msg := bytes.Repeat([]byte("x"), 16<<20)
	n, err := sa.writeAwait(msg, nil)
	if err != nil || n <= 0 || n >= len(msg) {
		t.Fatalf("wrote %d of %d, %v; want part, no error", n, len(msg), err)
	}
	go io.Copy(io.Discard, b)
	if m, err := sa.Write(msg[n:]); err != nil || n+m != len(msg) {
		t.Fatalf("the rest: %d, %v", m, err)
	}
}
