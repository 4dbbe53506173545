package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// A Ref is a cursor into one message: a FlatBuffers table, struct, vector or
// value, or a Cap'n Proto struct, group, list or value. It is a plain value
// (the type and four words of position), so a binding can keep it in its own
// memory and hand it back; it holds no pointer into the message.
//
// Every call re-checks the position against the message it is given: a Ref
// that was altered, or used on other bytes, reads wrong values or fails
// (ErrMalformedPath), but never reads outside the message. Cap'n Proto
// pointers are followed through far pointers and across segments by the
// same checked reader as Verify, with the default traversal limit per call.
type Ref struct {
	// T is the type of what the Ref points at.
	T *TypeRef
	// Pos is the position, format-specific:
	//
	//	FlatBuffers: Pos[0] the byte offset of the table, struct, fixed array,
	//	  scalar, or of the length word of a vector or string.
	//	Cap'n Proto struct or group: Pos[0] segment<<32 | data byte offset,
	//	  Pos[1] data bytes<<32 | pointer-section word, Pos[2] pointer count.
	//	Cap'n Proto list, Text or Data: Pos[0] segment<<32 | byte offset of
	//	  element 0, Pos[1] count, Pos[2] size code<<56 | stride in bits,
	//	  Pos[3] data bytes<<32 | pointer count (composite lists).
	//	Cap'n Proto scalar: Pos[0] as a struct's, Pos[1] data bytes<<32 |
	//	  bit offset, Pos[2] the bits XORed with the stored ones (the default).
	//	A null Cap'n Proto pointer: a struct's Pos is all zero (a struct of
	//	  defaults, as a null root); a Text, Data or List's Pos[2] is
	//	  cpNullList (its declared default, else empty).
	//	A scalar field absent from a FlatBuffers table: Pos[3] = refDefault,
	//	  Pos[1] the default's bits.
	//	A FlatBuffers vector of unions: Pos[1] the byte offset of the length
	//	  word of its types vector (0: the message has none).
	Pos [4]uint64
	// Format is the message's wire format.
	Format Format
}

const refDefault = 1

// RefKind is what a Ref points at.
type RefKind uint8

const (
	RefTable  RefKind = iota + 1 // a FlatBuffers table
	RefStruct                    // a FlatBuffers struct, a Cap'n Proto struct or group
	RefList                      // a vector, list or fixed array
	RefValue                     // a scalar, enum, string or bytes
)

// Kind is what r points at (0 for a Ref with no type).
func (r Ref) Kind() RefKind { return refKindOf(r.T) }

func refKindOf(t *TypeRef) RefKind {
	if t == nil {
		return 0
	}
	switch t.Kind {
	case Table:
		return RefTable
	case Struct, Group:
		return RefStruct
	case Vector, Array:
		return RefList
	case Bool, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64,
		Enum, UnionType, String, Bytes, Void:
		return RefValue
	}
	return 0
}

// ErrRefKind is returned when a Ref call does not apply to what the Ref
// points at (a field of a list, the length of a table, ...).
var ErrRefKind = errors.New("schema: wrong kind of ref")

func kindErr(r Ref, what string) error {
	return fmt.Errorf("%w: %s of a %s", ErrRefKind, what, r.T)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedPath, fmt.Sprintf(format, args...))
}

// Root returns a Ref to the root of msg, a message of type t (a FlatBuffers
// table or a Cap'n Proto struct). It checks only the root offset or
// pointer; Verify checks the whole message.
func (t *Type) Root(msg []byte) (Ref, error) {
	self := t.TypeRef()
	switch {
	case t.Format == FlatBuffers && t.Kind == Table:
		p, err := fbFollow(msg, 0)
		if err != nil {
			return Ref{}, err
		}
		return Ref{Format: t.Format, T: self, Pos: [4]uint64{uint64(p)}}, nil
	case t.Format == CapnProto && t.Kind == Struct:
		st, err := cpOpen(msg)
		if err != nil {
			return Ref{}, err
		}
		defer putCpState(st)
		var s cpStruct
		null, err := st.r.structAt(0, 0, &s)
		if err != nil {
			return Ref{}, malformed("%v", err)
		}
		if null {
			s = cpStruct{} // a null root reads as the default struct
		}
		return Ref{Format: t.Format, T: self, Pos: cpStructPos(s)}, nil
	}
	return Ref{}, fmt.Errorf("schema: %s is a %s %s, not a message type", t.Name, t.Format, t.Kind)
}

