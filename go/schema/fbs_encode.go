package schema

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/tinylib/msgp/msgp"
)

// EncodeFlatBuffer builds a FlatBuffers message of table type t from v, a
// dynamic value in the form Decode returns, or as a JSON object parsed with
// encoding/json gives it (numbers as float64 or json.Number, or as decimal
// strings, as Cap'n Proto's JSON writes 64-bit integers, NaN and
// infinities; enums and union types by name
// or number, bit flags as space-separated names, [ubyte] vectors as []byte,
// a base64 string or a list of numbers; a nested_flatbuffer field as its
// root table).
//
// It builds with b, the official runtime's Builder, which it resets first:
// pass one Builder again to reuse its memory, or one whose Bytes is a
// region slot to build in place. The message is b.FinishedBytes(). Into a
// Builder with room, encoding allocates nothing once warm (its working
// memory is pooled; under the race detector sync.Pool drops entries on
// purpose, so a few allocations show there).
//
// Values are never changed to fit: an integer outside its field's range, a
// fraction in an integer field, a finite float64 beyond float32's range in a
// float field, an unknown field or enum name, or a missing required field
// is an error naming the field's path. Fields equal to their default are
// left out, as flatc does, except optional scalars (`= null`); deprecated
// fields are written when given, as flatc writes them from JSON (Decode
// reads them back when present).
// As flatc builds from JSON, vectors of tables or structs with a `key` field
// are sorted by key (stably), so generated code's LookupByKey finds them;
// vectors honour their field's `force_align`; nested_flatbuffer bytes must
// verify as their root table; a field with a `hash` attribute takes a string,
// stored as flatc's FNV hash of it.
func (t *Type) EncodeFlatBuffer(b *flatbuffers.Builder, v map[string]any) error {
	return t.encodeFlatBuffer(b, v, nil)
}

func (t *Type) encodeFlatBuffer(b *flatbuffers.Builder, v map[string]any, mp []byte) (err error) {
	if t.Format != FlatBuffers || t.Kind != Table {
		return fmt.Errorf("schema: %s is a %s %s, not a FlatBuffers table", t.Name, t.Format, t.Kind)
	}
	defer func() {
		// The Builder panics on misuse; nothing the input holds may cause it.
		if p := recover(); p != nil {
			err = fmt.Errorf("schema: encode %s: internal error: %v", t.Name, p)
		}
	}()
	b.Reset()
	// Messages start 8-aligned from the end of the buffer, so a buffer whose
	// length is a multiple of 8 (a region slot) holds them 8-aligned.
	b.Prep(8, 0)
	sc := fbScratches.Get().(*fbScratch)
	defer sc.put()
	e := fbEncoder{b: b, fbScratch: sc}
	root, err := e.table(t, v, mp)
	if err != nil {
		return toEncodeError(t, err)
	}
	if id := t.schema.FileIdentifier; id != "" && t == t.schema.Root {
		b.FinishWithFileIdentifier(root, []byte(id))
	} else {
		b.Finish(root)
	}
	return nil
}

// EncodeFlatBufferMsgPack builds a FlatBuffers message of table type t
// from mp, one MessagePack map in the form ValueFromMsgPack reads (what
// msgspec writes for a record class or a dict), as EncodeFlatBuffer(b,
// ValueFromMsgPack(mp)) would: the same message and the same errors. Tables,
// vectors, strings and bytes are read from mp in place, without the dynamic
// value (this is the road from Python); only scalars, structs and union
// types take their dynamic value, one at a time.
func (t *Type) EncodeFlatBufferMsgPack(b *flatbuffers.Builder, mp []byte) error {
	if err := checkMsgPackMap(mp); err != nil {
		return err
	}
	return t.encodeFlatBuffer(b, nil, mp)
}

// EncodeError reports a value that cannot be encoded as its field's type.
type EncodeError struct {
	Type   string
	Path   string
	Reason string
}

func (e *EncodeError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("encode %s: %s", e.Type, e.Reason)
	}
	return fmt.Sprintf("encode %s: %s: %s", e.Type, e.Path, e.Reason)
}

