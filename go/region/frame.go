package region

import (
	"fmt"
	"iter"
	"sync/atomic"
	"unsafe"

	codecpkg "github.com/crossbuf/crossbuf/go/codec"
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
	Offset     uint64 // of the frame header from the region base
	RegionID   uint64 // the region it belongs to (Region.ID)
	Generation uint64 // the region generation it was read in
	Codec      codecpkg.ID
	TypeID     uint64 // the type of the message (a schema type id)
	PublishNs  uint64 // CLOCK_MONOTONIC at commit, for latency
	Payload    []byte // aliases region memory; see the package doc for how long it is valid
}

// Ref names a frame across calls and processes: Region.Get checks that it
// belongs to this region and generation before reading it.
type Ref struct {
	RegionID, Generation, Offset uint64
}

// Ref returns the reference of f.
func (f Frame) Ref() Ref { return Ref{f.RegionID, f.Generation, f.Offset} }

func gen16(gen uint64) uint64 { return gen & 0xFFFF }

// sealOf builds a seal; sealSize and sealPeer take it apart.
func sealOf(gen uint64, writer uint16, slotSize uint64) uint64 {
	return gen16(gen)<<48 | uint64(writer)<<32 | slotSize/8
}

func sealGen(seal uint64) uint64  { return seal >> 48 }
func sealSize(seal uint64) uint64 { return (seal & 0xFFFFFFFF) * 8 }
func sealPeer(seal uint64) uint16 { return uint16(seal >> 32) }

// testHookClaimed, when set by a test, runs right after a slot's seal is
// claimed and before anything else is written: the point where a writer
// killed by the test leaves a claim behind.
var testHookClaimed func(off uint64)

