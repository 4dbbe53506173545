package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"capnproto.org/go/capnp/v3/packed"
	"github.com/tinylib/msgp/msgp"
)

// The Cap'n Proto reader walks a message by the plan of its root struct,
// verifying as it goes and, when asked, building the dynamic value in the
// same pass. It reads the wire format itself, over any number of segments,
// because it must report what go-capnp's accessors silently turn into zero
// values (mismatched list encodings, unterminated text). Single-segment and
// multi-segment messages go through the same code: a far pointer is resolved
// to the same (segment, word) position a near pointer gives, and every later
// check is shared, so both framings reject the same hostile content.
//
// Checks, after the C++ reference: segment table sane (at most 512
// segments, sizes inside the bytes, nothing after them); every object inside
// its segment; far pointers land inside a segment, on a landing pad that is
// not itself a far pointer (double-far: a far pointer plus a tag word), so
// far-pointer chains cannot loop; list encodings compatible with the schema's
// element type; text NUL-terminated; a traversal budget in words, charged on
// every dereference (lists of zero-sized elements are charged one word per
// element, against amplification); a nesting depth limit.
type cpReader struct {
	segs   [][]byte
	budget uint64
	// limit and maxDepth are the Options' TraverseLimitWords and MaxDepth.
	limit    uint64
	maxDepth int
	depth    int
	build    bool
	a        *arena // where Decode's records live
	// mp, when set, receives the message as MessagePack (see fbWalker).
	mp *mpWriter
	// inNull is set while a null struct pointer is read as its defaults:
	// a null struct below it is not expanded again (a union whose first
	// member is its own struct would recurse for ever).
	inNull bool
}

// cpStruct and cpList are filled field by field, not from composite
// literals: a literal is built in a temporary and copied with wide moves that
// stall on the narrow stores just made, which cost more than the read itself.

// cpStruct is a struct's location: its data section in bytes (lists of
// primitives read as structs have sub-word data sections) and its pointers.
type cpStruct struct {
	seg       int
	data      int // byte offset of the data section
	dataBytes int
	ptrs      int // word index of the pointer section
	ptrCount  int
}

// cpList is a list's location and encoding.
type cpList struct {
	seg       int
	start     int // byte offset of element 0
	count     int
	size      uint8 // element size code: 0 void .. 6 pointer, 7 composite
	stride    int   // bits per element (composite: bytes*8 of a whole element)
	dataBytes int   // composite: data section bytes per element
	ptrCount  int   // composite: pointers per element
}

const (
	maxSegments = 512
	wordBytes   = 8
)

func walkCapnp(t *Type, msg []byte, o *Options, build bool, mp *mpWriter) (*Record, error) {
	framing := o.Framing
	if framing == Packed {
		var err error
		if msg, err = unpack(msg, o.traverseLimit(len(msg))); err != nil {
			return nil, &DataError{Format: CapnProto, Type: t.Name, Reason: err.Error()}
		}
		framing = Stream
	}
	segs, err := splitSegments(msg, framing)
	if err != nil {
		return nil, &DataError{Format: CapnProto, Type: t.Name, Reason: err.Error()}
	}
	limit := o.traverseLimit(len(msg))
	r := &cpReader{segs: segs, budget: limit, limit: limit, maxDepth: o.MaxDepth, build: build, mp: mp}
	if build {
		r.a = newArena(len(msg))
	}
	ri, err := r.root(t)
	if err != nil {
		return nil, toDataError(CapnProto, t, err)
	}
	if !build {
		return nil, nil
	}
	return &Record{r.a, ri}, nil
}

// unpack decodes the packed encoding after measuring its output, so that a
// few hostile bytes (a zero run tag claims 256 words) cannot make it
// allocate more than limitWords words.
func unpack(src []byte, limitWords uint64) ([]byte, error) {
	var words uint64
	for i := 0; i < len(src); {
		tag := src[i]
		i++
		switch tag {
		case 0x00:
			if i >= len(src) {
				return nil, errors.New("packed message ends inside a zero run")
			}
			words += 1 + uint64(src[i])
			i++
		case 0xff:
			if i+9 > len(src) {
				return nil, errors.New("packed message ends inside a literal run")
			}
			n := int(src[i+8])
			words += 1 + uint64(n)
			i += 9 + 8*n
			if i > len(src) {
				return nil, errors.New("packed message ends inside a literal run")
			}
		default:
			words++
			i += bits.OnesCount8(tag)
			if i > len(src) {
				return nil, errors.New("packed message ends inside a word")
			}
		}
		if words > limitWords {
			return nil, fmt.Errorf("packed message unpacks to more than the traversal limit of %d words", limitWords)
		}
	}
	out, err := packed.Unpack(make([]byte, 0, words*wordBytes), src)
	if err != nil {
		return nil, fmt.Errorf("packed message: %v", err)
	}
	return out, nil
}