func toEncodeError(t *Type, err error) error {
	de, ok := toDataError(t.Format, t, err).(*DataError)
	if !ok {
		return err
	}
	return &EncodeError{Type: de.Type, Path: de.Path, Reason: de.Reason}
}

type fbEncoder struct {
	b     *flatbuffers.Builder
	depth int
	*fbScratch
}

// fbScratch is an encode's working memory, pooled so that encoding into a
// slot large enough allocates nothing.
type fbScratch struct {
	// offs is a stack: each table and vector of offsets being built takes a
	// window of it (index it, never keep a slice of it: it may move).
	offs       []flatbuffers.UOffsetT
	bits       []uint64 // a scalar vector's elements
	raw        []byte   // struct bytes, laid out front to back
	order      []int    // the order structs of a vector are written in
	valueStack          // the fields' values of each table being built
}

var fbScratches = sync.Pool{New: func() any { return new(fbScratch) }}

func (s *fbScratch) put() {
	s.pop(0) // holds the caller's values: not kept past the call
	s.offs, s.bits, s.raw, s.order = s.offs[:0], s.bits[:0], s.raw[:0], s.order[:0]
	fbScratches.Put(s)
}

// window pushes n zero offsets and returns the index of the first.
func (s *fbScratch) window(n int) int {
	base := len(s.offs)
	s.offs = slices.Grow(s.offs, n)[:base+n]
	clear(s.offs[base:])
	return base
}

// structs returns n zeroed struct layouts of size bytes each, in raw.
func (s *fbScratch) structs(n, size int) []byte {
	s.raw = slices.Grow(s.raw[:0], n*size)[:n*size]
	clear(s.raw)
	return s.raw
}

func (e *fbEncoder) enter() error {
	if e.depth++; e.depth > defaultMaxDepth {
		return failf("nesting deeper than %d levels", defaultMaxDepth)
	}
	return nil
}

// table builds a table from m (a dynamic value) or mp (the MessagePack
// bytes of one; see EncodeFlatBufferMsgPack): its children first (the
// Builder cannot nest objects), then the table's own fields.
func (e *fbEncoder) table(t *Type, m map[string]any, mp []byte) (flatbuffers.UOffsetT, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	// Windows by Field.Index: the fields' values and built offsets.
	vals, offsets := e.push(len(t.Fields)), e.window(len(t.Fields))
	defer e.leave(vals, offsets) // one defer: the compiler inlines it
	if err := e.readObject(t, m, mp, vals); err != nil {
		return 0, err
	}
	for _, f := range t.Fields {
		fv := e.vals[vals+f.Index]
		if !fv.present() {
			if f.Required {
				return 0, at(failf("required field is missing"), f.Name)
			}
			continue
		}
		var off flatbuffers.UOffsetT
		var err error
		switch f.Kind {
		case String:
			off, err = e.strValue(fv)
		case Table:
			off, err = e.tableOf(f.Type, fv)
		case Union:
			tf := f.UnionTypeField
			if tf == nil || !e.vals[vals+tf.Index].present() {
				return 0, at(failf("union value without its type field"), f.Name)
			}
			tx, terr := e.vals[vals+tf.Index].value()
			var tag uint8
			if terr == nil {
				tag, terr = e.unionTag(f.Type, tx)
			}
			if terr != nil {
				return 0, at(terr, tf.Name)
			}
			if tag == 0 {
				return 0, at(failf("union value present but its type is NONE"), f.Name)
			}
			off, err = e.unionMember(f.Type, tag, fv)
		case Vector:
			var tags fieldValue
			if f.UnionTypeField != nil {
				tags = e.vals[vals+f.UnionTypeField.Index]
			}
			off, err = e.vector(f, fv, tags)
		default:
			continue
		}
		if err != nil {
			return 0, at(err, f.Name)
		}
		e.offs[offsets+f.Index] = off
	}
	e.b.StartObject(t.fbSlots.vtableSlots)
	for _, f := range t.fbSlots.order {
		if e.vals[vals+f.Index].present() {
			if err := e.slot(f, vals, offsets); err != nil {
				return 0, at(err, f.Name)
			}
		}
	}
	return e.b.EndObject(), nil
}

