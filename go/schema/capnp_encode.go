package schema

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// EncodeCapnp builds a Cap'n Proto message (stream framing, one segment) of
// struct type t from v, a dynamic value in the form Decode returns or as
// encoding/json parses a JSON object (see EncodeFlatBuffer for numbers,
// enums by name, and Data as []byte or base64). It appends to dst[:0] and
// returns the message, so a dst with enough capacity (a region slot) is
// built in place.
//
// A union takes the one member present (two members are an error); absent
// pointer fields stay null and read as their defaults; data fields are
// stored XORed with their defaults, as the format requires. Values are never
// changed to fit (see EncodeFlatBuffer). AnyPointer and interface fields
// cannot be encoded from a dynamic value and are an error when present.
func (t *Type) EncodeCapnp(dst []byte, v map[string]any) (msg []byte, err error) {
	if t.Format != CapnProto || t.Kind != Struct {
		return nil, fmt.Errorf("schema: %s is a %s %s, not a Cap'n Proto struct", t.Name, t.Format, t.Kind)
	}
	e := cpEncoder{buf: append(dst[:0], make([]byte, 8)...)} // the segment table, filled last
	root := e.alloc(1)
	if err := e.structPtr(root, t, v); err != nil {
		return nil, toEncodeError(t, err)
	}
	words := (len(e.buf) - 8) / wordBytes
	if uint64(words) >= 1<<32 {
		return nil, fmt.Errorf("schema: encode %s: message of %d words does not fit one segment", t.Name, words)
	}
	binary.LittleEndian.PutUint32(e.buf[0:], 0) // one segment
	binary.LittleEndian.PutUint32(e.buf[4:], uint32(words))
	return e.buf, nil
}

// cpEncoder allocates words front to back in one segment, which starts at
// byte 8 of buf.
type cpEncoder struct {
	buf   []byte
	depth int
}

// alloc reserves n zeroed words and returns the word index of the first.
func (e *cpEncoder) alloc(n int) int {
	w := (len(e.buf) - 8) / wordBytes
	e.buf = append(e.buf, make([]byte, n*wordBytes)...)
	return w
}

func (e *cpEncoder) word(w int) []byte { return e.buf[8+w*wordBytes : 8+(w+1)*wordBytes] }

func (e *cpEncoder) enter() error {
	if e.depth++; e.depth > defaultMaxDepth {
		return failf("nesting deeper than %d levels", defaultMaxDepth)
	}
	return nil
}

// setPointer writes at word p a pointer of kind (0 struct, 1 list) to the
// object at word target, with the upper 32 bits hi.
func (e *cpEncoder) setPointer(p, target int, kind uint64, hi uint32) {
	off := int64(target - p - 1)
	binary.LittleEndian.PutUint64(e.word(p), uint64(uint32(off<<2))|kind|uint64(hi)<<32)
}

