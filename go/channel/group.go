//go:build linux

package channel

import (
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/crossbuf/crossbuf/go/internal/peer"
	"github.com/crossbuf/crossbuf/go/region"
)

// Consumer groups (work-queue delivery). A group is a cursor entry in the
// subscriber table: kind active, peer id 0 (owned by no process), group =
// a hash of the group's name, position = the next frame to hand out. Each
// member has an entry of kind member whose group field is 1 + the cursor's
// index, whose position is the first frame of the range it holds (idle:
// none) and whose held_end ends that range.
//
// A member takes a range by setting its position to the cursor value g,
// then moving the cursor from g past the committed frames it takes with a
// CAS; the frames are protected by the cursor until the CAS and by the
// member's position after it. Release acknowledges the frames received. A
// member that takes more before it releases keeps its position (the first
// frame not released: everything after it stays protected) and only moves
// held_end, so the frames it holds are never reclaimed under it. A member
// that closes holding frames hands them back: its entry passes to
// peer.Gone, which reads as dead. A member whose peer lock is gone (or is
// Gone) keeps its range until a live member of the group
// that holds nothing takes it over: it sets its own position and end to the
// dead member's, then CASes the dead member's position to idle, and
// delivers the range again. So delivery is at least once: frames a member
// had received when it died come again (with those the group gave other
// members in between, when it had taken more than once without releasing;
// and a member that dies inside its own take, between setting its position
// and moving the cursor, can rarely cause a range to be delivered twice).
// The group ends when its last member leaves or dies.

const (
	subMember = 3
	sGroup    = 72 // cursor: hash of the group name; member: 1 + cursor index
	sHeldEnd  = 80 // member: end of the held range
	idle      = ^uint64(0)
)

func groupHash(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return h.Sum64() | 1
}

// lockRecovery takes this open's mutex and the channel's recovery lock,
// which also serialises group membership changes.
func (c *Channel) lockRecovery() (unlock func(), err error) {
	c.recoverMu.Lock()
	if err := peer.Lock(c.fd, recoveryLock); err != nil {
		c.recoverMu.Unlock()
		return nil, fmt.Errorf("channel: %w", err)
	}
	return func() {
		_ = peer.Unlock(c.fd, recoveryLock)
		c.recoverMu.Unlock()
	}, nil
}

// SubscribeGroup joins the consumer group name as a new member: each frame
// committed while the group exists goes to exactly one member. Frames a
// member received and had not released when its process died, or when it
// closed, are delivered again to another member: Release acknowledges. A
// member that holds frames takes no such range (Release, then Receive); at
// the end of the stream it gets ErrHeld, not ErrEnded, while one waits. The
// group exists while it has members: frames committed while it has none are
// not kept for it. Groups are available under the Block and Fail policies.
func (c *Channel) SubscribeGroup(name string, w Wait) (s *Subscriber, err error) {
	if c.policy == Overwrite {
		return nil, fmt.Errorf("%w: consumer groups need the Block or Fail policy", ErrInvalid)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: empty group name", ErrInvalid)
	}
	ok, old := c.enter()
	if !ok {
		return nil, ErrClosed
	}
	defer c.leave(&err, old)
	unlock, err := c.lockRecovery()
	if err != nil {
		return nil, err
	}
	defer unlock()
	h := groupHash(name)
	cursor := -1
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) == subActive && subPeer(st) == 0 && atomic.LoadUint64(c.sub64(i, sGroup)) == h {
			cursor = i
			break
		}
	}
	if cursor < 0 {
		cursor, err = c.join(0, func(i int) { atomic.StoreUint64(c.sub64(i, sGroup), h) }, true)
		if err != nil {
			return nil, err
		}
	}
	m, err := c.joinMember(cursor)
	if err != nil {
		c.endGroupIfEmpty(cursor)
		return nil, err
	}
	return &Subscriber{c: c, idx: m, state: atomic.LoadUint32(c.sub32(m, sState)), group: cursor, wait: w}, nil
}