// Field returns a Ref to field f of the table or struct r. ok is false when
// the message does not hold the field: a FlatBuffers table without it, a
// null Cap'n Proto pointer, or a union member that is not the active one.
// An absent FlatBuffers scalar still gives a Ref, which reads as the
// field's default; so does a null Cap'n Proto pointer, which reads as
// capnp's getters read it: a Text, Data or List of numbers its declared
// default, else empty; a struct as its fields' defaults (a struct value
// the field declares as its default is not applied: paths apply it).
func (r Ref) Field(msg []byte, f *Field) (Ref, bool, error) {
	if r.Kind() != RefTable && r.Kind() != RefStruct {
		return Ref{}, false, kindErr(r, "a field")
	}
	if f == nil {
		return Ref{}, false, fmt.Errorf("%w: no field given", ErrRefKind)
	}
	if r.T.Type == nil || f.Index >= len(r.T.Type.Fields) || r.T.Type.Fields[f.Index] != f {
		return Ref{}, false, fmt.Errorf("%w: %s has no field %s", ErrRefKind, r.T, f.Name)
	}
	if r.T.Type.Format == CapnProto {
		return r.cpField(msg, f)
	}
	if r.T.Kind == Struct {
		pos := r.Pos[0] + uint64(f.Slot)
		return Ref{Format: r.Format, T: &f.TypeRef, Pos: [4]uint64{pos}}, true, nil
	}
	fo, err := fbFieldAt(msg, r.Pos[0], f.Slot)
	if err != nil {
		return Ref{}, false, err
	}
	if fo == 0 {
		if refKindOf(&f.TypeRef) != RefValue || f.Kind == String {
			return Ref{}, false, nil
		}
		var bits uint64
		if f.Default != nil && !f.Optional {
			if bits, err = scalarBits(f.scalarKind(), f.Type, f.Default); err != nil {
				return Ref{}, false, err
			}
		}
		return Ref{Format: r.Format, T: &f.TypeRef, Pos: [4]uint64{0, bits, 0, refDefault}}, false, nil
	}
	pos := r.Pos[0] + uint64(fo)
	switch f.Kind {
	case String, Table, Vector:
		q, err := fbFollow(msg, pos)
		if err != nil {
			return Ref{}, false, err
		}
		out := Ref{Format: r.Format, T: &f.TypeRef, Pos: [4]uint64{q}}
		if f.Kind == Vector && f.Elem.Kind == Union && f.UnionTypeField != nil {
			// Its elements' members are named by the types vector.
			if tfo, err := fbFieldAt(msg, r.Pos[0], f.UnionTypeField.Slot); err != nil {
				return Ref{}, false, err
			} else if tfo != 0 {
				if out.Pos[1], err = fbFollow(msg, r.Pos[0]+uint64(tfo)); err != nil {
					return Ref{}, false, err
				}
			}
		}
		return out, true, nil
	case Union:
		_, m, ok, err := r.Union(msg, f)
		return m, ok, err
	}
	return Ref{Format: r.Format, T: &f.TypeRef, Pos: [4]uint64{pos}}, true, nil
}

// Union reads the union field f of a FlatBuffers table r: its tag (the
// `_type` value, 0 for NONE) and a Ref to the member. ok is false for NONE
// and for a tag the schema does not know (from a newer writer).
func (r Ref) Union(msg []byte, f *Field) (int64, Ref, bool, error) {
	if r.Kind() != RefTable || f.Kind != Union || f.UnionTypeField == nil {
		return 0, Ref{}, false, fmt.Errorf("%w: %s is not a union field of a FlatBuffers table", ErrRefKind, f.Name)
	}
	tr, _, err := r.Field(msg, f.UnionTypeField)
	if err != nil {
		return 0, Ref{}, false, err
	}
	tag, err := tr.Bits(msg)
	if err != nil {
		return 0, Ref{}, false, err
	}
	ev, known := f.Type.EnumValueOf(int64(tag))
	if tag == 0 || !known || ev.Member == nil {
		return int64(tag), Ref{}, false, nil
	}
	fo, err := fbFieldAt(msg, r.Pos[0], f.Slot)
	if err != nil || fo == 0 {
		return int64(tag), Ref{}, false, err
	}
	q, err := fbFollow(msg, r.Pos[0]+uint64(fo))
	if err != nil {
		return 0, Ref{}, false, err
	}
	return int64(tag), Ref{Format: r.Format, T: ev.Member, Pos: [4]uint64{q}}, true, nil
}

// Which reads the discriminant of the Cap'n Proto union of the struct or
// group r, and returns the active member (nil when the discriminant names
// no field this schema knows).
func (r Ref) Which(msg []byte) (uint16, *Field, error) {
	if r.Kind() != RefStruct || r.T.Type == nil || r.T.Type.Format != CapnProto {
		return 0, nil, kindErr(r, "a union discriminant")
	}
	t := r.T.Type
	if t.DiscriminantCount == 0 {
		return 0, nil, fmt.Errorf("%w: %s has no union", ErrRefKind, t.Name)
	}
	st, err := cpOpen(msg)
	if err != nil {
		return 0, nil, err
	}
	defer putCpState(st)
	s, err := st.r.structFromPos(r.Pos)
	if err != nil {
		return 0, nil, err
	}
	d := uint16(st.r.bits(s, uint64(t.DiscriminantOffset)*16, 16))
	for _, f := range t.Fields {
		if f.Discriminant == d {
			return d, f, nil
		}
	}
	return d, nil, nil
}

