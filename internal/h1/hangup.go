package h1

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A picked request's context is its connection's, cancelled when the
// client hangs up while the handler runs. net/http finds that out with a
// read in the background for every request, which costs a goroutine and
// two wake-ups each (see Server). Here one goroutine per server looks,
// every HangupCheck, at the requests that were already running at its
// previous look, and peeks at their sockets without reading: end of
// stream or a reset means the client is gone, and the connection's
// context is cancelled. A request that finishes within one period is
// never looked at, so the inference hot path pays two atomic adds; a
// slow model or backend call is abandoned within two periods of its
// client leaving, instead of running to its timeout.
//
// A client that half-closes (shutdown of its write side) after sending
// its request looks the same as one that left, as it does to net/http.

// DefaultHangupCheck is the period of the hang-up check when
// Server.HangupCheck is zero.
const DefaultHangupCheck = 250 * time.Millisecond

// watchState is a connection's part in the hang-up check.
type watchState struct {
	ctx *connContext
	// peek looks at the socket without reading; nil when the connection
	// is not a socket (a pipe in a test).
	peek func() peekResult
	// served counts handler calls begun and ended: odd while a handler
	// runs. seen is its value at the watcher's previous look, touched by
	// the watcher alone.
	served atomic.Uint64
	seen   uint64
}

// ErrClientGone is the cause of a picked request's context cancelled
// because its client hung up (context.Cause tells it).
var ErrClientGone = errors.New("client closed the connection before the answer")

type peekResult uint8

const (
	peekNothing peekResult = iota // connected, nothing to read
	peekData                      // bytes waiting: a pipelined request, say
	peekGone                      // end of stream or an error: the client left
)

// peeker returns a function that peeks at nc's socket without blocking
// and without taking anything from it, or nil.
func peeker(nc net.Conn) func() peekResult {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var b [1]byte
	return func() peekResult {
		res := peekNothing
		err := rc.Control(func(fd uintptr) {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
			case err != nil, n == 0:
				res = peekGone
			default:
				res = peekData
			}
		})
		if err != nil { // closed already
			return peekGone
		}
		return res
	}
}

// watchHangups runs the hang-up check until done is closed.
func (s *Server) watchHangups(done <-chan struct{}) {
	period := s.HangupCheck
	if period == 0 {
		period = DefaultHangupCheck
	}
	if period < 0 {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	var long []*serverConn
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		long = s.longRunning(long[:0])
		for _, c := range long {
			if c.watch.peek() == peekGone {
				c.watch.ctx.hangUp()
			}
		}
		clear(long)
	}
}

// longRunning appends the connections whose handler has been running
// since the previous look, and notes what every connection is doing now.
func (s *Server) longRunning(dst []*serverConn) []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		w := &c.watch
		n := w.served.Load()
		if n%2 == 1 && n == w.seen && w.peek != nil && w.ctx.Err() == nil {
			dst = append(dst, c)
		}
		w.seen = n
	}
	return dst
}

// connContext is the context of a connection's picked requests. It is
// cancelled when the client hangs up, and then also wakes the Client
// call the request waits on, if any: that call registers here instead of
// with context.AfterFunc, which costs three allocations per call on the
// gateway's hot path.
type connContext struct {
	context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	call   *conn // the Client connection a request waits on
	spoilt bool  // hangUp set call's deadline
}

func newConnContext() *connContext {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &connContext{Context: ctx, cancel: cancel}
}

// hangUp cancels the context because the client left, and wakes the
// call in flight.
func (c *connContext) hangUp() {
	c.cancel(ErrClientGone)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.call != nil && !c.spoilt {
		c.call.nc.SetDeadline(aLongTimeAgo)
		c.spoilt = true
	}
}

// enterCall makes a hang-up wake cn's call; a context cancelled already
// wakes it at once.
func (c *connContext) enterCall(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.call, c.spoilt = cn, false
	if c.Err() != nil {
		cn.nc.SetDeadline(aLongTimeAgo)
		c.spoilt = true
	}
}

// leaveCall ends what enterCall began; false means a hang-up has set the
// call's deadline, so its connection cannot be used again. It may be
// called more than once.
func (c *connContext) leaveCall() (untouched bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	untouched = !c.spoilt
	c.call, c.spoilt = nil, false
	return untouched
}
