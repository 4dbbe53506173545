package schema

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Record is a decoded table, struct or Cap'n Proto group: its values held
// by field slot (Field.Index), not in a map. A decode keeps all its records,
// values and string bytes in a few pointer-free blocks, so it costs a few
// allocations per message (not one per field) and little garbage-collector
// work. Get reads a field by name, Field by slot; Map gives the plain Go form
// described in the package documentation. A Record does not alias the
// message it was decoded from.
type Record struct {
	a *arena
	i int // in a.recs
}

// Type is the record's table, struct or group type.
func (r *Record) Type() *Type { return r.a.recs[r.i].typ }

// Field returns the value of the field in slot i (Field.Index); the zero
// Value when the message does not hold it.
func (r *Record) Field(i int) Value {
	h := &r.a.recs[r.i]
	if i < 0 || i >= int(h.n) {
		return Value{}
	}
	return Value{r.a, r.a.vals[int(h.start)+i]}
}

// Get returns the value of the field called name; the zero Value when the
// message does not hold it or the type has no such field.
func (r *Record) Get(name string) Value {
	if f := r.Type().Field(name); f != nil {
		return r.Field(f.Index)
	}
	return Value{}
}

// Map returns the record in its map form (see the package documentation):
// the fields the message holds, by name.
func (r *Record) Map() map[string]any { return r.a.mapOf(r.i) }

func (a *arena) mapOf(ri int) map[string]any {
	h := a.recs[ri]
	vals := a.vals[h.start : h.start+h.n]
	n := 0
	for i := range vals {
		if vals[i].kind != 0 {
			n++
		}
	}
	m := make(map[string]any, n)
	for i, f := range h.typ.Fields {
		if vals[i].kind != 0 {
			m[f.Name] = Value{a, vals[i]}.Any()
		}
	}
	return m
}

// Value is one decoded value: a scalar, a string, bytes, a record, a list
// or null. Its Kind is one of Bool, Int64 (every signed integer and signed
// enum), Uint64 (unsigned ones, union tags and Cap'n Proto enums), Float64
// (float32 widens exactly), String, Bytes, Table, Struct, Group (Record),
// Vector (Len and Index) and Void (null: Cap'n Proto Void and capabilities,
// an unknown union member in a vector); 0 when the value is absent.
type Value struct {
	a *arena
	s slot
}

// slot is a value as a decode stores it, without pointers: scalars in bits;
// strings and bytes as n bytes at bits in arena.bytes; lists as n slots at
// bits in arena.vals; records as index bits in arena.recs.
type slot struct {
	kind Kind
	n    uint32
	bits uint64
}

// Kind is the kind of the value (0 when absent).
func (v Value) Kind() Kind { return v.s.kind }

// Present reports whether the message holds the value.
func (v Value) Present() bool { return v.s.kind != 0 }

// Bool returns a Bool value.
func (v Value) Bool() bool { return v.s.kind == Bool && v.s.bits != 0 }

// Int returns an Int64 value (0 for another kind).
func (v Value) Int() int64 {
	if v.s.kind != Int64 {
		return 0
	}
	return int64(v.s.bits)
}

// Uint returns a Uint64 value (0 for another kind).
func (v Value) Uint() uint64 {
	if v.s.kind != Uint64 {
		return 0
	}
	return v.s.bits
}

// Float returns a Float64 value (0 for another kind).
func (v Value) Float() float64 {
	if v.s.kind != Float64 {
		return 0
	}
	return math.Float64frombits(v.s.bits)
}

// Str returns a String value ("" for another kind).
func (v Value) Str() string {
	if v.s.kind != String || v.s.n == 0 {
		return ""
	}
	return unsafe.String(&v.a.bytes[v.s.bits], int(v.s.n))
}

// Bytes returns a Bytes value (nil for another kind).
func (v Value) Bytes() []byte {
	if v.s.kind != Bytes {
		return nil
	}
	end := v.s.bits + uint64(v.s.n)
	return v.a.bytes[v.s.bits:end:end]
}

// Record returns a Table, Struct or Group value (nil for another kind).
func (v Value) Record() *Record {
	switch v.s.kind {
	case Table, Struct, Group:
		return &Record{v.a, int(v.s.bits)}
	}
	return nil
}

// Len returns the length of a Vector, String or Bytes value.
func (v Value) Len() int {
	switch v.s.kind {
	case Vector, String, Bytes:
		return int(v.s.n)
	}
	return 0
}

// Index returns element i of a Vector value (the zero Value out of range).
func (v Value) Index(i int) Value {
	if v.s.kind != Vector || i < 0 || i >= int(v.s.n) {
		return Value{}
	}
	return Value{v.a, v.a.vals[int(v.s.bits)+i]}
}

