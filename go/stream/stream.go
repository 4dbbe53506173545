// Package stream carries crossbuf frames over any byte stream (a pipe, a
// socket, a file): a region's or a channel's frames are written to an
// io.Writer, and read back from an io.Reader into a region or a channel,
// where they are read in place like any other frame.
//
// # Wire format (version 1)
//
// All integers are little-endian. A stream is a 64-byte stream header, then
// frames, each a 64-byte frame header of the same layout as in a region
// (include/crossbuf.h xb_frame_header) followed by its payload and zero
// padding up to a multiple of 8 bytes. Offsets count bytes from the start
// of the stream, the stream header included.
//
//	stream header (64 bytes)
//	  0  magic       u64  0x004D545346554258 ("XBUFSTM\0")
//	  8  version     u32  1
//	  12 header_size u32  64
//	  16 stream_id   u64  random, never 0
//	  24 reserved    40 bytes of zero
//	frame header (64 bytes), at stream offset o
//	  0  seal            u64  slot size / 8, slot size = 64 + payload_len rounded up to 8
//	                          (the generation and writer bits of a region seal are 0)
//	  8  state           u32  XB_FRAME_COMMITTED: only committed frames are written
//	  12 codec           u16  an XB_CODEC_* id
//	  14 flags           u16  0
//	  16 payload_offset  u32  64: the payload follows the header
//	  20 reserved        u32  0
//	  24 payload_len     u64
//	  32 type_id         u64
//	  40 publish_ns      u64  the writer's CLOCK_MONOTONIC at commit; only
//	                          meaningful on the writer's machine
//	  48 check           u64  stream_id ^ o
//	  56 reserved        u64  0
//
// A stream ends cleanly at the end of input after a whole frame (io.EOF);
// end of input anywhere else is ErrTruncated. A reader validates every
// header before it reserves space for the payload: a field out of its
// range, a check word that does not match the offset, non-zero padding or
// reserved bytes, or a payload larger than the reader's limit is
// ErrMalformed naming the offset, never a panic or an allocation the size
// of the claim. A frame landed in a region or channel is committed there
// anew, so its publish time is the time it landed.
package stream

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// Wire format constants (see the package doc).
const (
	Magic           uint64 = 0x004D545346554258 // "XBUFSTM\0"
	Version                = 1
	HeaderSize             = 64
	FrameHeaderSize        = region.FrameHeaderSize
	stateCommitted  uint32 = 0x32465258 // XB_FRAME_COMMITTED
	// MaxPayload is the largest payload a frame header can describe (its
	// slot size is a 32-bit count of 8-byte words), as in a region.
	MaxPayload = math.MaxUint32*8 - FrameHeaderSize
)

// Errors; returned errors wrap one of them.
var (
	// ErrMalformed: the bytes are not a crossbuf stream, or a header breaks
	// the wire format. The error names the stream offset.
	ErrMalformed = errors.New("malformed crossbuf stream")
	// ErrTruncated: the input ended inside a header, a payload or its padding.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrMalformed)
)

// Header is a validated frame header.
type Header struct {
	Codec      codec.ID
	TypeID     uint64
	PublishNs  uint64
	PayloadLen uint64
	Offset     uint64 // of the frame header in the stream
}

func pad8(n uint64) uint64 { return (8 - n%8) % 8 }

// Writer writes frames to an io.Writer. It is not safe for concurrent use.
// A write that fails leaves part of a frame on the stream: every later
// write returns that error (wrapping ErrBroken), so nothing is appended to
// a stream a reader could no longer parse.
type Writer struct {
	w   io.Writer
	id  uint64
	off uint64
	err error // sticky: the first failed write
	hdr [FrameHeaderSize]byte
}

// ErrBroken: an earlier write of this Writer failed part-way through a
// frame; the stream ends there.
var ErrBroken = errors.New("stream broken by an earlier failed write")

var zeros [8]byte

