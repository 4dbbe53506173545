package schema

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/tinylib/msgp/msgp"

	"github.com/crossbuf/crossbuf/go/internal/fault"
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
// changed to fit (see EncodeFlatBuffer). An AnyPointer field takes the bytes
// of a Cap'n Proto message whose root object it copies in (what Decode gives
// for one); interface fields cannot be encoded from a value and are an error
// when present.
func (t *Type) EncodeCapnp(dst []byte, v map[string]any) (msg []byte, err error) {
	return t.encodeCapnp(dst, fieldValue{x: v, given: true})
}

// EncodeCapnpMsgPack is EncodeCapnp of mp, one MessagePack map in the form
// ValueFromMsgPack reads (what msgspec writes for a record class or a
// dict): the same message and the same errors. Structs, groups, lists,
// text and data are read from mp in place, without the dynamic value (see
// EncodeFlatBufferMsgPack).
func (t *Type) EncodeCapnpMsgPack(dst, mp []byte) ([]byte, error) {
	if err := checkMsgPackMap(mp); err != nil {
		return nil, err
	}
	return t.encodeCapnp(dst, fieldValue{mp: mp, given: true})
}

func (t *Type) encodeCapnp(dst []byte, v fieldValue) (msg []byte, err error) {
	if t.Format != CapnProto || t.Kind != Struct {
		return nil, fmt.Errorf("schema: %s is a %s %s, not a Cap'n Proto struct", t.Name, t.Format, t.Kind)
	}
	defer func() {
		// A bug here must reach the caller as an error, never as a panic
		// across the C boundary.
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			msg, err = nil, fmt.Errorf("schema: encode %s: internal error: %v", t.Name, p)
		}
	}()
	stack := valueStacks.Get().(*valueStack)
	defer func() { stack.pop(0); valueStacks.Put(stack) }()
	e := cpEncoder{buf: append(dst[:0], make([]byte, 8)...), valueStack: stack} // the segment table, filled last
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

var valueStacks = sync.Pool{New: func() any { return new(valueStack) }}

// cpEncoder allocates words front to back in one segment, which starts at
// byte 8 of buf.
type cpEncoder struct {
	buf   []byte
	depth int
	*valueStack
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
	if kind == 0 && hi == 0 {
		target = p // an empty struct: offset -1, as capnp writes it, so the pointer is not null
	}
	off := int64(target - p - 1)
	binary.LittleEndian.PutUint64(e.word(p), uint64(uint32(off<<2))|kind|uint64(hi)<<32)
}

