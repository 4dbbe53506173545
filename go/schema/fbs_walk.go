package schema

import (
	"encoding/binary"
	"math"
)

// The FlatBuffers walker verifies a buffer against a table plan, and, when
// asked, builds the dynamic value in the same pass: Verify and Decode are one
// road, so Decode never reads what Verify would not have checked.
//
// It checks what the C++ flatbuffers::Verifier checks: the buffer size limits
// (12 bytes at least, 2 GiB at most, also for nested buffers); every offset,
// vtable, table field, string and vector inside the buffer and aligned;
// non-zero offsets; vtables of even size; strings NUL-terminated; required fields
// present; union members verified as their type (unknown members, from a
// newer schema, are accepted and skipped); union vectors paired with type
// vectors of the same length; nested_flatbuffer fields verified as their own
// buffer; nesting depth and table count limits.
//
// In its third mode (mp != nil) it writes the message as MessagePack while
// it verifies, without building the dynamic value: each value-producing step
// appends to mp and returns written (the zero Value for a value that is
// left out).
type fbWalker struct {
	buf    []byte
	opts   *Options
	depth  int
	tables int
	build  bool
	a      *arena // where Decode's records live
	mp     *mpWriter
}

func walkFlatBuffer(t *Type, buf []byte, o *Options, build bool, mp *mpWriter) (*Record, error) {
	w := &fbWalker{buf: buf, opts: o, build: build, mp: mp}
	if build {
		w.a = newArena(len(buf))
	}
	ri, err := w.root(t)
	if err != nil {
		return nil, toDataError(FlatBuffers, t, err)
	}
	if !build {
		return nil, nil
	}
	return &Record{w.a, ri}, nil
}

func (w *fbWalker) root(t *Type) (int, error) {
	if len(w.buf) > maxBufferSize {
		return 0, failf("buffer of %d bytes exceeds the 2 GiB FlatBuffers limit", len(w.buf))
	}
	// The smallest buffer holds a root offset, a table and a vtable.
	if len(w.buf) < minBufferSize {
		return 0, failf("buffer of %d bytes is smaller than the %d-byte minimum", len(w.buf), minBufferSize)
	}
	start := 0
	if w.opts.SizePrefixed {
		if n := w.u32(0); int64(n) > int64(len(w.buf))-4 {
			return 0, failf("size prefix %d is larger than the %d bytes after it", n, len(w.buf)-4)
		}
		start = 4
	}
	if id := w.opts.Identifier; id != "" {
		if len(w.buf) < start+8 || string(w.buf[start+4:start+8]) != id {
			return 0, failf("buffer does not carry the file identifier %q", id)
		}
	}
	pos, err := w.offset(start)
	if err != nil {
		return 0, at(err, "(root)")
	}
	return w.table(t, pos)
}

func (w *fbWalker) aligned(pos, align int) bool {
	return w.opts.SkipAlignment || pos&(align-1) == 0
}

// check reports whether n bytes at pos lie in the buffer, aligned.
func (w *fbWalker) check(pos, n, align int, what string) error {
	if pos < 0 || n < 0 || pos > len(w.buf)-n {
		return failf("%s (%d bytes at %d) is outside the %d-byte buffer", what, n, pos, len(w.buf))
	}
	if !w.aligned(pos, align) {
		return failf("%s at %d is not %d-byte aligned", what, pos, align)
	}
	return nil
}

func (w *fbWalker) u32(pos int) uint32 { return binary.LittleEndian.Uint32(w.buf[pos:]) }
func (w *fbWalker) u16(pos int) uint16 { return binary.LittleEndian.Uint16(w.buf[pos:]) }

// offset follows the uoffset stored at pos.
func (w *fbWalker) offset(pos int) (int, error) {
	if err := w.check(pos, 4, 4, "offset"); err != nil {
		return 0, err
	}
	o := w.u32(pos)
	if o == 0 || int32(o) < 0 {
		return 0, failf("invalid offset %d at %d", o, pos)
	}
	target := pos + int(o)
	if target >= len(w.buf) {
		return 0, failf("offset at %d points to %d, outside the %d-byte buffer", pos, target, len(w.buf))
	}
	return target, nil
}

func (w *fbWalker) enter() error {
	w.depth++
	if w.depth > w.opts.MaxDepth {
		return failf("nesting deeper than %d", w.opts.MaxDepth)
	}
	w.tables++
	if w.tables > w.opts.MaxTables {
		return failf("more than %d tables", w.opts.MaxTables)
	}
	return nil
}