// fbSlotPlan is the order in which a table's fields are written, computed
// once per type.
type fbSlotPlan struct {
	order       []*Field
	vtableSlots int // the largest field id + 1
}

// planSlots orders a table's fields largest first, as flatc lays them out,
// so padding stays small: 8-, 4-, 2- and 1-byte values, then structs of
// other sizes.
func planSlots(fields []*Field) fbSlotPlan {
	p := fbSlotPlan{order: make([]*Field, 0, len(fields))}
	for _, f := range fields {
		p.vtableSlots = max(p.vtableSlots, int(f.ID)+1)
	}
	for _, size := range [...]int{8, 4, 2, 1} {
		for _, f := range fields {
			if f.Size == size {
				p.order = append(p.order, f)
			}
		}
	}
	for _, f := range fields {
		if f.Kind == Struct && f.Size != 8 && f.Size != 4 && f.Size != 2 && f.Size != 1 {
			p.order = append(p.order, f)
		}
	}
	return p
}

// leave ends a table: its windows are popped.
func (e *fbEncoder) leave(vals, offsets int) {
	e.depth--
	e.pop(vals)
	e.offs = e.offs[:offsets]
}

// slot writes one present field of the table being built, whose fields
// are in the windows at vals and offsets.
func (e *fbEncoder) slot(f *Field, vals, offsets int) error {
	id := int(f.ID)
	switch f.Kind {
	case String, Table, Union, Vector:
		e.b.PrependUOffsetTSlot(id, e.offs[offsets+f.Index], 0)
		return nil
	}
	switch f.Kind {
	case Struct:
		x, err := e.vals[vals+f.Index].value()
		if err == nil {
			err = e.structValue(f.Type, x)
		}
		if err != nil {
			return err
		}
		e.b.Slot(id)
		return nil
	case UnionType:
		x, err := e.vals[vals+f.Index].value()
		if err != nil {
			return err
		}
		tag, err := e.unionTag(f.Type, x)
		if err != nil {
			return err
		}
		// A type without its value is written as flatc writes it (a message
		// may hold one); a value without a type was refused with the value.
		if tag != 0 {
			e.b.PrependByteSlot(id, tag, 0)
		}
		return nil
	}
	k := f.scalarKind()
	v := e.vals[vals+f.Index]
	var bits uint64
	hashed := false
	if f.hash != nil { // a string for a hashed field, as flatc takes it
		var s []byte
		if s, hashed = v.str(); hashed {
			bits = f.hash(s)
		}
	}
	if !hashed {
		var err error
		if bits, err = v.scalar(k, f.Type); err != nil {
			return err
		}
	}
	if !f.Optional && f.Default != nil {
		if d, err := scalarBits(k, f.Type, f.Default); err == nil && d == bits {
			return nil // flatc leaves defaults out
		}
	} else if !f.Optional && bits == 0 {
		return nil
	}
	e.b.Prep(k.scalarSize(), 0)
	placeScalar(e.b, k, bits)
	e.b.Slot(id)
	return nil
}

// strValue builds a string.
func (e *fbEncoder) strValue(v fieldValue) (flatbuffers.UOffsetT, error) {
	if v.mp != nil {
		if b, ok := v.str(); ok { // its UTF-8 was checked with the whole input
			return e.b.CreateByteString(b), nil
		}
	}
	x, err := v.value()
	if err != nil {
		return 0, err
	}
	return e.str(x)
}

// tableOf builds a table of type t from v.
func (e *fbEncoder) tableOf(t *Type, v fieldValue) (flatbuffers.UOffsetT, error) {
	if v.mp != nil {
		return e.table(t, nil, v.mp)
	}
	return e.tableValue(t, v.x)
}

// textForBytes refuses a MessagePack string where bytes belong: text that
// happens to be base64 would be stored as other bytes than given.
func textForBytes() error { return failf("want bytes, got a string") }

