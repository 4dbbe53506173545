package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Path reads one field of a message without decoding the rest: a route
// through the plan, compiled once by Type.Path and then applied to any
// number of messages. Every step is bounds-checked against the message, so
// a Path is safe on untrusted bytes without a full Verify; it allocates
// nothing, and strings and bytes alias the message.
//
// The syntax is field names joined by dots, with [i] after a vector or list
// to take its i-th element, and the member name after a union field to
// select that member ("test.Monster.name"; reading through a union that
// holds another member finds nothing):
//
//	"name"   "pos.test3.a"   "testarrayoftables[1].name"   "test.Monster.hp"
//
// A FlatBuffers field that is absent reads as its default (a scalar) or is
// reported missing (ErrAbsent, for strings, bytes and anything behind an
// absent table or union member), as flatc's accessors read it. A Cap'n
// Proto path reads what capnp's getters read: a null pointer, the leaf's or
// a struct's on the way, reads as its schema default, else empty (Text,
// Data, List) or a struct of defaults; ErrAbsent only where a union on the
// way holds another member or an index is past a list's end.
type Path struct {
	root  *Type
	steps []step
	cp    []cpStep // Cap'n Proto paths
	leaf  *TypeRef
	field *Field // the last field, for defaults
	text  string
	// def is the Cap'n Proto leaf's default as a read gives it (hasDef):
	// what a null Text, Data or scalar List pointer reads as.
	def    []byte
	hasDef bool
}

// ErrAbsent is returned by a Path when the message does not hold the value
// and it has no default.
var ErrAbsent = errors.New("schema: value is absent")

type stepKind uint8

const (
	stepTableField  stepKind = iota + 1 // look up vtable slot; follow offset if the field is by reference
	stepStructField                     // add an offset inside an inline struct
	stepIndex                           // take element i of the vector at pos
	stepUnion                           // check the union's type field, then follow the value offset
)

type step struct {
	kind   stepKind
	slot   uint16 // vtable offset (table fields), byte offset (struct fields)
	tagPos uint16 // union: vtable offset of the `_type` field
	tag    uint8  // union: the member's tag
	ref    bool   // the field's inline value is an offset to follow
	index  int    // element index
	size   int    // element size (stepIndex), inline size of the field
	follow bool   // stepIndex: elements are offsets
}