// NewWriter writes the stream header to w and returns a Writer of frames.
func NewWriter(w io.Writer) (*Writer, error) {
	var b [8]byte
	var id uint64
	for id == 0 {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		id = binary.LittleEndian.Uint64(b[:])
	}
	sw := &Writer{w: w, id: id}
	h := sw.hdr[:]
	clear(h)
	binary.LittleEndian.PutUint64(h[0:], Magic)
	binary.LittleEndian.PutUint32(h[8:], Version)
	binary.LittleEndian.PutUint32(h[12:], HeaderSize)
	binary.LittleEndian.PutUint64(h[16:], id)
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	sw.off = HeaderSize
	return sw, nil
}

// WriteFrame writes one frame of codec and typeID. publishNs is carried as
// is (the frame's publish time where it was committed).
func (sw *Writer) WriteFrame(codecID codec.ID, typeID, publishNs uint64, payload []byte) error {
	if !codec.ID(codecID).Known() { // a reader refuses it, and so every frame after it
		return fmt.Errorf("%w: %d", codec.ErrUnknownCodec, codecID)
	}
	n := uint64(len(payload))
	if n > MaxPayload {
		return fmt.Errorf("%w: payload of %d bytes is more than %d", region.ErrInvalid, n, uint64(MaxPayload))
	}
	p := pad8(n)
	h := sw.hdr[:]
	clear(h)
	binary.LittleEndian.PutUint64(h[0:], (FrameHeaderSize+n+p)/8)
	binary.LittleEndian.PutUint32(h[8:], stateCommitted)
	binary.LittleEndian.PutUint16(h[12:], uint16(codecID))
	binary.LittleEndian.PutUint32(h[16:], FrameHeaderSize)
	binary.LittleEndian.PutUint64(h[24:], n)
	binary.LittleEndian.PutUint64(h[32:], typeID)
	binary.LittleEndian.PutUint64(h[40:], publishNs)
	binary.LittleEndian.PutUint64(h[48:], sw.id^sw.off)
	if sw.err != nil {
		return sw.err
	}
	for _, b := range [][]byte{h, payload, zeros[:p]} {
		if len(b) == 0 {
			continue
		}
		if _, err := sw.w.Write(b); err != nil {
			sw.err = fmt.Errorf("%w at offset %d: %w", ErrBroken, sw.off, err)
			return err
		}
	}
	sw.off += FrameHeaderSize + n + p
	return nil
}

// Write writes the frame f (of a region or, as f.Frame, of a channel).
func (sw *Writer) Write(f region.Frame) error {
	return sw.WriteFrame(f.Codec, f.TypeID, f.PublishNs, f.Payload)
}

// WriteRegion writes the committed frames of r from cursor (0: the first)
// that are visible now, and returns how many it wrote and the cursor to
// resume from. A corrupt frame in r stops it with the error.
func (sw *Writer) WriteRegion(r *region.Region, cursor uint64) (n int, next uint64, err error) {
	for {
		f, nx, ok, err := r.Next(cursor)
		if err != nil {
			return n, cursor, err
		}
		if !ok {
			return n, nx, nil
		}
		if err := sw.Write(f); err != nil {
			return n, cursor, err
		}
		n++
		cursor = nx
	}
}

// Reader reads frames from an io.Reader. It is not safe for concurrent use.
type Reader struct {
	r io.Reader
	// MaxPayload, when > 0, bounds the payload of every frame: a larger
	// one is ErrMalformed. Landing in a region or channel is bounded by its
	// own capacity as well.
	MaxPayload uint64
	id         uint64
	off        uint64
	pending    bool  // hdr was read and validated; its payload is not consumed
	tooLarge   error // the pending frame is over MaxPayload: Skip it
	broken     error // a malformed header: the stream cannot be followed past it
	cur        Header
	hdr        [FrameHeaderSize]byte
}

