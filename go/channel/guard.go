//go:build linux

package channel

import (
	"fmt"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/internal/fault"
)

// Acquire keeps the mapping alive until the matching Release: Close waits
// for it. Bracket reads of a received frame's payload, or writes into a
// reserved slot, that may race a Close of the channel from another goroutine.
func (c *Channel) Acquire() error {
	if !c.inflight.Enter() {
		return ErrClosed
	}
	return nil
}

// Release ends what Acquire began.
func (c *Channel) Release() { c.inflight.Leave() }

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
	if fault.Is(p) {
		return true
	}
	panic(p)
}

// enter starts a call that touches the mapping; leave (deferred) ends it and
// turns a memory fault inside it into ErrTruncated.
func (c *Channel) enter() (bool, bool) {
	if !c.inflight.Enter() {
		return false, false
	}
	return true, setPanicOnFault()
}

func (c *Channel) leave(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if p := recover(); p != nil {
		if !fault.Is(p) {
			c.inflight.Leave()
			panic(p)
		}
		*err = c.faultError()
	}
	c.inflight.Leave()
}

func (c *Channel) faultError() error {
	if size, shrunk := c.shrunk(); shrunk {
		return fmt.Errorf("%w: the file now has %d of the %d bytes mapped", ErrTruncated, size, len(c.mem))
	}
	return fmt.Errorf("%w (memory fault inside the mapping)", ErrTruncated)
}

// shrunk reports whether the file is now smaller than the mapping, and its size.
func (c *Channel) shrunk() (int64, bool) {
	var st unix.Stat_t
	if unix.Fstat(c.fd, &st) != nil {
		return 0, false
	}
	return st.Size, st.Size < int64(len(c.mem))
}