// structPtr allocates a struct of type t, points p at it and fills it.
func (e *cpEncoder) structPtr(p int, t *Type, x any) error {
	m, ok := x.(map[string]any)
	if !ok {
		return failf("want an object for struct %s, got %T", t.Name, x)
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	s := e.alloc(int(t.DataWords) + int(t.PointerCount))
	e.setPointer(p, s, 0, uint32(t.DataWords)|uint32(t.PointerCount)<<16)
	return e.fields(t, m, s, s+int(t.DataWords))
}

// fields writes m's fields of t (a struct or one of its groups) into the
// struct whose data section starts at word data and pointers at word ptrs.
func (e *cpEncoder) fields(t *Type, m map[string]any, data, ptrs int) error {
	for name := range m {
		if t.Field(name) == nil {
			return at(failf("no such field in %s", t.Name), name)
		}
	}
	var member *Field
	for _, f := range t.Fields {
		if _, ok := m[f.Name]; !ok || f.Discriminant == NoDiscriminant {
			continue
		}
		if member != nil {
			return at(failf("union members %s and %s are both set", member.Name, f.Name), f.Name)
		}
		member = f
	}
	if t.DiscriminantCount > 0 {
		d := uint16(0)
		if member != nil {
			d = member.Discriminant
		} else {
			// No member given: the union keeps its first member (discriminant 0).
			for _, f := range t.Fields {
				if f.Discriminant == 0 {
					member = f
				}
			}
		}
		e.putBits(data, uint64(t.DiscriminantOffset)*16, 16, uint64(d))
	}
	for _, f := range t.Fields {
		x, ok := m[f.Name]
		if f.Discriminant != NoDiscriminant && f != member {
			continue
		}
		if err := e.field(f, x, ok, data, ptrs); err != nil {
			return at(err, f.Name)
		}
	}
	return nil
}

func (e *cpEncoder) field(f *Field, x any, present bool, data, ptrs int) error {
	switch f.Kind {
	case Void:
		return nil
	case Group:
		if !present || x == nil {
			return e.fields(f.Type, map[string]any{}, data, ptrs)
		}
		g, ok := x.(map[string]any)
		if !ok {
			return failf("want an object for group %s, got %T", f.Type.Name, x)
		}
		return e.fields(f.Type, g, data, ptrs)
	case Interface, AnyPointer:
		if present && x != nil {
			return failf("a %s cannot be encoded from a value", f.Kind)
		}
		return nil
	}
	if f.IsPointer() {
		if !present || x == nil {
			return nil // null: reads as the default
		}
		return e.pointer(ptrs+int(f.Offset), &f.TypeRef, x)
	}
	// A data field: absent stores zero, which reads as the default.
	if !present || x == nil {
		return nil
	}
	n := f.dataBits()
	bits, err := scalarBits(f.scalarKind(), f.Type, x)
	if err != nil {
		return err
	}
	e.putBits(data, uint64(f.Offset)*n, n, bits^f.DefaultBits)
	return nil
}

// putBits stores the low n bits of v at bit offset off from word base.
func (e *cpEncoder) putBits(base int, off, n uint64, v uint64) {
	b := e.buf[8+base*wordBytes:]
	if n == 1 {
		if v&1 != 0 {
			b[off/8] |= 1 << (off % 8)
		}
		return
	}
	for i := uint64(0); i < n/8; i++ {
		b[off/8+i] = byte(v >> (8 * i))
	}
}

// pointer writes the object x of type ref and points word p at it.
func (e *cpEncoder) pointer(p int, ref *TypeRef, x any) error {
	switch ref.Kind {
	case Struct:
		return e.structPtr(p, ref.Type, x)
	case String:
		s, ok := x.(string)
		if !ok {
			return failf("want a string, got %T", x)
		}
		e.bytesList(p, append([]byte(s), 0))
		return nil
	case Bytes:
		switch b := x.(type) {
		case []byte:
			e.bytesList(p, b)
		case string:
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return failf("data as a string must be base64: %v", err)
			}
			e.bytesList(p, raw)
		default:
			return failf("want bytes, got %T", x)
		}
		return nil
	case Vector:
		items, ok := x.([]any)
		if !ok {
			return failf("want a list, got %T", x)
		}
		if err := e.enter(); err != nil {
			return err
		}
		defer func() { e.depth-- }()
		return e.list(p, ref.Elem, items)
	}
	return failf("a %s cannot be encoded from a value", ref.Kind)
}

// bytesList writes a list of bytes (Text with its NUL, or Data).
func (e *cpEncoder) bytesList(p int, b []byte) {
	w := e.alloc((len(b) + 7) / 8)
	copy(e.buf[8+w*wordBytes:], b)
	e.setPointer(p, w, 1, 2|uint32(len(b))<<3)
}

func (e *cpEncoder) list(p int, el *TypeRef, items []any) error {
	n := len(items)
	if n >= 1<<29 {
		return failf("list of %d elements is too long", n)
	}
	switch {
	case el.Kind == Void:
		e.setPointer(p, e.alloc(0), 1, 0|uint32(n)<<3)
		return nil
	case el.Kind == Struct:
		st := el.Type
		size := int(st.DataWords) + int(st.PointerCount)
		if uint64(n)*uint64(size) >= 1<<29 {
			return failf("list of %d structs is too long", n)
		}
		tag := e.alloc(1 + n*size)
		// The tag word is shaped like a struct pointer whose offset is the count.
		binary.LittleEndian.PutUint64(e.word(tag), uint64(uint32(n)<<2)|uint64(st.DataWords)<<32|uint64(st.PointerCount)<<48)
		e.setPointer(p, tag, 1, 7|uint32(n*size)<<3)
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return atIndex(failf("want an object for struct %s, got %T", st.Name, it), i)
			}
			s := tag + 1 + i*size
			if err := e.enterStruct(st, m, s); err != nil {
				return atIndex(err, i)
			}
		}
		return nil
	case el.Kind == Bool || el.Kind.IsScalar() || el.Kind == Enum:
		bitsPer := el.dataBits()
		code := map[uint64]uint32{1: 1, 8: 2, 16: 3, 32: 4, 64: 5}[bitsPer]
		w := e.alloc(int((uint64(n)*bitsPer + 63) / 64))
		for i, it := range items {
			v, err := scalarBits(el.scalarKind(), el.Type, it)
			if err != nil {
				return atIndex(err, i)
			}
			e.putBits(w, uint64(i)*bitsPer, bitsPer, v)
		}
		e.setPointer(p, w, 1, code|uint32(n)<<3)
		return nil
	}
	// Pointer elements: Text, Data, lists.
	w := e.alloc(n)
	e.setPointer(p, w, 1, 6|uint32(n)<<3)
	for i, it := range items {
		if it == nil {
			continue
		}
		if err := e.pointer(w+i, el, it); err != nil {
			return atIndex(err, i)
		}
	}
	return nil
}

func (e *cpEncoder) enterStruct(st *Type, m map[string]any, s int) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	return e.fields(st, m, s, s+int(st.DataWords))
}
