package region

import (
	"fmt"
	"iter"
	"sync/atomic"
	"unsafe"
)

// Slot is a frame being written. Write the payload into Buf, then Commit or
// Abort. A Slot is a value; one Slot must not be committed from two
// goroutines at once.
type Slot struct {
	// Buf is the payload area: len == cap == the reserved capacity rounded
	// up to 8, so appends cannot spill into the next frame.
	Buf  []byte
	r    *Region
	off  uint64 // of the frame header
	seal uint64
}

// Frame is one committed frame.
type Frame struct {
	Offset     uint64 // of the frame header from the region base: the frame's id
	Codec      uint16
	RecordType uint16
	Payload    []byte // aliases region memory; see the package doc for how long it is valid
}

// sealOf builds a seal from a generation and a slot size in bytes.
func sealOf(gen uint64, slotSize uint64) uint64 { return gen<<32 | slotSize/8 }

// Reserve allocates a slot whose payload area holds payloadCap bytes
// (rounded up to 8), writes its header (state WRITING, codec, record type)
// and publishes its seal. ErrFull if it does not fit; nothing changes then.
func (r *Region) Reserve(codec uint16, recordType uint16, payloadCap int) (Slot, error) {
	if payloadCap < 0 || payloadCap > maxSlotPayload {
		return Slot{}, fmt.Errorf("%w: payload capacity %d", ErrInvalid, payloadCap)
	}
	if !r.enter() {
		return Slot{}, closedErr()
	}
	defer r.mu.RUnlock()
	size := uint64(FrameHeaderSize) + (uint64(payloadCap)+7)&^7
	capacity := uint64(len(r.mem))
	cursor := r.u64(offCursor)
	var off uint64
	for {
		off = atomic.LoadUint64(cursor)
		if off < r.dataOff || off > capacity || off%8 != 0 {
			return Slot{}, fmt.Errorf("%w: corrupt header: cursor %d", ErrVersion, off)
		}
		if size > capacity-off {
			// The bare sentinel: a full ring is a producer's steady state
			// (it resets and goes on), so this path must not allocate.
			return Slot{}, ErrFull
		}
		if atomic.CompareAndSwapUint64(cursor, off, off+size) {
			break
		}
	}
	end := off + size
	hw := r.u64(offHighWater)
	for {
		old := atomic.LoadUint64(hw)
		if old >= end || atomic.CompareAndSwapUint64(hw, old, end) {
			break
		}
	}
	atomic.StoreUint32(r.u32(off+frameState), stateWriting)
	*(*uint16)(r.ptr(off + frameCodec)) = codec
	*(*uint16)(r.ptr(off + frameRecType)) = recordType
	*r.u32(off + framePayOff) = FrameHeaderSize
	*r.u32(off + frameReserved) = 0
	*r.u64(off + framePayLen) = 0
	seal := sealOf(atomic.LoadUint64(r.u64(offGeneration)), size)
	atomic.StoreUint64(r.u64(off+frameSeal), seal) // publishes the header written above
	p := off + FrameHeaderSize
	return Slot{Buf: r.mem[p:end:end], r: r, off: off, seal: seal}, nil
}

// Commit publishes payload, which must be a sub-slice of s.Buf starting at a
// multiple of 8 bytes from Buf[0] (FlatBuffers builds at the end of Buf, so
// it need not start at Buf[0]). A nil payload commits an empty frame. A
// payload outside Buf is ErrInvalid, and the slot is aborted. Committing a
// slot that is not being written any more (committed, aborted, or dropped by
// Reset) is ErrInvalid.
func (s Slot) Commit(payload []byte) (Frame, error) {
	r := s.r
	if r == nil {
		return Frame{}, fmt.Errorf("%w: zero Slot", ErrInvalid)
	}
	if !r.enter() {
		return Frame{}, closedErr()
	}
	defer r.mu.RUnlock()
	if atomic.LoadUint64(r.u64(s.off+frameSeal)) != s.seal {
		return Frame{}, fmt.Errorf("%w: slot at %d no longer exists (region reset)", ErrInvalid, s.off)
	}
	state := r.u32(s.off + frameState)
	if st := atomic.LoadUint32(state); st != stateWriting {
		return Frame{}, fmt.Errorf("%w: slot at %d is not being written (state %#x)", ErrInvalid, s.off, st)
	}
	var start uint64
	if payload != nil {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(s.Buf)))
		p := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
		if p < base || p-base > uintptr(len(s.Buf)) || uintptr(len(payload)) > uintptr(len(s.Buf))-(p-base) {
			atomic.CompareAndSwapUint32(state, stateWriting, stateAborted)
			return Frame{}, fmt.Errorf("%w: payload of %d bytes is not inside the slot's Buf; slot aborted",
				ErrInvalid, len(payload))
		}
		start = uint64(p - base)
		if start%8 != 0 {
			atomic.CompareAndSwapUint32(state, stateWriting, stateAborted)
			return Frame{}, fmt.Errorf("%w: payload starts at Buf[%d], not 8-byte aligned; slot aborted",
				ErrInvalid, start)
		}
	}
	po := FrameHeaderSize + start
	*r.u32(s.off + framePayOff) = uint32(po)
	*r.u64(s.off + framePayLen) = uint64(len(payload))
	if !atomic.CompareAndSwapUint32(state, stateWriting, stateCommitted) { // release: publishes the fields above
		return Frame{}, fmt.Errorf("%w: slot at %d was aborted meanwhile", ErrInvalid, s.off)
	}
	atomic.AddUint64(r.u64(offFrameCount), 1)
	f := Frame{
		Offset:     s.off,
		Codec:      *(*uint16)(r.ptr(s.off + frameCodec)),
		RecordType: *(*uint16)(r.ptr(s.off + frameRecType)),
	}
	p := s.off + po
	f.Payload = r.mem[p : p+uint64(len(payload)) : p+uint64(len(payload))]
	return f, nil
}