func splitSegments(msg []byte, framing Framing) ([][]byte, error) {
	if framing == Flat {
		if len(msg) == 0 || len(msg)%wordBytes != 0 {
			return nil, failf("a flat message is a whole number of words, not %d bytes", len(msg))
		}
		return [][]byte{msg}, nil
	}
	if len(msg) < 8 {
		return nil, failf("message of %d bytes has no segment table", len(msg))
	}
	n := uint64(binary.LittleEndian.Uint32(msg)) + 1
	if n > maxSegments {
		return nil, failf("message claims %d segments (at most %d)", n, maxSegments)
	}
	header := (4 + 4*n + 7) &^ 7
	if header > uint64(len(msg)) {
		return nil, failf("segment table of %d segments is longer than the %d-byte message", n, len(msg))
	}
	segs := make([][]byte, n)
	off := header
	for i := uint64(0); i < n; i++ {
		size := uint64(binary.LittleEndian.Uint32(msg[4+4*i:])) * wordBytes
		if size > uint64(len(msg))-off {
			return nil, failf("segment %d (%d bytes) runs past the end of the %d-byte message", i, size, len(msg))
		}
		segs[i] = msg[off : off+size]
		off += size
	}
	if off != uint64(len(msg)) {
		return nil, failf("%d bytes follow the last segment", uint64(len(msg))-off)
	}
	return segs, nil
}

func (r *cpReader) word(seg, w int) uint64 {
	return binary.LittleEndian.Uint64(r.segs[seg][w*wordBytes:])
}

func (r *cpReader) words(seg int) int { return len(r.segs[seg]) / wordBytes }

func (r *cpReader) charge(words uint64) error {
	if words > r.budget {
		return failf("traversal limit of %d words exceeded", r.limit)
	}
	r.budget -= words
	return nil
}

func (r *cpReader) root(t *Type) (int, error) {
	if r.words(0) == 0 {
		return 0, failf("first segment is empty: no root pointer")
	}
	var st cpStruct // a null root reads as the default struct
	if _, err := r.structAt(0, 0, &st); err != nil {
		return 0, at(err, "(root)")
	}
	v, err := r.structValue(t, st)
	return int(v.bits), err
}

// resolve follows the pointer at (seg, w), through far pointers, to the
// object's segment, the word where its content starts and the pointer word
// describing it (the tag). A null pointer gives tag 0.
func (r *cpReader) resolve(seg, w int) (int, int, uint64, error) {
	p := r.word(seg, w)
	if p == 0 {
		return 0, 0, 0, nil
	}
	if p&3 != 2 {
		return seg, w + 1 + int(int32(uint32(p))>>2), p, nil
	}
	double := p&4 != 0
	padSeg := int(p >> 32)
	pad := int(uint32(p) >> 3)
	padWords := 1
	if double {
		padWords = 2
	}
	if padSeg >= len(r.segs) || pad+padWords > r.words(padSeg) {
		return 0, 0, 0, failf("far pointer to segment %d word %d is outside the message", padSeg, pad)
	}
	lp := r.word(padSeg, pad)
	if !double {
		if lp&3 == 2 {
			return 0, 0, 0, failf("far pointer lands on another far pointer")
		}
		if lp == 0 {
			return 0, 0, 0, failf("far pointer lands on a null pointer")
		}
		return padSeg, pad + 1 + int(int32(uint32(lp))>>2), lp, nil
	}
	if lp&3 != 2 || lp&4 != 0 {
		return 0, 0, 0, failf("double-far landing pad does not start with a single far pointer")
	}
	tag := r.word(padSeg, pad+1)
	if tag&3 == 2 {
		return 0, 0, 0, failf("double-far landing pad tag is a far pointer")
	}
	contentSeg := int(lp >> 32)
	if contentSeg >= len(r.segs) {
		return 0, 0, 0, failf("double-far pointer to segment %d is outside the message", contentSeg)
	}
	return contentSeg, int(uint32(lp) >> 3), tag, nil
}