// Path compiles a path through t, a FlatBuffers table or a Cap'n Proto
// struct (see Path).
func (t *Type) Path(path string) (*Path, error) {
	if t.Format == CapnProto && t.Kind == Struct {
		return compileCapnpPath(t, path)
	}
	if t.Format != FlatBuffers || t.Kind != Table {
		return nil, fmt.Errorf("schema: paths read FlatBuffers tables and Cap'n Proto structs; %s is a %s %s", t.Name, t.Format, t.Kind)
	}
	p := &Path{root: t, text: path}
	cur := &TypeRef{Kind: Table, Type: t}
	bad := func(format string, args ...any) (*Path, error) {
		return nil, fmt.Errorf("schema: path %q on %s: %s", path, t.Name, fmt.Sprintf(format, args...))
	}
	if path == "" {
		return bad("empty path")
	}
	for _, seg := range strings.Split(path, ".") {
		name, rest, indexed := strings.Cut(seg, "[")
		if indexed && rest == "" {
			return bad("unclosed [ in %q", seg)
		}
		switch cur.Kind {
		case Table, Struct:
			f := cur.Type.Field(name)
			if f == nil {
				return bad("%s has no field %q", cur.Type.Name, name)
			}
			if cur.Kind == Table {
				byRef := f.Kind == String || f.Kind == Table || f.Kind == Vector || f.Kind == Union
				p.steps = append(p.steps, step{kind: stepTableField, slot: f.Slot, ref: byRef, size: f.Size})
				if f.Kind == Union {
					p.steps[len(p.steps)-1].tagPos = f.UnionTypeField.Slot
				}
			} else {
				p.steps = append(p.steps, step{kind: stepStructField, slot: f.Slot, size: f.Size})
			}
			p.field = f
			cur = &f.TypeRef
		case Union:
			var ev *EnumValue
			for i := range cur.Type.Values {
				if cur.Type.Values[i].Name == name && cur.Type.Values[i].Member != nil {
					ev = &cur.Type.Values[i]
				}
			}
			if ev == nil {
				return bad("union %s has no member %q", cur.Type.Name, name)
			}
			if ev.Member.Kind != Table && ev.Member.Kind != Struct {
				return bad("union member %q is a %s; paths go through table and struct members", name, ev.Member.Kind)
			}
			if rest != "" {
				return bad("a union member cannot be indexed")
			}
			// The union field's step becomes a checked one.
			last := &p.steps[len(p.steps)-1]
			last.kind, last.tag = stepUnion, uint8(ev.Value)
			cur = ev.Member
			continue
		default:
			return bad("%q is inside a %s, which has no fields", name, cur.Kind)
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return bad("unclosed [ in %q", seg)
			}
			i, ok := parseIndex(idx)
			if !ok {
				return bad("index %q is not a non-negative integer", idx)
			}
			if cur.Kind == Array { // inline in its struct: the element is at a fixed offset
				if i >= cur.Len {
					return bad("index %d is past the %d elements of %q", i, cur.Len, name)
				}
				esize, _ := tableValueSize(cur.Elem)
				last := &p.steps[len(p.steps)-1]
				if last.kind != stepStructField {
					return bad("%q is an array outside a struct", name)
				}
				if off := int(last.slot) + i*esize; off <= math.MaxUint16 {
					last.slot, last.size = uint16(off), esize
				} else {
					return bad("element %d of %q is beyond the offsets a path holds", i, name)
				}
				cur = cur.Elem
				rest = strings.TrimPrefix(after, "[")
				if after != "" && !strings.HasPrefix(after, "[") {
					return bad("unexpected %q after ]", after)
				}
				continue
			}
			if cur.Kind != Vector {
				return bad("%q is a %s, not a vector", name, cur.Kind)
			}
			el := cur.Elem
			if el.Kind == Union {
				return bad("vectors of unions cannot be indexed by a path")
			}
			size, _ := tableValueSize(el)
			p.steps = append(p.steps, step{kind: stepIndex, index: i, size: size, follow: el.Kind == String || el.Kind == Table})
			cur = el
			rest = strings.TrimPrefix(after, "[")
			if after != "" && !strings.HasPrefix(after, "[") {
				return bad("unexpected %q after ]", after)
			}
		}
	}
	if cur.Kind == Table || cur.Kind == Union {
		return bad("it ends at a %s; name a field inside it", cur.Kind)
	}
	p.leaf = cur
	return p, nil
}