// Len returns the number of elements of the vector, list or array r.
func (r Ref) Len(msg []byte) (int, error) {
	switch {
	case r.T == nil:
		return 0, kindErr(r, "a length")
	case r.T.Kind == Array:
		return r.T.Len, nil
	case r.T.Kind != Vector:
		return 0, kindErr(r, "a length")
	case r.fb():
		return fbVectorLen(msg, r.Pos[0])
	case r.cpNull():
		return len(r.cpNullBytes()) / max(1, r.T.Elem.scalarKind().scalarSize()), nil
	}
	st, err := cpOpen(msg)
	if err != nil {
		return 0, err
	}
	defer putCpState(st)
	l, err := st.r.listFromPos(r.Pos)
	return l.count, err
}

// fb reports whether r is in a FlatBuffers message.
func (r Ref) fb() bool { return r.Format == FlatBuffers }

// Elem returns a Ref to element i of the vector, list or array r. ok is
// false when i is past the end, and for a null Cap'n Proto pointer element
// (its Ref reads as empty, see Field) or an element of a null list's
// declared default (its Ref reads that element).
func (r Ref) Elem(msg []byte, i int) (Ref, bool, error) {
	if r.Kind() != RefList || i < 0 {
		return Ref{}, false, kindErr(r, "an element")
	}
	el := r.T.Elem
	if !r.fb() {
		return r.cpElem(msg, i)
	}
	if el.Kind == Union {
		return r.unionElem(msg, i)
	}
	size, _ := tableValueSize(el)
	var base uint64
	if r.T.Kind == Array {
		if i >= r.T.Len {
			return Ref{}, false, nil
		}
		base = r.Pos[0]
	} else {
		n, err := fbVectorLen(msg, r.Pos[0])
		if err != nil {
			return Ref{}, false, err
		}
		if i >= n {
			return Ref{}, false, nil
		}
		base = r.Pos[0] + 4
	}
	pos := base + uint64(i)*uint64(size)
	if pos+uint64(size) > uint64(len(msg)) {
		return Ref{}, false, malformed("element %d at %d is outside the %d-byte message", i, pos, len(msg))
	}
	if el.Kind == String || el.Kind == Table {
		q, err := fbFollow(msg, pos)
		if err != nil {
			return Ref{}, false, err
		}
		pos = q
	}
	return Ref{Format: r.Format, T: el, Pos: [4]uint64{pos}}, true, nil
}

// unionElem is element i of a FlatBuffers vector of unions: the member its
// tag in the types vector names (ok false for NONE, a tag this schema does
// not know, or i past the end).
func (r Ref) unionElem(msg []byte, i int) (Ref, bool, error) {
	n, err := fbVectorLen(msg, r.Pos[0])
	if err != nil {
		return Ref{}, false, err
	}
	if r.Pos[1] == 0 {
		return Ref{}, false, malformed("vector of unions has no types vector")
	}
	nt, err := fbVectorLen(msg, r.Pos[1])
	if err != nil {
		return Ref{}, false, err
	}
	if nt != n {
		return Ref{}, false, malformed("vector of %d unions has %d types", n, nt)
	}
	if i >= n {
		return Ref{}, false, nil
	}
	pos := r.Pos[0] + 4 + 4*uint64(i)
	if pos+4 > uint64(len(msg)) || r.Pos[1]+5+uint64(i) > uint64(len(msg)) {
		return Ref{}, false, malformed("element %d is outside the %d-byte message", i, len(msg))
	}
	tag := int64(msg[r.Pos[1]+4+uint64(i)])
	ev, known := r.T.Elem.Type.EnumValueOf(tag)
	if tag == 0 || !known || ev.Member == nil {
		return Ref{}, false, nil
	}
	q, err := fbFollow(msg, pos)
	if err != nil {
		return Ref{}, false, err
	}
	return Ref{Format: r.Format, T: ev.Member, Pos: [4]uint64{q}}, true, nil
}