// Any returns the value in its plain Go form (see the package
// documentation): nil, bool, int64, uint64, float64, string, []byte,
// map[string]any or []any.
func (v Value) Any() any {
	switch v.s.kind {
	case Bool:
		return v.s.bits != 0
	case Int64:
		return int64(v.s.bits)
	case Uint64:
		return v.s.bits
	case Float64:
		return math.Float64frombits(v.s.bits)
	case String:
		return v.Str()
	case Bytes:
		return v.Bytes()
	case Table, Struct, Group:
		return v.a.mapOf(int(v.s.bits))
	case Vector:
		out := make([]any, v.s.n)
		for i := range out {
			out[i] = v.Index(i).Any()
		}
		return out
	}
	return nil
}

func (v Value) String() string {
	if v.s.kind == 0 {
		return "<absent>"
	}
	return fmt.Sprint(v.Any())
}

// null is a present null value.
var null = slot{kind: Void}

func boolValue(b bool) slot {
	if b {
		return slot{kind: Bool, bits: 1}
	}
	return slot{kind: Bool}
}

// scalarValue reads the little-endian scalar of kind k at b.
func scalarValue(k Kind, b []byte) slot {
	var bits uint64
	switch k.scalarSize() {
	case 1:
		bits = uint64(b[0])
	case 2:
		bits = uint64(binary.LittleEndian.Uint16(b))
	case 4:
		bits = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		bits = binary.LittleEndian.Uint64(b)
	}
	return scalarBitsValue(k, bits)
}

// scalarBitsValue is the value of kind k stored as bits (zero-extended).
func scalarBitsValue(k Kind, bits uint64) slot {
	switch k {
	case Bool: // any byte but 0 is true, as flatc's generated code reads it
		if bits != 0 {
			bits = 1
		}
		return slot{kind: Bool, bits: bits}
	case Int8:
		return slot{kind: Int64, bits: uint64(int64(int8(bits)))}
	case Int16:
		return slot{kind: Int64, bits: uint64(int64(int16(bits)))}
	case Int32:
		return slot{kind: Int64, bits: uint64(int64(int32(bits)))}
	case Int64:
		return slot{kind: Int64, bits: bits}
	case Uint8, Uint16, Uint32, Uint64:
		return slot{kind: Uint64, bits: bits}
	case Float32:
		return slot{kind: Float64, bits: math.Float64bits(float64(math.Float32frombits(uint32(bits))))}
	case Float64:
		return slot{kind: Float64, bits: bits}
	}
	return null
}

// arena holds a decode's records, values and string bytes in three blocks
// that grow by copying, so what refers into them is an index, not a
// pointer: the value blocks hold no pointers for the garbage collector to
// trace, and a record keeps its whole decode alive.
type arena struct {
	recs  []recordHeader
	vals  []slot
	bytes []byte
}

type recordHeader struct {
	typ      *Type
	start, n uint32 // its field values in vals
}

// newArena sizes the blocks after the message: its strings never hold more
// bytes than it does, and a message of n bytes rarely holds more than n/16
// values or n/64 records (more costs a copy of the block).
func newArena(msgLen int) *arena {
	return &arena{
		bytes: make([]byte, 0, msgLen),
		vals:  make([]slot, 0, msgLen/16+16),
		recs:  make([]recordHeader, 0, msgLen/64+4),
	}
}

// values reserves n zero values and returns the index of the first.
func (a *arena) values(n int) int {
	i := len(a.vals)
	if n <= cap(a.vals)-i {
		a.vals = a.vals[:i+n] // only the length changes: no write barrier
	} else {
		a.vals = slices.Grow(a.vals, n)[:i+n]
	}
	clear(a.vals[i:])
	return i
}

// list is the Vector of the n values at start.
func list(start, n int) slot { return slot{kind: Vector, n: uint32(n), bits: uint64(start)} }

// record reserves a record of t with nfields absent values and returns its
// index.
func (a *arena) record(t *Type, nfields int) int {
	start := a.values(nfields)
	i := len(a.recs)
	if i < cap(a.recs) {
		a.recs = a.recs[:i+1]
	} else {
		a.recs = append(a.recs, recordHeader{})
	}
	a.recs[i] = recordHeader{typ: t, start: uint32(start), n: uint32(nfields)}
	return i
}

// set stores field i of record ri.
func (a *arena) set(ri, i int, v slot) { a.vals[int(a.recs[ri].start)+i] = v }

// recordValue is the value of record ri.
func (a *arena) recordValue(ri int) slot {
	return slot{kind: a.recs[ri].typ.Kind, bits: uint64(ri)}
}

// copyBytes copies b into the arena; kind is String or Bytes.
func (a *arena) copyBytes(kind Kind, b []byte) slot {
	i := len(a.bytes)
	if len(b) <= cap(a.bytes)-i {
		a.bytes = a.bytes[:i+len(b)]
		copy(a.bytes[i:], b)
	} else {
		a.bytes = append(a.bytes, b...)
	}
	return slot{kind: kind, n: uint32(len(b)), bits: uint64(i)}
}