// inSegment reports whether words [w, w+n) lie inside segment seg.
func (r *cpReader) inSegment(seg, w int, n uint64) bool {
	return w >= 0 && uint64(w)+n <= uint64(r.words(seg))
}

// structAt reads the struct pointer at (seg, w) into st; null reports a
// null pointer. (Results go through pointers: copying these structs out by
// value costs as much as the read.)
func (r *cpReader) structAt(seg, w int, st *cpStruct) (null bool, err error) {
	s, target, tag, err := r.resolve(seg, w)
	if err != nil || tag == 0 {
		return tag == 0 && err == nil, err
	}
	if tag&3 != 0 {
		return false, failf("expected a struct pointer, found a %s", ptrKind(tag))
	}
	dw, pc := int(uint16(tag>>32)), int(uint16(tag>>48))
	if !r.inSegment(s, target, uint64(dw+pc)) {
		return false, failf("struct of %d words at word %d is outside segment %d", dw+pc, target, s)
	}
	if err := r.charge(uint64(dw + pc)); err != nil {
		return false, err
	}
	st.seg, st.data, st.dataBytes, st.ptrs, st.ptrCount = s, target*wordBytes, dw*wordBytes, target+dw, pc
	return false, nil
}

func ptrKind(tag uint64) string {
	return [...]string{"struct pointer", "list pointer", "far pointer", "capability"}[tag&3]
}

var elemBits = [8]int{0, 1, 8, 16, 32, 64, 64, 0}

// listAt reads the list pointer at (seg, w) into l; null reports a null pointer.
func (r *cpReader) listAt(seg, w int, l *cpList) (null bool, err error) {
	s, target, tag, err := r.resolve(seg, w)
	if err != nil || tag == 0 {
		return tag == 0 && err == nil, err
	}
	if tag&3 != 1 {
		return false, failf("expected a list pointer, found a %s", ptrKind(tag))
	}
	size := uint8(tag>>32) & 7
	n := uint64(tag >> 35)
	if size != 7 {
		bits := uint64(elemBits[size])
		words := (n*bits + 63) / 64
		if !r.inSegment(s, target, words) {
			return false, failf("list of %d elements at word %d is outside segment %d", n, target, s)
		}
		charge := words
		if bits == 0 {
			charge = n
		}
		if err := r.charge(charge); err != nil {
			return false, err
		}
		l.seg, l.start, l.count, l.size, l.stride, l.dataBytes, l.ptrCount = s, target*wordBytes, int(n), size, int(bits), 0, 0
		return false, nil
	}
	// Composite: n is the word count after the tag word.
	if !r.inSegment(s, target, n+1) {
		return false, failf("composite list of %d words at word %d is outside segment %d", n, target, s)
	}
	t := r.word(s, target)
	if t&3 != 0 {
		return false, failf("composite list tag is not a struct tag")
	}
	count := uint64(uint32(t) >> 2)
	dw, pc := uint64(uint16(t>>32)), uint64(uint16(t>>48))
	if count*(dw+pc) > n {
		return false, failf("composite list of %d elements of %d words overruns its %d words", count, dw+pc, n)
	}
	charge := n + 1
	if dw+pc == 0 {
		charge += count
	}
	if err := r.charge(charge); err != nil {
		return false, err
	}
	l.seg, l.start, l.count, l.size = s, (target+1)*wordBytes, int(count), 7
	l.stride, l.dataBytes, l.ptrCount = int(dw+pc)*64, int(dw)*wordBytes, int(pc)
	return false, nil
}

// element returns list element i viewed as a struct.
func (l *cpList) element(i int) cpStruct {
	if l.size == 7 {
		base := l.start + i*l.stride/8
		return cpStruct{seg: l.seg, data: base, dataBytes: l.dataBytes, ptrs: (base + l.dataBytes) / wordBytes, ptrCount: l.ptrCount}
	}
	if l.size == 6 {
		return cpStruct{seg: l.seg, ptrs: l.start/wordBytes + i, ptrCount: 1}
	}
	return cpStruct{seg: l.seg, data: l.start + i*l.stride/8, dataBytes: l.stride / 8}
}

