//go:build linux

package channel

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// Subscriber reads a channel from its own position. It receives every
// frame committed after Subscribe returned, in stream order, zero-copy:
// Frame.Payload points into the ring and stays intact until Release (under
// Block and Fail); under Overwrite it may be overwritten, which Release
// reports as ErrOverrun. A Subscriber is used by one goroutine at a time.
type Subscriber struct {
	c      *Channel
	idx    int
	state  uint32 // the entry's state word while it is ours
	next   uint64 // read cursor
	held   uint64 // the shared position as this subscriber last set it
	wait   Wait
	lastOK time.Time // last liveness check of a writer or group member
	// lastGone is the last check for live publishers (streamEnd).
	lastGone time.Time
	// parkCounted: the last receive timed out after parking, so the next
	// goes on with that wait and does not count it again.
	parkCounted bool

	group int    // consumer group: index of the cursor entry; -1 for a plain subscriber
	end   uint64 // group member: end of the held range (0: none)
	// unreleased: a group member has handed out frames since its last
	// Release, which its position keeps protected.
	unreleased bool
}

// Subscribe joins the channel with a new subscriber entry. w sets how
// Receive waits.
func (c *Channel) Subscribe(w Wait) (s *Subscriber, err error) {
	ok, old := c.enter()
	if !ok {
		return nil, ErrClosed
	}
	defer c.leave(&err, old)
	i, err := c.join(c.self, nil, false)
	if err != nil {
		return nil, err
	}
	p := atomic.LoadUint64(c.sub64(i, sPosition))
	return &Subscriber{c: c, idx: i, state: atomic.LoadUint32(c.sub32(i, sState)), next: p, held: p, wait: w, group: -1}, nil
}

// Index returns the subscriber's entry in the subscriber table: the index
// of its latency histogram and of its SubscriberStats.
func (s *Subscriber) Index() int { return s.idx }

// Channel returns the channel the subscriber reads: its mapping holds the
// payloads of the frames received.
func (s *Subscriber) Channel() *Channel { return s.c }

// Active reports whether the subscriber can still receive: its channel is
// open, and its entry was neither closed nor reclaimed.
func (s *Subscriber) Active() (active bool) {
	ok, old := s.c.enter()
	if !ok {
		return false
	}
	var err error // a fault (truncated file) leaves active false
	defer s.c.leave(&err, old)
	return s.mine()
}

// mine reports whether the entry is still this subscriber's.
func (s *Subscriber) mine() bool { return atomic.LoadUint32(s.c.sub32(s.idx, sState)) == s.state }

// Receive returns the next frame, waiting up to timeout (< 0: for ever, 0:
// not at all; ErrTimeout when nothing came). The frame stays in place until
// Release.
func (s *Subscriber) Receive(timeout time.Duration) (f Frame, err error) {
	c := s.c
	ok, old := c.enter()
	if !ok {
		return Frame{}, ErrClosed
	}
	defer c.leave(&err, old)
	wt := s.newWaiter(timeout)
	defer s.waited(&wt, &err)
	if s.group >= 0 {
		return s.receiveGroup(&wt, 1)
	}
	return s.receive(&wt)
}

// newWaiter is a waiter for one receive call, going on with the wait of a
// previous call that timed out.
func (s *Subscriber) newWaiter(timeout time.Duration) waiter {
	wt := newWaiter(s.wait, timeout)
	wt.parkCounted = s.parkCounted
	return wt
}

// waited keeps what a receive that timed out had counted for the next.
func (s *Subscriber) waited(wt *waiter, err *error) {
	s.parkCounted = wt.parkCounted && errors.Is(*err, ErrTimeout)
}

// ReceiveBatch fills dst with up to len(dst) frames: it waits up to timeout
// for the first, then takes those already committed. It returns how many it
// stored.
func (s *Subscriber) ReceiveBatch(dst []Frame, timeout time.Duration) (n int, err error) {
	if len(dst) == 0 {
		return 0, nil
	}
	c := s.c
	ok, old := c.enter()
	if !ok {
		return 0, ErrClosed
	}
	defer c.leave(&err, old)
	wt := s.newWaiter(timeout)
	defer s.waited(&wt, &err)
	if s.group >= 0 {
		f, err := s.receiveGroup(&wt, len(dst))
		if err != nil {
			return 0, err
		}
		dst[0], n = f, 1
		for n < len(dst) { // the rest of the range just taken
			f, ok, err := s.nextInRange()
			if err != nil {
				return n, err
			}
			if !ok {
				break
			}
			dst[n] = f
			n++
		}
		return n, nil
	}
	for n < len(dst) {
		f, err := s.receive(&wt)
		if err != nil {
			if n > 0 && (err == ErrTimeout || err == ErrEnded || err == ErrPublisherGone) {
				return n, nil // the frames taken; the end comes with the next call
			}
			return n, err
		}
		dst[n] = f
		n++
		wt = waiter{poll: true}
	}
	return n, nil
}