// parseIndex reads a path's element index: decimal digits only (no sign,
// no spaces), small enough for an int.
func parseIndex(idx string) (int, bool) {
	if idx == "" || strings.Trim(idx, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(idx)
	return i, err == nil
}

// String returns the path's text.
func (p *Path) String() string { return p.text }

// Kind is the kind of value the path reads (an enum reads as its integer).
func (p *Path) Kind() Kind { return p.leaf.Kind }

// Leaf is the type of the value the path reads.
func (p *Path) Leaf() *TypeRef { return p.leaf }

// Defaults lists what Bytes and Scalars can give where a Cap'n Proto
// message does not hold the leaf: the field's default Text, Data or scalar
// List (little-endian, like a read), and the leaf in the default values of
// the struct fields on the way. Read-only: every such read shares them.
func (p *Path) Defaults() [][]byte {
	var out [][]byte
	if p.hasDef {
		out = append(out, p.def)
	}
	for i := range p.cp {
		if s := &p.cp[i]; s.hasNull && s.nullBytes != nil {
			out = append(out, s.nullBytes)
		}
	}
	return out
}

// locate walks the message and returns the position of the leaf's inline
// value; absent is true when a field on the way is not stored, and
// leafAbsent when it is the leaf table field itself (which has a default).
func (p *Path) locate(msg []byte) (pos int, absent bool, err error) {
	pos, absentAt, err := p.walk(msg)
	return pos, absentAt >= 0, err
}

func (p *Path) walk(msg []byte) (pos, absentAt int, err error) {
	n := len(msg)
	if pos, err = pathFollow(msg, 0); err != nil {
		return 0, -1, err
	}
	for i := range p.steps {
		s := &p.steps[i]
		last := i == len(p.steps)-1
		switch s.kind {
		case stepTableField, stepUnion:
			fo, err := pathFieldAt(msg, pos, s.slot)
			if err != nil {
				return 0, -1, err
			}
			if fo == 0 {
				return 0, i, nil
			}
			if s.kind == stepUnion {
				to, err := pathFieldAt(msg, pos, s.tagPos)
				if err != nil {
					return 0, -1, err
				}
				if to == 0 || pos+to >= n || msg[pos+to] != s.tag {
					return 0, i, nil // the union holds another member
				}
			}
			pos += fo
			if pos < 0 || pos > n-max(s.size, 1) {
				return 0, -1, fmt.Errorf("%w: field at %d is outside the message", ErrMalformedPath, pos)
			}
			// A table, union member or vector on the way is reached through
			// its offset; a leaf stays at its inline value.
			if s.ref && !last {
				if pos, err = pathFollow(msg, pos); err != nil {
					return 0, -1, err
				}
			}
		case stepStructField:
			pos += int(s.slot)
		case stepIndex:
			if pos < 0 || pos > n-4 { // pos is the vector
				return 0, -1, fmt.Errorf("%w: offset at %d is outside the %d-byte message", ErrMalformedPath, pos, n)
			}
			if cnt := int(binary.LittleEndian.Uint32(msg[pos:])); s.index >= cnt {
				return 0, i, nil
			}
			pos += 4 + s.index*s.size
			if pos < 0 || pos > n-s.size {
				return 0, -1, fmt.Errorf("%w: element %d at %d is outside the message", ErrMalformedPath, s.index, pos)
			}
			if s.follow && !last {
				if pos, err = pathFollow(msg, pos); err != nil {
					return 0, -1, err
				}
			}
		}
	}
	return pos, -1, nil
}

// pathFollow follows the uoffset stored at at.
func pathFollow(msg []byte, at int) (int, error) {
	n := len(msg)
	if at < 0 || at > n-4 {
		return 0, fmt.Errorf("%w: offset at %d is outside the %d-byte message", ErrMalformedPath, at, n)
	}
	o := int(binary.LittleEndian.Uint32(msg[at:]))
	if o == 0 || int32(o) < 0 || at+o >= n {
		return 0, fmt.Errorf("%w: offset %d at %d leads outside the message", ErrMalformedPath, o, at)
	}
	return at + o, nil
}

// pathFieldAt looks slot up in the vtable of the table at tpos: the field's
// offset in the table, 0 when absent.
func pathFieldAt(msg []byte, tpos int, slot uint16) (int, error) {
	n := len(msg)
	if tpos < 0 || tpos > n-4 {
		return 0, fmt.Errorf("%w: offset at %d is outside the %d-byte message", ErrMalformedPath, tpos, n)
	}
	vt := int64(tpos) - int64(int32(binary.LittleEndian.Uint32(msg[tpos:])))
	if vt < 0 || vt > int64(n-4) {
		return 0, fmt.Errorf("%w: vtable of the table at %d is outside the message", ErrMalformedPath, tpos)
	}
	vsize := int(binary.LittleEndian.Uint16(msg[vt:]))
	if int(slot)+2 > vsize || int(vt)+int(slot)+2 > n {
		return 0, nil
	}
	return int(binary.LittleEndian.Uint16(msg[int(vt)+int(slot):])), nil
}

// ErrMalformedPath wraps what a Path finds wrong in a message.
var ErrMalformedPath = errors.New("schema: malformed message")

// Int reads an integer, enum or bool leaf (absent: the field's default).
func (p *Path) Int(msg []byte) (int64, error) {
	k := p.leaf.scalarKind()
	if !k.IsInteger() && k != Bool {
		return 0, fmt.Errorf("schema: path %q reads a %s, not an integer", p.text, p.leaf.Kind)
	}
	bits, err := p.scalar(msg, k)
	if err != nil {
		return 0, err
	}
	if k == Uint64 && bits > math.MaxInt64 {
		return 0, fmt.Errorf("%w: path %q: %d does not fit an int64; use Uint", ErrRange, p.text, bits)
	}
	v := readScalar(k, binary.LittleEndian.AppendUint64(nil, bits))
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
	}
	return 0, nil
}

