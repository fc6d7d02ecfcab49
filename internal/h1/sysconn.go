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

	// The buffer and result of the call in flight, so the functions
	// handed to rc are made once, not per call.
	p       []byte
	n       int
	errno   syscall.Errno
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
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
	c.p, c.n, c.errno = p, 0, 0
	err := c.rc.Read(c.readFn)
	n, errno := c.n, c.errno
	c.p = nil
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
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.p[0])), uintptr(len(c.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			c.n = int(n)
		default:
			c.errno = e
		}
		return true
	}
}

func (c *sysConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.p, c.n, c.errno = p, 0, 0
	err := c.rc.Write(c.writeFn)
	n, errno := c.n, c.errno
	c.p = nil
	switch {
	case errno != 0:
		return n, os.NewSyscallError("write", errno)
	case err != nil:
		return n, err
	}
	return n, nil
}

// write writes what is left of c.p; false asks the poller to wait until
// the socket takes more.
func (c *sysConn) write(fd uintptr) bool {
	for c.n < len(c.p) {
		rest := c.p[c.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			c.n += int(n)
		default:
			c.errno = e
			return true
		}
	}
	return true
}