// join claims a free entry as an active subscriber of peer id at the tail
// (the protocol of Subscribe); init runs before it becomes active. locked:
// the caller holds the recovery lock.
func (c *Channel) join(id peer.ID, init func(i int), locked bool) (int, error) {
	for attempt := 0; attempt < 2; attempt++ {
		for i := 0; i < c.maxSubs; i++ {
			epoch := atomic.LoadUint64(c.sub64(i, sEpoch)) + 1
			if !atomic.CompareAndSwapUint32(c.sub32(i, sState), subFree, entryState(subJoining, epoch, id)) {
				continue
			}
			atomic.StoreUint64(c.sub64(i, sEpoch), epoch)
			for _, f := range []uintptr{sFrames, sBytes, sDropped, sDropBytes, sParked, sGroup, sHeldEnd} {
				atomic.StoreUint64(c.sub64(i, f), 0)
			}
			atomic.StoreUint64(c.sub64(i, sHeartbeat), region.Now())
			c.clearHist(1 + i)
			if init != nil {
				init(i)
			}
			atomic.StoreUint64(c.sub64(i, sPosition), atomic.LoadUint64(c.tail()))
			atomic.StoreUint32(c.sub32(i, sState), entryState(subActive, epoch, id))
			// Start at a tail read after the entry became active: every claim
			// beyond it has seen this position.
			t := atomic.LoadUint64(c.tail())
			for {
				p := atomic.LoadUint64(c.sub64(i, sPosition))
				if p >= t || atomic.CompareAndSwapUint64(c.sub64(i, sPosition), p, t) {
					break
				}
			}
			return i, nil
		}
		if err := c.reap(^uint64(0), locked); err != nil {
			return -1, err
		}
	}
	return -1, fmt.Errorf("%w: %d entries held by live subscribers", ErrTooManySubscribers, c.maxSubs)
}

// joinMember claims a free entry as a member of the group at cursor; the
// caller holds the recovery lock.
func (c *Channel) joinMember(cursor int) (int, error) {
	for attempt := 0; attempt < 2; attempt++ {
		for i := 0; i < c.maxSubs; i++ {
			epoch := atomic.LoadUint64(c.sub64(i, sEpoch)) + 1
			if !atomic.CompareAndSwapUint32(c.sub32(i, sState), subFree, entryState(subJoining, epoch, c.self)) {
				continue
			}
			atomic.StoreUint64(c.sub64(i, sEpoch), epoch)
			for _, f := range []uintptr{sFrames, sBytes, sDropped, sDropBytes, sParked, sHeldEnd} {
				atomic.StoreUint64(c.sub64(i, f), 0)
			}
			atomic.StoreUint64(c.sub64(i, sHeartbeat), region.Now())
			c.clearHist(1 + i)
			atomic.StoreUint64(c.sub64(i, sGroup), uint64(cursor)+1)
			atomic.StoreUint64(c.sub64(i, sPosition), idle)
			atomic.StoreUint32(c.sub32(i, sState), entryState(subMember, epoch, c.self))
			return i, nil
		}
		if err := c.reap(^uint64(0), true); err != nil {
			return -1, err
		}
	}
	return -1, fmt.Errorf("%w: %d entries held by live subscribers", ErrTooManySubscribers, c.maxSubs)
}

// members calls f for each member entry of the group whose cursor is at
// index cursor.
func (c *Channel) members(cursor int, f func(i int, st uint32)) {
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) == subMember && atomic.LoadUint64(c.sub64(i, sGroup)) == uint64(cursor)+1 {
			f(i, st)
		}
	}
}

// endGroupIfEmpty frees the group's cursor, and the entries of its dead
// members, if no live member is left. Called under the recovery lock.
func (c *Channel) endGroupIfEmpty(cursor int) {
	live := false
	c.members(cursor, func(i int, st uint32) {
		if c.alive(subPeer(st)) {
			live = true
		}
	})
	if live {
		return
	}
	c.members(cursor, func(i int, st uint32) {
		if atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
			atomic.AddUint64(c.counter(cDeadSubscribers), 1)
		}
	})
	st := atomic.LoadUint32(c.sub32(cursor, sState))
	if kind(st) == subActive && subPeer(st) == 0 {
		atomic.CompareAndSwapUint32(c.sub32(cursor, sState), st, subFree)
	}
	wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
}

// orphan is the range [p, e) that member i (in state st) of s's group left
// behind when it died or closed; ok is false when it left none.
func (s *Subscriber) orphan(i int, st uint32) (p, e uint64, ok bool) {
	c := s.c
	if i == s.idx {
		return 0, 0, false
	}
	p, e = atomic.LoadUint64(c.sub64(i, sPosition)), atomic.LoadUint64(c.sub64(i, sHeldEnd))
	if p == idle || e <= p || c.alive(subPeer(st)) { // liveness last: it costs a system call
		return 0, 0, false
	}
	return p, e, true
}