// Bits returns the stored bits of a scalar, enum or bool value (the
// default's for an absent FlatBuffers field), zero-extended.
func (r Ref) Bits(msg []byte) (uint64, error) {
	if r.Kind() != RefValue || r.T.Kind == String || r.T.Kind == Bytes || r.T.Kind == Void {
		return 0, kindErr(r, "a scalar")
	}
	k := r.T.scalarKind()
	if r.fb() {
		if r.Pos[3] == refDefault {
			return r.Pos[1], nil
		}
		size := uint64(k.scalarSize())
		if size == 0 || r.Pos[0] > uint64(len(msg)) || size > uint64(len(msg))-r.Pos[0] {
			return 0, malformed("value at %d is outside the %d-byte message", r.Pos[0], len(msg))
		}
		var b [8]byte
		copy(b[:], msg[r.Pos[0]:r.Pos[0]+size])
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	st, err := cpOpen(msg)
	if err != nil {
		return 0, err
	}
	defer putCpState(st)
	seg, data := int(r.Pos[0]>>32), r.Pos[0]&math.MaxUint32
	dataBytes, bitOff := r.Pos[1]>>32, r.Pos[1]&math.MaxUint32
	if seg >= len(st.r.segs) || data+dataBytes > uint64(len(st.r.segs[seg])) {
		return 0, malformed("value in segment %d at %d is outside the message", seg, data)
	}
	n := r.T.dataBits()
	s := cpStruct{seg: seg, data: int(data), dataBytes: int(dataBytes)}
	return (st.r.bits(s, bitOff, n) ^ r.Pos[2]) & mask(uint(n)), nil
}

// Int, Uint and Float read a scalar value Ref as the widest Go type of its
// kind; a value that does not fit (a uint64 above MaxInt64 read as Int, a
// negative number read as Uint) is ErrRange.
func (r Ref) Int(msg []byte) (int64, error) {
	bits, k, err := r.intBits(msg)
	if err != nil {
		return 0, err
	}
	if k.IsSigned() {
		n := uint(k.scalarSize() * 8)
		return int64(bits<<(64-n)) >> (64 - n), nil
	}
	if bits > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %d does not fit an int64", ErrRange, bits)
	}
	return int64(bits), nil
}

func (r Ref) Uint(msg []byte) (uint64, error) {
	bits, k, err := r.intBits(msg)
	if err != nil {
		return 0, err
	}
	if k.IsSigned() {
		n := uint(k.scalarSize() * 8)
		if v := int64(bits<<(64-n)) >> (64 - n); v < 0 {
			return 0, fmt.Errorf("%w: %d does not fit a uint64", ErrRange, v)
		}
	}
	return bits, nil
}

func (r Ref) Float(msg []byte) (float64, error) {
	if r.T == nil || (r.T.Kind != Float32 && r.T.Kind != Float64) {
		return 0, kindErr(r, "a float")
	}
	bits, err := r.Bits(msg)
	if err != nil {
		return 0, err
	}
	if r.T.Kind == Float32 {
		return float64(math.Float32frombits(uint32(bits))), nil
	}
	return math.Float64frombits(bits), nil
}

// ErrRange is returned when a value does not fit the type asked for.
var ErrRange = errors.New("schema: value out of range")

func (r Ref) intBits(msg []byte) (uint64, Kind, error) {
	if r.T == nil {
		return 0, 0, kindErr(r, "an integer")
	}
	k := r.T.scalarKind()
	if !k.IsInteger() && k != Bool {
		return 0, 0, kindErr(r, "an integer")
	}
	bits, err := r.Bits(msg)
	if k == Bool && bits != 0 { // any byte but 0 is true: 1
		bits = 1
	}
	return bits, k, err
}

// Bytes returns a string (without its NUL), Cap'n Proto Data, or a vector of
// bytes, as a slice of msg.
func (r Ref) Bytes(msg []byte) ([]byte, error) {
	if r.T == nil {
		return nil, kindErr(r, "bytes")
	}
	isBytes := r.T.Kind == Bytes || (r.T.Kind == Vector && (r.T.Elem.Kind == Uint8 || r.T.Elem.Kind == Int8))
	if r.T.Kind != String && !isBytes {
		return nil, kindErr(r, "a string or bytes")
	}
	if r.fb() {
		at := r.Pos[0]
		n, err := fbVectorLen(msg, at)
		if err != nil {
			return nil, err
		}
		end := at + 4 + uint64(n)
		if r.T.Kind == String {
			if end >= uint64(len(msg)) || msg[end] != 0 {
				return nil, malformed("string at %d is not inside the message or not NUL-terminated", at)
			}
		} else if end > uint64(len(msg)) {
			return nil, malformed("vector at %d runs past the message", at)
		}
		return msg[at+4 : end : end], nil
	}
	if r.cpNull() {
		return r.cpNullBytes(), nil
	}
	st, err := cpOpen(msg)
	if err != nil {
		return nil, err
	}
	defer putCpState(st)
	l, err := st.r.listFromPos(r.Pos)
	if err != nil {
		return nil, err
	}
	if l.size != 2 {
		return nil, malformed("%s is not a list of bytes", r.T)
	}
	b := st.r.segs[l.seg][l.start : l.start+l.count : l.start+l.count]
	if r.T.Kind == String {
		if len(b) == 0 || b[len(b)-1] != 0 {
			return nil, malformed("text is not NUL-terminated")
		}
		b = b[: len(b)-1 : len(b)-1]
	}
	return b, nil
}