func (e *fbEncoder) str(x any) (flatbuffers.UOffsetT, error) {
	if s, ok := x.(string); ok { // bytes are not text, as in Cap'n Proto: what they hold may not be UTF-8
		return e.b.CreateString(s), nil
	}
	return 0, failf("want a string, got %s", jsonKind(x))
}

func (e *fbEncoder) tableValue(t *Type, x any) (flatbuffers.UOffsetT, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return 0, failf("want an object for table %s, got %s", t.Name, jsonKind(x))
	}
	return e.table(t, m, nil)
}

// unionTag resolves a union type value: a member name or its number.
func (e *fbEncoder) unionTag(u *Type, x any) (uint8, error) {
	if s, ok := x.(string); ok {
		for _, ev := range u.Values {
			if ev.Name == s {
				return uint8(ev.Value), nil
			}
		}
		return 0, failf("%q is not a member of union %s", s, u.Name)
	}
	bits, err := scalarBits(Uint8, nil, x)
	if err != nil {
		return 0, err
	}
	if ev, ok := u.EnumValueOf(int64(bits)); !ok || (bits != 0 && ev.Member == nil) {
		return 0, failf("%d is not a member of union %s", bits, u.Name)
	}
	return uint8(bits), nil
}

// unionMember builds the member value v of union u selected by tag.
func (e *fbEncoder) unionMember(u *Type, tag uint8, v fieldValue) (flatbuffers.UOffsetT, error) {
	ev, _ := u.EnumValueOf(int64(tag))
	if ev.Member == nil {
		return 0, failf("union %s has no member %d", u.Name, tag)
	}
	switch ev.Member.Kind {
	case Table:
		return e.tableOf(ev.Member.Type, v)
	case Struct:
		x, err := v.value()
		if err == nil {
			err = e.structValue(ev.Member.Type, x)
		}
		if err != nil {
			return 0, err
		}
		return e.b.Offset(), nil
	}
	return e.strValue(v)
}

// vector builds a vector from v; tags holds a vector of unions' types.
// MessagePack arrays and bin bytes are read in place.
func (e *fbEncoder) vector(f *Field, v, tags fieldValue) (flatbuffers.UOffsetT, error) {
	el := f.Elem
	bytesLike := (el.scalarKind() == Uint8 || el.scalarKind() == Int8) && el.Kind != Enum
	var n int
	var item func(int) (fieldValue, error)
	var mpItems mpItems
	switch t := msgp.NextType(v.mp); {
	case v.mp != nil && f.Nested == nil && t == msgp.BinType && bytesLike:
		b, _ := v.text()
		return e.byteVector(f, b), nil
	case v.mp != nil && f.Nested == nil && t == msgp.StrType && bytesLike:
		return 0, textForBytes() // MessagePack has bytes: base64 text is JSON's form of them
	case v.mp != nil && f.Nested == nil && t == msgp.ArrayType:
		var err error
		if n, mpItems, err = arrayItems(v.mp); err != nil {
			return 0, err
		}
		item = mpItems.item
	default:
		x, err := v.value()
		if err != nil {
			return 0, err
		}
		if f.Nested != nil {
			return e.nested(f, x)
		}
		if bytesLike {
			switch s := x.(type) {
			case []byte:
				return e.byteVector(f, s), nil
			case string: // JSON carries bytes as base64
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return 0, failf("bytes as a string must be base64: %v", err)
				}
				return e.byteVector(f, raw), nil
			}
		}
		items, ok := listOf(x)
		if !ok {
			return 0, failf("want a list, got %s", jsonKind(x))
		}
		n, item = len(items), func(i int) (fieldValue, error) { return fieldValue{x: items[i], given: true}, nil }
	}
	switch el.Kind {
	case String, Table, Union:
		var tagList []any
		if el.Kind == Union {
			tx, err := tags.value()
			if err != nil {
				return 0, err
			}
			tv, ok := listOf(tx)
			if !ok || len(tv) != n {
				return 0, failf("union vector needs a %s list of the same length", f.UnionTypeField.Name)
			}
			tagList = tv
		}
		return e.offsetVector(el, f.vectorAlign, n, item, tagList)
	case Struct:
		st := el.Type
		// Check (and convert) every element before the vector is started.
		sz := st.ByteSize
		enc := e.structs(n, sz)
		for i := range n {
			x, err := e.itemValue(item, i)
			if err == nil {
				err = fillStruct(st, x, enc[i*sz:(i+1)*sz])
			}
			if err != nil {
				return 0, atIndex(err, i)
			}
		}
		// The order to write them in: by key, when the struct has one.
		order := slices.Grow(e.order[:0], n)[:n]
		e.order = order
		for i := range order {
			order[i] = i
		}
		if key := st.fbKey; key != nil {
			k := key.scalarKind()
			at := func(i int) uint64 { return readBits(enc[i*sz+int(key.Slot):], key.Size) }
			slices.SortStableFunc(order, func(i, j int) int { return compareScalars(k, at(i), at(j)) })
		}
		e.b.StartVector(sz, n, max(st.MinAlign, f.vectorAlign))
		for _, i := range slices.Backward(order) {
			placeBytes(e.b, enc[i*sz:(i+1)*sz])
		}
		return e.b.EndVector(n), nil
	}
	k := el.scalarKind()
	bits := slices.Grow(e.bits[:0], n)[:n]
	e.bits = bits
	for i := range n {
		it, err := item(i)
		if err == nil {
			if el.Kind == UnionType {
				var x any
				var tag uint8
				if x, err = it.value(); err == nil {
					tag, err = e.unionTag(el.Type, x)
				}
				bits[i] = uint64(tag)
			} else {
				bits[i], err = it.scalar(k, el.Type)
			}
		}
		if err != nil {
			return 0, atIndex(err, i)
		}
	}
	return e.scalarVector(k, f.vectorAlign, bits), nil
}

