package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/record"
)

// scratch is decode output memory for C and Python: arrays of spans, and the
// strings and bytes of baseline codecs. It is mmap'd so that, like a region,
// it lies outside the Go heap and C may hold pointers into it. It is reset at
// the start of every call that uses it.
type scratch struct {
	mu     sync.Mutex // held by the call using it; close waits for it
	closed bool
	chunks [][]byte // all live mappings; the last one is being filled
	off    int      // fill offset in the last chunk
	used   int      // bytes handed out since reset, to size the next chunk

	records recordSet // decode targets reused across calls, so decoding does not allocate
	out     []byte    // JSON or MessagePack of a schema call, before its copy into the mapping
}

// recordSet holds one reusable Go record of each bundled type.
type recordSet struct {
	log    record.LogEntry
	sample record.Sample
	tensor record.Tensor
}

// of is the set's record of type t (a valid record.Type).
func (rs *recordSet) of(t record.Type) record.Record {
	switch t {
	case record.TypeLogEntry:
		return &rs.log
	case record.TypeSample:
		return &rs.sample
	}
	return &rs.tensor
}

const scratchMinChunk = 1 << 20

// newScratch maps nothing yet: the first call that needs memory does, so
// handles are cheap to create and to leave unused.
func newScratch() (*scratch, error) { return &scratch{}, nil }

func (s *scratch) grow(n int) error {
	size := scratchMinChunk
	for size < n {
		size *= 2
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return fmt.Errorf("scratch mmap of %d bytes: %w", size, err)
	}
	s.chunks = append(s.chunks, b)
	s.off = 0
	return nil
}

// reset forgets every allocation. When the last call needed more than one
// chunk, the chunks are replaced by one big enough for all of it, so a
// steady workload ends up allocating from a single mapping.
func (s *scratch) reset() error {
	if len(s.chunks) > 1 {
		need := s.used
		s.free()
		if err := s.grow(need); err != nil {
			return err
		}
	}
	s.off, s.used = 0, 0
	return nil
}

// lock takes the scratch for one call; a freed scratch is ErrClosed.
func (s *scratch) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosedHandle
	}
	return nil
}

// close unmaps the scratch once no call uses it.
func (s *scratch) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.free()
}

func (s *scratch) free() {
	for _, c := range s.chunks {
		_ = unix.Munmap(c)
	}
	s.chunks = nil
}

// alloc returns n bytes aligned to 8 (16 when n is large, for SIMD readers).
func (s *scratch) alloc(n int) ([]byte, error) {
	if len(s.chunks) == 0 {
		if err := s.grow(n); err != nil {
			return nil, err
		}
	}
	last := s.chunks[len(s.chunks)-1]
	off := (s.off + 7) &^ 7
	if off+n > len(last) {
		if err := s.grow(n); err != nil {
			return nil, err
		}
		last, off = s.chunks[len(s.chunks)-1], 0
	}
	s.off = off + n
	s.used += n + 8
	return last[off : off+n : off+n], nil
}

// copyBytes copies b into scratch and returns a pointer to the copy.
func (s *scratch) copyBytes(b []byte) (unsafe.Pointer, error) {
	if len(b) == 0 {
		return nil, nil
	}
	dst, err := s.alloc(len(b))
	if err != nil {
		return nil, err
	}
	copy(dst, b)
	return unsafe.Pointer(&dst[0]), nil
}

// provokeFault reads a page mapped without access rights: a real SIGSEGV,
// which SetPanicOnFault turns into a recoverable panic.
func provokeFault() {
	b, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		panic(err)
	}
	defer func() { _ = unix.Munmap(b) }()
	faultSink.Store(uint32(b[0]))
}

// faultSink keeps provokeFault's read from being optimised away.
var faultSink atomic.Uint32