// Scalars returns the elements of a vector, list or fixed array of scalars
// (or enums) as the slice of msg that holds them, little-endian, with their
// count and kind. Cap'n Proto lists of Bool are bit-packed: read them with
// Elem.
func (r Ref) Scalars(msg []byte) ([]byte, int, Kind, error) {
	if r.Kind() != RefList {
		return nil, 0, 0, kindErr(r, "scalars")
	}
	k := r.T.Elem.scalarKind()
	size := k.scalarSize()
	if !k.IsScalar() || size == 0 {
		return nil, 0, 0, kindErr(r, "scalars")
	}
	if r.fb() {
		start, n := r.Pos[0], r.T.Len
		if r.T.Kind == Vector {
			var err error
			if n, err = fbVectorLen(msg, start); err != nil {
				return nil, 0, 0, err
			}
			start += 4
		}
		end := start + uint64(n)*uint64(size)
		if end > uint64(len(msg)) {
			return nil, 0, 0, malformed("vector at %d runs past the message", r.Pos[0])
		}
		return msg[start:end:end], n, k, nil
	}
	if k == Bool {
		return nil, 0, 0, fmt.Errorf("%w: a List(Bool) is bit-packed; read its elements", ErrRefKind)
	}
	if r.cpNull() {
		b := r.cpNullBytes()
		return b, len(b) / size, k, nil
	}
	st, err := cpOpen(msg)
	if err != nil {
		return nil, 0, 0, err
	}
	defer putCpState(st)
	l, err := st.r.listFromPos(r.Pos)
	if err != nil {
		return nil, 0, 0, err
	}
	if l.size == 7 || l.stride != size*8 {
		return nil, 0, 0, malformed("expected a list of %d-bit elements", size*8)
	}
	end := l.start + l.count*size
	return st.r.segs[l.seg][l.start:end:end], l.count, k, nil
}

// Value decodes what r points at as Decode would (map[string]any for a
// table or struct, []any for a list, a scalar, string or []byte), verifying
// it on the way.
func (r Ref) Value(msg []byte) (any, error) {
	if r.T == nil {
		return nil, kindErr(r, "a value")
	}
	o := (*Options)(nil).withDefaults()
	if r.fb() {
		w := &fbWalker{buf: msg, opts: &o, build: true, a: newArena(len(msg))}
		pos := int(min(r.Pos[0], uint64(len(msg))))
		switch r.T.Kind {
		case Table:
			ri, err := w.table(r.T.Type, pos)
			if err != nil {
				return nil, err
			}
			return Value{w.a, w.a.recordValue(ri)}.Any(), nil
		case Struct:
			if err := w.check(pos, r.T.Type.ByteSize, 1, "struct"); err != nil {
				return nil, err
			}
			return Value{w.a, w.structValue(r.T.Type, pos)}.Any(), nil
		case Vector:
			if r.T.Elem.Kind == Union {
				return r.unionValues(msg, func(e Ref) (any, error) { return e.Value(msg) })
			}
			v, _, err := w.vector(r.T.Elem, pos)
			if err != nil {
				return nil, err
			}
			return Value{w.a, v}.Any(), nil
		case Array:
			size, _ := tableValueSize(r.T.Elem)
			if err := w.check(pos, size*r.T.Len, 1, "array"); err != nil {
				return nil, err
			}
			return r.elemValues(msg, r.T.Len)
		case String:
			v, err := w.str(pos)
			if err != nil {
				return nil, err
			}
			return Value{w.a, v}.Any(), nil
		}
	} else if r.cpNull() && r.T.Kind == Vector {
		n, _ := r.Len(msg)
		return r.elemValues(msg, n)
	} else {
		st, err := cpOpen(msg)
		if err != nil {
			return nil, err
		}
		defer putCpState(st)
		st.r.build, st.r.a = true, newArena(len(msg))
		switch r.T.Kind {
		case Struct, Group:
			s, err := st.r.structFromPos(r.Pos)
			if err != nil {
				return nil, err
			}
			v, err := st.r.structValue(r.T.Type, s)
			if err != nil {
				return nil, err
			}
			return Value{st.r.a, v}.Any(), nil
		case Vector:
			l, err := st.r.listFromPos(r.Pos)
			if err != nil {
				return nil, err
			}
			v, err := st.r.list(r.T.Elem, l)
			if err != nil {
				return nil, err
			}
			return Value{st.r.a, v}.Any(), nil
		case String, Bytes:
			b, err := r.Bytes(msg)
			if err != nil {
				return nil, err
			}
			if r.T.Kind == String {
				return string(b), nil
			}
			return append([]byte(nil), b...), nil
		}
	}
	bits, err := r.Bits(msg)
	if err != nil {
		return nil, err
	}
	return scalarFromBits(r.T.scalarKind(), bits), nil
}