func (w *fbWalker) table(t *Type, pos int) (int, error) {
	if err := w.enter(); err != nil {
		return 0, err
	}
	if err := w.check(pos, 4, 4, "table"); err != nil {
		return 0, err
	}
	vt := int64(pos) - int64(int32(w.u32(pos)))
	if vt < 0 || vt > int64(len(w.buf)) {
		return 0, failf("vtable of the table at %d is outside the buffer", pos)
	}
	if err := w.check(int(vt), 4, 2, "vtable"); err != nil {
		return 0, err
	}
	vpos := int(vt)
	vsize := int(w.u16(vpos))
	if vsize&1 != 0 {
		return 0, failf("vtable at %d has invalid size %d", vpos, vsize)
	}
	if err := w.check(vpos, vsize, 2, "vtable"); err != nil {
		return 0, err
	}
	rec := 0
	if w.build {
		rec = w.a.record(t, len(t.Fields))
	}
	var obj mpObject
	if w.mp != nil {
		obj = w.mp.beginMap()
	}
	for i, f := range t.Fields {
		// A deprecated field is read when present, as flatc prints it: data
		// an old writer stored is not dropped.
		fo := 0
		if int(f.Slot)+2 <= vsize {
			fo = int(w.u16(vpos + int(f.Slot)))
		}
		if fo == 0 {
			if f.Required {
				return 0, at(failf("required field is missing"), f.Name)
			}
			continue
		}
		p := pos + fo
		if err := w.check(p, f.Size, f.Align, "field"); err != nil {
			return 0, at(err, f.Name)
		}
		key := 0
		if w.mp != nil {
			key = w.mp.key(f.Name)
		}
		v, err := w.field(t, f, pos, vpos, vsize, p)
		if err != nil {
			return 0, at(err, f.Name)
		}
		if w.build {
			w.a.set(rec, i, v)
		}
		if w.mp != nil {
			w.mp.entry(&obj, key, v.kind != 0)
		}
	}
	if w.mp != nil {
		w.mp.endMap(obj)
	}
	w.depth--
	return rec, nil
}

// field reads one present table field whose inline value is at p.
func (w *fbWalker) field(t *Type, f *Field, tpos, vpos, vsize, p int) (slot, error) {
	switch f.Kind {
	case Struct:
		return w.structValue(f.Type, p), nil
	case String:
		q, err := w.offset(p)
		if err != nil {
			return slot{}, err
		}
		return w.str(q)
	case Table:
		q, err := w.offset(p)
		if err != nil {
			return slot{}, err
		}
		return w.tableValue(f.Type, q)
	case Union:
		tag := w.tableU8(f.UnionTypeField, tpos, vpos, vsize)
		q, err := w.offset(p)
		if err != nil {
			return slot{}, err
		}
		return w.unionMember(f.Type, tag, q)
	case Vector:
		q, err := w.offset(p)
		if err != nil {
			return slot{}, err
		}
		if f.Elem.Kind == Union {
			return w.unionVector(f, tpos, vpos, vsize, q)
		}
		mp := w.mp
		if f.Nested != nil {
			w.mp = nil // written as the nested table, not as bytes
		}
		v, n, err := w.vector(f.Elem, q)
		w.mp = mp
		if err != nil {
			return slot{}, err
		}
		if f.Nested != nil {
			// A nested buffer is verified on its own (no file identifier
			// required), sharing this walk's depth and table budgets.
			so := *w.opts
			so.Identifier, so.SizePrefixed = "", false
			sub := &fbWalker{buf: w.buf[q+4 : q+4+n], opts: &so, depth: w.depth, tables: w.tables, build: w.build, a: w.a, mp: w.mp}
			nv, err := sub.root(f.Nested)
			if err != nil {
				return slot{}, at(err, "(nested "+f.Nested.Name+")")
			}
			w.tables = sub.tables
			// flatc prints a nested flatbuffer as its table; so do Decode
			// and MsgPack.
			if w.build {
				return w.a.recordValue(nv), nil
			}
			if w.mp != nil {
				return written, nil
			}
		}
		return v, nil
	}
	if w.mp != nil {
		w.mp.scalar(f.scalarKind(), w.buf[p:])
		return written, nil
	}
	if !w.build {
		return slot{}, nil
	}
	return scalarValue(f.scalarKind(), w.buf[p:]), nil
}