// itemValue is the dynamic value of item i.
func (e *fbEncoder) itemValue(item func(int) (fieldValue, error), i int) (any, error) {
	it, err := item(i)
	if err != nil {
		return nil, err
	}
	return it.value()
}

// offsetVector builds a vector of n strings, tables or union members (whose
// types are tags), which item yields in order.
func (e *fbEncoder) offsetVector(el *TypeRef, align, n int, item func(i int) (fieldValue, error), tags []any) (flatbuffers.UOffsetT, error) {
	offs := e.window(n)
	defer func() { e.offs = e.offs[:offs] }()
	for i := range n {
		it, err := item(i)
		var o flatbuffers.UOffsetT
		if err == nil {
			switch el.Kind {
			case String:
				o, err = e.strValue(it)
			case Table:
				o, err = e.tableOf(el.Type, it)
			default:
				var tag uint8
				if tag, err = e.unionTag(el.Type, tags[i]); err == nil {
					o, err = e.unionMember(el.Type, tag, it)
				}
			}
		}
		if err != nil {
			return 0, atIndex(err, i)
		}
		e.offs[offs+i] = o // after the call: building children moves offs
	}
	if el.Kind == Table && el.Type.fbKey != nil {
		e.sortTablesByKey(el.Type.fbKey, e.offs[offs:offs+n])
	}
	e.b.StartVector(4, n, max(4, align))
	for i := n - 1; i >= 0; i-- {
		e.b.PrependUOffsetT(e.offs[offs+i])
	}
	return e.b.EndVector(n), nil
}

