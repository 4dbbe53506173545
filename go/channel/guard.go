//go:build linux

package channel

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// inflight counts calls that use the mapping so that Close unmaps only
// after the last one has left (the scheme of package region). The top bit
// is the closed flag.
type inflight struct {
	n       atomic.Int64
	once    sync.Once
	drained chan struct{}
	mu      sync.Mutex
}

const closedBit = int64(1) << 62

func (g *inflight) enter() bool {
	if g.n.Add(1)&closedBit != 0 {
		g.leave()
		return false
	}
	return true
}

func (g *inflight) leave() {
	if g.n.Add(-1) == closedBit {
		g.signal()
	}
}

func (g *inflight) channel() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.drained == nil {
		g.drained = make(chan struct{})
	}
	return g.drained
}

func (g *inflight) signal() { g.once.Do(func() { close(g.channel()) }) }

func (g *inflight) close() bool {
	ch := g.channel()
	old := g.n.Or(closedBit)
	if old&closedBit != 0 {
		return false
	}
	if old == 0 {
		g.signal()
	}
	<-ch
	return true
}

// Acquire keeps the mapping alive until the matching Release: Close waits
// for it. Bracket reads of a received frame's payload, or writes into a
// reserved slot, that may race a Close of the channel from another goroutine.
func (c *Channel) Acquire() error {
	if !c.inflight.enter() {
		return ErrClosed
	}
	return nil
}

// Release ends what Acquire began.
func (c *Channel) Release() { c.inflight.leave() }

func setPanicOnFault() bool { return debug.SetPanicOnFault(true) }

// recoverFault restores the fault setting and reports whether a memory
// fault was recovered; other panics continue. Call it directly from a
// deferred function.
func recoverFault(old bool) bool {
	debug.SetPanicOnFault(old)
	p := recover()
	if p == nil {
		return false
	}
	if _, ok := p.(interface{ Addr() uintptr }); ok {
		return true
	}
	panic(p)
}

// enter starts a call that touches the mapping; leave (deferred) ends it and
// turns a memory fault inside it into ErrTruncated.
func (c *Channel) enter() (bool, bool) {
	if !c.inflight.enter() {
		return false, false
	}
	return true, setPanicOnFault()
}

func (c *Channel) leave(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if p := recover(); p != nil {
		if _, ok := p.(interface{ Addr() uintptr }); !ok {
			c.inflight.leave()
			panic(p)
		}
		*err = c.faultError()
	}
	c.inflight.leave()
}

func (c *Channel) faultError() error {
	var st unix.Stat_t
	if unix.Fstat(c.fd, &st) == nil && st.Size < int64(len(c.mem)) {
		return fmt.Errorf("%w: the file now has %d of the %d bytes mapped", ErrTruncated, st.Size, len(c.mem))
	}
	return fmt.Errorf("%w (memory fault inside the mapping)", ErrTruncated)
}
