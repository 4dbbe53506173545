//go:build linux

package channel

import (
	"sync/atomic"

	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// recoveryLock is the peer lock number that serialises recoverers across
// processes.
const recoveryLock = 0

// A subscriber entry's state word: kind in bits 0-1, the low 14 bits of
// the entry's epoch in bits 2-15 (so an entry freed and joined again by a
// peer that reused the same id never compares equal), peer id in 16-31.
func kind(state uint32) uint32 { return state & 3 }

func entryState(k uint32, epoch uint64, id peer.ID) uint32 {
	return k | uint32(epoch&0x3FFF)<<2 | uint32(id)<<16
}

func subPeer(state uint32) peer.ID { return peer.ID(state >> 16) }

// alive reports whether peer id is alive. This open's own id is; an id
// whose lock cannot be queried counts as alive (never reclaim on doubt).
func (c *Channel) alive(id peer.ID) bool {
	if id == peer.Gone {
		return false // a range a group member handed back
	}
	if id == 0 || id == c.self {
		return true
	}
	ok, err := peer.Alive(c.fd, id)
	return ok || err != nil
}

func (c *Channel) claimantDead(seal uint64) bool { return !c.alive(peer.ID(sealPeer(seal))) }

// recoverClaim aborts the slot claimed at pos with seal w if it is still
// WRITING and its claimant is dead, after finishing the claim (next header
// marked free, tail moved) if the claimant died before doing so. Recoverers are
// serialised so that two of them never race on the next header.
func (c *Channel) recoverClaim(pos, w uint64) {
	if c.access == SubscribeOnly {
		return // cannot write the ring; subscribers skip such slots (see skipDead)
	}
	c.recoverMu.Lock()
	defer c.recoverMu.Unlock()
	if peer.Lock(c.fd, recoveryLock) != nil {
		return
	}
	defer func() { _ = peer.Unlock(c.fd, recoveryLock) }()
	// Death first: a state read before it may predate a commit.
	if !c.claimantDead(w) {
		return
	}
	off := pos & c.mask
	if atomic.LoadUint64(c.r64(off+fSeal)) != w || atomic.LoadUint32(c.r32(off+fState)) != stateWriting {
		return // committed before its claimant died, or handled meanwhile
	}
	if atomic.LoadUint64(c.tail()) == pos {
		c.finishClaim(pos, sealSize(w))
	}
	if atomic.CompareAndSwapUint32(c.r32(off+fState), stateWriting, stateAborted) {
		atomic.AddUint64(c.counter(cDeadPublishers), 1)
		wake(c.hdr32(hDataSeq), c.hdr32(hDataWaiters))
	}
}

// reapDeadSubscribers frees the entries of subscribers before need whose
// peer is dead, so they stop holding back the ring.
func (c *Channel) reapDeadSubscribers(need uint64) error { return c.reap(need, false) }

// reap is reapDeadSubscribers; locked tells that the caller holds the
// recovery lock already (it is not reentrant).
func (c *Channel) reap(need uint64, locked bool) error {
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) == subFree || atomic.LoadUint64(c.sub64(i, sPosition)) >= need && kind(st) != subJoining {
			continue
		}
		if c.alive(subPeer(st)) {
			continue
		}
		if kind(st) == subMember && atomic.LoadUint64(c.sub64(i, sPosition)) != idle {
			// Its range goes to a live member of its group; with none
			// left, the group ends.
			g := int(atomic.LoadUint64(c.sub64(i, sGroup))) - 1
			if g < 0 || g >= c.maxSubs {
				continue
			}
			if locked {
				c.endGroupIfEmpty(g)
			} else if unlock, err := c.lockRecovery(); err == nil {
				c.endGroupIfEmpty(g)
				unlock()
			}
			continue
		}
		if atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
			atomic.AddUint64(c.counter(cDeadSubscribers), 1)
		}
	}
	return nil
}

// freeEntries frees the subscriber entries held under peer id, waking
// publishers that wait for space.
func (c *Channel) freeEntries(id peer.ID) (n int) {
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) != subFree && subPeer(st) == id && atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
			n++
		}
	}
	if n > 0 {
		wake(c.hdr32(hSpaceSeq), c.hdr32(hSpaceWait))
	}
	return n
}

// adoptID clears what a dead earlier holder of this open's peer id left:
// its subscriber entries, and the slots it left WRITING between the
// slowest subscriber and the tail, which would otherwise pass for this live
// open's. It reports false, and the id must be let go, if such a slot
// exists and this open cannot write the ring (SubscribeOnly), or if the
// predecessor was a group member holding frames.
func (c *Channel) adoptID() bool {
	// A dead group member's range must go to a live member of its group,
	// which only happens while nobody holds its id: let the id go.
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) == subMember && subPeer(st) == c.self && atomic.LoadUint64(c.sub64(i, sPosition)) != idle {
			return false
		}
	}
	if n := c.freeEntries(c.self); n > 0 {
		atomic.AddUint64(c.counter(cDeadSubscribers), uint64(n))
	}
	t := atomic.LoadUint64(c.tail())
	for p := c.refreshHead(t); ; {
		off := p & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if !c.validSeal(w, p) {
			return true // the tail, or a chain rewritten meanwhile by claims nobody waits on
		}
		if sealPeer(w) == uint16(c.self) && atomic.LoadUint32(c.r32(off+fState)) == stateWriting {
			if c.access == SubscribeOnly {
				return false
			}
			c.abortOwn(p, w)
		}
		p += sealSize(w)
	}
}

// abortOwn aborts a slot left WRITING under this open's id by its dead
// predecessor (recoverClaim would take the id for alive).
func (c *Channel) abortOwn(pos, w uint64) {
	c.recoverMu.Lock()
	defer c.recoverMu.Unlock()
	if peer.Lock(c.fd, recoveryLock) != nil {
		return
	}
	defer func() { _ = peer.Unlock(c.fd, recoveryLock) }()
	off := pos & c.mask
	if atomic.LoadUint64(c.r64(off+fSeal)) != w {
		return
	}
	if atomic.LoadUint64(c.tail()) == pos {
		c.finishClaim(pos, sealSize(w))
	}
	if atomic.CompareAndSwapUint32(c.r32(off+fState), stateWriting, stateAborted) {
		atomic.AddUint64(c.counter(cDeadPublishers), 1)
		wake(c.hdr32(hDataSeq), c.hdr32(hDataWaiters))
	}
}
