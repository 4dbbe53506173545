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
// Alignment is not required: all reads are unaligned-safe.

// maxBuffer is the largest buffer FlatBuffers can address (signed 32-bit offsets).
const maxBuffer = math.MaxInt32

func le16(b []byte, i uint64) uint64 { return uint64(binary.LittleEndian.Uint16(b[i:])) }
func le32(b []byte, i uint64) uint64 { return uint64(binary.LittleEndian.Uint32(b[i:])) }

// table is a verified table: its vtable and inline part lie inside buf.
type table struct {
	buf   []byte
	pos   uint64 // start of the table (its soffset to the vtable)
	vt    uint64 // start of the vtable
	vtLen uint64 // vtable size in bytes
	tLen  uint64 // inline table size in bytes
}

// errf is kept out of line so the checked accessors stay small and inlinable.
//
//go:noinline
func errf(format string, args ...any) error { return codec.Malformedf("flatbuffers: "+format, args...) }

// root opens the root table of b.
func root(b []byte) (table, error) {
	if len(b) < 8 {
		return table{}, errf("buffer of %d bytes is too short", len(b))
	}
	if len(b) > maxBuffer {
		return table{}, errf("buffer of %d bytes is too long", len(b))
	}
	return openTable(b, le32(b, 0))
}

// openTable checks the table at pos and its vtable.
func openTable(b []byte, pos uint64) (table, error) {
	n := uint64(len(b))
	if pos < 4 || pos+4 > n {
		return table{}, errf("table offset %d out of range", pos)
	}
	vt := int64(pos) - int64(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || uint64(vt)+4 > n {
		return table{}, errf("vtable offset %d out of range", vt)
	}
	t := table{buf: b, pos: pos, vt: uint64(vt)}
	t.vtLen = le16(b, t.vt)
	t.tLen = le16(b, t.vt+2)
	if t.vtLen < 4 || t.vtLen&1 != 0 || t.vt+t.vtLen > n {
		return table{}, errf("vtable size %d invalid", t.vtLen)
	}
	if t.tLen < 4 || pos+t.tLen > n {
		return table{}, errf("table size %d invalid", t.tLen)
	}
	return t, nil
}

// field returns the position of slot's inline data of size bytes, or 0 when
// the field is absent (its default value).
func (t *table) field(slot int, size uint64) (uint64, error) {
	vo := 4 + 2*uint64(slot)
	if vo+2 > t.vtLen {
		return 0, nil
	}
	o := le16(t.buf, t.vt+vo)
	if o == 0 {
		return 0, nil
	}
	if o < 4 || o+size > t.tLen {
		return 0, errf("field %d at %d overruns its table of %d bytes", slot, o, t.tLen)
	}
	return t.pos + o, nil
}

func (t *table) int64(slot int) (int64, error) {
	p, err := t.field(slot, 8)
	if p == 0 {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(t.buf[p:])), nil
}

func (t *table) uint32(slot int) (uint32, error) {
	p, err := t.field(slot, 4)
	if p == 0 {
		return 0, err
	}
	return binary.LittleEndian.Uint32(t.buf[p:]), nil
}

func (t *table) int32(slot int) (int32, error) {
	v, err := t.uint32(slot)
	return int32(v), err
}

func (t *table) int8(slot int) (int8, error) {
	p, err := t.field(slot, 1)
	if p == 0 {
		return 0, err
	}
	return int8(t.buf[p]), nil
}

// indirect follows the uoffset stored at p; the target lies inside buf with
// at least min bytes.
func indirect(b []byte, p uint64, min uint64) (uint64, error) {
	target := p + le32(b, p)
	if target+min > uint64(len(b)) {
		return 0, errf("offset %d at %d out of range", target, p)
	}
	return target, nil
}

// vectorAt checks the vector at position v: its length prefix and n*elem
// bytes of elements; it returns the start of the elements and n.
func vectorAt(b []byte, v uint64, elem uint64) (uint64, uint64, error) {
	n := le32(b, v)
	if v+4+n*elem > uint64(len(b)) {
		return 0, 0, errf("vector of %d elements at %d out of range", n, v)
	}
	return v + 4, n, nil
}

// stringAt checks and returns the string at position s without copying.
func stringAt(b []byte, s uint64) (string, error) {
	n := le32(b, s)
	end := s + 4 + n
	if end >= uint64(len(b)) {
		return "", errf("string of %d bytes at %d out of range", n, s)
	}
	if b[end] != 0 {
		return "", errf("string at %d is not NUL-terminated", s)
	}
	if n == 0 {
		return "", nil
	}
	return unsafe.String(&b[s+4], int(n)), nil
}

// vector returns the elements of the vector in slot (0, 0 when absent).
func (t *table) vector(slot int, elem uint64) (uint64, uint64, error) {
	p, err := t.field(slot, 4)
	if p == 0 {
		return 0, 0, err
	}
	v, err := indirect(t.buf, p, 4)
	if err != nil {
		return 0, 0, err
	}
	return vectorAt(t.buf, v, elem)
}

// string returns the string in slot ("" when absent), aliasing buf.
func (t *table) string(slot int) (string, error) {
	p, err := t.field(slot, 4)
	if p == 0 {
		return "", err
	}
	s, err := indirect(t.buf, p, 5)
	if err != nil {
		return "", err
	}
	return stringAt(t.buf, s)
}

// table returns the sub-table in slot; ok is false when it is absent.
func (t *table) table(slot int) (sub table, ok bool, err error) {
	p, err := t.field(slot, 4)
	if p == 0 {
		return table{}, false, err
	}
	s, err := indirect(t.buf, p, 4)
	if err != nil {
		return table{}, false, err
	}
	sub, err = openTable(t.buf, s)
	return sub, err == nil, err
}

// elemString returns element i of a vector of strings starting at elems.
func elemString(b []byte, elems uint64, i uint64) (string, error) {
	p := elems + 4*i
	s, err := indirect(b, p, 5)
	if err != nil {
		return "", err
	}
	return stringAt(b, s)
}

// elemTable returns element i of a vector of tables starting at elems.
func elemTable(b []byte, elems uint64, i uint64) (table, error) {
	p := elems + 4*i
	s, err := indirect(b, p, 4)
	if err != nil {
		return table{}, err
	}
	return openTable(b, s)
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