// sortTablesByKey sorts offs, the tables of a vector being built, by their
// key field, as flatc sorts them, so that generated code's LookupByKey
// (a binary search) finds them. Equal keys keep their order.
func (e *fbEncoder) sortTablesByKey(key *Field, offs []flatbuffers.UOffsetT) {
	b := e.b.Bytes
	table := func(o flatbuffers.UOffsetT) flatbuffers.Table {
		return flatbuffers.Table{Bytes: b, Pos: flatbuffers.UOffsetT(len(b)) - o}
	}
	if key.Kind == String {
		str := func(o flatbuffers.UOffsetT) []byte {
			t := table(o)
			if off := t.Offset(flatbuffers.VOffsetT(key.Slot)); off != 0 {
				return t.ByteVector(t.Pos + flatbuffers.UOffsetT(off))
			}
			return nil // an absent key sorts as ""
		}
		slices.SortStableFunc(offs, func(x, y flatbuffers.UOffsetT) int { return bytes.Compare(str(x), str(y)) })
		return
	}
	k := key.scalarKind()
	var absent uint64
	if key.Default != nil {
		absent, _ = scalarBits(k, key.Type, key.Default)
	}
	bits := func(o flatbuffers.UOffsetT) uint64 {
		t := table(o)
		if off := t.Offset(flatbuffers.VOffsetT(key.Slot)); off != 0 {
			return readBits(b[t.Pos+flatbuffers.UOffsetT(off):], k.scalarSize())
		}
		return absent
	}
	slices.SortStableFunc(offs, func(x, y flatbuffers.UOffsetT) int { return compareScalars(k, bits(x), bits(y)) })
}