// takeover moves the range of a dead member of s's group to s. It reports
// whether s now holds one.
func (s *Subscriber) takeover() bool {
	c := s.c
	got := false
	c.members(s.group, func(i int, st uint32) {
		if got {
			return
		}
		p, e, ok := s.orphan(i, st)
		if !ok {
			return
		}
		if atomic.LoadUint64(c.sub64(s.group, sPosition)) <= p {
			// It died before its take moved the cursor: nothing to deliver.
			if atomic.CompareAndSwapUint64(c.sub64(i, sPosition), p, idle) &&
				atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
				atomic.AddUint64(c.counter(cDeadSubscribers), 1)
			}
			return
		}
		// Protect the range with our position before the dead one lets go.
		atomic.StoreUint64(c.sub64(s.idx, sHeldEnd), e)
		atomic.StoreUint64(c.sub64(s.idx, sPosition), p)
		if !atomic.CompareAndSwapUint64(c.sub64(i, sPosition), p, idle) {
			atomic.StoreUint64(c.sub64(s.idx, sPosition), idle)
			return
		}
		if atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
			atomic.AddUint64(c.counter(cDeadSubscribers), 1)
		}
		s.next, s.end, got = p, e, true
	})
	return got
}

// handedBack reports whether a range waits that takeover would take.
func (s *Subscriber) handedBack() bool {
	found := false
	s.c.members(s.group, func(i int, st uint32) {
		if found {
			return
		}
		if p, _, ok := s.orphan(i, st); ok {
			found = atomic.LoadUint64(s.c.sub64(s.group, sPosition)) > p
		}
	})
	return found
}

// receiveGroup is receive for a group member: it returns the next frame of
// the range it holds, or takes a new range of up to want committed frames.
func (s *Subscriber) receiveGroup(wt *waiter, want int) (Frame, error) {
	c := s.c
	pos := c.sub64(s.idx, sPosition)
	cur := c.sub64(s.group, sPosition)
	for {
		if f, ok, err := s.nextInRange(); ok || err != nil {
			return f, err
		}
		if !s.mine() {
			return Frame{}, fmt.Errorf("%w: subscriber closed, or its entry was reclaimed", ErrClosed)
		}
		// Frames received and not released yet (held): the position keeps
		// protecting them while the member takes more. A range used up and
		// released (but for slots it skipped) is let go of.
		held := s.unreleased
		if s.end != 0 && !held {
			atomic.StoreUint64(pos, idle)
			s.end = 0
			wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
		}
		// Dead members' ranges come first, looked for at most every ms by a
		// member that holds nothing (a takeover replaces the position).
		if now := time.Now(); !held && now.Sub(s.lastOK) >= time.Millisecond {
			s.lastOK = now
			if s.takeover() {
				continue
			}
		}
		g := atomic.LoadUint64(cur)
		e, n, blocked := g, 0, uint64(0)
		for n < want {
			off := e & c.mask
			w := atomic.LoadUint64(c.r64(off + fSeal))
			if !c.validSeal(w, e) {
				break
			}
			st := atomic.LoadUint32(c.r32(off + fState))
			if st == stateWriting {
				blocked = w
				break
			}
			if st == stateCommitted {
				n++
			}
			e += sealSize(w)
		}
		if e > g {
			atomic.StoreUint64(c.sub64(s.idx, sHeldEnd), e)
			if !held {
				atomic.StoreUint64(pos, g)
			}
			if atomic.CompareAndSwapUint64(cur, g, e) {
				s.next, s.end = g, e
				continue
			}
			if held {
				atomic.StoreUint64(c.sub64(s.idx, sHeldEnd), s.end)
			} else {
				atomic.StoreUint64(pos, idle)
			}
			continue
		}
		if blocked != 0 && e == g && time.Since(s.lastOK) >= time.Millisecond && c.claimantDead(blocked) {
			s.lastOK = time.Now()
			if c.access != SubscribeOnly {
				c.recoverClaim(g, blocked)
			} else if atomic.LoadUint32(c.r32(g&c.mask+fState)) == stateWriting && atomic.LoadUint64(c.tail()) > g {
				// Read after the verdict, WRITING is final: step the group
				// over the dead publisher's slot (the cursor is writable).
				atomic.CompareAndSwapUint64(cur, g, g+sealSize(blocked))
			}
			continue
		}
		if blocked == 0 && e == g {
			if err := s.streamEnd(g, wt); err != nil {
				// Before the end is reported, a range a dead or closed
				// member handed back is looked for once more, at once: it
				// holds frames committed before the end.
				if !held && s.takeover() {
					continue
				}
				if held && s.handedBack() {
					return Frame{}, ErrHeld // a takeover would replace the position that protects them
				}
				return Frame{}, err
			}
		}
		atomic.StoreUint64(c.sub64(s.idx, sHeartbeat), region.Now())
		recheck := func() bool { return atomic.LoadUint64(cur) != g || c.frameReady(g) }
		if !wt.pause(c.hdr32(hDataSeq), c.hdr32(hDataWaiters), recheck, c, c.sub64(s.idx, sParked), c.counter(cParkedWaits)) {
			if c.closing() {
				return Frame{}, ErrClosed
			}
			return Frame{}, ErrTimeout
		}
	}
}

