package schema

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Cap'n Proto paths: the same syntax and guarantees as FlatBuffers paths
// (see Path), over the reader's checked pointer resolution, so far pointers
// and multi-segment messages read like single-segment ones. A null pointer
// reads as capnp's getters read it (see cpList, nullStep). A union member
// or a field inside one reads as absent when another member is set; a group
// is named like a struct field.

type cpStepKind uint8

const (
	cpField cpStepKind = iota + 1 // a field of the current struct (data or pointer)
	cpIndex                       // element i of the list the current pointer leads to
)

type cpStep struct {
	kind   cpStepKind
	f      *Field
	unions []unionCheck // discriminants that must match, outermost first
	index  int
	elem   *TypeRef
	seg    int // the path segment it comes from
	// nullBits (a scalar leaf) or nullBytes (a Text, Data or scalar list
	// leaf) is the leaf's value when this step's struct pointer is null:
	// read from the field's default value (hasNull), as capnp reads through
	// a null pointer into the default.
	nullBits  uint64
	nullBytes []byte
	hasNull   bool
	// nullNext: where this step's value is null and its default holds no
	// leaf value, the next step reads as null too (a struct field without
	// a default value that holds the next field; a list field before its
	// index), so its default applies.
	nullNext bool
}

type unionCheck struct {
	offset uint32 // in 16-bit units
	value  uint16
}

func compileCapnpPath(t *Type, path string) (*Path, error) {
	p := &Path{root: t, text: path}
	bad := func(format string, args ...any) (*Path, error) {
		return nil, fmt.Errorf("schema: path %q on %s: %s", path, t.Name, fmt.Sprintf(format, args...))
	}
	if path == "" {
		return bad("empty path")
	}
	cur := &TypeRef{Kind: Struct, Type: t}
	var pending []unionCheck // from groups on the way within one struct
	segs := strings.Split(path, ".")
	for segIdx, seg := range segs {
		name, rest, indexed := strings.Cut(seg, "[")
		if indexed && rest == "" {
			return bad("unclosed [ in %q", seg)
		}
		if cur.Kind != Struct && cur.Kind != Group {
			return bad("%q is inside a %s, which has no fields", name, cur.Kind)
		}
		owner := cur.Type
		f := owner.Field(name)
		if f == nil {
			return bad("%s has no field %q", owner.Name, name)
		}
		checks := append([]unionCheck(nil), pending...)
		if f.Discriminant != NoDiscriminant {
			checks = append(checks, unionCheck{owner.DiscriminantOffset, f.Discriminant})
		}
		if f.Kind == Group {
			pending = checks // the group's fields live in the same struct
			cur = &f.TypeRef
			if rest != "" {
				return bad("a group cannot be indexed")
			}
			continue
		}
		pending = nil
		if f.Kind == Interface || f.Kind == AnyPointer {
			return bad("%q is a %s, which a path cannot read", name, f.Kind)
		}
		p.cp = append(p.cp, cpStep{kind: cpField, f: f, unions: checks, seg: segIdx})
		p.field = f
		cur = &f.TypeRef
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return bad("unclosed [ in %q", seg)
			}
			i, ok := parseIndex(idx)
			if !ok {
				return bad("index %q is not a non-negative integer", idx)
			}
			if cur.Kind != Vector {
				return bad("%q is a %s, not a list", name, cur.Kind)
			}
			if after != "" && !strings.HasPrefix(after, "[") {
				return bad("unexpected %q after ]", after)
			}
			p.cp = append(p.cp, cpStep{kind: cpIndex, index: i, elem: cur.Elem})
			cur = cur.Elem
			rest = strings.TrimPrefix(after, "[")
		}
	}
	if cur.Kind == Struct || cur.Kind == Group {
		return bad("it ends at a %s; name a field inside it", cur.Kind)
	}
	p.leaf = cur
	scalar := cur.scalarKind().scalarSize() > 0 || cur.Kind == Bool
	if p.cp[len(p.cp)-1].kind == cpField && !scalar && cur.nullDefault != nil {
		p.def, p.hasDef = *cur.nullDefault, true
	}
	// An element of a list the message does not hold reads from the list's
	// default, as capnp's getters read a null list.
	if last := len(p.cp) - 1; last > 0 && p.cp[last].kind == cpIndex && p.cp[last-1].kind == cpField {
		s := &p.cp[last]
		if l, ok := p.cp[last-1].f.Default.([]any); ok && s.index < len(l) {
			if scalar {
				bits, err := scalarBits(cur.scalarKind(), cur.Type, l[s.index])
				s.nullBits, s.hasNull = bits, err == nil
			} else {
				s.nullBytes, s.hasNull = pointerDefault(l[s.index], cur)
			}
		}
	}
	for i := range p.cp {
		s := &p.cp[i]
		if s.kind != cpField {
			continue
		}
		if i+1 < len(p.cp) && p.cp[i+1].kind == cpIndex {
			s.nullNext = true
		}
		if s.f.Kind != Struct {
			continue
		}
		d, ok := s.f.Default.(map[string]any)
		if next := s.seg + 1; !ok || next >= len(segs) {
			s.nullNext = true
		} else if name, _, _ := strings.Cut(segs[next], "["); d[name] == nil {
			s.nullNext = true // the default struct does not hold the next field: it is null there too
		}
		if !ok {
			continue
		}
		if v, ok := defaultLeaf(d, segs[s.seg+1:]); ok {
			if scalar {
				bits, err := scalarBits(cur.scalarKind(), nil, v)
				s.nullBits, s.hasNull = bits, err == nil
			} else {
				s.nullBytes, s.hasNull = pointerDefault(v, cur)
			}
		}
	}
	return p, nil
}

