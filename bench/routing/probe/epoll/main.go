// Command epoll forwards HTTP/1.1 requests to one backend on raw epoll
// event loops, one per core, each locked to its thread with a listening
// socket of its own (SO_REUSEPORT): Go without the network poller, the
// goroutines behind it, or sysmon taking Ps from long system calls.
//
// It is a probe, not a router: it answers what a data path built like
// nginx would cost in Go on this machine (bench/routing/probe/run.sh
// compares it with nginx and with the least a netpoller-based Go router
// does). It reads only Content-Length framed messages, keeps one request
// in flight per client connection, and takes an idle backend connection
// per request.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	backend := flag.String("backend", "", "backend host:port")
	loops := flag.Int("loops", runtime.NumCPU(), "event loops")
	flag.Parse()
	listen, err := netip.ParseAddrPort(*addr)
	if err != nil {
		log.Fatalf("-addr: %v", err)
	}
	be, err := netip.ParseAddrPort(*backend)
	if err != nil {
		log.Fatalf("-backend: %v", err)
	}
	errc := make(chan error, *loops)
	for range *loops {
		l, err := newLoop(listen, be)
		if err != nil {
			log.Fatal(err)
		}
		go func() { errc <- l.run() }()
	}
	fmt.Fprintf(os.Stderr, "epoll probe: listening on %s, %d loops, backend %s\n", listen, *loops, be)
	log.Fatal(<-errc)
}

// conn is a client or backend connection of one loop.
type conn struct {
	fd     int
	client bool
	in     []byte // read, not yet forwarded
	out    []byte // to write when the socket takes it
	peer   *conn  // a backend's client while a request is in flight
}

type loop struct {
	ep, ln  int
	backend syscall.SockaddrInet4
	conns   map[int]*conn
	idle    []*conn // backend connections without a request
	buf     []byte
}

func newLoop(listen, backend netip.AddrPort) (*loop, error) {
	l := &loop{conns: make(map[int]*conn), buf: make([]byte, 64<<10)}
	l.backend = syscall.SockaddrInet4{Addr: backend.Addr().As4(), Port: int(backend.Port())}
	var err error
	if l.ep, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	if l.ln, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0); err != nil {
		return nil, err
	}
	const soReusePort = 15 // SO_REUSEPORT on Linux: one listening socket per loop
	syscall.SetsockoptInt(l.ln, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	syscall.SetsockoptInt(l.ln, syscall.SOL_SOCKET, soReusePort, 1)
	if err := syscall.Bind(l.ln, &syscall.SockaddrInet4{Addr: listen.Addr().As4(), Port: int(listen.Port())}); err != nil {
		return nil, fmt.Errorf("bind %s: %w", listen, err)
	}
	if err := syscall.Listen(l.ln, 1024); err != nil {
		return nil, err
	}
	return l, l.watch(l.ln, syscall.EPOLLIN)
}

func (l *loop) watch(fd int, events uint32) error {
	return syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: events, Fd: int32(fd)})
}

func (l *loop) rewatch(fd int, events uint32) {
	syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_MOD, fd, &syscall.EpollEvent{Events: events, Fd: int32(fd)})
}

func (l *loop) run() error {
	runtime.LockOSThread()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.ep, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == l.ln {
				l.accept()
				continue
			}
			c := l.conns[fd]
			if c == nil {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && !l.flush(c) {
				continue
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				l.read(c)
			}
		}
	}
}

func (l *loop) accept() {
	for {
		fd, _, err := syscall.Accept4(l.ln, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: all taken
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		l.conns[fd] = &conn{fd: fd, client: true}
		l.watch(fd, syscall.EPOLLIN)
	}
}

// read drains c and forwards every complete message in it.
func (l *loop) read(c *conn) {
	for {
		n, err := syscall.Read(c.fd, l.buf)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil || n == 0 {
			l.close(c)
			return
		}
		c.in = append(c.in, l.buf[:n]...)
		if n < len(l.buf) {
			break
		}
	}
	for {
		m := messageLen(c.in)
		if m == 0 {
			return
		}
		if c.client {
			b, err := l.backendConn()
			if err != nil {
				l.send(c, []byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
			} else {
				b.peer = c
				l.send(b, c.in[:m])
			}
		} else if c.peer != nil {
			l.send(c.peer, c.in[:m])
			c.peer = nil
			l.idle = append(l.idle, c)
		}
		c.in = append(c.in[:0], c.in[m:]...)
	}
}

// send writes msg to c, keeping what the socket does not take for
// EPOLLOUT. The write is a raw system call: it never blocks, so the
// runtime need not know of it.
func (l *loop) send(c *conn, msg []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, msg...)
		return
	}
	n, err := rawWrite(c.fd, msg)
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		l.close(c)
		return
	}
	if n < len(msg) {
		c.out = append(c.out, msg[n:]...)
		l.rewatch(c.fd, syscall.EPOLLIN|syscall.EPOLLOUT)
	}
}

// flush writes what c kept; false when c is gone.
func (l *loop) flush(c *conn) bool {
	n, err := rawWrite(c.fd, c.out)
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		l.close(c)
		return false
	}
	c.out = append(c.out[:0], c.out[n:]...)
	if len(c.out) == 0 {
		l.rewatch(c.fd, syscall.EPOLLIN)
	}
	return true
}

func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// backendConn takes an idle backend connection or opens one; a write
// before the connection is up gets EAGAIN and waits for EPOLLOUT.
func (l *loop) backendConn() (*conn, error) {
	if n := len(l.idle); n > 0 {
		b := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return b, nil
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if err := syscall.Connect(fd, &l.backend); err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		syscall.Close(fd)
		return nil, err
	}
	b := &conn{fd: fd}
	l.conns[fd] = b
	l.watch(fd, syscall.EPOLLIN)
	return b, nil
}

func (l *loop) close(c *conn) {
	syscall.Close(c.fd)
	delete(l.conns, c.fd)
	for i, b := range l.idle {
		if b == c {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			break
		}
	}
	for _, b := range l.conns { // a backend serving c answers no one now
		if b.peer == c {
			b.peer = nil
		}
	}
}

// messageLen is the length of the complete HTTP/1.1 message at the start
// of b (head and Content-Length body), or 0 when b does not hold one yet.
func messageLen(b []byte) int {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	length := 0
	for _, line := range bytes.Split(b[:end], []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(value)))
		}
	}
	if len(b) < end+4+length {
		return 0
	}
	return end + 4 + length
}
