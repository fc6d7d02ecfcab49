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
	rc syscall.RawConn
	// A read and a write may run at once (net/http reads in the
	// background while its handler writes): each has its own.
	r, w    sysCall
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
}

// sysCall is the buffer and the result of a call in flight, kept here so
// that the functions handed to the RawConn are made once, not per call.
type sysCall struct {
	p     []byte
	n     int
	errno syscall.Errno
}

// newSysConn returns raw I/O over nc, or nc itself when it is not a
// socket the poller knows (a pipe in a test, a TLS connection).
func newSysConn(nc net.Conn) io.ReadWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &sysConn{rc: rc}
	c.readFn, c.writeFn = c.read, c.write
	return c
}

func (c *sysConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.r = sysCall{p: p}
	err := c.rc.Read(c.readFn)
	n, errno := c.r.n, c.r.errno
	c.r.p = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is one attempt; false asks the poller to wait for readiness.
func (c *sysConn) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.r.p[0])), uintptr(len(c.r.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			c.r.n = int(n)
		default:
			c.r.errno = e
		}
		return true
	}
}

func (c *sysConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.w = sysCall{p: p}
	err := c.rc.Write(c.writeFn)
	n, errno := c.w.n, c.w.errno
	c.w.p = nil
	switch {
	case errno != 0:
		return n, os.NewSyscallError("write", errno)
	case err != nil:
		return n, err
	}
	return n, nil
}

// write writes what is left of c.w.p; false asks the poller to wait
// until the socket takes more.
func (c *sysConn) write(fd uintptr) bool {
	w := &c.w
	for w.n < len(w.p) {
		rest := w.p[w.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			w.n += int(n)
		default:
			w.errno = e
			return true
		}
	}
	return true
}
