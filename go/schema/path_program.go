package schema

import (
	"encoding/binary"
	"math"
)

// A path's program is the path's compiled steps as bytes, for readers in
// other languages that read a field in place, without a call into this
// library per message (the Python package reads region frames this way:
// one call into Go costs more than the walk). A program covers the common
// paths only; Program returns nil for the others, and a reader that finds
// anything unusual in a message (an offset out of bounds, a null or far
// pointer, an unselected union member) must ask the library instead, which
// gives the value or the error. A program therefore never has to reproduce
// an error, only the values of well-formed messages.
//
// Layout, little-endian (crossbuf.h documents the same, for C bindings):
//
//	0  u8  ProgramVersion
//	1  u8  format: 1 FlatBuffers, 2 Cap'n Proto
//	2  u8  leaf: 1 integer, 2 float, 3 bool, 4 string, 5 bytes, 6 array
//	       (a vector, list or fixed array of scalars)
//	3  u8  leaf size in bytes (scalars, and an array's elements; 0 otherwise)
//	4  u8  flags: ProgSigned (a signed integer, or array of them),
//	       ProgDefault (an absent FlatBuffers leaf reads as the default bits;
//	       else it is absent), ProgFixed (the array is a FlatBuffers fixed
//	       array, inline in its struct; its length is the u64 at 8)
//	5  u8  number of steps
//	6  u8  an array's element: 1 integer, 2 float, 3 bool (0 otherwise)
//	7  u8  0
//	8  u64 default bits (FlatBuffers: the value of an absent scalar leaf;
//	       Cap'n Proto: XORed with the stored bits); a fixed array's length
//	16 steps, ProgramStepSize bytes each
//
// An array leaf reads as the elements in place: a FlatBuffers vector
// (its offset is where the steps end, its length before its elements) or
// fixed array, a Cap'n Proto list whose element size is the leaf size.
//
// A FlatBuffers step: u8 op (ProgTableField, ProgStructField, ProgElement,
// ProgUnionMember), u8 flags (ProgFollow: follow the offset found there
// unless this is the last step), u8 union tag, u8 0, u16 slot (the field's
// vtable offset, or its byte offset in a struct), u16 the union's type
// field's vtable offset, u32 the inline size of the field or element, u32
// the element index. The walk is Path.walk's.
//
// A Cap'n Proto program has one step, a field of the root struct of a
// one-segment message: u8 op (ProgDataField, ProgPointerField), u8 flags
// (ProgUnion: the discriminant must equal the value below), u16 the
// discriminant's offset in 16-bit units, u16 its value, u16 0, u32 the
// field's byte offset in the data section or its pointer index, u32 0,
// u32 0.
const (
	ProgramVersion  = 1
	ProgramStepSize = 16
	programHeader   = 16

	ProgSigned  = 1
	ProgDefault = 2
	ProgFixed   = 4

	ProgTableField   = 1
	ProgStructField  = 2
	ProgElement      = 3
	ProgUnionMember  = 4
	ProgDataField    = 5
	ProgPointerField = 6

	ProgFollow = 1
	ProgUnion  = 1

	progInt, progFloat, progBool, progString, progBytes, progArray = 1, 2, 3, 4, 5, 6
)