// unionValues is each element of a FlatBuffers vector of unions read by
// value (nil for NONE and unknown tags).
func (r Ref) unionValues(msg []byte, value func(Ref) (any, error)) ([]any, error) {
	n, err := r.Len(msg)
	if err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		e, ok, err := r.unionElem(msg, i)
		if err == nil && ok {
			out[i], err = value(e)
		}
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return out, nil
}

// AppendJSON appends the JSON form of what r points at, as Type.JSON writes
// it for a whole message.
func (r Ref) AppendJSON(dst []byte, msg []byte) ([]byte, error) {
	if r.fb() && r.Kind() == RefList && r.T.Elem.Kind == Union {
		// Each element is written as its own member type.
		parts, err := r.unionValues(msg, func(e Ref) (any, error) { return e.AppendJSON(nil, msg) })
		if err != nil {
			return nil, err
		}
		dst = append(dst, '[')
		for i, p := range parts {
			if i > 0 {
				dst = append(dst, ',')
			}
			if p == nil {
				p = []byte("null")
			}
			dst = append(dst, p.([]byte)...)
		}
		return append(dst, ']'), nil
	}
	v, err := r.Value(msg)
	if err != nil {
		return nil, err
	}
	format := FlatBuffers
	if !r.fb() {
		format = CapnProto
	}
	e := jsonEncoder{buf: dst, format: format}
	if err := e.value(r.T, v); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// ---- FlatBuffers helpers ----

// fbFollow follows the uoffset at pos.
func fbFollow(msg []byte, pos uint64) (uint64, error) {
	if pos > uint64(len(msg)) || uint64(len(msg))-pos < 4 || pos%4 != 0 {
		return 0, malformed("offset at %d is outside the %d-byte message or unaligned", pos, len(msg))
	}
	o := binary.LittleEndian.Uint32(msg[pos:])
	if o == 0 || int32(o) < 0 || pos+uint64(o) >= uint64(len(msg)) {
		return 0, malformed("offset %d at %d leads outside the message", o, pos)
	}
	return pos + uint64(o), nil
}

// fbFieldAt returns the offset of the field in vtable slot slot of the table
// at tpos, 0 when absent.
func fbFieldAt(msg []byte, tpos uint64, slot uint16) (uint64, error) {
	n := uint64(len(msg))
	if tpos > n || n-tpos < 4 {
		return 0, malformed("table at %d is outside the %d-byte message", tpos, n)
	}
	vt := int64(tpos) - int64(int32(binary.LittleEndian.Uint32(msg[tpos:])))
	if vt < 0 || vt > int64(n)-4 {
		return 0, malformed("vtable of the table at %d is outside the message", tpos)
	}
	vsize := uint64(binary.LittleEndian.Uint16(msg[vt:]))
	if uint64(slot)+2 > vsize || uint64(vt)+uint64(slot)+2 > n {
		return 0, nil
	}
	fo := uint64(binary.LittleEndian.Uint16(msg[uint64(vt)+uint64(slot):]))
	if fo != 0 && tpos+fo >= n {
		return 0, malformed("field of the table at %d is outside the message", tpos)
	}
	return fo, nil
}

func fbVectorLen(msg []byte, pos uint64) (int, error) {
	if pos > uint64(len(msg)) || uint64(len(msg))-pos < 4 {
		return 0, malformed("vector at %d is outside the %d-byte message", pos, len(msg))
	}
	n := binary.LittleEndian.Uint32(msg[pos:])
	if uint64(n) > uint64(len(msg)) {
		return 0, malformed("vector at %d claims %d elements in a %d-byte message", pos, n, len(msg))
	}
	return int(n), nil
}

// ---- Cap'n Proto helpers ----

// cpState is a ref call's reader with room for a one-segment table. Ref
// calls take one from a pool: a Ref crosses calls by value, so its reader
// cannot live on one call's stack, and the pool keeps each call
// allocation-free.
type cpState struct {
	r   cpReader
	one [1][]byte
}

var cpStates = sync.Pool{New: func() any { return new(cpState) }}

func putCpState(st *cpState) {
	st.r, st.one[0] = cpReader{}, nil // drop references to the message
	cpStates.Put(st)
}

// cpOpen splits msg (stream framing) into a pooled reader with the default
// limits; the caller puts it back with putCpState.
func cpOpen(msg []byte) (*cpState, error) {
	st := cpStates.Get().(*cpState)
	segs, err := splitSegmentsInto(msg, st.one[:0])
	if err != nil {
		putCpState(st)
		return nil, malformed("%v", err)
	}
	st.r.segs = segs
	st.r.defaultLimits(len(msg))
	if st.r.words(0) == 0 {
		putCpState(st)
		return nil, malformed("first segment is empty")
	}
	return st, nil
}

func cpStructPos(s cpStruct) [4]uint64 {
	return [4]uint64{uint64(s.seg)<<32 | uint64(s.data), uint64(s.dataBytes)<<32 | uint64(s.ptrs), uint64(s.ptrCount)}
}

func cpListPos(l cpList) [4]uint64 {
	return [4]uint64{uint64(l.seg)<<32 | uint64(l.start), uint64(l.count), uint64(l.size)<<56 | uint64(l.stride),
		uint64(l.dataBytes)<<32 | uint64(l.ptrCount)}
}

// structFromPos rebuilds a struct location, checking it lies in its segment.
func (r *cpReader) structFromPos(p [4]uint64) (cpStruct, error) {
	seg, data := p[0]>>32, p[0]&math.MaxUint32
	dataBytes, ptrs, ptrCount := p[1]>>32, p[1]&math.MaxUint32, p[2]
	if seg >= uint64(len(r.segs)) || ptrCount > math.MaxUint16 || dataBytes > math.MaxUint16*wordBytes ||
		data+dataBytes > uint64(len(r.segs[seg])) || (ptrs+ptrCount)*wordBytes > uint64(len(r.segs[seg])) {
		return cpStruct{}, malformed("struct in segment %d at byte %d is outside the message", seg, data)
	}
	return cpStruct{seg: int(seg), data: int(data), dataBytes: int(dataBytes), ptrs: int(ptrs), ptrCount: int(ptrCount)}, nil
}

// listFromPos rebuilds a list location, checking it lies in its segment.
func (r *cpReader) listFromPos(p [4]uint64) (cpList, error) {
	seg, start, count := p[0]>>32, p[0]&math.MaxUint32, p[1]
	size, stride := uint8(p[2]>>56), p[2]&math.MaxUint32
	dataBytes, ptrCount := p[3]>>32, p[3]&math.MaxUint32
	bad := seg >= uint64(len(r.segs)) || count > 1<<29 || size > 7 || stride > 1<<23 ||
		ptrCount > math.MaxUint16 || dataBytes > math.MaxUint16*wordBytes
	if !bad {
		if size != 7 && stride != uint64(elemBits[size]) {
			bad = true
		} else if size == 7 && stride != (dataBytes+ptrCount*wordBytes)*8 {
			bad = true
		}
	}
	if bad || start+(count*stride+7)/8 > uint64(len(r.segs[seg])) {
		return cpList{}, malformed("list in segment %d at byte %d is outside the message", seg, start)
	}
	if (size == 6 || size == 7) && start%wordBytes != 0 {
		return cpList{}, malformed("list of pointers at byte %d is not word-aligned", start)
	}
	return cpList{seg: int(seg), start: int(start), count: int(count), size: size, stride: int(stride),
		dataBytes: int(dataBytes), ptrCount: int(ptrCount)}, nil
}

func (r Ref) cpField(msg []byte, f *Field) (Ref, bool, error) {
	st, err := cpOpen(msg)
	if err != nil {
		return Ref{}, false, err
	}
	defer putCpState(st)
	rd := &st.r
	s, err := rd.structFromPos(r.Pos)
	if err != nil {
		return Ref{}, false, err
	}
	t := r.T.Type
	if f.Discriminant != NoDiscriminant && rd.bits(s, uint64(t.DiscriminantOffset)*16, 16) != uint64(f.Discriminant) {
		return Ref{}, false, nil // another member of the union is set
	}
	switch f.Kind {
	case Group:
		return Ref{Format: r.Format, T: &f.TypeRef, Pos: r.Pos}, true, nil
	case Interface, AnyPointer:
		return Ref{}, false, fmt.Errorf("%w: field %s is a %s, which has no schema to read it by", ErrRefKind, f.Name, f.Kind)
	}
	if !f.IsPointer() {
		n := f.dataBits()
		return Ref{Format: r.Format, T: &f.TypeRef, Pos: [4]uint64{r.Pos[0], uint64(s.dataBytes)<<32 | uint64(f.Offset)*n, f.DefaultBits}}, true, nil
	}
	if int(f.Offset) >= s.ptrCount {
		return cpNullRef(&f.TypeRef), false, nil
	}
	return rd.pointerRef(&f.TypeRef, s.seg, s.ptrs+int(f.Offset))
}

// pointerRef follows the pointer at (seg, w) to a Ref of type t; ok is
// false for a null pointer, whose Ref reads as capnp's getters read it.
func (r *cpReader) pointerRef(t *TypeRef, seg, w int) (Ref, bool, error) {
	if t.Kind == Struct {
		var s cpStruct
		null, err := r.structAt(seg, w, &s)
		if err != nil {
			return Ref{}, false, malformed("%v", err)
		}
		if null {
			return cpNullRef(t), false, nil
		}
		return Ref{Format: CapnProto, T: t, Pos: cpStructPos(s)}, true, nil
	}
	if t.Kind != String && t.Kind != Bytes && t.Kind != Vector {
		return Ref{}, false, fmt.Errorf("%w: a %s has no schema to read it by", ErrRefKind, t.Kind)
	}
	var l cpList
	null, err := r.listAt(seg, w, &l)
	if err != nil {
		return Ref{}, false, malformed("%v", err)
	}
	if null {
		return cpNullRef(t), false, nil
	}
	return Ref{Format: CapnProto, T: t, Pos: cpListPos(l)}, true, nil
}

// cpNullList in a Cap'n Proto Text, Data or List Ref's Pos[2] marks a null
// pointer (no list has it: size codes are below 8).
const cpNullList = 1 << 63

// cpNullRef is the Ref of a null pointer of type t (a struct, Text, Data
// or List): a struct of defaults, as a null root reads; else the list
// the field declares as its default, or an empty one.
func cpNullRef(t *TypeRef) Ref {
	if t.Kind == Struct {
		return Ref{Format: CapnProto, T: t, Pos: cpStructPos(cpStruct{})}
	}
	return Ref{Format: CapnProto, T: t, Pos: [4]uint64{2: cpNullList}}
}

// cpNull reports whether r is a null Cap'n Proto Text, Data or List.
func (r Ref) cpNull() bool {
	return !r.fb() && r.Pos[2] == cpNullList && (r.T.Kind == String || r.T.Kind == Bytes || r.T.Kind == Vector)
}

// cpNullBytes is what a null Text, Data or List of numbers reads as: its
// declared default (read-only, shared by every read), else empty.
func (r Ref) cpNullBytes() []byte {
	if r.T.nullDefault != nil {
		return *r.T.nullDefault
	}
	return nil
}

func (r Ref) cpElem(msg []byte, i int) (Ref, bool, error) {
	if r.cpNull() { // a null list: the elements of its default, if it has one
		el := r.T.Elem
		size := el.scalarKind().scalarSize()
		b := r.cpNullBytes()
		if size == 0 || i >= len(b)/size {
			return Ref{}, false, nil
		}
		var v [8]byte
		copy(v[:], b[i*size:(i+1)*size])
		return Ref{Format: CapnProto, T: el, Pos: [4]uint64{2: binary.LittleEndian.Uint64(v[:])}}, false, nil // the default's bits
	}
	st, err := cpOpen(msg)
	if err != nil {
		return Ref{}, false, err
	}
	defer putCpState(st)
	rd := &st.r
	l, err := rd.listFromPos(r.Pos)
	if err != nil {
		return Ref{}, false, err
	}
	if i >= l.count {
		return Ref{}, false, nil
	}
	el := r.T.Elem
	e := l.element(i)
	switch {
	case el.Kind == Struct:
		if l.size == 1 {
			return Ref{}, false, malformed("expected a list of structs, found a bit list")
		}
		return Ref{Format: r.Format, T: el, Pos: cpStructPos(e)}, true, nil
	case el.Kind == Bool:
		if l.size != 1 {
			return Ref{}, false, malformed("a List(Bool) must be a bit list")
		}
		bytes := uint64(l.count+7) / 8
		return Ref{Format: r.Format, T: el, Pos: [4]uint64{uint64(l.seg)<<32 | uint64(l.start), bytes<<32 | uint64(i)}}, true, nil
	case el.Kind.IsScalar() || el.Kind == Enum:
		if l.size != 7 && uint64(l.stride) != el.dataBits() {
			return Ref{}, false, malformed("expected %d-bit elements, found %d-bit", el.dataBits(), l.stride)
		}
		return Ref{Format: r.Format, T: el, Pos: [4]uint64{uint64(e.seg)<<32 | uint64(e.data), uint64(e.dataBytes) << 32}}, true, nil
	case el.Kind == Void:
		return Ref{Format: CapnProto, T: el}, true, nil
	}
	if l.size != 6 && !(l.size == 7 && l.ptrCount > 0) {
		return Ref{}, false, malformed("expected a list of pointers")
	}
	return rd.pointerRef(el, e.seg, e.ptrs)
}

// elemValues is the Value of each of the first n elements of the list r.
func (r Ref) elemValues(msg []byte, n int) ([]any, error) {
	out := make([]any, n)
	for i := range out {
		e, _, err := r.Elem(msg, i)
		if err == nil {
			out[i], err = e.Value(msg)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
