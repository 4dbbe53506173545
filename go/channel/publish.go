//go:build linux

package channel

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// Slot is a frame being written: write the payload into Buf, then Commit
// or Abort. One Slot must not be committed from two goroutines at once.
type Slot struct {
	// Buf is the payload area: len == cap == the reserved capacity rounded
	// up, so appends cannot spill into the next frame.
	Buf  []byte
	c    *Channel
	pos  uint64
	seal uint64
}

// Frame is one committed channel frame. Its region.Frame part is the same
// frame protocol as a region's (decode it with crossbuf.Decode): Offset is
// the header's offset in the channel mapping, RegionID the channel id and
// Generation the lap of the ring it was written in.
type Frame struct {
	region.Frame
	// Position is the frame's byte position in the channel stream.
	Position uint64
}

func (c *Channel) lap(pos uint64) uint64 { return pos >> c.lapShift }

func (c *Channel) sealOf(pos uint64, size uint64) uint64 {
	return (c.lap(pos)&0xFFFF)<<48 | uint64(c.self)<<32 | size/8
}

func sealSize(seal uint64) uint64 { return (seal & 0xFFFFFFFF) * 8 }
func sealPeer(seal uint64) uint16 { return uint16(seal >> 32) }

// validSeal reports whether seal is the seal of a slot claimed at pos.
func (c *Channel) validSeal(seal, pos uint64) bool {
	if seal>>48 != c.lap(pos)&0xFFFF {
		return false
	}
	size := sealSize(seal)
	return size >= FrameHeaderSize && size%slotAlign == 0 && size <= c.ringSize-pos&c.mask
}

// testHookClaimed, set by tests, runs right after a slot's seal is claimed
// (before the tail moves): where a publisher killed by a test leaves a
// half-made claim.
var testHookClaimed func(pos uint64)

// Publish copies payload into a new frame of codec and typeID and commits
// it, waiting for space as Reserve does.
func (c *Channel) Publish(codecID codec.ID, typeID uint64, payload []byte, timeout time.Duration) error {
	s, err := c.Reserve(codecID, typeID, len(payload), timeout)
	if err != nil {
		return err
	}
	n := copy(s.Buf, payload)
	_, err = s.Commit(s.Buf[:n])
	return err
}