// defaultLeaf follows path segments into a struct field's decoded default
// value to the leaf's value; ok is false where the default does not hold it
// (the leaf's own default applies then).
func defaultLeaf(v any, segs []string) (leaf any, ok bool) {
	for _, seg := range segs {
		name, rest, _ := strings.Cut(seg, "[")
		m, isMap := v.(map[string]any)
		if v, ok = m[name]; !isMap || !ok {
			return nil, false
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(idx)
			l, isList := v.([]any)
			if !isList || i >= len(l) {
				return nil, false
			}
			v, rest = l[i], strings.TrimPrefix(after, "[")
		}
	}
	return v, true
}

// pointerDefault is a decoded default value of a Text, Data or scalar list
// leaf as the bytes a read of it gives: the text without its NUL, the data,
// the list's elements little-endian. ok is false for other leaves and for
// values that are not of the leaf's type.
func pointerDefault(v any, leaf *TypeRef) (b []byte, ok bool) {
	switch leaf.Kind {
	case String:
		s, ok := v.(string)
		return []byte(s), ok
	case Bytes:
		d, ok := v.([]byte)
		return bytes.Clone(d), ok
	case Vector:
		k := leaf.Elem.scalarKind()
		size := k.scalarSize()
		l, isList := v.([]any)
		if !isList || size == 0 || k == Bool {
			return nil, false
		}
		b = make([]byte, 0, len(l)*size)
		for _, x := range l {
			bits, err := scalarBits(k, leaf.Elem.Type, x)
			if err != nil {
				return nil, false
			}
			b = binary.LittleEndian.AppendUint64(b, bits)[:len(b)+size]
		}
		return b, true
	}
	return nil, false
}

// cpLeaf is where a Cap'n Proto path ends: a data value in a struct or list
// element, or a pointer.
type cpLeaf struct {
	st     cpStruct
	bitOff uint64 // data value: bit offset in st's data section
	isPtr  bool   // the leaf is the pointer at (st.seg, ptr)
	ptr    int
	absent bool
	member bool // absent because a union holds another member
	// nullAt is 1 + the first step whose default may give the leaf, when
	// the walk met a null pointer; inside is the first step read inside
	// the null struct (its unions have discriminant 0 there).
	nullAt, inside int
	gone           bool // an index past a list's end, or into a null list without a default element
	dataDef        bool // the leaf is a struct field (XOR its default)
}

