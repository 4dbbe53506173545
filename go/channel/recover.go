package channel

import (
	"sync/atomic"

	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// recoveryLock is the peer lock number that serialises recoverers across
// processes.
const recoveryLock = 0

func kind(state uint32) uint32 { return state & 0xFFFF }

func subPeer(state uint32) peer.ID { return peer.ID(state >> 16) }

// alive reports whether peer id is alive. This open's own id is; an id
// whose lock cannot be queried counts as alive (never reclaim on doubt).
func (c *Channel) alive(id peer.ID) bool {
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
	off := pos & c.mask
	if atomic.LoadUint64(c.r64(off+fSeal)) != w || atomic.LoadUint32(c.r32(off+fState)) != stateWriting {
		return // handled meanwhile
	}
	if !c.claimantDead(w) {
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

// reapDeadSubscribers frees the entries of subscribers before need whose
// peer is dead, so they stop holding back the ring.
func (c *Channel) reapDeadSubscribers(need uint64) error {
	for i := 0; i < c.maxSubs; i++ {
		st := atomic.LoadUint32(c.sub32(i, sState))
		if kind(st) == subFree || atomic.LoadUint64(c.sub64(i, sPosition)) >= need && kind(st) == subActive {
			continue
		}
		if c.alive(subPeer(st)) {
			continue
		}
		if atomic.CompareAndSwapUint32(c.sub32(i, sState), st, subFree) {
			atomic.AddUint64(c.counter(cDeadSubscribers), 1)
		}
	}
	return nil
}