func (s *Subscriber) receive(wt *waiter) (Frame, error) {
	c := s.c
	if !s.mine() {
		return Frame{}, fmt.Errorf("%w: subscriber closed, or its entry was reclaimed", ErrClosed)
	}
	for {
		if c.policy == Overwrite {
			if p := atomic.LoadUint64(c.sub64(s.idx, sPosition)); p > s.held {
				// A publisher moved us forward; the frames it skipped are
				// counted as dropped. If we held some of them, the caller
				// must discard what it received since its last Release.
				overrun := s.next > s.held
				s.next, s.held = p, p
				if overrun {
					return Frame{}, ErrOverrun
				}
			}
		}
		pos := s.next
		off := pos & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if c.validSeal(w, pos) {
			size := sealSize(w)
			switch st := atomic.LoadUint32(c.r32(off + fState)); st {
			case stateCommitted:
				f, err := s.frameAt(pos, off, size)
				if c.policy == Overwrite && (atomic.LoadUint64(c.r64(off+fSeal)) != w ||
					atomic.LoadUint64(c.sub64(s.idx, sPosition)) > s.held) {
					continue // overwritten while we read its header: neither it nor its numbers count
				}
				s.next = pos + size
				if err != nil {
					s.skipped(pos)
					return f, err
				}
				s.count(f)
				return f, nil
			case stateAborted, statePadding:
				s.next = pos + size
				s.skipped(pos)
				continue
			case stateWriting:
				if s.writerGone(pos, w) {
					continue
				}
			default:
				if c.policy == Overwrite && (atomic.LoadUint64(c.r64(off+fSeal)) != w ||
					atomic.LoadUint64(c.sub64(s.idx, sPosition)) > s.held) {
					continue // overwritten between reading its seal and its state
				}
				s.next = pos + size
				s.skipped(pos)
				return Frame{}, fmt.Errorf("%w: frame at position %d has unknown state %#x", ErrCorrupt, pos, st)
			}
		} else if c.policy != Overwrite && pos < atomic.LoadUint64(c.tail()) {
			// Under Block and Fail the chain below the tail is intact.
			if w2 := atomic.LoadUint64(c.r64(off + fSeal)); w2 == w {
				return Frame{}, fmt.Errorf("%w: no valid seal at position %d below the tail", ErrCorrupt, pos)
			}
			continue
		}
		if err := s.streamEnd(pos, wt); err != nil {
			return Frame{}, err
		}
		atomic.StoreUint64(c.sub64(s.idx, sHeartbeat), region.Now())
		recheck := func() bool {
			w := atomic.LoadUint64(c.r64(off + fSeal))
			return c.validSeal(w, pos) && atomic.LoadUint32(c.r32(off+fState)) != stateWriting ||
				c.policy == Overwrite && atomic.LoadUint64(c.sub64(s.idx, sPosition)) > s.held
		}
		if !wt.pause(c.hdr32(hDataSeq), c.hdr32(hDataWaiters), recheck, c, c.sub64(s.idx, sParked), c.counter(cParkedWaits)) {
			if c.closing() {
				return Frame{}, ErrClosed
			}
			return Frame{}, ErrTimeout
		}
	}
}

// skipped releases the slot at pos that the subscriber stepped over if it
// holds no frame before it, so aborted and padding slots never hold back
// publishers.
func (s *Subscriber) skipped(pos uint64) {
	c := s.c
	if s.held == pos && atomic.CompareAndSwapUint64(c.sub64(s.idx, sPosition), pos, s.next) {
		s.held = s.next
		wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
	}
}

// writerGone handles a WRITING slot at pos: if its claimant is dead, the
// slot is aborted (or, for a SubscribeOnly open, skipped once its claim is
// complete) and writerGone reports true. Liveness is checked at most every
// millisecond.
func (s *Subscriber) writerGone(pos, w uint64) bool {
	c := s.c
	now := time.Now()
	if now.Sub(s.lastOK) < time.Millisecond {
		return false
	}
	s.lastOK = now
	if !c.claimantDead(w) {
		return false
	}
	if c.access == SubscribeOnly {
		// The state read before the verdict may be older than the death: a
		// claimant can commit and then die. Read after it, WRITING is final.
		// The next header is marked free once the tail has passed the slot.
		if atomic.LoadUint32(c.r32(pos&c.mask+fState)) == stateWriting && atomic.LoadUint64(c.tail()) > pos {
			s.next = pos + sealSize(w)
			s.skipped(pos)
			return true
		}
		return false
	}
	c.recoverClaim(pos, w)
	return true
}