// NewReader reads and validates the stream header from r.
func NewReader(r io.Reader) (*Reader, error) {
	sr := &Reader{r: r}
	h := sr.hdr[:]
	if err := sr.full(h, true); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: empty input, no stream header", ErrTruncated)
		}
		return nil, err
	}
	if m := binary.LittleEndian.Uint64(h[0:]); m != Magic {
		return nil, fmt.Errorf("%w: bad magic %#x: not a crossbuf stream", ErrMalformed, m)
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != Version {
		return nil, fmt.Errorf("%w: stream version %d, this library reads %d", ErrMalformed, v, Version)
	}
	if s := binary.LittleEndian.Uint32(h[12:]); s != HeaderSize {
		return nil, fmt.Errorf("%w: stream header size %d, want %d", ErrMalformed, s, HeaderSize)
	}
	sr.id = binary.LittleEndian.Uint64(h[16:])
	if sr.id == 0 {
		return nil, fmt.Errorf("%w: stream id 0", ErrMalformed)
	}
	if !allZero(h[24:]) {
		return nil, fmt.Errorf("%w: reserved bytes of the stream header are not 0", ErrMalformed)
	}
	sr.off = HeaderSize
	return sr, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// full reads len(b) bytes. A clean end before the first byte is io.EOF
// when atStart, else ErrTruncated; other errors are returned as they are.
//
// A piece read in part leaves the stream at an unknown position: that
// error is returned by every later call too.
func (sr *Reader) full(b []byte, atStart bool) error {
	n, err := io.ReadFull(sr.r, b)
	switch {
	case err == nil:
		return nil
	case err == io.EOF && atStart:
		return io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		sr.broken = fmt.Errorf("%w: input ended %d bytes into a %d-byte piece at offset %d",
			ErrTruncated, n, len(b), sr.off)
		return sr.broken
	case n > 0:
		sr.broken = fmt.Errorf("%w: reading a %d-byte piece at offset %d failed after %d bytes: %w",
			ErrMalformed, len(b), sr.off, n, err)
	}
	return err
}

// Next reads and validates the next frame header; the payload must then be
// consumed with ReadPayload, ToRegion or ToChannel. A header read but not
// yet consumed (because landing it failed) is returned again. At the clean
// end of the stream it returns io.EOF.
func (sr *Reader) Next() (Header, error) {
	if sr.broken != nil {
		return Header{}, sr.broken
	}
	if sr.pending {
		return sr.cur, sr.tooLarge
	}
	h := sr.hdr[:]
	if err := sr.full(h, true); err != nil {
		return Header{}, err
	}
	le := binary.LittleEndian
	at := sr.off
	bad := func(format string, args ...any) (Header, error) {
		// Where the next frame starts is unknown now: every later call fails.
		sr.broken = fmt.Errorf("%w: frame header at offset %d: %s", ErrMalformed, at, fmt.Sprintf(format, args...))
		return Header{}, sr.broken
	}
	if st := le.Uint32(h[8:]); st != stateCommitted {
		return bad("state %#x is not COMMITTED", st)
	}
	if c := le.Uint64(h[48:]); c != sr.id^at {
		return bad("check word %#x does not match the stream id and offset", c)
	}
	cid := codec.ID(le.Uint16(h[12:]))
	if !cid.Known() {
		return bad("unknown codec %d", cid)
	}
	if f := le.Uint16(h[14:]); f != 0 {
		return bad("flags %#x (none are defined)", f)
	}
	if po := le.Uint32(h[16:]); po != FrameHeaderSize {
		return bad("payload offset %d, want %d", po, FrameHeaderSize)
	}
	if le.Uint32(h[20:]) != 0 || le.Uint64(h[56:]) != 0 {
		return bad("reserved fields are not 0")
	}
	n := le.Uint64(h[24:])
	if n > MaxPayload {
		return bad("payload length %d is more than %d", n, uint64(MaxPayload))
	}
	if seal, want := le.Uint64(h[0:]), (FrameHeaderSize+n+pad8(n))/8; seal != want {
		return bad("seal %#x does not give the slot size of a %d-byte payload", seal, n)
	}
	sr.cur = Header{Codec: cid, TypeID: le.Uint64(h[32:]), PublishNs: le.Uint64(h[40:]), PayloadLen: n, Offset: at}
	sr.off += FrameHeaderSize
	sr.pending = true
	sr.tooLarge = nil
	if sr.MaxPayload > 0 && n > sr.MaxPayload {
		// A well-formed frame this reader will not take: it stays pending,
		// and Skip goes past it.
		sr.tooLarge = fmt.Errorf("%w: frame at offset %d: payload length %d is more than the reader's limit %d; Skip it",
			ErrMalformed, at, n, sr.MaxPayload)
	}
	return sr.cur, sr.tooLarge
}

// ReadPayload reads the payload of the header Next returned into dst, which
// must have exactly Header.PayloadLen bytes, and checks its padding.
func (sr *Reader) ReadPayload(dst []byte) error {
	if !sr.pending {
		return fmt.Errorf("%w: ReadPayload without a header from Next", region.ErrInvalid)
	}
	if sr.tooLarge != nil {
		return sr.tooLarge
	}
	if uint64(len(dst)) != sr.cur.PayloadLen {
		return fmt.Errorf("%w: dst has %d bytes, the payload %d", region.ErrInvalid, len(dst), sr.cur.PayloadLen)
	}
	sr.pending = false // from here on the stream position is past the header, whatever happens
	if len(dst) > 0 {
		if err := sr.full(dst, false); err != nil {
			return sr.lost(err)
		}
		sr.off += uint64(len(dst))
	}
	return sr.lost(sr.padding(uint64(len(dst))))
}

// lost makes err, met inside a frame, the reader's last word: where the
// next frame starts is unknown after it. Returns err.
func (sr *Reader) lost(err error) error {
	if err != nil && sr.broken == nil {
		sr.broken = fmt.Errorf("%w: a read inside the frame at offset %d failed: %w", ErrMalformed, sr.cur.Offset, err)
	}
	return err
}

// padding reads and checks the padding after a payload of n bytes.
func (sr *Reader) padding(n uint64) error {
	p := pad8(n)
	if p == 0 {
		return nil
	}
	b := sr.hdr[:p]
	if err := sr.full(b, false); err != nil {
		return err
	}
	if !allZero(b) {
		return fmt.Errorf("%w: padding at offset %d is not 0", ErrMalformed, sr.off)
	}
	sr.off += p
	return nil
}

// ToRegion reads the next frame into a new frame of r and returns it, read
// in place there. At the clean end of the stream it returns io.EOF. When r
// has no room (region.ErrFull) the frame stays pending: the next call (after
// a reset, or with another region) lands it.
func (sr *Reader) ToRegion(r *region.Region) (region.Frame, error) {
	h, err := sr.Next()
	if err != nil {
		return region.Frame{}, err
	}
	if h.PayloadLen > uint64(math.MaxInt) {
		return region.Frame{}, fmt.Errorf("%w: payload of %d bytes", region.ErrFull, h.PayloadLen)
	}
	s, err := r.Reserve(h.Codec, h.TypeID, int(h.PayloadLen))
	if errors.Is(err, region.ErrFull) {
		// A frame no reset makes room for is an error of its own.
		if st, e := r.Stats(); e == nil {
			room := st.Capacity - st.DataOffset - region.FrameHeaderSize
			if (h.PayloadLen+7)&^7 > room {
				return region.Frame{}, fmt.Errorf("%w: a %d-byte payload does not fit the region even empty "+
					"(at most %d); Skip it", region.ErrInvalid, h.PayloadLen, room)
			}
		}
	}
	if err != nil {
		return region.Frame{}, err
	}
	buf := s.Buf[:h.PayloadLen]
	if err := sr.ReadPayload(buf); err != nil {
		s.Abort()
		return region.Frame{}, err
	}
	return s.Commit(buf)
}

// Skip discards the pending frame (one its destination cannot take, or
// one over MaxPayload), reading its header first when none is pending, and
// checks its padding. At the clean end of the stream it returns io.EOF.
func (sr *Reader) Skip() error {
	if !sr.pending {
		if _, err := sr.Next(); err != nil && !sr.pending {
			return err
		}
	}
	sr.pending, sr.tooLarge = false, nil
	n := sr.cur.PayloadLen
	if n > 0 {
		if _, err := io.CopyN(io.Discard, sr.r, int64(n)); err != nil {
			if err == io.EOF {
				err = fmt.Errorf("%w: input ended inside the payload of the frame at offset %d", ErrTruncated, sr.cur.Offset)
			}
			return sr.lost(err)
		}
		sr.off += n
	}
	return sr.lost(sr.padding(n))
}

// Offset returns the stream offset of the next byte the Reader reads.
func (sr *Reader) Offset() uint64 { return sr.off }