// bits reads n bits at bit offset off of a struct's data section (zero
// beyond its end, where an older writer stopped).
func (r *cpReader) bits(st cpStruct, off, n uint64) uint64 {
	if (off+n+7)/8 > uint64(st.dataBytes) {
		return 0
	}
	b := r.segs[st.seg][st.data+int(off/8):]
	switch n {
	case 1:
		return uint64(b[0]>>(off%8)) & 1
	case 8:
		return uint64(b[0])
	case 16:
		return uint64(binary.LittleEndian.Uint16(b))
	case 32:
		return uint64(binary.LittleEndian.Uint32(b))
	default:
		return binary.LittleEndian.Uint64(b)
	}
}

func (r *cpReader) enter() error {
	r.depth++
	if r.depth > r.maxDepth {
		return failf("nesting deeper than %d", r.maxDepth)
	}
	return nil
}

func (r *cpReader) structValue(t *Type, st cpStruct) (slot, error) {
	if err := r.enter(); err != nil {
		return slot{}, err
	}
	rec := 0
	if r.build {
		rec = r.a.record(t, len(t.Fields))
	}
	if err := r.fields(t, st, rec); err != nil {
		return slot{}, err
	}
	r.depth--
	if r.mp != nil {
		return written, nil
	}
	if !r.build {
		return slot{}, nil
	}
	return r.a.recordValue(rec), nil
}

// fields reads t's fields (t is the struct or one of its groups) into
// record rec.
func (r *cpReader) fields(t *Type, st cpStruct, rec int) error {
	disc := uint64(NoDiscriminant)
	if t.DiscriminantCount > 0 {
		disc = r.bits(st, uint64(t.DiscriminantOffset)*16, 16)
	}
	var obj mpObject
	if r.mp != nil {
		obj = r.mp.beginMap()
	}
	for i, f := range t.Fields {
		if f.Discriminant != NoDiscriminant && uint64(f.Discriminant) != disc {
			continue
		}
		key := 0
		if r.mp != nil {
			key = r.mp.key(f.Name)
		}
		v, present, err := r.field(f, st)
		if err != nil {
			return at(err, f.Name)
		}
		if !present && f.Discriminant != NoDiscriminant {
			// The active member of a union is always given, so its variant
			// survives decoding and encoding again: a null pointer reads as
			// capnp's getter reads it (see nullPointer).
			if v, err = r.nullPointer(&f.TypeRef, f.Default); err != nil {
				return at(err, f.Name)
			}
			present = true
		}
		if r.build && present {
			r.a.set(rec, i, v)
		}
		if r.mp != nil {
			r.mp.entry(&obj, key, present)
		}
	}
	if r.mp != nil {
		r.mp.endMap(obj)
	}
	return nil
}

func (r *cpReader) field(f *Field, st cpStruct) (slot, bool, error) {
	switch f.Kind {
	case Interface:
		// A capability has no value here: null when set, left out when
		// the pointer is null, as capnp's JSON codec does.
		if int(f.Offset) >= st.ptrCount || r.word(st.seg, st.ptrs+int(f.Offset)) == 0 {
			return slot{}, false, nil
		}
		fallthrough
	case Void:
		if r.mp != nil {
			r.mp.null()
		}
		return null, true, nil
	case AnyPointer:
		if int(f.Offset) >= st.ptrCount {
			return slot{}, false, nil
		}
		return r.anyPointerValue(st.seg, st.ptrs+int(f.Offset))
	case Group:
		g := 0
		if r.build {
			g = r.a.record(f.Type, len(f.Type.Fields))
		}
		if err := r.fields(f.Type, st, g); err != nil || !r.build {
			return slot{}, true, err
		}
		return r.a.recordValue(g), true, nil
	}
	if !f.IsPointer() {
		n := f.dataBits()
		bits := r.bits(st, uint64(f.Offset)*n, n) ^ f.DefaultBits
		if r.mp != nil {
			r.mp.scalarBits(f.scalarKind(), bits)
		}
		if !r.build {
			return slot{}, true, nil
		}
		return scalarBitsValue(f.scalarKind(), bits&mask(uint(n))), true, nil
	}
	if int(f.Offset) >= st.ptrCount {
		return slot{}, false, nil // a null pointer: left out
	}
	return r.pointer(&f.TypeRef, st.seg, st.ptrs+int(f.Offset))
}

