package region

import (
	"sync/atomic"
	_ "unsafe" // for go:linkname

	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// nanotime is the runtime's CLOCK_MONOTONIC reading, through the vDSO: the
// clock every process on the machine shares, so a reader in another process
// can subtract a frame's publish time from its own reading.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Now returns CLOCK_MONOTONIC in nanoseconds, the clock of Frame.PublishNs.
func Now() uint64 { return uint64(nanotime()) }

// Recover aborts every slot left WRITING by a writer whose process is
// proven dead (its peer lock is gone), and moves a cursor left behind by
// such a writer. It returns how many slots it aborted. A slot whose writer
// is alive, however slow, is left alone. Writable opens of shared regions
// run it; it does nothing on anonymous and read-only regions.
func (r *Region) Recover() (n int, err error) { return r.recover(false) }

// recover aborts dead writers' slots. Peer ids are reused: when this open
// has just taken its id, slots sealed with the same id were claimed by an
// earlier holder, which is dead (the lock was free), so openFd passes
// predecessor = true.
func (r *Region) recover(predecessor bool) (n int, err error) {
	if r.fd < 0 || r.readOnly {
		return 0, nil
	}
	if !r.inflight.Enter() {
		return 0, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	gen := atomic.LoadUint64(r.u64(offGeneration))
	capacity := uint64(len(r.mem))
	off := r.dataOff
	for capacity-off >= FrameHeaderSize {
		seal := atomic.LoadUint64(r.u64(off + frameSeal))
		if sealGen(seal) != gen16(gen) {
			break
		}
		size := sealSize(seal)
		if size < FrameHeaderSize || size > capacity-off {
			break // corrupt: Next reports it
		}
		r.helpCursor(off, seal)
		state := r.u32(off + frameState)
		if atomic.LoadUint32(state) == stateWriting {
			id := sealPeer(seal)
			dead, err := r.writerDead(id)
			if predecessor && id != 0 && peer.ID(id) == r.self {
				dead = true
			}
			if err != nil {
				return n, err
			}
			if dead && atomic.CompareAndSwapUint32(state, stateWriting, stateAborted) {
				atomic.AddUint64(r.u64(offAborted), 1)
				n++
			}
		}
		off += size
	}
	return n, nil
}

// writerDead reports whether the peer that claimed a slot is proven gone.
func (r *Region) writerDead(id uint16) (bool, error) {
	if id == 0 || peer.ID(id) == r.self {
		return false, nil
	}
	alive, err := peer.Alive(r.fd, peer.ID(id))
	return !alive, err
}