// structPtr allocates a struct of type t, points p at it and fills it.
func (e *cpEncoder) structPtr(p int, t *Type, v fieldValue) error {
	if !v.isObject() {
		return failf("want an object for struct %s, got %s", t.Name, v.what())
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	s := e.alloc(int(t.DataWords) + int(t.PointerCount))
	e.setPointer(p, s, 0, uint32(t.DataWords)|uint32(t.PointerCount)<<16)
	return e.fields(t, v, s, s+int(t.DataWords))
}

// fields writes the fields of t (a struct or one of its groups) that v
// holds into the struct whose data section starts at word data and
// pointers at word ptrs.
func (e *cpEncoder) fields(t *Type, v fieldValue, data, ptrs int) error {
	vals := e.push(len(t.Fields)) // by Field.Index
	defer e.pop(vals)
	m, _ := v.x.(map[string]any)
	if err := e.readObject(t, m, v.mp, vals); err != nil {
		return err
	}
	var member *Field
	for _, f := range t.Fields {
		if !e.vals[vals+f.Index].given || f.Discriminant == NoDiscriminant {
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
		if f.Discriminant != NoDiscriminant && f != member {
			continue
		}
		if err := e.field(f, e.vals[vals+f.Index], data, ptrs); err != nil {
			return at(err, f.Name)
		}
	}
	return nil
}

func (e *cpEncoder) field(f *Field, v fieldValue, data, ptrs int) error {
	present := v.present()
	switch f.Kind {
	case Void:
		return nil
	case Group:
		if !present {
			return e.fields(f.Type, fieldValue{}, data, ptrs)
		}
		if !v.isObject() {
			return failf("want an object for group %s, got %s", f.Type.Name, v.what())
		}
		return e.fields(f.Type, v, data, ptrs)
	case Interface:
		if present {
			return failf("a capability cannot be encoded from a value")
		}
		return nil
	}
	if !present {
		return nil // a null pointer, or a zero data field: reads as the default
	}
	if f.IsPointer() {
		return e.pointer(ptrs+int(f.Offset), &f.TypeRef, v)
	}
	n := f.dataBits()
	bits, err := v.scalar(f.scalarKind(), f.Type)
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

// pointer writes the object v of type ref and points word p at it.
// MessagePack strings, bytes, lists and structs are read in place.
func (e *cpEncoder) pointer(p int, ref *TypeRef, v fieldValue) error {
	if ref.Kind == Struct {
		return e.structPtr(p, ref.Type, v)
	}
	if v.mp != nil {
		switch t := msgp.NextType(v.mp); {
		case t == msgp.StrType && ref.Kind == String, t == msgp.BinType && ref.Kind == Bytes:
			b, _ := v.text()
			e.bytesList(p, b, ref.Kind == String)
			return nil
		case t == msgp.ArrayType && ref.Kind == Vector:
			n, items, err := arrayItems(v.mp)
			if err != nil {
				return err
			}
			return e.listOf(p, ref.Elem, n, items.item)
		case t == msgp.StrType && ref.Kind == Bytes:
			return textForBytes() // MessagePack has bytes: base64 text is JSON's form of them
		}
	}
	x, err := v.value()
	if err != nil {
		return err
	}
	switch ref.Kind {
	case String:
		s, ok := x.(string)
		if !ok {
			return failf("want a string, got %s", jsonKind(x))
		}
		e.bytesList(p, []byte(s), true)
		return nil
	case Bytes:
		switch b := x.(type) {
		case []byte:
			e.bytesList(p, b, false)
		case string:
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return failf("data as a string must be base64: %v", err)
			}
			e.bytesList(p, raw, false)
		case []any: // capnp's JSON form: a list of byte values
			raw := make([]byte, len(b))
			for i, v := range b {
				bits, err := scalarBits(Uint8, nil, v)
				if err != nil {
					return failf("data byte %d: %v", i, err)
				}
				raw[i] = byte(bits)
			}
			e.bytesList(p, raw, false)
		default:
			return failf("want bytes (or a list of byte values, or base64 text), got %s", jsonKind(x))
		}
		return nil
	case Vector:
		items, ok := listOf(x)
		if !ok {
			return failf("want a list, got %s", jsonKind(x))
		}
		return e.listOf(p, ref.Elem, len(items), func(i int) (fieldValue, error) { return fieldValue{x: items[i]}, nil })
	case AnyPointer: // the bytes of a message whose root is the object
		var raw []byte
		switch b := x.(type) {
		case []byte:
			raw = b
		case string:
			if raw, err = base64.StdEncoding.DecodeString(b); err != nil {
				return failf("AnyPointer bytes as a string must be base64: %v", err)
			}
		default:
			return failf("want the bytes of a Cap'n Proto message for an AnyPointer, got %s", jsonKind(x))
		}
		return e.setAnyPointer(p, raw)
	}
	return failf("a %s cannot be encoded from a value", ref.Kind)
}

// bytesList writes a list of bytes: Data, or Text with its NUL (text).
func (e *cpEncoder) bytesList(p int, b []byte, text bool) {
	n := len(b)
	if text {
		n++ // the NUL: alloc zeroes it
	}
	w := e.alloc((n + 7) / 8)
	copy(e.buf[8+w*wordBytes:], b)
	e.setPointer(p, w, 1, 2|uint32(n)<<3)
}

// listOf writes a list of n elements of type el, which item yields in
// order, and points word p at it.
func (e *cpEncoder) listOf(p int, el *TypeRef, n int, item func(i int) (fieldValue, error)) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
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
		for i := range n {
			it, err := item(i)
			if err == nil {
				if !it.isObject() {
					err = failf("want an object for struct %s, got %s", st.Name, it.what())
				}
			}
			if err == nil {
				s := tag + 1 + i*size
				err = e.enterStruct(st, it, s)
			}
			if err != nil {
				return atIndex(err, i)
			}
		}
		return nil
	case el.Kind == Bool || el.Kind.IsScalar() || el.Kind == Enum:
		bitsPer := el.dataBits()
		code := uint32(1) // the list pointer's element size: 1 bit
		if bitsPer > 1 {
			code = uint32(bits.TrailingZeros64(bitsPer)) - 1 // 8, 16, 32, 64 bits: 2 to 5
		}
		w := e.alloc(int((uint64(n)*bitsPer + 63) / 64))
		for i := range n {
			it, err := item(i)
			var bits uint64
			if err == nil {
				bits, err = it.scalar(el.scalarKind(), el.Type)
			}
			if err != nil {
				return atIndex(err, i)
			}
			e.putBits(w, uint64(i)*bitsPer, bitsPer, bits)
		}
		e.setPointer(p, w, 1, code|uint32(n)<<3)
		return nil
	}
	// Pointer elements: Text, Data, lists.
	w := e.alloc(n)
	e.setPointer(p, w, 1, 6|uint32(n)<<3)
	for i := range n {
		it, err := item(i)
		if err == nil && it.present() {
			err = e.pointer(w+i, el, it)
		}
		if err != nil {
			return atIndex(err, i)
		}
	}
	return nil
}

func (e *cpEncoder) enterStruct(st *Type, v fieldValue, s int) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	return e.fields(st, v, s, s+int(st.DataWords))
}
