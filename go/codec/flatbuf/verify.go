package flatbuf

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// The Go FlatBuffers runtime trusts its input, so every read of untrusted
// bytes goes through the checked accessors below instead. Decode and
// ReadString verify lazily: each table, vtable, field, string and vector is
// checked when it is reached, and the schema fixes how deep tables nest
// (LogEntry -> Http, LogEntry -> [Attribute]), so no recursion is needed.
// Alignment is not required: all reads are unaligned-safe. The accessors
// report failure as a bool and stay small enough to inline; the callers
// build the error, out of line.

// maxBuffer is the largest buffer FlatBuffers can address (signed 32-bit offsets).
const maxBuffer = math.MaxInt32

func le16(b []byte, i uint64) uint64 { return uint64(binary.LittleEndian.Uint16(b[i:])) }
func le32(b []byte, i uint64) uint64 { return uint64(binary.LittleEndian.Uint32(b[i:])) }

// errf is kept out of line so the checked accessors stay small and inlinable.
//
//go:noinline
func errf(format string, args ...any) error { return codec.Malformedf("flatbuffers: "+format, args...) }

// tab is a checked table: its inline part [pos, pos+tLen) and its vtable
// [vt, vt+vtLen) lie inside the buffer, vtLen is even and both sizes are
// at least 4.
type tab struct {
	pos, vt, vtLen, tLen uint64
}

// openTab checks the table at pos and its vtable.
func openTab(b []byte, pos uint64) (tab, bool) {
	n := uint64(len(b))
	if pos < 4 || pos+4 > n {
		return tab{}, false
	}
	vt := int64(pos) - int64(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || uint64(vt)+4 > n {
		return tab{}, false
	}
	t := tab{pos: pos, vt: uint64(vt)}
	t.vtLen = le16(b, t.vt)
	t.tLen = le16(b, t.vt+2)
	if t.vtLen < 4 || t.vtLen&1 != 0 || t.vt+t.vtLen > n || t.tLen < 4 || pos+t.tLen > n {
		return tab{}, false
	}
	return t, true
}

// rootTab opens the root table of b.
func rootTab(b []byte) (tab, error) {
	if len(b) < 8 || len(b) > maxBuffer {
		return tab{}, errf("buffer of %d bytes is out of range", len(b))
	}
	t, ok := openTab(b, le32(b, 0))
	if !ok {
		return tab{}, errf("root table at %d is invalid", le32(b, 0))
	}
	return t, nil
}

// vo returns the vtable offset of a field slot.
func vo(slot int) uint64 { return 4 + 2*uint64(slot) }

// at returns the position of the inline data (size bytes) of the field at
// vtable offset off, or 0 when the field is absent (its default); ok is
// false when the field overruns its table.
func (t *tab) at(b []byte, off, size uint64) (p uint64, ok bool) {
	if off >= t.vtLen {
		return 0, true
	}
	o := le16(b, t.vt+off)
	if o == 0 {
		return 0, true
	}
	if o < 4 || o+size > t.tLen {
		return 0, false
	}
	return t.pos + o, true
}

// strAt returns the string that the uoffset at p points to, aliasing b.
func strAt(b []byte, p uint64) (string, bool) {
	n := uint64(len(b))
	s := p + le32(b, p)
	if s+4 > n {
		return "", false
	}
	l := le32(b, s)
	end := s + 4 + l
	if end >= n || b[end] != 0 {
		return "", false
	}
	if l == 0 {
		return "", true
	}
	return unsafe.String(&b[s+4], int(l)), true
}

// str reads the string field at vtable offset off ("" when absent).
func (t *tab) str(b []byte, off uint64) (string, bool) {
	p, ok := t.at(b, off, 4)
	if p == 0 {
		return "", ok
	}
	return strAt(b, p)
}

// vecAt checks the vector that the uoffset at p points to, of n elements
// of elem bytes; it returns the start of its elements and n.
func vecAt(b []byte, p uint64, elem uint64) (uint64, uint64, bool) {
	v := p + le32(b, p)
	if v+4 > uint64(len(b)) {
		return 0, 0, false
	}
	n := le32(b, v)
	if v+4+n*elem > uint64(len(b)) {
		return 0, 0, false
	}
	return v + 4, n, true
}

// vec reads the vector field at vtable offset off (0, 0 when absent).
func (t *tab) vec(b []byte, off, elem uint64) (uint64, uint64, bool) {
	p, ok := t.at(b, off, 4)
	if p == 0 {
		return 0, 0, ok
	}
	return vecAt(b, p, elem)
}

// subAt opens the table that the uoffset at p points to.
func subAt(b []byte, p uint64) (tab, bool) {
	return openTab(b, p+le32(b, p))
}

// Verify reports whether b is a well-formed FlatBuffers encoding of a
// record of type t: every table, vtable, field, string and vector it
// reaches lies inside b. It decodes into a pooled record, so it does not
// allocate in steady state.
func Verify(b []byte, t record.Type) error {
	var err error
	switch t {
	case record.TypeLogEntry:
		r := logPool.Get().(*record.LogEntry)
		err = decodeLogEntry(b, r)
		logPool.Put(r)
	case record.TypeSample:
		var r record.Sample
		err = decodeSample(b, &r)
	case record.TypeTensor:
		r := tensorPool.Get().(*record.Tensor)
		err = decodeTensor(b, r)
		r.Data = nil
		tensorPool.Put(r)
	default:
		return codec.ErrRecordType
	}
	return err
}