// frameAt builds the frame of the committed slot at pos (count records
// it, once the caller knows the header was read whole).
func (s *Subscriber) frameAt(pos, off, size uint64) (Frame, error) {
	c := s.c
	if chk := *c.r64(off + fCheck); chk != c.id^pos {
		return Frame{}, fmt.Errorf("%w: frame at position %d does not carry this channel's check word", ErrCorrupt, pos)
	}
	po := uint64(*c.r32(off + fPayOff))
	pl := *c.r64(off + fPayLen)
	if po < FrameHeaderSize || po%8 != 0 || po > size || pl > size-po {
		return Frame{}, fmt.Errorf("%w: frame at position %d has payload [%d, +%d) outside its %d-byte slot", ErrCorrupt, pos, po, pl, size)
	}
	pub := *c.r64(off + fPublish)
	p := off + po
	return Frame{
		Frame: region.Frame{
			Offset: c.ringOff + off, RegionID: c.id, Generation: c.lap(pos),
			Codec: *(*codec.ID)(unsafe.Pointer(&c.ring[off+fCodec])), TypeID: *c.r64(off + fTypeID), PublishNs: pub,
			Payload: c.ring[p : p+pl : p+pl],
		},
		Position: pos,
	}, nil
}

// count records a received frame: its publish->receive latency, and the
// subscriber's frame and byte counters.
func (s *Subscriber) count(f Frame) {
	c := s.c
	c.recordLatency(s.idx, f.PublishNs, region.Now())
	atomic.AddUint64(c.sub64(s.idx, sFrames), 1)
	atomic.AddUint64(c.sub64(s.idx, sBytes), uint64(len(f.Payload)))
}

// Release gives back every frame received so far: their space may be
// reused, and their payloads must not be read any more.
//
// Under Overwrite, Release (or Receive, ReceiveBatch) returns ErrOverrun
// when a publisher reclaimed frames this subscriber had received and not
// released yet: everything received since the last successful Release must
// be discarded, as it may be torn. The frames that were overwritten are
// counted in Dropped; those that were not are received again.
func (s *Subscriber) Release() (err error) {
	c := s.c
	ok, old := c.enter()
	if !ok {
		return ErrClosed
	}
	defer c.leave(&err, old)
	if !s.mine() { // closed: its entry (maybe another's by now) is not touched
		return fmt.Errorf("%w: subscriber closed, or its entry was reclaimed", ErrClosed)
	}
	if s.group >= 0 {
		s.releaseGroup()
		return nil
	}
	if s.next == s.held {
		return nil
	}
	pos := c.sub64(s.idx, sPosition)
	if atomic.CompareAndSwapUint64(pos, s.held, s.next) {
		s.held = s.next
		wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
		return nil
	}
	if !s.mine() {
		return fmt.Errorf("%w: subscriber closed, or its entry was reclaimed", ErrClosed)
	}
	// Only an Overwrite publisher moves another's position. Frames from
	// the new position on were not overwritten: they are received again.
	p := atomic.LoadUint64(pos)
	s.next, s.held = p, p
	return ErrOverrun
}

// Check reports whether the frames received since the last Release are
// still intact: ErrOverrun once an Overwrite publisher has reclaimed any of
// them (it moves the position first); nil under Block and Fail, and for
// group members. Unlike Release it gives nothing back:
// a reader checks what it read, seqlock-style, and goes on; the next
// Release reports the overrun too.
func (s *Subscriber) Check() (err error) {
	c := s.c
	ok, old := c.enter()
	if !ok {
		return ErrClosed
	}
	defer c.leave(&err, old)
	if !s.mine() {
		return fmt.Errorf("%w: subscriber closed, or its entry was reclaimed", ErrClosed)
	}
	// A CAS, not a load: like Release's, it orders the payload reads before
	// it on every architecture (a load may be satisfied before them on
	// arm64). Writing back the same position changes nothing.
	if s.group < 0 && s.next != s.held && !atomic.CompareAndSwapUint64(c.sub64(s.idx, sPosition), s.held, s.held) {
		return ErrOverrun
	}
	return nil
}

// Dropped returns how many frames (and payload bytes) this subscriber lost
// to the Overwrite policy: frames it never received, and frames whose
// Release reported ErrOverrun.
func (s *Subscriber) Dropped() (frames, bytes uint64, err error) {
	c := s.c
	ok, old := c.enter()
	if !ok {
		return 0, 0, ErrClosed
	}
	defer c.leave(&err, old)
	return atomic.LoadUint64(c.sub64(s.idx, sDropped)), atomic.LoadUint64(c.sub64(s.idx, sDropBytes)), nil
}

// Close leaves the channel: the entry is freed and stops holding back
// publishers (a group member's frames not released go back to the group,
// see SubscribeGroup). Frames received and not released must not be read
// after.
func (s *Subscriber) Close() (err error) {
	c := s.c
	ok, old := c.enter()
	if !ok {
		return ErrClosed
	}
	defer c.leave(&err, old)
	if s.group >= 0 {
		return s.leaveGroup()
	}
	if !atomic.CompareAndSwapUint32(c.sub32(s.idx, sState), s.state, subFree) {
		return ErrClosed
	}
	wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
	return nil
}