// Uint reads an unsigned integer leaf (absent: the field's default).
func (p *Path) Uint(msg []byte) (uint64, error) {
	k := p.leaf.scalarKind()
	if !k.IsInteger() || k.IsSigned() {
		return 0, fmt.Errorf("schema: path %q reads a %s, not an unsigned integer", p.text, p.leaf.Kind)
	}
	return p.scalar(msg, k)
}

// Float reads a float leaf (absent: the field's default).
func (p *Path) Float(msg []byte) (float64, error) {
	k := p.leaf.scalarKind()
	bits, err := p.scalar(msg, k)
	if err != nil {
		return 0, err
	}
	switch k {
	case Float32:
		return float64(math.Float32frombits(uint32(bits))), nil
	case Float64:
		return math.Float64frombits(bits), nil
	}
	return 0, fmt.Errorf("schema: path %q reads a %s, not a float", p.text, p.leaf.Kind)
}

// scalar returns the leaf's stored bits (zero-extended), or its default.
func (p *Path) scalar(msg []byte, k Kind) (uint64, error) {
	if p.root.Format == CapnProto {
		return p.cpScalar(msg)
	}
	pos, absentAt, err := p.walk(msg)
	if err != nil {
		return 0, err
	}
	size := k.scalarSize()
	if absentAt >= 0 {
		last := len(p.steps) - 1
		if absentAt != last || p.steps[last].kind != stepTableField || p.field.Optional {
			return 0, ErrAbsent // a table on the way, an element, or `= null`
		}
		if p.field.Default == nil {
			return 0, nil
		}
		return scalarBits(k, p.field.Type, p.field.Default)
	}
	if pos < 0 || pos > len(msg)-size {
		return 0, fmt.Errorf("%w: value at %d is outside the message", ErrMalformedPath, pos)
	}
	var b [8]byte
	copy(b[:], msg[pos:pos+size])
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Bytes reads a string, or a vector of bytes, as a slice of msg. A Cap'n
// Proto Text or Data the message does not hold reads as its default, as
// capnp reads it: then the slice is the path's own (see Defaults),
// read-only, or empty where there is no default.
func (p *Path) Bytes(msg []byte) ([]byte, error) {
	el := p.leaf
	isBytes := el.Kind == Vector && (el.Elem.Kind == Uint8 || el.Elem.Kind == Int8)
	if p.root.Format == CapnProto {
		isBytes = el.Kind == Bytes
	}
	if el.Kind != String && !isBytes {
		return nil, fmt.Errorf("schema: path %q reads a %s, not a string or bytes", p.text, el.Kind)
	}
	if p.root.Format == CapnProto {
		return p.cpBytes(msg)
	}
	pos, absent, err := p.locate(msg)
	if err != nil {
		return nil, err
	}
	if absent {
		return nil, ErrAbsent
	}
	// pos is the offset field; the string or vector is where it leads.
	if pos < 0 || pos > len(msg)-4 {
		return nil, fmt.Errorf("%w: offset at %d is outside the message", ErrMalformedPath, pos)
	}
	o := int(binary.LittleEndian.Uint32(msg[pos:]))
	if o == 0 || int32(o) < 0 || pos+o > len(msg)-4 {
		return nil, fmt.Errorf("%w: offset %d at %d leads outside the message", ErrMalformedPath, o, pos)
	}
	at := pos + o
	l := int(binary.LittleEndian.Uint32(msg[at:]))
	end := int64(at) + 4 + int64(l)
	if el.Kind == String {
		if end >= int64(len(msg)) || msg[end] != 0 {
			return nil, fmt.Errorf("%w: string at %d is not inside the message or not NUL-terminated", ErrMalformedPath, at)
		}
	} else if end > int64(len(msg)) {
		return nil, fmt.Errorf("%w: vector at %d runs past the message", ErrMalformedPath, at)
	}
	return msg[at+4 : end : end], nil
}

// ReadString reads a string leaf as a Go string (a copy; Bytes aliases).
func (p *Path) ReadString(msg []byte) (string, error) {
	b, err := p.Bytes(msg)
	return string(b), err
}

// Len reads the length of a vector leaf (0 when absent).
func (p *Path) Len(msg []byte) (int, error) {
	if p.leaf.Kind != Vector {
		return 0, fmt.Errorf("schema: path %q reads a %s, not a vector", p.text, p.leaf.Kind)
	}
	if p.root.Format == CapnProto {
		return p.cpLen(msg)
	}
	pos, absent, err := p.locate(msg)
	if err != nil || absent {
		return 0, err
	}
	if pos < 0 || pos > len(msg)-4 {
		return 0, fmt.Errorf("%w: offset at %d is outside the message", ErrMalformedPath, pos)
	}
	o := int(binary.LittleEndian.Uint32(msg[pos:]))
	if o == 0 || int32(o) < 0 || pos+o > len(msg)-4 {
		return 0, fmt.Errorf("%w: offset %d at %d leads outside the message", ErrMalformedPath, o, pos)
	}
	return int(binary.LittleEndian.Uint32(msg[pos+o:])), nil
}

// Scalars reads a vector (Cap'n Proto: list) or a fixed array of scalars as
// a slice of msg: the elements' little-endian bytes (not aligned to the
// element size in general), their count and their kind (enums as their
// integer kind). A Cap'n Proto List(Bool) is bit-packed: read its elements
// by index instead.
func (p *Path) Scalars(msg []byte) ([]byte, int, Kind, error) {
	el := p.leaf
	if el.Kind != Vector && el.Kind != Array {
		return nil, 0, 0, fmt.Errorf("schema: path %q reads a %s, not a vector of scalars", p.text, el.Kind)
	}
	k := el.Elem.scalarKind()
	size := k.scalarSize()
	if !k.IsScalar() || size == 0 {
		return nil, 0, 0, fmt.Errorf("schema: path %q reads a vector of %s, not of scalars", p.text, el.Elem.Kind)
	}
	if p.root.Format == CapnProto {
		return p.cpScalars(msg, k, size)
	}
	pos, absent, err := p.locate(msg)
	if err != nil {
		return nil, 0, 0, err
	}
	if absent {
		return nil, 0, 0, ErrAbsent
	}
	start, n := int64(pos), int64(el.Len)
	if el.Kind == Vector { // pos is the offset field; the vector is where it leads
		if pos < 0 || pos > len(msg)-4 {
			return nil, 0, 0, fmt.Errorf("%w: offset at %d is outside the message", ErrMalformedPath, pos)
		}
		o := int(binary.LittleEndian.Uint32(msg[pos:]))
		if o == 0 || int32(o) < 0 || pos+o > len(msg)-4 {
			return nil, 0, 0, fmt.Errorf("%w: offset %d at %d leads outside the message", ErrMalformedPath, o, pos)
		}
		start, n = int64(pos+o)+4, int64(binary.LittleEndian.Uint32(msg[pos+o:]))
	}
	end := start + n*int64(size)
	if start < 0 || end > int64(len(msg)) {
		return nil, 0, 0, fmt.Errorf("%w: vector at %d runs past the message", ErrMalformedPath, start)
	}
	return msg[start:end:end], int(n), k, nil
}