// cpWalk walks the message of r to the path's leaf. Results go through
// pointers: returning these structs by value costs more than the walk.
func (p *Path) cpWalk(r *cpReader, leaf *cpLeaf) error {
	if r.words(0) == 0 {
		return fmt.Errorf("%w: first segment is empty", ErrMalformedPath)
	}
	var st cpStruct
	null, err := r.structAt(0, 0, &st)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedPath, err)
	}
	if null { // the root reads as its default: all zero, its struct fields their defaults
		leaf.absent, leaf.nullAt, leaf.inside = true, 1, 0
		return nil
	}
	for i := range p.cp {
		s := &p.cp[i]
		last := i == len(p.cp)-1
		if leaf.absent {
			return nil
		}
		switch s.kind {
		case cpField:
			for _, u := range s.unions {
				if r.bits(st, uint64(u.offset)*16, 16) != uint64(u.value) {
					leaf.absent, leaf.member = true, true
					return nil
				}
			}
			f := s.f
			if !f.IsPointer() {
				leaf.st, leaf.bitOff, leaf.dataDef = st, uint64(f.Offset)*f.dataBits(), true
				continue
			}
			if int(f.Offset) >= st.ptrCount {
				leaf.absent, leaf.nullAt, leaf.inside = true, i+1, i+1
				return nil
			}
			ptr := st.ptrs + int(f.Offset)
			if last || p.cp[i+1].kind == cpIndex {
				leaf.st, leaf.isPtr, leaf.ptr = st, true, ptr
				continue
			}
			null, err := r.structAt(st.seg, ptr, &st)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrMalformedPath, err)
			}
			if null {
				leaf.absent, leaf.nullAt, leaf.inside = true, i+1, i+1
			}
		case cpIndex:
			var l cpList
			null, err := r.listAt(leaf.st.seg, leaf.ptr, &l)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrMalformedPath, err)
			}
			if null || s.index >= l.count {
				leaf.absent = true
				if null && i == len(p.cp)-1 && s.hasNull {
					leaf.nullAt, leaf.inside = i+1, i+1 // the list's default holds the element
				} else {
					leaf.gone = true
				}
				return nil
			}
			el := l.element(s.index)
			switch {
			case s.elem.Kind == Struct:
				if l.size == 1 {
					return fmt.Errorf("%w: expected a list of structs, found a bit list", ErrMalformedPath)
				}
				st, leaf.isPtr = el, false
			case s.elem.Kind == Bool:
				if l.size != 1 {
					return fmt.Errorf("%w: a List(Bool) must be a bit list", ErrMalformedPath)
				}
				leaf.st = cpStruct{seg: l.seg, data: l.start, dataBytes: (l.count + 7) / 8}
				leaf.bitOff, leaf.dataDef, leaf.isPtr = uint64(s.index), false, false
			case s.elem.Kind.IsScalar() || s.elem.Kind == Enum:
				n := s.elem.dataBits()
				if l.size != 7 && uint64(l.stride) != n {
					return fmt.Errorf("%w: expected %d-bit elements, found %d-bit", ErrMalformedPath, n, l.stride)
				}
				leaf.st, leaf.bitOff, leaf.dataDef, leaf.isPtr = el, 0, false, false
			default: // pointer elements
				if l.size != 6 && !(l.size == 7 && l.ptrCount > 0) {
					return fmt.Errorf("%w: expected a list of pointers", ErrMalformedPath)
				}
				leaf.st, leaf.isPtr, leaf.ptr = el, true, el.ptrs
			}
		}
	}
	return nil
}

// nullStep is the step whose default gives the leaf of an absent walk, or
// nil for the leaf field's own default; member is true when the leaf is
// absent without a default: a union on the way holds another member (a
// null struct's discriminants are 0), or a list index found nothing.
func (p *Path) nullStep(leaf *cpLeaf) (s *cpStep, member bool) {
	if leaf.member || leaf.gone {
		return nil, true
	}
	if leaf.nullAt == 0 {
		return nil, false
	}
	for k := leaf.nullAt - 1; k < len(p.cp); k++ {
		c := &p.cp[k]
		if k >= leaf.inside {
			for _, u := range c.unions {
				if u.value != 0 {
					return nil, true
				}
			}
		}
		if c.hasNull {
			return c, false
		}
		if !c.nullNext {
			break
		}
	}
	return nil, false
}