// nextInRange returns the next committed frame of the range the member
// holds; ok is false when the range is used up.
func (s *Subscriber) nextInRange() (f Frame, ok bool, err error) {
	c := s.c
	for s.next < s.end {
		p := s.next
		off := p & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if !c.validSeal(w, p) {
			return Frame{}, false, fmt.Errorf("%w: no valid seal at position %d of a held range", ErrCorrupt, p)
		}
		size := sealSize(w)
		s.next = p + size
		if atomic.LoadUint32(c.r32(off+fState)) == stateCommitted {
			f, err := s.frameAt(p, off, size)
			if err == nil {
				s.count(f) // a held range is not overwritten: groups are Block and Fail only
			}
			s.unreleased = s.unreleased || err == nil
			return f, err == nil, err
		}
	}
	return Frame{}, false, nil
}

// frameReady reports whether the slot at p is in a final state.
func (c *Channel) frameReady(p uint64) bool {
	off := p & c.mask
	return c.validSeal(atomic.LoadUint64(c.r64(off+fSeal)), p) && atomic.LoadUint32(c.r32(off+fState)) != stateWriting
}

// releaseGroup acknowledges the frames a member has received; frames of
// its range it has not received yet stay held.
func (s *Subscriber) releaseGroup() {
	c := s.c
	s.unreleased = false
	if s.end == 0 {
		return
	}
	if s.next < s.end {
		atomic.StoreUint64(c.sub64(s.idx, sPosition), s.next)
	} else {
		atomic.StoreUint64(c.sub64(s.idx, sPosition), idle)
		s.end = 0
	}
	wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
}

// leaveGroup ends a member's membership (Close); the group ends with its
// last member.
func (s *Subscriber) leaveGroup() error {
	c := s.c
	unlock, err := c.lockRecovery()
	if err != nil {
		return err
	}
	defer unlock()
	if !c.dropMember(s.idx, s.state) {
		return ErrClosed
	}
	c.endGroupIfEmpty(s.group)
	wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
	return nil
}

// dropMember ends the member entry i in state st (this open's). Frames it
// holds and has not released go back to the group: the entry stays, owned
// by peer.Gone, until a live member takes its range over as it takes over a
// dead member's. Otherwise the entry is freed. Called under the recovery
// lock.
func (c *Channel) dropMember(i int, st uint32) bool {
	next := uint32(subFree)
	if atomic.LoadUint64(c.sub64(i, sPosition)) != idle {
		next = st&0xFFFF | uint32(peer.Gone)<<16
	}
	return atomic.CompareAndSwapUint32(c.sub32(i, sState), st, next)
}

// leaveGroups drops this open's group members (Close of the channel),
// ending the groups left without a live member.
func (c *Channel) leaveGroups() {
	var unlock func()
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) != subMember || subPeer(st) != c.self {
			continue
		}
		if unlock == nil {
			var err error
			if unlock, err = c.lockRecovery(); err != nil {
				return // freeEntries frees them: what they held is acknowledged
			}
			defer unlock()
		}
		g := int(atomic.LoadUint64(c.sub64(i, sGroup))) - 1 // read before the entry may be freed
		if c.dropMember(i, st) && g >= 0 && g < c.maxSubs {
			c.endGroupIfEmpty(g)
		}
	}
}