// Program returns the path's program (see the constants above), or nil
// when the path needs this library's reader.
func (p *Path) Program() []byte {
	leaf, size, flags, ok := p.programLeaf()
	if !ok {
		return nil
	}
	hdr := make([]byte, programHeader, programHeader+ProgramStepSize*max(len(p.steps), 1))
	hdr[0], hdr[2], hdr[3], hdr[4] = ProgramVersion, leaf, byte(size), flags
	if leaf == progArray {
		hdr[6], _, _ = scalarClass(p.leaf.Elem.scalarKind())
		if p.leaf.Kind == Array {
			hdr[4] |= ProgFixed
			binary.LittleEndian.PutUint64(hdr[8:], uint64(p.leaf.Len))
		}
	}
	if p.root.Format == CapnProto {
		return p.capnpProgram(hdr)
	}
	hdr[1] = 1
	if len(p.steps) > math.MaxUint8 {
		return nil
	}
	hdr[5] = byte(len(p.steps))
	if size > 0 && leaf != progArray { // a scalar leaf: what reads in its place when its table lacks it
		last := p.steps[len(p.steps)-1]
		if last.kind == stepTableField && !p.field.Optional {
			bits := uint64(0)
			if p.field.Default != nil {
				var err error
				if bits, err = scalarBits(p.leaf.scalarKind(), p.field.Type, p.field.Default); err != nil {
					return nil
				}
			}
			hdr[4] |= ProgDefault
			binary.LittleEndian.PutUint64(hdr[8:], bits)
		}
	}
	out := hdr
	for _, s := range p.steps {
		var b [ProgramStepSize]byte
		switch s.kind {
		case stepTableField:
			b[0] = ProgTableField
			if s.ref {
				b[1] = ProgFollow
			}
		case stepStructField:
			b[0] = ProgStructField
		case stepIndex:
			b[0] = ProgElement
			if s.follow {
				b[1] = ProgFollow
			}
			if s.index > math.MaxUint32 {
				return nil
			}
		case stepUnion:
			b[0], b[1], b[2] = ProgUnionMember, ProgFollow, s.tag
		default:
			return nil
		}
		if s.size < 0 || s.size > math.MaxUint32 {
			return nil
		}
		binary.LittleEndian.PutUint16(b[4:], s.slot)
		binary.LittleEndian.PutUint16(b[6:], s.tagPos)
		binary.LittleEndian.PutUint32(b[8:], uint32(s.size))
		binary.LittleEndian.PutUint32(b[12:], uint32(s.index))
		out = append(out, b[:]...)
	}
	return out
}

// programLeaf is what the program's header says of the leaf; ok is false
// for leaves a program does not read (Cap'n Proto bools and lists of
// them, which are bits; an enum whose integers may not fit an int64).
func (p *Path) programLeaf() (leaf byte, size int, flags byte, ok bool) {
	el := p.leaf
	switch {
	case el.Kind == String:
		return progString, 0, 0, true
	case el.Kind == Bytes, p.root.Format == FlatBuffers && el.Kind == Vector && (el.Elem.Kind == Uint8 || el.Elem.Kind == Int8):
		return progBytes, 0, 0, true
	case el.Kind == Vector || el.Kind == Array:
		k := el.Elem.scalarKind()
		_, size, flags = scalarClass(k)
		if size == 0 || p.root.Format == CapnProto && k == Bool {
			return 0, 0, 0, false
		}
		return progArray, size, flags, true
	}
	k := el.scalarKind()
	leaf, size, flags = scalarClass(k)
	switch {
	case size == 0 || p.root.Format == CapnProto && k == Bool: // Cap'n Proto bools are bits
		return 0, 0, 0, false
	case k == Uint64 && el.Kind != Uint64: // an enum read as an int64 (Path.Int): a range check the library makes
		return 0, 0, 0, false
	}
	return leaf, size, flags, true
}

// scalarClass is how a program names a scalar kind: integer, float or bool,
// its size, and ProgSigned for signed integers (size 0: no scalar).
func scalarClass(k Kind) (class byte, size int, flags byte) {
	size = k.scalarSize()
	switch {
	case size == 0 || !k.IsScalar():
		return 0, 0, 0
	case k == Bool:
		return progBool, size, 0
	case k == Float32 || k == Float64:
		return progFloat, size, 0
	case k.IsSigned():
		return progInt, size, ProgSigned
	}
	return progInt, size, 0
}

// capnpProgram is the Cap'n Proto program of a field of the root struct.
func (p *Path) capnpProgram(hdr []byte) []byte {
	if len(p.cp) != 1 || p.cp[0].kind != cpField || len(p.cp[0].unions) > 1 {
		return nil
	}
	s := &p.cp[0]
	f := s.f
	hdr[1], hdr[5] = 2, 1
	var b [ProgramStepSize]byte
	if len(s.unions) == 1 {
		b[1] = ProgUnion
		binary.LittleEndian.PutUint16(b[2:], uint16(s.unions[0].offset))
		binary.LittleEndian.PutUint16(b[4:], s.unions[0].value)
		if s.unions[0].offset > math.MaxUint16 {
			return nil
		}
	}
	if f.IsPointer() {
		b[0] = ProgPointerField
		binary.LittleEndian.PutUint32(b[8:], f.Offset)
	} else {
		size := uint64(hdr[3])
		if uint64(f.Offset)*size > math.MaxUint32 {
			return nil
		}
		b[0] = ProgDataField
		binary.LittleEndian.PutUint32(b[8:], f.Offset*uint32(size))
		binary.LittleEndian.PutUint64(hdr[8:], f.DefaultBits&mask(uint(size*8)))
	}
	return append(hdr, b[:]...)
}