// pointer reads the value of type ref at pointer (seg, w); present is false
// for a null pointer.
func (r *cpReader) pointer(ref *TypeRef, seg, w int) (slot, bool, error) {
	switch ref.Kind {
	case Struct:
		var st cpStruct
		null, err := r.structAt(seg, w, &st)
		if err != nil || null {
			return slot{}, false, err
		}
		v, err := r.structValue(ref.Type, st)
		return v, err == nil, err
	case AnyPointer:
		return r.anyPointerValue(seg, w)
	case Interface:
		if r.mp != nil {
			r.mp.null()
		}
		return null, true, nil
	}
	var l cpList
	isNull, err := r.listAt(seg, w, &l)
	if err != nil || isNull {
		return slot{}, false, err
	}
	switch ref.Kind {
	case String:
		if l.size != 2 {
			return slot{}, false, failf("text is not a list of bytes")
		}
		if l.count == 0 || r.segs[l.seg][l.start+l.count-1] != 0 {
			return slot{}, false, failf("text is not NUL-terminated")
		}
		if r.mp != nil {
			return written, true, r.mp.str(r.segs[l.seg][l.start : l.start+l.count-1])
		}
		if !r.build {
			return slot{}, true, nil
		}
		return r.a.copyBytes(String, r.segs[l.seg][l.start:l.start+l.count-1]), true, nil
	case Bytes:
		if l.size != 2 {
			return slot{}, false, failf("data is not a list of bytes")
		}
		if r.mp != nil {
			r.mp.bin(r.segs[l.seg][l.start : l.start+l.count])
			return written, true, nil
		}
		if !r.build {
			return slot{}, true, nil
		}
		return r.a.copyBytes(Bytes, r.segs[l.seg][l.start:l.start+l.count]), true, nil
	case Vector:
		v, err := r.list(ref.Elem, l)
		return v, err == nil, err
	}
	return slot{}, false, failf("cannot read a %s from a pointer", ref.Kind)
}

// nullPointer writes (and returns) the value of a null pointer of type ref
// where one must be given, an element of a list or a union's active member:
// what capnp's getters read, so the JSON is capnp's too. That is def (the
// field's default, when it is text or data), else an empty text, data or
// list, or a struct of defaults (one level: below it, null); null for
// AnyPointer and capabilities. Verifying alone has nothing to read.
func (r *cpReader) nullPointer(ref *TypeRef, def any) (slot, error) {
	if !r.build && r.mp == nil {
		return slot{}, nil
	}
	switch ref.Kind {
	case String, Bytes:
		b, _ := pointerDefault(def, ref) // nil (empty) without one
		if r.mp != nil {
			if ref.Kind == String {
				return written, r.mp.str(b)
			}
			r.mp.bin(b)
			return written, nil
		}
		if !r.build {
			return slot{}, nil
		}
		return r.a.copyBytes(ref.Kind, b), nil
	case Vector:
		if r.mp != nil {
			r.mp.array(0)
			return written, nil
		}
		if !r.build {
			return slot{}, nil
		}
		return list(r.a.values(0), 0), nil
	case Struct:
		if !r.inNull {
			r.inNull = true
			v, err := r.structValue(ref.Type, cpStruct{}) // a null struct reads as its defaults
			r.inNull = false
			return v, err
		}
	}
	if r.mp != nil {
		r.mp.null()
	}
	return null, nil
}

