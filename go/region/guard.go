package region

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/internal/fault"
)

// Acquire keeps the mapping alive until the matching Release: Close waits
// for it. Bracket any use of region memory that spans calls (encoding into
// a Slot's Buf, reading a Frame's Payload) when another goroutine may close
// the region. It fails with ErrClosed once Close has started.
func (r *Region) Acquire() error {
	if !r.inflight.Enter() {
		return ErrClosed
	}
	return nil
}

// Release ends what Acquire began.
func (r *Region) Release() { r.inflight.Leave() }

// setPanicOnFault makes a memory fault on this goroutine a recoverable
// panic, and returns the previous setting for leave to restore.
func setPanicOnFault() bool { return debug.SetPanicOnFault(true) }

// recoverFault restores the fault setting and reports whether a memory
// fault was recovered. Other panics continue. It must be called directly by
// a deferred function.
func recoverFault(old bool) bool {
	debug.SetPanicOnFault(old)
	p := recover()
	if p == nil {
		return false
	}
	if fault.Is(p) {
		return true // a runtime.Error from a fault: SIGBUS on a truncated file
	}
	panic(p)
}

// CatchFaults begins code that writes a Slot's Buf outside the region's own
// calls (an encoder, generated code, a copy). Ended by a deferred Caught, a
// memory fault there (the pages were lost: another process truncated the
// file) returns ErrTruncated instead of killing the process:
//
//	func fill(r *region.Region, s region.Slot, src []byte) (n int, err error) {
//		defer r.Caught(&err, region.CatchFaults())
//		return copy(s.Buf, src), nil
//	}
func CatchFaults() bool { return setPanicOnFault() }

// Caught ends what CatchFaults began; it must be deferred directly.
func (r *Region) Caught(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if p := recover(); p != nil {
		if !fault.Is(p) {
			panic(p)
		}
		*err = r.faultError()
	}
}

// leave ends an operation begun with inflight.enter, turning a memory fault
// in it into ErrTruncated.
func (r *Region) leave(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if p := recover(); p != nil {
		if !fault.Is(p) {
			r.inflight.Leave()
			panic(p)
		}
		*err = r.faultError()
	}
	r.inflight.Leave()
}

// faultError explains a memory fault inside the mapping.
func (r *Region) faultError() error {
	if r.fd >= 0 {
		var st unix.Stat_t
		if unix.Fstat(r.fd, &st) == nil && st.Size < int64(len(r.mem)) {
			return fmt.Errorf("%w: the file now has %d of the %d bytes mapped", ErrTruncated, st.Size, len(r.mem))
		}
	}
	return fmt.Errorf("%w (memory fault inside the mapping)", ErrTruncated)
}

// Truncated reports whether the file behind the region is now shorter than
// the mapping, so that touching the missing pages would fault.
func (r *Region) Truncated() bool {
	if r.fd < 0 || !r.inflight.Enter() {
		return false
	}
	defer r.inflight.Leave()
	var st unix.Stat_t
	return unix.Fstat(r.fd, &st) == nil && st.Size < int64(len(r.mem))
}

// Contains reports whether p points into the mapping; callers that
// recovered a fault at address p use it to name the region.
func (r *Region) Contains(p uintptr) bool {
	if len(r.mapping) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(r.mapping)))
	return p >= lo && p-lo < uintptr(len(r.mapping))
}

// touchPages writes each page without changing it (an atomic add of zero),
// which is safe while other processes use the region.
func touchPages(mem []byte) {
	page := unix.Getpagesize()
	for off := 0; off+4 <= len(mem); off += page {
		atomic.AddUint32((*uint32)(unsafe.Pointer(&mem[off])), 0)
	}
}