func (p *Path) cpScalar(msg []byte) (uint64, error) {
	// A one-segment message's segment table lives in one, on this call's
	// stack, so the read allocates nothing and shares no pooled state.
	var one [1][]byte
	var err error
	var r cpReader // the default limits; set field by field (see cpStruct)
	r.segs, err = splitSegmentsInto(msg, one[:0])
	r.defaultLimits(len(msg))
	if err != nil {
		return 0, err
	}
	var leaf cpLeaf
	if err := p.cpWalk(&r, &leaf); err != nil {
		return 0, err
	}
	n := p.leaf.dataBits()
	if leaf.absent {
		s, member := p.nullStep(&leaf)
		if member {
			return 0, ErrAbsent
		}
		if s != nil {
			return s.nullBits & mask(uint(n)), nil // a null struct's or list's default
		}
		if p.cp[len(p.cp)-1].kind == cpField {
			return p.field.DefaultBits & mask(uint(n)), nil // an absent struct reads as its defaults
		}
		return 0, ErrAbsent
	}
	if leaf.isPtr {
		return 0, fmt.Errorf("schema: path %q ends at a pointer", p.text)
	}
	bits := r.bits(leaf.st, leaf.bitOff, n)
	if leaf.dataDef {
		bits ^= p.field.DefaultBits
	}
	return bits & mask(uint(n)), nil
}

// cpList finds the list (Text, Data, List) the path leads to. Where the
// message does not hold it (a null pointer, or one on the way), isDef is
// true and def is what capnp's getters read instead: a null struct's
// default value's, the field's own default, else empty (def nil). err is
// ErrAbsent only where there is no value: a union on the way holds another
// member, or an index is past a list's end.
func (p *Path) cpList(r *cpReader, l *cpList) (def []byte, isDef bool, err error) {
	var leaf cpLeaf
	if err := p.cpWalk(r, &leaf); err != nil {
		return nil, false, err
	}
	byField := p.cp[len(p.cp)-1].kind == cpField // else an element, which has no default of its own
	if leaf.absent {
		s, member := p.nullStep(&leaf)
		if member {
			return nil, false, ErrAbsent
		}
		if s != nil {
			return s.nullBytes, true, nil // a null struct's or list's default
		}
		if byField {
			return p.def, true, nil
		}
		return nil, false, ErrAbsent // an element of a null list whose default does not hold it
	}
	if !leaf.isPtr {
		return nil, false, ErrAbsent
	}
	var null bool
	if null, err = r.listAt(leaf.st.seg, leaf.ptr, l); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrMalformedPath, err)
	}
	if null {
		if byField {
			return p.def, true, nil
		}
		return nil, true, nil // a null element of a list of pointers: empty
	}
	return nil, false, nil
}

func (p *Path) cpBytes(msg []byte) ([]byte, error) {
	if b, ok := p.cpRootBytes(msg); ok {
		return b, nil
	}
	return p.cpBytesWalk(msg)
}

// cpBytesWalk is cpBytes through the general walk.
func (p *Path) cpBytesWalk(msg []byte) ([]byte, error) {
	// A one-segment message's segment table lives in one, on this call's
	// stack, so the read allocates nothing and shares no pooled state.
	var one [1][]byte
	var err error
	var r cpReader // the default limits; set field by field (see cpStruct)
	r.segs, err = splitSegmentsInto(msg, one[:0])
	r.defaultLimits(len(msg))
	if err != nil {
		return nil, err
	}
	var l cpList
	def, isDef, err := p.cpList(&r, &l)
	if err != nil || isDef {
		return def, err
	}
	if l.size != 2 {
		return nil, fmt.Errorf("%w: %s is not a list of bytes", ErrMalformedPath, p.leaf.Kind)
	}
	b := r.segs[l.seg][l.start : l.start+l.count : l.start+l.count]
	if p.leaf.Kind == String {
		if len(b) == 0 || b[len(b)-1] != 0 {
			return nil, fmt.Errorf("%w: text is not NUL-terminated", ErrMalformedPath)
		}
		b = b[: len(b)-1 : len(b)-1]
	}
	return b, nil
}