// readBits reads a little-endian scalar of n bytes.
func readBits(b []byte, n int) uint64 {
	switch n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// compareScalars orders the bits of two scalars of kind k by value.
func compareScalars(k Kind, a, b uint64) int {
	switch {
	case k == Float32:
		return cmp.Compare(math.Float32frombits(uint32(a)), math.Float32frombits(uint32(b)))
	case k == Float64:
		return cmp.Compare(math.Float64frombits(a), math.Float64frombits(b))
	case k.IsSigned():
		shift := 64 - 8*uint(k.scalarSize())
		return cmp.Compare(int64(a<<shift)>>shift, int64(b<<shift)>>shift)
	}
	return cmp.Compare(a, b)
}

// scalarVector builds a vector of scalars of kind k, aligned to align (or
// their size, when larger).
func (e *fbEncoder) scalarVector(k Kind, align int, bits []uint64) flatbuffers.UOffsetT {
	size := k.scalarSize()
	e.b.StartVector(size, len(bits), max(size, align))
	for i := len(bits) - 1; i >= 0; i-- {
		placeScalar(e.b, k, bits[i])
	}
	return e.b.EndVector(len(bits))
}

// nested builds a nested_flatbuffer field from x: its root table as a
// value, or the nested buffer's bytes ([]byte, base64 or a list of
// numbers), which must verify as that root, so the message verifies too.
func (e *fbEncoder) nested(f *Field, x any) (flatbuffers.UOffsetT, error) {
	root := f.Nested
	var raw []byte
	switch v := x.(type) {
	case map[string]any:
		sub := flatbuffers.NewBuilder(256)
		if err := root.EncodeFlatBuffer(sub, v); err != nil {
			return 0, failf("nested %s: %v", root.Name, err)
		}
		raw = sub.FinishedBytes()
	case []byte:
		raw = v
	case string: // JSON carries bytes as base64
		var err error
		if raw, err = base64.StdEncoding.DecodeString(v); err != nil {
			return 0, failf("bytes as a string must be base64: %v", err)
		}
	case []any:
		raw = make([]byte, len(v))
		for i, item := range v {
			bits, err := scalarBits(Uint8, nil, item)
			if err != nil {
				return 0, atIndex(err, i)
			}
			raw[i] = byte(bits)
		}
	default:
		return 0, failf("want a %s table or its bytes, got %s", root.Name, jsonKind(x))
	}
	if err := root.Verify(raw, nil); err != nil {
		return 0, failf("nested %s: %v", root.Name, err)
	}
	// 8-aligned (at least), as flatc aligns a nested buffer, so that its
	// own 8-byte fields stay aligned when it is read in place.
	e.b.Prep(max(8, f.vectorAlign), len(raw))
	return e.b.CreateByteVector(raw), nil
}

// byteVector builds the [ubyte] or [byte] vector field f of b, aligned to
// its force_align.
func (e *fbEncoder) byteVector(f *Field, b []byte) flatbuffers.UOffsetT {
	if f.vectorAlign > 4 {
		e.b.Prep(f.vectorAlign, len(b)) // CreateByteVector aligns to 4 only
	}
	return e.b.CreateByteVector(b)
}

// structValue writes an inline struct at the head of the builder.
func (e *fbEncoder) structValue(st *Type, x any) error {
	raw := e.structs(1, st.ByteSize)
	if err := fillStruct(st, x, raw); err != nil {
		return err
	}
	e.b.Prep(st.MinAlign, st.ByteSize)
	placeBytes(e.b, raw)
	return nil
}

// placeBytes writes raw at the head, last byte first (the Builder grows
// downwards); the caller has made room with Prep or StartVector.
func placeBytes(b *flatbuffers.Builder, raw []byte) {
	for i := len(raw) - 1; i >= 0; i-- {
		b.PlaceByte(raw[i])
	}
}

func fillStruct(st *Type, x any, raw []byte) error {
	m, ok := x.(map[string]any)
	if !ok {
		return failf("want an object for struct %s, got %T", st.Name, x)
	}
	for name := range m {
		if st.Field(name) == nil {
			return at(failf("no such field in %s", st.Name), name)
		}
	}
	for _, f := range st.Fields {
		fx, ok := m[f.Name]
		if !ok || fx == nil {
			// A struct has no absent fields (nor defaults): flatc, too,
			// refuses a struct given with fewer fields than it has.
			return at(failf("struct %s needs every field; this one is missing", st.Name), f.Name)
		}
		p := raw[f.Slot:]
		switch f.Kind {
		case Struct:
			if err := fillStruct(f.Type, fx, p[:f.Type.ByteSize]); err != nil {
				return at(err, f.Name)
			}
		case Array:
			items, ok := listOf(fx)
			if !ok || len(items) != f.Len {
				return at(failf("want a list of %d", f.Len), f.Name)
			}
			es := f.Size / f.Len
			for i, it := range items {
				var err error
				if f.Elem.Kind == Struct {
					err = fillStruct(f.Elem.Type, it, p[i*es:(i+1)*es])
				} else {
					err = putScalar(f.Elem.scalarKind(), f.Elem.Type, it, p[i*es:])
				}
				if err != nil {
					return at(atIndex(err, i), f.Name)
				}
			}
		default:
			if err := putScalar(f.scalarKind(), f.Type, fx, p); err != nil {
				return at(err, f.Name)
			}
		}
	}
	return nil
}

func putScalar(k Kind, enum *Type, x any, p []byte) error {
	bits, err := scalarBits(k, enum, x)
	if err != nil {
		return err
	}
	for i := 0; i < k.scalarSize(); i++ {
		p[i] = byte(bits >> (8 * i))
	}
	return nil
}

func placeScalar(b *flatbuffers.Builder, k Kind, bits uint64) {
	switch k.scalarSize() {
	case 1:
		b.PlaceUint8(uint8(bits))
	case 2:
		b.PlaceUint16(uint16(bits))
	case 4:
		b.PlaceUint32(uint32(bits))
	default:
		b.PlaceUint64(bits)
	}
}

// scalarBits converts x to the little-endian bits of kind k, refusing any
// value the kind cannot hold exactly. enum, when set, resolves names.
func scalarBits(k Kind, enum *Type, x any) (uint64, error) {
	x = widen(x)
	if n, ok := x.(json.Number); ok {
		// Parsed with UseNumber: keep 64-bit integers exact.
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			x = i
			if i == 0 && strings.HasPrefix(string(n), "-") {
				x = math.Copysign(0, -1) // JSON's -0 is a float's -0.0 (an integer field takes it as 0)
			}
		} else if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
			x = u
		} else if f, err := strconv.ParseFloat(string(n), 64); err == nil || math.IsInf(f, 0) {
			x = f
		} else {
			return 0, failf("%q is not a number", n)
		}
	}
	if s, ok := x.(string); ok && enum != nil && enum.Kind == Enum {
		v, err := enumByName(enum, s)
		if err != nil {
			return 0, err
		}
		x = v
	} else if ok && k.IsInteger() {
		// An integer as a decimal string: how Cap'n Proto's JSON writes
		// 64-bit integers (Type.JSON too), and what flatc's parser accepts.
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			x = i
		} else if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			x = u
		} else {
			return 0, failf("%q is not an integer a %s can hold", s, k)
		}
	}
	switch k {
	case Bool:
		switch b := x.(type) {
		case bool:
			if b {
				return 1, nil
			}
			return 0, nil
		}
		return 0, failf("want a bool, got %s", typeName(x))
	case Float32, Float64:
		var f float64
		switch n := x.(type) {
		case float64:
			f = n
		case float32:
			f = float64(n)
		case int64:
			f = float64(n)
			if int64(f) != n {
				return 0, failf("%d has no exact %s", n, k)
			}
		case uint64:
			f = float64(n)
			if uint64(f) != n {
				return 0, failf("%d has no exact %s", n, k)
			}
		case string: // "NaN", "Infinity", "-Infinity": Cap'n Proto's JSON (Type.JSON too)
			v, err := strconv.ParseFloat(n, 64)
			if err != nil { // 1e400 too: out of range, never stored as infinity
				return 0, failf("%q is not a number a %s can hold", n, k)
			}
			f = v
		default:
			return 0, failf("want a number, got %s", typeName(x))
		}
		if k == Float64 {
			return math.Float64bits(f), nil
		}
		// A finite value that rounds to a finite float32 is stored rounded
		// (0.1, and 3.4028235e38, which rounds to the largest float32); one
		// that would become infinite is an error.
		if !math.IsInf(f, 0) && math.IsInf(float64(float32(f)), 0) {
			return 0, failf("%g does not fit a float32", f)
		}
		return uint64(math.Float32bits(float32(f))), nil
	}
	if !k.IsInteger() {
		return 0, failf("cannot encode a %s here", k)
	}
	var neg bool
	var mag uint64
	switch n := x.(type) {
	case int64:
		neg, mag = n < 0, uint64(n)
		if neg {
			mag = uint64(-(n + 1)) + 1
		}
	case uint64:
		mag = n
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.Abs(n) >= 1<<64 {
			return 0, failf("%g is not an integer a %s can hold", n, k)
		}
		neg = n < 0
		mag = uint64(math.Abs(n))
	case bool:
		if n {
			mag = 1
		}
	default:
		return 0, failf("want an integer, got %s", typeName(x))
	}
	size := uint(k.scalarSize() * 8)
	if k.IsSigned() {
		limit := uint64(1) << (size - 1) // |min|
		if (!neg && mag >= limit) || (neg && mag > limit) {
			return 0, failf("%s%d is outside the range of %s", sign(neg), mag, k)
		}
		if neg {
			return -mag & mask(size), nil
		}
		return mag, nil
	}
	if neg || (size < 64 && mag > mask(size)) {
		return 0, failf("%s%d is outside the range of %s", sign(neg), mag, k)
	}
	return mag, nil
}

func mask(bits uint) uint64 {
	if bits >= 64 {
		return math.MaxUint64
	}
	return 1<<bits - 1
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}

// enumByName resolves an enum value name, or space-separated flag names of
// a bit_flags enum (as flatc's JSON writes them).
func enumByName(t *Type, s string) (any, error) {
	if t.BitFlags {
		var v int64
		for _, name := range strings.Fields(s) {
			found := false
			for _, ev := range t.Values {
				if ev.Name == name {
					v |= ev.Value
					found = true
					break
				}
			}
			if !found {
				return nil, failf("%q is not a flag of %s", name, t.Name)
			}
		}
		return v, nil
	}
	for _, ev := range t.Values {
		if ev.Name == s {
			return ev.Value, nil
		}
	}
	return nil, failf("%q is not a value of enum %s", s, t.Name)
}

// typeName is the Go type of x, as %T prints it, without x escaping to the
// heap (so a scalar passed to scalarBits is not boxed on the heap).
func typeName(x any) string {
	if x == nil {
		return "<nil>"
	}
	return reflect.TypeOf(x).String()
}
