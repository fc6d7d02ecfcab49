package h1

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// sysConn reads and writes a TCP connection with raw system calls, still
// waiting for readiness in the network poller.
//
// Why: a write on loopback runs the receiving socket's TCP stack inline
// and can take tens of µs. Through net.Conn that is a system call the
// runtime knows of, and sysmon hands the caller's P to another thread
// once it passes 20 µs: a thread wake-up and a hand-back on nearly every
// request, which on a small machine cost more than the write itself
// (perf, bench/routing). A raw call on a non-blocking socket never
// blocks, so the runtime need not know of it.
type sysConn struct {
	// A read and a write may run at once (net/http reads in the
	// background while its handler writes): each has its own state.
	r, w sysCall
	// wa is writeAwait's call: a write made inside a wait for reading.
	wa         sysCall
	waWritten  bool        // the write was tried: the next attempt ends the wait
	afterWrite func() bool // see writeAwait
}

// sysCall is one direction of a connection: the RawConn's wait, the
// attempt handed to it, and the buffer and result of the call in flight,
// kept here so that no function is made per call.
type sysCall struct {
	wait      func(func(fd uintptr) bool) error // the RawConn's Read or Write
	attemptFn func(fd uintptr) bool             // attempt, made once
	trap      uintptr                           // SYS_READ or SYS_WRITE
	op        string
	p         []byte
	n         int
	errno     syscall.Errno
}

// newSysConn returns raw I/O over nc, or nc itself when it is not a
// socket the poller knows (a pipe in a test, a TLS connection) or when
// built with the race detector: net.Conn's reads and writes tell the
// detector that what one goroutine wrote before sending, another may
// read after receiving; raw calls cannot, and tests that set state, then
// send a request, would be reported as races.
func newSysConn(nc net.Conn) io.ReadWriter {
	if raceEnabled {
		return nc
	}
	return rawIO(nc)
}

// rawIO is newSysConn whatever the build.
func rawIO(nc net.Conn) io.ReadWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &sysConn{
		r: sysCall{wait: rc.Read, trap: syscall.SYS_READ, op: "read"},
		w: sysCall{wait: rc.Write, trap: syscall.SYS_WRITE, op: "write"},
	}
	c.wa = sysCall{wait: rc.Read, trap: syscall.SYS_WRITE, op: "write"}
	c.r.attemptFn, c.w.attemptFn, c.wa.attemptFn = c.r.attempt, c.w.attempt, c.writeThenWait
	return c
}

// writeAwait writes p, then waits until the connection has something to
// read, in one wait of the poller, and returns how much of p it wrote.
// Writing a request and then reading its answer costs a read that finds
// nothing (EAGAIN) before the wait; the poller forgets a readiness it saw
// before a wait begins, so that read cannot simply be skipped, but a
// write made after the wait began cannot be answered too early to be
// seen. afterWrite, when not nil, runs once p is written; false ends
// without waiting. n < len(p) means the socket did not take all of p at
// once, or failed (err): the caller writes the rest, or gives up. An
// error with all of p written is the wait's: a deadline, a closed
// connection; the next read reports it too.
func (c *sysConn) writeAwait(p []byte, afterWrite func() bool) (int, error) {
	c.waWritten, c.afterWrite = false, afterWrite
	n, err := c.wa.do(p)
	c.afterWrite = nil
	return n, err
}

// writeThenWait is writeAwait's attempt: the first writes, and asks to
// wait for reading; the next, after the wait, ends it.
func (c *sysConn) writeThenWait(fd uintptr) bool {
	if c.waWritten {
		return true
	}
	c.waWritten = true
	if !c.wa.attempt(fd) || c.wa.errno != 0 {
		return true // the socket took part of p, or failed
	}
	return c.afterWrite != nil && !c.afterWrite()
}

func (c *sysConn) Read(p []byte) (int, error) {
	n, err := c.r.do(p)
	if err == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}

func (c *sysConn) Write(p []byte) (int, error) { return c.w.do(p) }

// do runs one call on p: attempts until one succeeds or fails, waiting in
// the poller between them.
func (sc *sysCall) do(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	sc.p, sc.n, sc.errno = p, 0, 0
	err := sc.wait(sc.attemptFn)
	n, errno := sc.n, sc.errno
	sc.p = nil
	if errno != 0 {
		return n, os.NewSyscallError(sc.op, errno)
	}
	return n, err
}

// attempt makes the system call until it is done (a read takes what
// there is; a write all of p); false asks the poller to wait for
// readiness.
func (sc *sysCall) attempt(fd uintptr) bool {
	for {
		rest := sc.p[sc.n:]
		n, _, e := syscall.RawSyscall(sc.trap, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			sc.n += int(n)
			if sc.trap == syscall.SYS_WRITE && sc.n < len(sc.p) {
				continue
			}
		default:
			sc.errno = e
		}
		return true
	}
}