// tableU8 reads a union's type field from a table (0, NONE, when absent).
func (w *fbWalker) tableU8(f *Field, tpos, vpos, vsize int) uint8 {
	if int(f.Slot)+2 > vsize {
		return 0
	}
	fo := int(w.u16(vpos + int(f.Slot)))
	if fo == 0 || tpos+fo >= len(w.buf) {
		return 0
	}
	return w.buf[tpos+fo]
}

func (w *fbWalker) tableValue(t *Type, pos int) (slot, error) {
	rec, err := w.table(t, pos)
	if err != nil {
		return slot{}, err
	}
	if w.mp != nil {
		return written, nil
	}
	if !w.build {
		return slot{}, nil
	}
	return w.a.recordValue(rec), nil
}

func (w *fbWalker) str(pos int) (slot, error) {
	if err := w.check(pos, 4, 4, "string length"); err != nil {
		return slot{}, err
	}
	n := int64(w.u32(pos))
	end := int64(pos) + 4 + n
	if end >= int64(len(w.buf)) {
		return slot{}, failf("string of %d bytes at %d runs past the end of the buffer", n, pos)
	}
	if w.buf[end] != 0 {
		return slot{}, failf("string at %d is not NUL-terminated", pos)
	}
	if w.mp != nil {
		return written, w.mp.str(w.buf[pos+4 : end])
	}
	if !w.build {
		return slot{}, nil
	}
	return w.a.copyBytes(String, w.buf[pos+4:end]), nil
}

// unionMember verifies (and decodes) the member a union tag selects. A tag
// the schema does not know comes from a newer writer: it is skipped.
func (w *fbWalker) unionMember(u *Type, tag uint8, pos int) (slot, error) {
	if tag == 0 {
		return slot{}, nil
	}
	ev, ok := u.EnumValueOf(int64(tag))
	if !ok || ev.Member == nil {
		return slot{}, nil
	}
	switch ev.Member.Kind {
	case Table:
		return w.tableValue(ev.Member.Type, pos)
	case Struct:
		st := ev.Member.Type
		if err := w.check(pos, st.ByteSize, st.MinAlign, "union struct"); err != nil {
			return slot{}, err
		}
		return w.structValue(st, pos), nil
	default: // String
		return w.str(pos)
	}
}

func (w *fbWalker) unionVector(f *Field, tpos, vpos, vsize, q int) (slot, error) {
	tf := f.UnionTypeField
	fo := 0
	if int(tf.Slot)+2 <= vsize {
		fo = int(w.u16(vpos + int(tf.Slot)))
	}
	if fo == 0 {
		return slot{}, failf("union vector has no %s vector", tf.Name)
	}
	tq, err := w.offset(tpos + fo)
	if err != nil {
		return slot{}, err
	}
	// The types are only verified here: their values are the tags read
	// below, and the type field writes them itself.
	mp, build := w.mp, w.build
	w.mp, w.build = nil, false
	_, _, err = w.vector(tf.Elem, tq)
	w.mp, w.build = mp, build
	if err != nil {
		return slot{}, err
	}
	if err := w.check(q, 4, 4, "vector length"); err != nil {
		return slot{}, err
	}
	n := int(w.u32(q))
	if n != int(w.u32(tq)) {
		return slot{}, failf("union vector has %d values but %d types", n, w.u32(tq))
	}
	if int64(q)+4+4*int64(n) > int64(len(w.buf)) {
		return slot{}, failf("vector of %d offsets at %d runs past the end of the buffer", n, q)
	}
	out := 0
	if w.build {
		out = w.a.values(n)
	}
	if w.mp != nil {
		w.mp.array(n)
	}
	for i := 0; i < n; i++ {
		tag := w.buf[tq+4+i]
		if tag == 0 {
			if w.mp != nil {
				w.mp.null()
			}
			if w.build {
				w.a.vals[out+i] = null
			}
			continue
		}
		ep, err := w.offset(q + 4 + 4*i)
		if err != nil {
			return slot{}, atIndex(err, i)
		}
		v, err := w.unionMember(f.Elem.Type, tag, ep)
		if err != nil {
			return slot{}, atIndex(err, i)
		}
		if w.build {
			if v.kind == 0 {
				v = null // a member this schema does not know
			}
			w.a.vals[out+i] = v
		}
		if w.mp != nil && v.kind == 0 {
			w.mp.null() // a member this schema does not know
		}
	}
	if w.mp != nil {
		return written, nil
	}
	if !w.build {
		return slot{}, nil
	}
	return list(out, n), nil
}