// PublishBatch copies each payload into a frame of codec and typeID and
// commits it, in order, in one call that wakes parked subscribers once. It
// waits for space as Reserve does, up to timeout for each frame. It returns
// how many frames it committed: on an error, exactly payloads[:n] were
// published and nothing after them.
func (c *Channel) PublishBatch(codecID codec.ID, typeID uint64, payloads [][]byte, timeout time.Duration) (n int, err error) {
	if c.access == SubscribeOnly {
		return 0, fmt.Errorf("%w: publish", ErrReadOnly)
	}
	for i, p := range payloads {
		if len(p) > c.MaxPayload() {
			return 0, fmt.Errorf("%w: payload %d has %d bytes, more than %d", ErrInvalid, i, len(p), c.MaxPayload())
		}
	}
	ok, old := c.enter()
	if !ok {
		return 0, ErrClosed
	}
	defer c.leave(&err, old)
	defer func() {
		if n > 0 {
			wake(c.hdr32(hDataSeq), c.hdr32(hDataWaiters))
		}
	}()
	for _, p := range payloads {
		wt := newWaiter(c.pubWait(), timeout)
		s, err := c.reserve(codecID, typeID, len(p), &wt)
		if err != nil {
			return n, err
		}
		k := copy(s.Buf, p)
		if _, err := s.commit(s.Buf[:k], false); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Reserve claims a slot whose payload area holds payloadCap bytes, for a
// message of codec and typeID. When the ring is full the channel's policy
// applies: Fail returns ErrFull, Block waits up to timeout (< 0: for ever,
// 0: not at all) and then returns an error matching both ErrFull and
// ErrTimeout, Overwrite reclaims the oldest frames.
func (c *Channel) Reserve(codecID codec.ID, typeID uint64, payloadCap int, timeout time.Duration) (s Slot, err error) {
	if c.access == SubscribeOnly {
		return Slot{}, fmt.Errorf("%w: reserve", ErrReadOnly)
	}
	if payloadCap < 0 || payloadCap > c.MaxPayload() {
		return Slot{}, fmt.Errorf("%w: payload capacity %d is not in [0, %d]", ErrInvalid, payloadCap, c.MaxPayload())
	}
	ok, old := c.enter()
	if !ok {
		return Slot{}, ErrClosed
	}
	defer c.leave(&err, old)
	wt := newWaiter(c.pubWait(), timeout)
	return c.reserve(codecID, typeID, payloadCap, &wt)
}

// reserve is Reserve inside a call that has entered the channel.
func (c *Channel) reserve(codecID codec.ID, typeID uint64, payloadCap int, wt *waiter) (Slot, error) {
	if !codec.ID(codecID).Known() { // readers (streams, cat) refuse it
		return Slot{}, fmt.Errorf("%w: %d", codec.ErrUnknownCodec, codecID)
	}
	c.registerPublisher()
	size := (FrameHeaderSize + uint64(payloadCap) + slotAlign - 1) &^ (slotAlign - 1)
	was := c.pubWaiting.Load() // what a timed-out call of this open had counted
	wt.fullCounted, wt.parkCounted = was&waitedFull != 0, was&waitedPark != 0
	pos, seal, err := c.claim(size, wt)
	now := uint32(0)
	if errors.Is(err, ErrTimeout) {
		now = wt.counted()
	}
	if now != was { // stored only when it changes: not on every publish
		c.pubWaiting.Store(now)
	}
	if err != nil {
		return Slot{}, err
	}
	if c.ended() { // ended while claiming: the slot is given up, never published
		s := Slot{c: c, pos: pos, seal: seal}
		s.Abort()
		return Slot{}, ErrEnded
	}
	off := pos & c.mask
	*(*codec.ID)(unsafe.Pointer(&c.ring[off+fCodec])) = codecID
	*(*uint16)(unsafe.Pointer(&c.ring[off+fFlags])) = 0
	*c.r32(off + fPayOff) = FrameHeaderSize
	*c.r64(off + fPayLen) = 0
	*c.r64(off + fTypeID) = typeID
	*c.r64(off + fPublish) = 0
	*c.r64(off + fCheck) = c.id ^ pos
	p := off + FrameHeaderSize
	end := off + size
	return Slot{Buf: c.ring[p:end:end], c: c, pos: pos, seal: seal}, nil
}

// pubWait is how publishers wait for space.
func (c *Channel) pubWait() Wait {
	if w := c.publisherWait.Load(); w != nil {
		return *w
	}
	return Wait{}
}

// SetPublisherWait sets how Reserve waits for space under the Block policy.
func (c *Channel) SetPublisherWait(w Wait) { c.publisherWait.Store(&w) }

// claim claims a slot of size bytes (a multiple of 64) and returns its
// position and seal.
func (c *Channel) claim(size uint64, wt *waiter) (uint64, uint64, error) {
	for {
		if c.closing() {
			return 0, 0, ErrClosed
		}
		if c.ended() {
			return 0, 0, ErrEnded
		}
		t := atomic.LoadUint64(c.tail())
		off := t & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if w != freeMark(t) {
			if atomic.LoadUint64(c.tail()) != t {
				continue
			}
			if !c.validSeal(w, t) {
				return 0, 0, fmt.Errorf("%w: the header at the tail (position %d) has seal %#x", ErrCorrupt, t, w)
			}
			// Claimed, tail not moved yet: the claimant is between two
			// instructions, or dead.
			c.waitStuckTail(t, w, wt)
			continue
		}
		n := size
		if off+size > c.ringSize {
			n = c.ringSize - off // pad to the end of the lap first
		}
		if !c.fits(t, n) {
			if c.policy == Fail {
				// A dead subscriber must not fail the channel for ever:
				// look for one now and then.
				if c.reapDue() {
					if err := c.reapDeadSubscribers(t + n + FrameHeaderSize - c.ringSize); err != nil {
						return 0, 0, err
					}
					if c.fits(t, n) {
						continue
					}
				}
				atomic.AddUint64(c.counter(cFullFails), 1)
				return 0, 0, ErrFull
			}
			if !wt.fullCounted {
				wt.fullCounted = true
				atomic.AddUint64(c.counter(cFullWaits), 1)
			}
			if err := c.makeRoom(t, n, wt); err != nil {
				return 0, 0, err
			}
			continue
		}
		seal := c.sealOf(t, n)
		if !atomic.CompareAndSwapUint64(c.r64(off+fSeal), freeMark(t), seal) {
			continue
		}
		if testHookClaimed != nil {
			testHookClaimed(t)
		}
		c.finishClaim(t, n)
		if n != size {
			atomic.CompareAndSwapUint32(c.r32(off+fState), stateWriting, statePadding)
			atomic.AddUint64(c.counter(cPaddingFrames), 1)
			continue
		}
		return t, seal, nil
	}
}

// freeMark is the seal word of the header at the tail position p: never a
// valid seal (its low bit is set), and never equal for two positions, so a
// publisher that read the tail long ago cannot claim a later lap's slot.
func freeMark(p uint64) uint64 { return p | 1 }

// finishClaim restores the invariant for the next claim (its header
// marked free) and moves the tail past the slot [pos, pos+n).
func (c *Channel) finishClaim(pos, n uint64) {
	next := (pos + n) & c.mask
	atomic.StoreUint64(c.r64(next+fSeal), freeMark(pos+n))
	atomic.StoreUint32(c.r32(next+fState), stateWriting)
	atomic.CompareAndSwapUint64(c.tail(), pos, pos+n)
}

// fits reports whether a slot of n bytes at t, and the next header after
// it, lie in space every subscriber has released. It refreshes head when
// the cached one is not enough.
func (c *Channel) fits(t, n uint64) bool {
	if t+n+FrameHeaderSize <= atomic.LoadUint64(c.head())+c.ringSize {
		return true
	}
	return t+n+FrameHeaderSize <= c.refreshHead(t)+c.ringSize
}

// refreshHead recomputes the smallest active subscriber position and
// raises the cached head to it. With no subscriber, the head is the first
// slot a publisher is still writing (t if none): no subscriber holds the
// ring, but a claim a lap later must not take a slot from under its writer.
func (c *Channel) refreshHead(t uint64) uint64 {
	h, held := t, false
	for i := 0; i < c.maxSubs; i++ {
		if k := kind(atomic.LoadUint32(c.sub32(i, sState))); k != subActive && k != subMember {
			continue
		}
		h, held = min(h, atomic.LoadUint64(c.sub64(i, sPosition))), true // an idle member's is idle: no bound
	}
	if !held {
		// (A subscriber's position never passes a slot being written.)
		h = c.firstInFlight(atomic.LoadUint64(c.head()), t)
	}
	for {
		old := atomic.LoadUint64(c.head())
		if h <= old {
			return old
		}
		if atomic.CompareAndSwapUint64(c.head(), old, h) {
			return h
		}
	}
}

// firstInFlight is the position of the first slot in [from, t) that a live
// publisher is still writing, or t. A dead publisher's slot is recovered on
// the way. It stops early, conservatively, at a slot a later lap claimed
// meanwhile (another publisher raised the head past it).
func (c *Channel) firstInFlight(from, t uint64) uint64 {
	q := from
	for q < t {
		off := q & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if !c.validSeal(w, q) {
			return q
		}
		if state := c.r32(off + fState); atomic.LoadUint32(state) == stateWriting {
			if c.claimantDead(w) {
				c.recoverClaim(q, w)
			}
			if atomic.LoadUint32(state) == stateWriting {
				return q // alive, or its recovery did not happen here
			}
		}
		q += sealSize(w)
	}
	return t
}

// makeRoom waits for (Block) or takes (Overwrite) the space a slot of n
// bytes at t needs.
func (c *Channel) makeRoom(t, n uint64, wt *waiter) error {
	need := t + n + FrameHeaderSize - c.ringSize // every position must reach it
	if c.policy == Overwrite {
		// A dead subscriber's entry would be overwritten past for ever,
		// counting drops: free it now and then, as Block and Fail do.
		if c.reapDue() {
			if err := c.reapDeadSubscribers(need); err != nil {
				return err
			}
		}
		busy, err := c.overwrite(need)
		if err != nil {
			return err
		}
		// A commit bumps data_seq: wait there for the slow publisher.
		if busy && !wt.pause(c.hdr32(hDataSeq), c.hdr32(hDataWaiters), func() bool { return false }, c, c.counter(cParkedWaits)) {
			if c.closing() {
				return ErrClosed
			}
			return fmt.Errorf("%w: %w: a live publisher is still writing the oldest frame", ErrFull, ErrTimeout)
		}
		return nil
	}
	// Block: a subscriber whose process died stops holding the ring.
	if wt.spins%64 == 63 || wt.parked {
		if err := c.reapDeadSubscribers(need); err != nil {
			return err
		}
	}
	recheck := func() bool { return c.fits(t, n) || atomic.LoadUint64(c.tail()) != t }
	if !wt.pause(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait), recheck, c, c.counter(cParkedWaits)) {
		if c.closing() {
			return ErrClosed
		}
		return fmt.Errorf("%w: %w: no subscriber released space in time", ErrFull, ErrTimeout)
	}
	return nil
}

// overwrite moves every active subscriber whose position is before need
// up to the first frame boundary at or after need, counting the committed
// frames it skips as dropped for that subscriber. busy reports a slot in
// the way that a live publisher is still writing.
func (c *Channel) overwrite(need uint64) (busy bool, err error) {
	for i := 0; i < c.maxSubs; i++ {
		for {
			st := atomic.LoadUint32(c.sub32(i, sState))
			p := atomic.LoadUint64(c.sub64(i, sPosition))
			if kind(st) != subActive || p >= need {
				break
			}
			q, frames, bytes, b, err := c.walk(p, need)
			if err != nil {
				if atomic.LoadUint64(c.sub64(i, sPosition)) != p {
					continue // moved meanwhile: the chain read may be stale
				}
				return false, err
			}
			if b {
				busy = true
				break
			}
			if atomic.CompareAndSwapUint64(c.sub64(i, sPosition), p, q) {
				atomic.AddUint64(c.sub64(i, sDropped), frames)
				atomic.AddUint64(c.sub64(i, sDropBytes), bytes)
				atomic.AddUint64(c.counter(cDroppedFrames), frames)
				break
			}
		}
	}
	if c.refreshHead(atomic.LoadUint64(c.tail())) < need {
		busy = true // a slot still being written holds the ring: wait for its commit
	}
	return busy, nil
}

// walk follows the slot chain from p until a boundary >= need and counts the
// committed frames and payload bytes on the way. busy: a slot on the way is
// being written by a live peer.
func (c *Channel) walk(p, need uint64) (q, frames, bytes uint64, busy bool, err error) {
	q = p
	for q < need {
		off := q & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if !c.validSeal(w, q) {
			return 0, 0, 0, false, fmt.Errorf("%w: no valid seal at position %d (tail %d)", ErrCorrupt, q, atomic.LoadUint64(c.tail()))
		}
		size := sealSize(w)
		switch atomic.LoadUint32(c.r32(off + fState)) {
		case stateWriting:
			if c.claimantDead(w) {
				c.recoverClaim(q, w)
			}
			if atomic.LoadUint32(c.r32(off+fState)) == stateWriting {
				return 0, 0, 0, true, nil // alive, or its recovery did not happen here
			}
			continue
		case stateCommitted:
			frames++
			bytes += min(*c.r64(off + fPayLen), size)
		}
		q += size
	}
	return q, frames, bytes, false, nil
}

// waitStuckTail waits for the claimant of the slot at t (seal w) to move
// the tail, and recovers the slot if the claimant is dead.
func (c *Channel) waitStuckTail(t, w uint64, wt *waiter) {
	// A live claimant moves the tail a few instructions after its seal:
	// poll before asking the kernel whether it is alive.
	for i := 0; i < 64; i++ {
		if atomic.LoadUint64(c.tail()) != t {
			return
		}
		runtime.Gosched()
	}
	if c.claimantDead(w) {
		c.recoverClaim(t, w)
		return
	}
	if wt.spins++; wt.spins%16 == 0 {
		time.Sleep(20 * time.Microsecond)
	}
}

// reapDue rate-limits the dead-subscriber scans of Fail publishers to one
// per millisecond per open.
func (c *Channel) reapDue() bool {
	now := time.Now().UnixNano()
	last := c.lastReap.Load()
	return now-last > int64(time.Millisecond) && c.lastReap.CompareAndSwap(last, now)
}

// Commit publishes payload, which must be a sub-slice of s.Buf starting at
// a multiple of 8 bytes from Buf[0]; nil commits an empty frame. A payload
// outside Buf is ErrInvalid and the slot is aborted.
func (s Slot) Commit(payload []byte) (f Frame, err error) {
	c := s.c
	if c == nil {
		return Frame{}, fmt.Errorf("%w: zero Slot", ErrInvalid)
	}
	ok, old := c.enter()
	if !ok {
		return Frame{}, ErrClosed
	}
	defer c.leave(&err, old)
	return s.commit(payload, true)
}

// commit is Commit inside a call that has entered the channel; wakeUp
// false leaves waking parked subscribers to the caller.
func (s Slot) commit(payload []byte, wakeUp bool) (Frame, error) {
	c := s.c
	off := s.pos & c.mask
	if atomic.LoadUint64(c.r64(off+fSeal)) != s.seal {
		return Frame{}, fmt.Errorf("%w: slot at position %d no longer exists", ErrInvalid, s.pos)
	}
	state := c.r32(off + fState)
	var start uint64
	if payload != nil {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(s.Buf)))
		p := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
		if p < base || p-base > uintptr(len(s.Buf)) || uintptr(len(payload)) > uintptr(len(s.Buf))-(p-base) {
			s.abort(state)
			return Frame{}, fmt.Errorf("%w: payload of %d bytes is not inside the slot's Buf; slot aborted", ErrInvalid, len(payload))
		}
		start = uint64(p - base)
		if start%8 != 0 {
			s.abort(state)
			return Frame{}, fmt.Errorf("%w: payload starts at Buf[%d], not 8-byte aligned; slot aborted", ErrInvalid, start)
		}
	}
	po := FrameHeaderSize + start
	// What the returned Frame says, read while the slot is still ours:
	// once committed, a subscriber may release it and a publisher reuse it.
	codecID, typeID := *(*codec.ID)(unsafe.Pointer(&c.ring[off+fCodec])), *c.r64(off + fTypeID)
	*c.r32(off + fPayOff) = uint32(po)
	*c.r64(off + fPayLen) = uint64(len(payload))
	now := region.Now()
	*c.r64(off + fPublish) = now
	if !atomic.CompareAndSwapUint32(state, stateWriting, stateCommitted) {
		return Frame{}, fmt.Errorf("%w: slot at position %d was aborted meanwhile", ErrInvalid, s.pos)
	}
	atomic.AddUint64(c.counter(cFramesPublished), 1)
	atomic.AddUint64(c.counter(cBytesPublished), uint64(len(payload)))
	if wakeUp {
		wake(c.hdr32(hDataSeq), c.hdr32(hDataWaiters))
	}
	p := off + po
	return Frame{
		Frame: region.Frame{
			Offset: c.ringOff + off, RegionID: c.id, Generation: c.lap(s.pos),
			Codec: codecID, TypeID: typeID, PublishNs: now,
			Payload: c.ring[p : p+uint64(len(payload)) : p+uint64(len(payload))],
		},
		Position: s.pos,
	}, nil
}

func (s Slot) abort(state *uint32) {
	if atomic.CompareAndSwapUint32(state, stateWriting, stateAborted) {
		wake(s.c.hdr32(hDataSeq), s.c.hdr32(hDataWaiters))
	}
}

// Abort marks the slot ABORTED; subscribers skip it. It does nothing if the
// slot was committed already or the channel is closed.
func (s Slot) Abort() {
	c := s.c
	if c == nil {
		return
	}
	ok, old := c.enter()
	if !ok {
		return
	}
	var err error
	defer c.leave(&err, old)
	off := s.pos & c.mask
	if atomic.LoadUint64(c.r64(off+fSeal)) == s.seal {
		s.abort(c.r32(off + fState))
	}
}