// Abort marks the slot ABORTED; readers skip it. It does nothing if the slot
// was committed already or the region is closed or reset.
func (s Slot) Abort() {
	r := s.r
	if r == nil || !r.enter() {
		return
	}
	defer r.mu.RUnlock()
	if atomic.LoadUint64(r.u64(s.off+frameSeal)) == s.seal {
		atomic.CompareAndSwapUint32(r.u32(s.off+frameState), stateWriting, stateAborted)
	}
}

// visibleEnd returns the current cursor clamped to the mapping, 8-aligned.
func (r *Region) visibleEnd() uint64 {
	return min(atomic.LoadUint64(r.u64(offCursor)), uint64(len(r.mem))) &^ 7
}

// slotAt reads the seal at off (8-aligned, data_offset <= off < end) and
// returns the slot size if the seal is of generation gen and the slot lies
// inside end; ok is false if the seal is of another generation.
func (r *Region) slotAt(off, end uint64, gen uint32) (size uint64, ok bool, err error) {
	seal := atomic.LoadUint64(r.u64(off + frameSeal))
	if uint32(seal>>32) != gen {
		return 0, false, nil
	}
	size = (seal & 0xFFFFFFFF) * 8
	if size < FrameHeaderSize || size > end-off {
		return 0, false, fmt.Errorf("%w: slot at %d has size %d, past the cursor %d", ErrOutOfRange, off, size, end)
	}
	return size, true, nil
}

// committed builds the Frame of the slot [off, off+size) after its state
// was seen COMMITTED.
func (r *Region) committed(off, size uint64) (Frame, error) {
	po := uint64(*r.u32(off + framePayOff))
	pl := *r.u64(off + framePayLen)
	if po < FrameHeaderSize || po%8 != 0 || po > size || pl > size-po {
		return Frame{}, fmt.Errorf("%w: frame at %d has payload [%d, +%d) outside its %d-byte slot",
			ErrOutOfRange, off, po, pl, size)
	}
	p := off + po
	return Frame{
		Offset:     off,
		Codec:      *(*uint16)(r.ptr(off + frameCodec)),
		RecordType: *(*uint16)(r.ptr(off + frameRecType)),
		Payload:    r.mem[p : p+pl : p+pl],
	}, nil
}

// Frame returns the committed frame whose header is at offset. Offsets that
// are not a frame of the current generation are ErrOutOfRange; a frame
// still being written or aborted is ErrNotCommitted.
func (r *Region) Frame(offset uint64) (Frame, error) {
	if !r.enter() {
		return Frame{}, closedErr()
	}
	defer r.mu.RUnlock()
	end := r.visibleEnd()
	if offset < r.dataOff || offset >= end || offset%8 != 0 || end-offset < FrameHeaderSize {
		return Frame{}, fmt.Errorf("%w: offset %d (frames lie in [%d, %d), 8-byte aligned)",
			ErrOutOfRange, offset, r.dataOff, end)
	}
	gen := uint32(atomic.LoadUint64(r.u64(offGeneration)))
	size, ok, err := r.slotAt(offset, end, gen)
	if err != nil {
		return Frame{}, err
	}
	if !ok {
		return Frame{}, fmt.Errorf("%w: no frame of generation %d at offset %d", ErrOutOfRange, gen, offset)
	}
	switch st := atomic.LoadUint32(r.u32(offset + frameState)); st {
	case stateCommitted:
		return r.committed(offset, size)
	case stateWriting, stateAborted:
		return Frame{}, fmt.Errorf("%w: frame at %d has state %#x", ErrNotCommitted, offset, st)
	default:
		return Frame{}, fmt.Errorf("%w: frame at %d has unknown state %#x", ErrOutOfRange, offset, st)
	}
}

// Next returns the first committed frame at or after cursor (0 means
// data_offset) and the cursor after it. At the visible end ok is false and
// next is where to resume later. Slots still being written or aborted are
// skipped; iteration stops at the region cursor or at the first slot whose
// seal is not of the current generation (one being reserved right now).
func (r *Region) Next(cursor uint64) (f Frame, next uint64, ok bool, err error) {
	if !r.enter() {
		return Frame{}, cursor, false, closedErr()
	}
	defer r.mu.RUnlock()
	if cursor == 0 {
		cursor = r.dataOff
	}
	if cursor < r.dataOff || cursor > uint64(len(r.mem)) || cursor%8 != 0 {
		return Frame{}, cursor, false, fmt.Errorf("%w: cursor %d", ErrOutOfRange, cursor)
	}
	end := r.visibleEnd()
	gen := uint32(atomic.LoadUint64(r.u64(offGeneration)))
	off := cursor
	for off < end {
		size, sealed, err := r.slotAt(off, end, gen)
		if err != nil {
			return Frame{}, off, false, err
		}
		if !sealed {
			return Frame{}, off, false, nil
		}
		if atomic.LoadUint32(r.u32(off+frameState)) == stateCommitted {
			f, err := r.committed(off, size)
			if err != nil {
				return Frame{}, off, false, err
			}
			return f, off + size, true, nil
		}
		off += size
	}
	return Frame{}, off, false, nil
}

// Frames iterates over the committed frames visible now, in region order.
// It stops after yielding an error.
func (r *Region) Frames() iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		var cursor uint64
		for {
			f, next, ok, err := r.Next(cursor)
			if err != nil {
				yield(Frame{}, err)
				return
			}
			if !ok || !yield(f, nil) {
				return
			}
			cursor = next
		}
	}
}