// vector verifies (and decodes) a vector at pos; n is its length.
func (w *fbWalker) vector(e *TypeRef, pos int) (slot, int, error) {
	if err := w.check(pos, 4, 4, "vector length"); err != nil {
		return slot{}, 0, err
	}
	n := int64(w.u32(pos))
	// Like the C++ verifier, only the length field's alignment is checked:
	// builders align the elements, and reads here need no alignment.
	size, _ := tableValueSize(e)
	if int64(pos)+4+n*int64(size) > int64(len(w.buf)) {
		return slot{}, 0, failf("vector of %d %d-byte elements at %d runs past the end of the buffer", n, size, pos)
	}
	count := int(n)
	base := pos + 4
	out := 0
	if w.build {
		out = w.a.values(count)
	}
	if w.mp != nil {
		w.mp.array(count)
	}
	switch e.Kind {
	case Struct:
		if w.build || w.mp != nil {
			for i := 0; i < count; i++ {
				v := w.structValue(e.Type, base+i*size)
				if w.build {
					w.a.vals[out+i] = v
				}
			}
		}
	case String, Table:
		for i := 0; i < count; i++ {
			q, err := w.offset(base + 4*i)
			if err != nil {
				return slot{}, 0, atIndex(err, i)
			}
			var v slot
			if e.Kind == String {
				v, err = w.str(q)
			} else {
				v, err = w.tableValue(e.Type, q)
			}
			if err != nil {
				return slot{}, 0, atIndex(err, i)
			}
			if w.build {
				w.a.vals[out+i] = v
			}
		}
	default:
		k := e.scalarKind()
		if w.mp != nil {
			w.mp.scalars(k, w.buf[base:base+count*size], size)
		}
		if w.build {
			for i := 0; i < count; i++ {
				w.a.vals[out+i] = scalarValue(k, w.buf[base+i*size:])
			}
		}
	}
	if w.mp != nil {
		return written, count * size, nil
	}
	if !w.build {
		return slot{}, count * size, nil
	}
	return list(out, count), count * size, nil
}

// structValue decodes an inline struct whose bytes are known to be in range.
func (w *fbWalker) structValue(t *Type, pos int) slot {
	if w.mp != nil {
		w.mp.fbStruct(t, w.buf[pos:pos+t.ByteSize])
		return written
	}
	if !w.build {
		return slot{}
	}
	return w.a.recordValue(w.a.fbStruct(t, w.buf[pos:pos+t.ByteSize]))
}

// fbStruct decodes an inline FlatBuffers struct, every field, and returns
// its record's index.
func (a *arena) fbStruct(t *Type, b []byte) int {
	r := a.record(t, len(t.Fields))
	for i, f := range t.Fields {
		p := b[f.Slot:]
		switch f.Kind {
		case Struct:
			a.set(r, i, a.recordValue(a.fbStruct(f.Type, p)))
		case Array:
			arr := a.values(f.Len)
			es := f.Size / f.Len
			for j := 0; j < f.Len; j++ {
				if f.Elem.Kind == Struct {
					a.vals[arr+j] = a.recordValue(a.fbStruct(f.Elem.Type, p[j*es:]))
				} else {
					a.vals[arr+j] = scalarValue(f.Elem.scalarKind(), p[j*es:])
				}
			}
			a.set(r, i, list(arr, f.Len))
		default:
			a.set(r, i, scalarValue(f.scalarKind(), p))
		}
	}
	return r
}

// scalarKind is the stored integer or float kind of a scalar, enum or union type.
func (r *TypeRef) scalarKind() Kind {
	switch r.Kind {
	case Enum:
		return r.Type.Underlying
	case UnionType:
		return Uint8
	}
	return r.Kind
}

func readScalar(k Kind, b []byte) any {
	switch k {
	case Bool:
		return b[0] != 0
	case Int8:
		return int64(int8(b[0]))
	case Uint8:
		return uint64(b[0])
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case Uint16:
		return uint64(binary.LittleEndian.Uint16(b))
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	case Uint32:
		return uint64(binary.LittleEndian.Uint32(b))
	case Int64:
		return int64(binary.LittleEndian.Uint64(b))
	case Uint64:
		return binary.LittleEndian.Uint64(b)
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return nil
}
