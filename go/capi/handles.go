package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// A handle is what C and Python hold instead of a Go pointer: a 64-bit id
//
//	kind tag (8 bits) | slot generation (24 bits) | slot index (32 bits)
//
// The tag makes an id of one kind (a scratch) an error when passed as
// another (a region), and its top byte also keeps ids out of every valid
// user-space address, so the header can type them as distinct opaque
// pointers. The generation makes a closed handle an error forever, not a
// different object, when its slot is reused.
//
// Lookups take no lock: the table is a list of fixed-size chunks that never
// move, published through an atomic pointer. Creating and closing a handle
// costs O(1) amortised: a free list, and growth copies only the chunk list.
type handles[T any] struct {
	kind   uint64
	mu     sync.Mutex // serialises add and remove
	chunks atomic.Pointer[[]*handleChunk[T]]
	free   []uint32
	n      uint32 // slots ever used
}

const (
	handleChunkSize = 1024
	handleKindShift = 56
	handleGenShift  = 32
	handleGenMask   = 0xFFFFFF
	maxHandles      = 1 << 26 // live handles of one kind; far beyond vm.max_map_count
)

type handleSlot[T any] struct {
	gen atomic.Uint32 // current generation of the slot; an id of another one is stale
	val atomic.Pointer[T]
}

type handleChunk[T any] [handleChunkSize]handleSlot[T]

var (
	errClosedHandle = errors.New("handle is closed or was never valid")
	errHandleKind   = errors.New("handle of another kind")
	errTooMany      = errors.New("too many open handles")
)

func newHandles[T any](tag byte) *handles[T] {
	return &handles[T]{kind: uint64(tag) << handleKindShift}
}

func (h *handles[T]) slot(i uint32) *handleSlot[T] {
	chunks := h.chunks.Load()
	if chunks == nil || int(i/handleChunkSize) >= len(*chunks) {
		return nil
	}
	return &(*chunks)[i/handleChunkSize][i%handleChunkSize]
}

func (h *handles[T]) add(v *T) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var i uint32
	if n := len(h.free); n > 0 {
		i, h.free = h.free[n-1], h.free[:n-1]
	} else {
		if h.n >= maxHandles {
			return 0, fmt.Errorf("%w: %d of one kind are open", errTooMany, h.n)
		}
		i = h.n
		h.n++
		if i%handleChunkSize == 0 {
			var old []*handleChunk[T]
			if c := h.chunks.Load(); c != nil {
				old = *c
			}
			grown := append(old[:len(old):len(old)], new(handleChunk[T]))
			h.chunks.Store(&grown)
		}
	}
	s := h.slot(i)
	gen := (s.gen.Load() + 1) & handleGenMask
	if gen == 0 {
		gen = 1
	}
	s.gen.Store(gen)
	s.val.Store(v)
	return h.kind | uint64(gen)<<handleGenShift | uint64(i), nil
}

func (h *handles[T]) lookup(id uint64) (*handleSlot[T], error) {
	if id&(0xFF<<handleKindShift) != h.kind {
		if id == 0 {
			return nil, fmt.Errorf("%w (NULL)", errClosedHandle)
		}
		return nil, fmt.Errorf("%w: %#x is not a %s handle", errHandleKind, id, h.name())
	}
	s := h.slot(uint32(id))
	if s == nil || uint64(s.gen.Load()) != id>>handleGenShift&handleGenMask {
		return nil, fmt.Errorf("%w (%s %#x)", errClosedHandle, h.name(), id)
	}
	return s, nil
}

func (h *handles[T]) name() string {
	switch byte(h.kind >> handleKindShift) {
	case tagRegion:
		return "region"
	case tagScratch:
		return "scratch"
	case tagSchema:
		return "schema"
	case tagPath:
		return "path"
	case tagChannel:
		return "channel"
	case tagSubscriber:
		return "subscriber"
	case tagBuilder:
		return "builder"
	case tagStream:
		return "stream"
	}
	return "unknown"
}

func (h *handles[T]) get(id uint64) (*T, error) {
	s, err := h.lookup(id)
	if err != nil {
		return nil, err
	}
	v := s.val.Load()
	if v == nil || uint64(s.gen.Load()) != id>>handleGenShift&handleGenMask {
		return nil, fmt.Errorf("%w (%s %#x)", errClosedHandle, h.name(), id)
	}
	return v, nil
}

func (h *handles[T]) remove(id uint64) (*T, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, err := h.lookup(id)
	if err != nil {
		return nil, err
	}
	v := s.val.Swap(nil)
	if v == nil {
		return nil, fmt.Errorf("%w (%s %#x)", errClosedHandle, h.name(), id)
	}
	// The next add of this slot bumps the generation; until then the old id
	// finds val nil.
	h.free = append(h.free, uint32(id))
	return v, nil
}

// each calls f for every live handle (for diagnostics after a fault).
func (h *handles[T]) each(f func(*T)) {
	chunks := h.chunks.Load()
	if chunks == nil {
		return
	}
	for _, c := range *chunks {
		for i := range c {
			if v := c[i].val.Load(); v != nil {
				f(v)
			}
		}
	}
}

// Handle kind tags, the top byte of every id.
const (
	tagRegion     = 'R'
	tagScratch    = 'S'
	tagSchema     = 'C'
	tagPath       = 'P'
	tagChannel    = 'H'
	tagSubscriber = 'U'
	tagBuilder    = 'B'
	tagStream     = 'T'
)