// Reserve claims a slot whose payload area holds payloadCap bytes (rounded
// up to 8) for a message of codec and typeID, and returns it for writing.
// ErrFull if it does not fit; nothing changes then.
func (r *Region) Reserve(codec codecpkg.ID, typeID uint64, payloadCap int) (s Slot, err error) {
	if !codec.Known() { // readers (streams, cat) refuse it
		return Slot{}, fmt.Errorf("%w: %d", codecpkg.ErrUnknownCodec, codec)
	}
	if payloadCap < 0 || payloadCap > MaxPayload {
		return Slot{}, fmt.Errorf("%w: payload capacity %d is not in [0, %d]", ErrInvalid, payloadCap, uint64(MaxPayload))
	}
	if r.readOnly {
		return Slot{}, fmt.Errorf("%w: reserve", ErrReadOnly)
	}
	if !r.inflight.Enter() {
		return Slot{}, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	size := uint64(FrameHeaderSize) + (uint64(payloadCap)+7)&^7
	capacity := uint64(len(r.mem))
	gen := atomic.LoadUint64(r.u64(offGeneration))
	seal := sealOf(gen, uint16(r.self), size)
	var off uint64
	for {
		off = atomic.LoadUint64(r.u64(offCursor))
		if off < r.dataOff || off > capacity || off%8 != 0 {
			return Slot{}, fmt.Errorf("%w: corrupt header: cursor %d", ErrVersion, off)
		}
		if capacity-off < FrameHeaderSize {
			return Slot{}, ErrFull // the bare sentinel: a full ring is a producer's steady state; no allocation
		}
		cur := atomic.LoadUint64(r.u64(off + frameSeal))
		if cur != 0 && sealGen(cur) == gen16(gen) {
			// A claim whose cursor move is late (or whose writer died).
			if !r.helpCursor(off, cur) {
				return Slot{}, fmt.Errorf("%w: slot at offset %d claims %d bytes, past the region's end",
					ErrCorrupt, off, sealSize(cur))
			}
			continue
		}
		if size > capacity-off {
			return Slot{}, ErrFull
		}
		if atomic.CompareAndSwapUint64(r.u64(off+frameSeal), cur, seal) {
			break
		}
	}
	if testHookClaimed != nil {
		testHookClaimed(off)
	}
	end := off + size
	atomic.CompareAndSwapUint64(r.u64(offCursor), off, end) // may fail: another writer helped
	hw := r.u64(offHighWater)
	for {
		old := atomic.LoadUint64(hw)
		if old >= end || atomic.CompareAndSwapUint64(hw, old, end) {
			break
		}
	}
	*(*codecpkg.ID)(r.ptr(off + frameCodec)) = codec
	*(*uint16)(r.ptr(off + frameFlags)) = 0
	*r.u32(off + framePayOff) = FrameHeaderSize
	*r.u64(off + framePayLen) = 0
	*r.u64(off + frameTypeID) = typeID
	*r.u64(off + frameCheck) = r.id ^ off
	p := off + FrameHeaderSize
	return Slot{Buf: r.mem[p:end:end], r: r, off: off, seal: seal}, nil
}

// helpCursor moves the cursor past the slot sealed at off, if it still
// points there. It reports false if the seal's size cannot be right.
func (r *Region) helpCursor(off, seal uint64) bool {
	size := sealSize(seal)
	if size < FrameHeaderSize || size > uint64(len(r.mem))-off {
		return false
	}
	atomic.CompareAndSwapUint64(r.u64(offCursor), off, off+size)
	return true
}

// Commit publishes payload, which must be a sub-slice of s.Buf starting at a
// multiple of 8 bytes from Buf[0] (FlatBuffers builds at the end of Buf, so
// it need not start at Buf[0]). A nil payload commits an empty frame. A
// payload outside Buf is ErrInvalid, and the slot is aborted. Committing a
// slot that is not being written any more (committed, aborted because its
// writer was declared dead, or dropped by Reset) is ErrInvalid.
func (s Slot) Commit(payload []byte) (f Frame, err error) {
	r := s.r
	if r == nil {
		return Frame{}, fmt.Errorf("%w: zero Slot", ErrInvalid)
	}
	if !r.inflight.Enter() {
		return Frame{}, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
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
	now := uint64(nanotime())
	*r.u64(s.off + framePublish) = now
	if !atomic.CompareAndSwapUint32(state, stateWriting, stateCommitted) { // release: publishes the fields above
		return Frame{}, fmt.Errorf("%w: slot at %d was aborted meanwhile", ErrInvalid, s.off)
	}
	atomic.AddUint64(r.u64(offFrameCount), 1)
	p := s.off + po
	return Frame{
		Offset:     s.off,
		RegionID:   r.id,
		Generation: atomic.LoadUint64(r.u64(offGeneration)),
		Codec:      *(*codecpkg.ID)(r.ptr(s.off + frameCodec)),
		TypeID:     *r.u64(s.off + frameTypeID),
		PublishNs:  now,
		Payload:    r.mem[p : p+uint64(len(payload)) : p+uint64(len(payload))],
	}, nil
}

// Abort marks the slot ABORTED; readers skip it. It does nothing if the slot
// was committed already or the region is closed or reset.
func (s Slot) Abort() {
	r := s.r
	if r == nil || !r.inflight.Enter() {
		return
	}
	var err error
	defer r.leave(&err, setPanicOnFault())
	if atomic.LoadUint64(r.u64(s.off+frameSeal)) == s.seal {
		atomic.CompareAndSwapUint32(r.u32(s.off+frameState), stateWriting, stateAborted)
	}
}

// visibleEnd returns the current cursor clamped to the mapping, 8-aligned.
func (r *Region) visibleEnd() uint64 {
	return min(atomic.LoadUint64(r.u64(offCursor)), uint64(len(r.mem))) &^ 7
}

// slotAt reads the seal at off (8-aligned, data_offset <= off < end) and
// returns the seal and the slot size if the seal is of generation gen and
// the slot lies inside end; ok is false if the seal is of another
// generation. A seal whose size cannot be right is ErrCorrupt: the chain of
// slots cannot be followed past it.
func (r *Region) slotAt(off, end, gen uint64) (seal, size uint64, ok bool, err error) {
	seal = atomic.LoadUint64(r.u64(off + frameSeal))
	if sealGen(seal) != gen16(gen) {
		return 0, 0, false, nil
	}
	size = sealSize(seal)
	if size < FrameHeaderSize || size > end-off {
		return 0, 0, false, fmt.Errorf("%w: slot at offset %d has size %d, past the cursor %d; frames after it cannot be found",
			ErrCorrupt, off, size, end)
	}
	return seal, size, true, nil
}

// committed builds the Frame of the slot [off, off+size) after its state
// was seen COMMITTED.
func (r *Region) committed(off, size, gen uint64) (Frame, error) {
	if c := *r.u64(off + frameCheck); c != r.id^off {
		return Frame{}, fmt.Errorf("%w: frame at offset %d does not carry this region's check word", ErrCorrupt, off)
	}
	po := uint64(*r.u32(off + framePayOff))
	pl := *r.u64(off + framePayLen)
	if po < FrameHeaderSize || po%8 != 0 || po > size || pl > size-po {
		return Frame{}, fmt.Errorf("%w: frame at offset %d has payload [%d, +%d) outside its %d-byte slot",
			ErrCorrupt, off, po, pl, size)
	}
	// The slot's last word: a file truncated under the slot faults here,
	// inside the guarded call (ErrTruncated), not later in the caller's
	// read of the payload (SIGBUS).
	_ = atomic.LoadUint64(r.u64(off + size - 8))
	p := off + po
	return Frame{
		Offset:     off,
		RegionID:   r.id,
		Generation: gen,
		Codec:      *(*codecpkg.ID)(r.ptr(off + frameCodec)),
		TypeID:     *r.u64(off + frameTypeID),
		PublishNs:  *r.u64(off + framePublish),
		Payload:    r.mem[p : p+pl : p+pl],
	}, nil
}

// Frame returns the committed frame whose header is at offset. Offsets that
// are not the start of a frame of the current generation are ErrOutOfRange;
// a frame still being written or aborted is ErrNotCommitted.
func (r *Region) Frame(offset uint64) (f Frame, err error) {
	if !r.inflight.Enter() {
		return Frame{}, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	return r.frame(offset, atomic.LoadUint64(r.u64(offGeneration)))
}

func (r *Region) frame(offset, gen uint64) (Frame, error) {
	end := r.visibleEnd()
	if offset < r.dataOff || offset >= end || offset%8 != 0 || end-offset < FrameHeaderSize {
		return Frame{}, fmt.Errorf("%w: offset %d (frames lie in [%d, %d), 8-byte aligned)",
			ErrOutOfRange, offset, r.dataOff, end)
	}
	_, size, ok, err := r.slotAt(offset, end, gen)
	if err != nil || !ok {
		return Frame{}, fmt.Errorf("%w: no frame starts at offset %d", ErrOutOfRange, offset)
	}
	switch st := atomic.LoadUint32(r.u32(offset + frameState)); st {
	case stateCommitted:
		f, err := r.committed(offset, size, gen)
		if err != nil {
			// A header copied into a payload, or a corrupt one: not a frame.
			return Frame{}, fmt.Errorf("%w: %v", ErrOutOfRange, err)
		}
		return f, nil
	case stateWriting, stateAborted:
		return Frame{}, fmt.Errorf("%w: frame at %d has state %#x", ErrNotCommitted, offset, st)
	default:
		return Frame{}, fmt.Errorf("%w: no frame starts at offset %d (state %#x)", ErrOutOfRange, offset, st)
	}
}

// Get returns the frame ref names, after checking that ref is of this
// region and of its current generation (ErrStale otherwise). A zero
// RegionID or Generation is not checked: {0, 0, offset} looks a frame up by
// offset in the current generation, like Frame.
func (r *Region) Get(ref Ref) (f Frame, err error) {
	if !r.inflight.Enter() {
		return Frame{}, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	if ref.RegionID != r.id && ref.RegionID != 0 {
		return Frame{}, fmt.Errorf("%w: frame of region %#x used with region %#x", ErrStale, ref.RegionID, r.id)
	}
	gen := atomic.LoadUint64(r.u64(offGeneration))
	if ref.Generation != gen && ref.Generation != 0 {
		return Frame{}, fmt.Errorf("%w: frame of generation %d, the region is at generation %d (reset since)",
			ErrStale, ref.Generation, gen)
	}
	return r.frame(ref.Offset, gen)
}

// Next returns the first committed frame at or after cursor (0 means
// data_offset) and the cursor after it. At the visible end ok is false and
// next is where to resume later. Slots still being written, or aborted, are
// skipped, so a slow or dead writer never hides the frames after it.
//
// A committed frame whose header is corrupt is returned as an ErrCorrupt
// error that names its offset, with next past it: iteration can go on. A
// corrupt seal ends the chain: err is ErrCorrupt and next does not move.
func (r *Region) Next(cursor uint64) (f Frame, next uint64, ok bool, err error) {
	if !r.inflight.Enter() {
		return Frame{}, cursor, false, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	next = cursor // what a memory fault (a truncated file) returns
	if cursor == 0 {
		cursor = r.dataOff
	}
	if cursor < r.dataOff || cursor > uint64(len(r.mem)) || cursor%8 != 0 {
		return Frame{}, cursor, false, fmt.Errorf("%w: cursor %d", ErrOutOfRange, cursor)
	}
	end := r.visibleEnd()
	gen := atomic.LoadUint64(r.u64(offGeneration))
	off := cursor
	for off < end && end-off >= FrameHeaderSize {
		_, size, sealed, err := r.slotAt(off, end, gen)
		if err != nil {
			return Frame{}, off, false, err
		}
		if !sealed {
			return Frame{}, off, false, nil // reset meanwhile
		}
		switch st := atomic.LoadUint32(r.u32(off + frameState)); st {
		case stateCommitted:
			f, err := r.committed(off, size, gen)
			if err != nil {
				return Frame{}, off + size, false, err
			}
			return f, off + size, true, nil
		case stateWriting, stateAborted:
		default:
			return Frame{}, off + size, false, fmt.Errorf("%w: frame at offset %d has unknown state %#x", ErrCorrupt, off, st)
		}
		off += size
	}
	return Frame{}, off, false, nil
}

// Frames iterates over the committed frames visible now, in region order.
// A corrupt frame is yielded as an error naming its offset; iteration goes
// on after it when the slot chain allows, and ends after an error it cannot
// get past.
func (r *Region) Frames() iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		var cursor uint64
		for {
			f, next, ok, err := r.Next(cursor)
			if err != nil {
				if !yield(Frame{}, err) || next <= cursor {
					return
				}
				cursor = next
				continue
			}
			if !ok || !yield(f, nil) {
				return
			}
			cursor = next
		}
	}
}