// list reads the elements of l as elem, checking that its encoding fits.
func (r *cpReader) list(elem *TypeRef, l cpList) (slot, error) {
	if err := r.enter(); err != nil {
		return slot{}, err
	}
	out := 0
	if r.build {
		out = r.a.values(l.count)
	}
	if r.mp != nil {
		r.mp.array(l.count)
	}
	switch {
	case elem.Kind == Void:
		// any encoding holds a list of Void
		if r.mp != nil {
			for i := 0; i < l.count; i++ {
				r.mp.null()
			}
		}
		if r.build {
			for i := 0; i < l.count; i++ {
				r.a.vals[out+i] = null
			}
		}
	case elem.Kind == Bool:
		if l.size != 1 {
			return slot{}, failf("a List(Bool) must be a bit list")
		}
		if r.mp != nil {
			for i := 0; i < l.count; i++ {
				r.mp.buf = msgp.AppendBool(r.mp.buf, r.segs[l.seg][l.start+i/8]>>(i%8)&1 != 0)
			}
		}
		if r.build {
			for i := 0; i < l.count; i++ {
				r.a.vals[out+i] = boolValue(r.segs[l.seg][l.start+i/8]>>(i%8)&1 != 0)
			}
		}
	case elem.Kind.IsScalar() || elem.Kind == Enum:
		n := elem.dataBits()
		if l.size == 7 {
			if l.dataBytes == 0 {
				return slot{}, failf("expected a list of %s, found a list of pointer-only structs", elem)
			}
		} else if uint64(l.stride) != n {
			return slot{}, failf("expected a list of %d-bit %s, found %d-bit elements", n, elem, l.stride)
		}
		k := elem.scalarKind()
		if r.mp != nil {
			for i := 0; i < l.count; i++ {
				r.mp.scalarBits(k, r.bits(l.element(i), 0, n))
			}
		}
		if r.build {
			for i := 0; i < l.count; i++ {
				r.a.vals[out+i] = scalarBitsValue(k, r.bits(l.element(i), 0, n))
			}
		}
	case elem.Kind == Struct:
		if l.size == 1 {
			return slot{}, failf("expected a list of structs, found a bit list")
		}
		for i := 0; i < l.count; i++ {
			v, err := r.structValue(elem.Type, l.element(i))
			if err != nil {
				return slot{}, atIndex(err, i)
			}
			if r.build {
				r.a.vals[out+i] = v
			}
		}
	default: // pointer elements: Text, Data, List, Interface, AnyPointer
		if l.size != 6 && !(l.size == 7 && l.ptrCount > 0) {
			return slot{}, failf("expected a list of pointers, found another encoding")
		}
		for i := 0; i < l.count; i++ {
			e := l.element(i)
			v, present, err := r.pointer(elem, e.seg, e.ptrs)
			if err != nil {
				return slot{}, atIndex(err, i)
			}
			if !present {
				if v, err = r.nullPointer(elem, nil); err != nil {
					return slot{}, atIndex(err, i)
				}
			}
			if r.build {
				r.a.vals[out+i] = v
			}
		}
	}
	r.depth--
	if r.mp != nil {
		return written, nil
	}
	if !r.build {
		return slot{}, nil
	}
	return list(out, l.count), nil
}

// anyPointerValue reads the AnyPointer at (seg, w): verified only, when
// neither a value nor MessagePack is built; else as the bytes of a message
// of its own (see capnp_any.go). A null pointer is absent.
func (r *cpReader) anyPointerValue(seg, w int) (slot, bool, error) {
	if r.word(seg, w) == 0 {
		return slot{}, false, nil
	}
	if !r.build && r.mp == nil {
		return slot{}, true, r.anyPointer(seg, w)
	}
	msg, err := r.anyPointerMessage(seg, w)
	if err != nil {
		return slot{}, false, err
	}
	if r.mp != nil {
		r.mp.bin(msg)
		return written, true, nil
	}
	return r.a.copyBytes(Bytes, msg), true, nil
}

// anyPointer verifies an object whose type the schema does not give: its
// structure, every pointer it holds, the budget and the depth.
func (r *cpReader) anyPointer(seg, w int) error {
	_, _, tag, err := r.resolve(seg, w)
	if err != nil || tag == 0 {
		return err
	}
	var ptrs []cpStruct // one per pointer-holding element
	switch tag & 3 {
	case 0:
		var st cpStruct
		if _, err := r.structAt(seg, w, &st); err != nil {
			return err
		}
		ptrs = []cpStruct{st}
	case 1:
		var l cpList
		if _, err := r.listAt(seg, w, &l); err != nil {
			return err
		}
		if l.size == 6 || (l.size == 7 && l.ptrCount > 0) {
			ptrs = make([]cpStruct, l.count)
			for i := range ptrs {
				ptrs[i] = l.element(i)
			}
		}
	default:
		return nil // a capability
	}
	if err := r.enter(); err != nil {
		return err
	}
	for _, st := range ptrs {
		for i := 0; i < st.ptrCount; i++ {
			if err := r.anyPointer(st.seg, st.ptrs+i); err != nil {
				return err
			}
		}
	}
	r.depth--
	return nil
}
