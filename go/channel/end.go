//go:build linux

package channel

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// The end of a stream. Subscribers never hang on a stream that has no
// future: End marks it ended for good (ErrEnded once everything committed
// before was received), and a subscriber that has received everything while
// no open that published is alive any more gets ErrPublisherGone.
//
// Publishers are known by the publisher table in the header: an open enters
// its peer id at its first Reserve and sets pubClosed on Close; a dead one
// is told by its peer lock, like any peer. An open that finds the table
// full of live publishers counts itself in untracked instead, and while
// untracked is not 0 no publisher is declared gone.

// End ends the stream in every process: Reserve and Publish return ErrEnded
// from now on, publishers waiting for space wake with it, and subscribers
// receive the frames committed before, then ErrEnded. It cannot be undone.
func (c *Channel) End() (err error) {
	if c.access == SubscribeOnly {
		return fmt.Errorf("%w: end", ErrReadOnly)
	}
	ok, old := c.enter()
	if !ok {
		return ErrClosed
	}
	defer c.leave(&err, old)
	atomic.StoreUint32(c.hdr32(hEnded), 1)
	wake(c.hdr32(hDataSeq), c.hdr32(hDataWaiters))
	wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
	return nil
}

// Ended reports whether End was called, by any process (false once c is
// closed).
func (c *Channel) Ended() bool {
	ok, old := c.enter()
	if !ok {
		return false
	}
	var err error // a truncated file: not ended
	defer c.leave(&err, old)
	return c.ended()
}

// ended is Ended inside a call that has entered the channel.
func (c *Channel) ended() bool { return atomic.LoadUint32(c.hdr32(hEnded)) != 0 }

func (c *Channel) pubWord(i int) *uint32 { return c.hdr32(hPublishers + uintptr(i)*4) }

// registerPublisher enters this open in the publisher table, once: in a
// free entry, or one whose open closed or died.
func (c *Channel) registerPublisher() {
	c.pubOnce.Do(func() {
		if c.self == 0 || c.self == peer.Gone {
			return // no liveness (an anonymous mapping): nothing to tell
		}
		for i := 0; i < maxPublishers; i++ {
			p := c.pubWord(i)
			v := atomic.LoadUint32(p)
			if (v == 0 || v&pubClosed != 0 || !c.alive(peer.ID(v))) && atomic.CompareAndSwapUint32(p, v, uint32(c.self)) {
				c.pubSlot.Store(int32(i) + 1)
				return
			}
		}
		atomic.AddUint32(c.hdr32(hUntracked), 1)
		c.pubSlot.Store(-1)
	})
}

// leavePublishers marks this open's publisher entry closed (Close).
func (c *Channel) leavePublishers() {
	switch i := c.pubSlot.Swap(0); {
	case i > 0:
		p := c.pubWord(int(i) - 1)
		atomic.CompareAndSwapUint32(p, uint32(c.self), uint32(c.self)|pubClosed)
	case i < 0:
		atomic.AddUint32(c.hdr32(hUntracked), ^uint32(0))
	}
}

// publishersGone reports whether some open has published and every one
// that did has closed or died (and none is untracked).
func (c *Channel) publishersGone() bool {
	if atomic.LoadUint32(c.hdr32(hUntracked)) != 0 {
		return false
	}
	seen := false
	for i := 0; i < maxPublishers; i++ {
		v := atomic.LoadUint32(c.pubWord(i))
		if v == 0 {
			continue
		}
		seen = true
		if v&pubClosed == 0 && c.alive(peer.ID(v)) {
			return false
		}
	}
	return seen
}

// streamEnd is why nothing will come at position pos, where a subscriber
// waiting with wt found nothing ready: ErrEnded, or ErrPublisherGone, or nil
// to wait on. Publishers' liveness costs a system call each: it is looked at
// once the waiter parks or every 256 spins, at most every millisecond.
func (s *Subscriber) streamEnd(pos uint64, wt *waiter) error {
	c := s.c
	if atomic.LoadUint64(c.tail()) != pos {
		return nil // a claim in flight: its frame comes (or its claimant is recovered)
	}
	if c.ended() {
		return ErrEnded
	}
	if !wt.parked && wt.spins&255 != 0 && !wt.poll {
		return nil
	}
	// Looked at once a millisecond while waiting; at every poll (timeout
	// 0), whose caller would otherwise mostly see ErrTimeout.
	if now := time.Now(); wt.poll || now.Sub(s.lastGone) >= time.Millisecond {
		s.lastGone = now
		if c.publishersGone() && atomic.LoadUint64(c.tail()) == pos {
			return ErrPublisherGone
		}
	}
	return nil
}