// cpRootBytes is the fused read of the commonest path, a Text or Data field
// of the root struct, in the commonest message, one segment with direct
// pointers. It takes only messages it can read whole with the general
// walk's checks (bounds, pointer kinds, element size, the text's NUL; the
// traversal limit is at least the message's size, so one list cannot
// exceed it); anything else (ok false: several segments, far or null
// pointers, a union member, a malformed message) goes to the general walk,
// which gives the value or the error.
func (p *Path) cpRootBytes(msg []byte) (b []byte, ok bool) {
	if len(p.cp) != 1 || len(p.cp[0].unions) != 0 || len(msg) < 16 || binary.LittleEndian.Uint32(msg) != 0 {
		return nil, false
	}
	f := p.cp[0].f
	words := uint64(binary.LittleEndian.Uint32(msg[4:]))
	if !f.IsPointer() || words*wordBytes != uint64(len(msg))-8 {
		return nil, false
	}
	seg := msg[8:]
	root := binary.LittleEndian.Uint64(seg)
	if root&3 != 0 || root == 0 {
		return nil, false
	}
	start := 1 + int64(int32(uint32(root))>>2)
	dataWords, ptrCount := int64(uint16(root>>32)), int64(uint16(root>>48))
	if start < 1 || start+dataWords+ptrCount > int64(words) || int64(f.Offset) >= ptrCount {
		return nil, false
	}
	at := start + dataWords + int64(f.Offset)
	ptr := binary.LittleEndian.Uint64(seg[at*wordBytes:])
	if ptr&3 != 1 || (ptr>>32)&7 != 2 { // a list of bytes
		return nil, false
	}
	list := at + 1 + int64(int32(uint32(ptr))>>2)
	n := int64(ptr >> 35)
	if list < 0 || list*wordBytes+n > int64(words)*wordBytes {
		return nil, false
	}
	b = seg[list*wordBytes : list*wordBytes+n : list*wordBytes+n]
	if p.leaf.Kind == String {
		if n == 0 || b[n-1] != 0 {
			return nil, false
		}
		b = b[: n-1 : n-1]
	}
	return b, true
}

func (p *Path) cpScalars(msg []byte, k Kind, size int) ([]byte, int, Kind, error) {
	if k == Bool {
		return nil, 0, 0, fmt.Errorf("schema: path %q reads a List(Bool), which is bit-packed: read its elements", p.text)
	}
	var one [1][]byte // see cpBytes
	var err error
	var r cpReader
	r.segs, err = splitSegmentsInto(msg, one[:0])
	r.defaultLimits(len(msg))
	if err != nil {
		return nil, 0, 0, err
	}
	var l cpList
	def, isDef, err := p.cpList(&r, &l)
	if err != nil || isDef {
		return def, len(def) / size, k, err
	}
	if l.size == 7 || l.stride != size*8 {
		return nil, 0, 0, fmt.Errorf("%w: expected a list of %d-bit elements", ErrMalformedPath, size*8)
	}
	end := l.start + l.count*size
	return r.segs[l.seg][l.start:end:end], l.count, k, nil
}

func (p *Path) cpLen(msg []byte) (int, error) {
	// A one-segment message's segment table lives in one, on this call's
	// stack, so the read allocates nothing and shares no pooled state.
	var one [1][]byte
	var err error
	var r cpReader // the default limits; set field by field (see cpStruct)
	r.segs, err = splitSegmentsInto(msg, one[:0])
	r.defaultLimits(len(msg))
	if err != nil {
		return 0, err
	}
	var l cpList
	def, isDef, err := p.cpList(&r, &l)
	if err == ErrAbsent {
		return 0, nil
	}
	if isDef {
		return len(def) / max(1, p.leaf.Elem.scalarKind().scalarSize()), nil
	}
	return l.count, err
}

// defaultLimits gives r the default traversal limit and depth for a message
// of msgLen bytes. (The segments are set by the caller: handing its stack
// array through a method would move it to the heap.)
func (r *cpReader) defaultLimits(msgLen int) {
	r.limit = defaultTraverseLimit(msgLen)
	r.budget, r.maxDepth = r.limit, defaultMaxDepth
}

// splitSegmentsInto is splitSegments for the stream framing, reusing buf's
// array for a one-segment message (the common case) so a path allocates
// nothing.
func splitSegmentsInto(msg []byte, buf [][]byte) ([][]byte, error) {
	if len(msg) >= 8 && binary.LittleEndian.Uint32(msg) == 0 {
		size := uint64(binary.LittleEndian.Uint32(msg[4:])) * wordBytes
		if size != uint64(len(msg))-8 {
			return nil, fmt.Errorf("%w: one segment of %d bytes in a %d-byte message", ErrMalformedPath, size, len(msg))
		}
		return append(buf, msg[8:]), nil
	}
	segs, err := splitSegments(msg, Stream)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedPath, err)
	}
	return segs, nil
}
