//go:build linux

package channel

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations without FUTEX_PRIVATE_FLAG: the word is in a shared
// mapping and waiters sit in several processes.
const (
	futexWait = 0
	futexWake = 1
)

// futexWaitOn sleeps while *addr == val, at most d (d > 0). Spurious
// returns are fine: callers re-check their condition.
func futexWaitOn(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func futexWakeAll(addr *uint32) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, uintptr(1<<31-1), 0, 0, 0)
}

// WaitMode is how a call waits for a frame or for space.
type WaitMode int

const (
	// SpinThenPark busy-polls for Spin, then sleeps on the futex.
	SpinThenPark WaitMode = iota
	// BusySpin polls without sleeping (lowest latency, burns a core).
	BusySpin
	// Park sleeps on the futex at once.
	Park
)

// Wait configures waiting.
type Wait struct {
	Mode WaitMode
	// Spin is how long SpinThenPark polls before parking (0: 20µs).
	Spin time.Duration
}

const (
	defaultSpin = 20 * time.Microsecond
	// parkSlice bounds one futex sleep, so a waiter re-checks liveness of
	// the peers it waits on (a dead publisher wakes nobody).
	parkSlice = 10 * time.Millisecond
)

// waiter runs one wait: poll() until it reports done, spinning, then
// parking on seq (with waiters counted in nwait) per w, until deadline.
type waiter struct {
	w        Wait
	deadline time.Time // zero: none
	start    time.Time
	spins    int
	parked   bool
	poll     bool // timeout 0: never wait
	// A call that goes on with a wait the previous call left by timing out
	// (a binding that waits in slices) does not count it again.
	parkCounted, fullCounted bool
}

// What a wait that timed out had counted, for the call that goes on with it.
const (
	waitedFull = 1 << iota // in full_waits
	waitedPark             // in parked_waits
)

// counted is what wt has counted, as waited* bits.
func (wt *waiter) counted() uint32 {
	var b uint32
	if wt.fullCounted {
		b |= waitedFull
	}
	if wt.parkCounted {
		b |= waitedPark
	}
	return b
}

func newWaiter(w Wait, timeout time.Duration) waiter {
	wt := waiter{w: w, poll: timeout == 0}
	if timeout > 0 || w.Mode != BusySpin {
		wt.start = time.Now()
	}
	if timeout > 0 {
		wt.deadline = wt.start.Add(timeout)
	}
	return wt
}

// pause waits a little. It returns false once the deadline has passed.
// recheck must report whether the condition may hold now; it is called
// after the waiter is counted in nwait and before sleeping, so a wake-up
// cannot be missed.
func (wt *waiter) pause(seq, nwait *uint32, recheck func() bool, c *Channel, parked ...*uint64) bool {
	if wt.poll || c.closing() {
		return false
	}
	wt.spins++
	now := time.Time{}
	if wt.spins&63 == 0 || wt.w.Mode == Park {
		now = time.Now()
		if !wt.deadline.IsZero() && !now.Before(wt.deadline) {
			return false
		}
	}
	spin := wt.w.Spin
	if spin == 0 {
		spin = defaultSpin
	}
	if wt.w.Mode == BusySpin || (wt.w.Mode == SpinThenPark && (now.IsZero() || now.Sub(wt.start) < spin)) {
		// Not runtime.Gosched on every few spins: a goroutine locked to
		// its thread (every call through the C ABI, from C or Python, runs
		// on one) hands its P to another thread at each Gosched and sleeps
		// until it is handed back, which cost 10-15 µs per wake-up here.
		// sched_yield lets other threads have a shared CPU without leaving
		// the Go scheduler; a rare Gosched lets goroutines that share this
		// P run before async preemption would.
		if wt.spins&255 == 0 {
			if wt.spins&(1<<16-1) == 0 {
				runtime.Gosched()
			} else {
				_, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			}
		}
		return true
	}
	d := parkSlice
	if !wt.deadline.IsZero() {
		d = min(d, wt.deadline.Sub(now))
		if d <= 0 {
			return false
		}
	}
	atomic.AddUint32(nwait, 1)
	v := atomic.LoadUint32(seq)
	if !recheck() {
		if !wt.parked {
			wt.parked = true
			if !wt.parkCounted {
				wt.parkCounted = true
				for _, p := range parked {
					atomic.AddUint64(p, 1)
				}
			}
		}
		futexWaitOn(seq, v, d)
	}
	atomic.AddUint32(nwait, ^uint32(0))
	return true
}

// closing reports whether Close has begun: waiters give up with ErrClosed.
func (c *Channel) closing() bool { return c.inflight.Closing() }

// wake bumps seq and wakes its sleepers if any are counted in nwait.
func wake(seq, nwait *uint32) {
	if atomic.LoadUint32(nwait) != 0 {
		atomic.AddUint32(seq, 1)
		futexWakeAll(seq)
	}
}
