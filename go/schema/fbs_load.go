package schema

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/crossbuf/crossbuf/go/internal/fbreflect"
)

// LoadBFBS loads a FlatBuffers binary schema (the reflection.fbs form that
// `flatc -b --schema --bfbs-builtins` writes; without --bfbs-builtins, flatc
// leaves out the bit_flags and nested_flatbuffer attributes, and such
// fields then read as plain integers and byte vectors). The bytes are verified against reflection.fbs
// before they are read, so hostile input gives an error, never a panic.
// The Schema does not keep b.
func LoadBFBS(b []byte) (*Schema, error) {
	rt, err := reflectionRoot()
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || string(b[4:8]) != "BFBS" {
		return nil, errors.New("schema: not a FlatBuffers binary schema (no BFBS file identifier); compile one with `flatc -b --schema`")
	}
	if err := rt.Verify(b, nil); err != nil {
		return nil, fmt.Errorf("schema: invalid binary schema: %w", err)
	}
	s, err := buildBFBS(b)
	if err != nil {
		return nil, err
	}
	s.binary = bytes.Clone(b)
	return s, nil
}

var reflection struct {
	once sync.Once
	root *Type
	err  error
}

// reflectionRoot is reflection.fbs's Schema table, loaded from the embedded
// binary schema: the plan that verifies every other .bfbs.
func reflectionRoot() (*Type, error) {
	reflection.once.Do(func() {
		s, err := buildBFBS(fbreflect.ReflectionBFBS)
		if err == nil && s.Root == nil {
			err = errors.New("no root table")
		}
		if err != nil {
			reflection.err = fmt.Errorf("schema: embedded reflection schema: %w", err)
			return
		}
		reflection.root = s.Root
	})
	return reflection.root, reflection.err
}

type bfbsLoader struct {
	objects []*Type
	enums   []*Type
}

// buildBFBS turns a verified .bfbs into a Schema.
func buildBFBS(b []byte) (*Schema, error) {
	rs := fbreflect.GetRootAsSchema(b, 0)
	l := &bfbsLoader{}
	var obj fbreflect.Object
	var en fbreflect.Enum
	for i := 0; i < rs.ObjectsLength(); i++ {
		rs.Objects(&obj, i)
		name := string(obj.Name())
		if err := checkName(name, FlatBuffers); err != nil {
			return nil, fmt.Errorf("schema: object %d: %w", i, err)
		}
		t := &Type{Name: name, ID: FlatBuffersTypeID(name), Format: FlatBuffers, Kind: Table,
			Attributes: attributes(&obj)}
		if obj.IsStruct() {
			t.Kind = Struct
			t.ByteSize, t.MinAlign = int(obj.Bytesize()), int(obj.Minalign())
			if t.ByteSize <= 0 || t.ByteSize > 1<<20 || t.MinAlign <= 0 || t.MinAlign > 256 || bits.OnesCount(uint(t.MinAlign)) != 1 || t.ByteSize%t.MinAlign != 0 {
				return nil, fmt.Errorf("schema: struct %s: invalid size %d or alignment %d", name, t.ByteSize, t.MinAlign)
			}
		}
		l.objects = append(l.objects, t)
	}
	for i := 0; i < rs.EnumsLength(); i++ {
		rs.Enums(&en, i)
		name := string(en.Name())
		if err := checkName(name, FlatBuffers); err != nil {
			return nil, fmt.Errorf("schema: enum %d: %w", i, err)
		}
		t := &Type{Name: name, ID: FlatBuffersTypeID(name), Format: FlatBuffers, Kind: Enum, Attributes: attributes(&en)}
		if en.IsUnion() {
			t.Kind = Union
		}
		_, t.BitFlags = t.Attributes["bit_flags"]
		l.enums = append(l.enums, t)
	}
	// Second pass: fields and values may refer to any type.
	for i := 0; i < rs.EnumsLength(); i++ {
		rs.Enums(&en, i)
		if err := l.enum(&en, l.enums[i]); err != nil {
			return nil, err
		}
	}
	for i := 0; i < rs.ObjectsLength(); i++ {
		rs.Objects(&obj, i)
		if err := l.object(&obj, l.objects[i]); err != nil {
			return nil, err
		}
	}
	if err := l.structLayouts(); err != nil {
		return nil, err
	}
	s := &Schema{Format: FlatBuffers, FileIdentifier: string(rs.FileIdent())}
	types := append(append([]*Type{}, l.objects...), l.enums...)
	if err := s.finish(types); err != nil {
		return nil, err
	}
	if root := rs.RootTable(nil); root != nil {
		t, err := s.Type(string(root.Name()))
		if err != nil || t.Kind != Table {
			return nil, fmt.Errorf("schema: root table %q is not a table of the schema", root.Name())
		}
		s.Root = t
	}
	for _, t := range l.objects {
		for _, f := range t.Fields {
			if name, ok := f.Attributes["nested_flatbuffer"]; ok {
				if f.Kind != Vector || f.Elem.Kind != Uint8 {
					return nil, fmt.Errorf("schema: %s.%s: nested_flatbuffer needs a [ubyte] field", t.Name, f.Name)
				}
				nt := resolveIn(s, t.Name, name)
				if nt == nil || nt.Kind != Table {
					return nil, fmt.Errorf("schema: %s.%s: nested_flatbuffer table %q not found", t.Name, f.Name, name)
				}
				f.Nested = nt
			}
		}
	}
	return s, nil
}

// resolveIn finds a type named as written inside the namespace of scope:
// the innermost enclosing namespace first, as flatc does.
func resolveIn(s *Schema, scope, name string) *Type {
	ns := scope
	for {
		i := strings.LastIndexByte(ns, '.')
		if i < 0 {
			break
		}
		ns = ns[:i]
		if t, ok := s.byName[ns+"."+name]; ok {
			return t
		}
	}
	return s.byName[name]
}

type attributed interface {
	Attributes(obj *fbreflect.KeyValue, j int) bool
	AttributesLength() int
}

func attributes(a attributed) map[string]string {
	n := a.AttributesLength()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	var kv fbreflect.KeyValue
	for i := 0; i < n; i++ {
		a.Attributes(&kv, i)
		m[string(kv.Key())] = string(kv.Value())
	}
	return m
}

func (l *bfbsLoader) enum(en *fbreflect.Enum, t *Type) error {
	ut := en.UnderlyingType(nil)
	if ut == nil {
		return fmt.Errorf("schema: enum %s has no underlying type", t.Name)
	}
	k, ok := scalarKind(ut.BaseType())
	if t.Kind == Union {
		k, ok = Uint8, ut.BaseType() == fbreflect.BaseTypeUType || ut.BaseType() == fbreflect.BaseTypeUByte
	}
	if !ok || !k.IsInteger() {
		return fmt.Errorf("schema: enum %s: underlying type %s is not an integer", t.Name, fbreflect.EnumNamesBaseType[ut.BaseType()])
	}
	t.Underlying = k
	var ev fbreflect.EnumVal
	for i := 0; i < en.ValuesLength(); i++ {
		en.Values(&ev, i)
		v := EnumValue{Name: string(ev.Name()), Value: ev.Value()}
		if err := checkIdent(v.Name); err != nil {
			return fmt.Errorf("schema: enum %s: value %d: %w", t.Name, i, err)
		}
		if t.Kind == Union && v.Value != 0 {
			mt := ev.UnionType(nil)
			if mt == nil {
				return fmt.Errorf("schema: union %s: member %s has no type", t.Name, v.Name)
			}
			r, err := l.typeRef(mt.BaseType(), mt.Element(), mt.Index(), mt.FixedLength())
			if err != nil {
				return fmt.Errorf("schema: union %s member %s: %w", t.Name, v.Name, err)
			}
			if r.Kind != Table && r.Kind != Struct && r.Kind != String {
				return fmt.Errorf("schema: union %s member %s: a union member must be a table, struct or string, not %s", t.Name, v.Name, r.Kind)
			}
			v.Member = &r
		}
		t.Values = append(t.Values, v)
	}
	return nil
}

func scalarKind(bt fbreflect.BaseType) (Kind, bool) {
	switch bt {
	case fbreflect.BaseTypeBool:
		return Bool, true
	case fbreflect.BaseTypeByte:
		return Int8, true
	case fbreflect.BaseTypeUByte, fbreflect.BaseTypeUType:
		return Uint8, true
	case fbreflect.BaseTypeShort:
		return Int16, true
	case fbreflect.BaseTypeUShort:
		return Uint16, true
	case fbreflect.BaseTypeInt:
		return Int32, true
	case fbreflect.BaseTypeUInt:
		return Uint32, true
	case fbreflect.BaseTypeLong:
		return Int64, true
	case fbreflect.BaseTypeULong:
		return Uint64, true
	case fbreflect.BaseTypeFloat:
		return Float32, true
	case fbreflect.BaseTypeDouble:
		return Float64, true
	}
	return 0, false
}

// typeRef converts a reflection type. elem is the element base type of
// vectors and arrays; for an element, call it with bt set to the element.
func (l *bfbsLoader) typeRef(bt, elem fbreflect.BaseType, index int32, fixedLen uint16) (TypeRef, error) {
	enumAt := func() (*Type, error) {
		if index < 0 || int(index) >= len(l.enums) {
			return nil, fmt.Errorf("enum index %d out of range", index)
		}
		return l.enums[index], nil
	}
	switch bt {
	case fbreflect.BaseTypeUType:
		e, err := enumAt()
		if err != nil {
			return TypeRef{}, err
		}
		if e.Kind != Union {
			return TypeRef{}, fmt.Errorf("union type field refers to %s, which is not a union", e.Name)
		}
		return TypeRef{Kind: UnionType, Type: e}, nil
	case fbreflect.BaseTypeString:
		return TypeRef{Kind: String}, nil
	case fbreflect.BaseTypeObj:
		if index < 0 || int(index) >= len(l.objects) {
			return TypeRef{}, fmt.Errorf("object index %d out of range", index)
		}
		o := l.objects[index]
		return TypeRef{Kind: o.Kind, Type: o}, nil
	case fbreflect.BaseTypeUnion:
		e, err := enumAt()
		if err != nil {
			return TypeRef{}, err
		}
		if e.Kind != Union {
			return TypeRef{}, fmt.Errorf("union field refers to %s, which is not a union", e.Name)
		}
		return TypeRef{Kind: Union, Type: e}, nil
	case fbreflect.BaseTypeVector, fbreflect.BaseTypeArray:
		if elem == fbreflect.BaseTypeVector || elem == fbreflect.BaseTypeArray || elem == fbreflect.BaseTypeVector64 {
			return TypeRef{}, errors.New("nested vectors are not FlatBuffers")
		}
		e, err := l.typeRef(elem, fbreflect.BaseTypeNone, index, 0)
		if err != nil {
			return TypeRef{}, err
		}
		if bt == fbreflect.BaseTypeVector {
			return TypeRef{Kind: Vector, Elem: &e}, nil
		}
		if fixedLen == 0 {
			return TypeRef{}, errors.New("fixed array of length 0")
		}
		if !e.Kind.IsScalar() && e.Kind != Enum && e.Kind != Struct {
			return TypeRef{}, fmt.Errorf("fixed array of %s", e.Kind)
		}
		return TypeRef{Kind: Array, Elem: &e, Len: int(fixedLen)}, nil
	case fbreflect.BaseTypeVector64:
		return TypeRef{}, errors.New("64-bit vectors (offset64) are not supported")
	}
	k, ok := scalarKind(bt)
	if !ok {
		return TypeRef{}, fmt.Errorf("unknown base type %d", bt)
	}
	if index >= 0 && k.IsInteger() {
		e, err := enumAt()
		if err != nil {
			return TypeRef{}, err
		}
		if e.Kind != Enum || e.Underlying != k {
			return TypeRef{}, fmt.Errorf("%s field refers to %s, which is not an enum of that type", k, e.Name)
		}
		return TypeRef{Kind: Enum, Type: e}, nil
	}
	return TypeRef{Kind: k}, nil
}

func (l *bfbsLoader) object(obj *fbreflect.Object, t *Type) error {
	var rf fbreflect.Field
	for i := 0; i < obj.FieldsLength(); i++ {
		obj.Fields(&rf, i)
		f := &Field{Name: string(rf.Name()), ID: rf.Id(), Slot: rf.Offset(), Deprecated: rf.Deprecated(),
			Required: rf.Required(), Key: rf.Key(), Optional: rf.Optional(), Attributes: attributes(&rf)}
		if err := checkIdent(f.Name); err != nil {
			return fmt.Errorf("schema: %s: field %d: %w", t.Name, i, err)
		}
		if rf.Offset64() {
			return fmt.Errorf("schema: %s.%s: 64-bit offsets are not supported", t.Name, f.Name)
		}
		rt := rf.Type(nil)
		if rt == nil {
			return fmt.Errorf("schema: %s.%s has no type", t.Name, f.Name)
		}
		r, err := l.typeRef(rt.BaseType(), rt.Element(), rt.Index(), rt.FixedLength())
		if err != nil {
			return fmt.Errorf("schema: %s.%s: %w", t.Name, f.Name, err)
		}
		f.TypeRef = r
		if err := setDefault(f, rf.DefaultInteger(), rf.DefaultReal()); err != nil {
			return fmt.Errorf("schema: %s.%s: %w", t.Name, f.Name, err)
		}
		if t.Kind == Struct {
			if !f.Kind.IsScalar() && f.Kind != Enum && f.Kind != Struct && f.Kind != Array {
				return fmt.Errorf("schema: struct %s: field %s of kind %s cannot be in a struct", t.Name, f.Name, f.Kind)
			}
		} else {
			if f.Kind == Array {
				return fmt.Errorf("schema: table %s: fixed array field %s belongs in a struct", t.Name, f.Name)
			}
			if f.Slot < 4 || f.Slot%2 != 0 {
				return fmt.Errorf("schema: %s.%s: invalid vtable offset %d", t.Name, f.Name, f.Slot)
			}
		}
		t.Fields = append(t.Fields, f)
	}
	if t.Kind == Struct {
		sort.SliceStable(t.Fields, func(i, j int) bool { return t.Fields[i].Slot < t.Fields[j].Slot })
	} else {
		sort.SliceStable(t.Fields, func(i, j int) bool { return t.Fields[i].ID < t.Fields[j].ID })
	}
	seen := map[string]bool{}
	slots := map[uint16]string{}
	for _, f := range t.Fields {
		if seen[f.Name] {
			return fmt.Errorf("schema: %s: field %s is defined twice", t.Name, f.Name)
		}
		seen[f.Name] = true
		if t.Kind == Table {
			if o, dup := slots[f.Slot]; dup {
				return fmt.Errorf("schema: %s: fields %s and %s share vtable offset %d", t.Name, o, f.Name, f.Slot)
			}
			slots[f.Slot] = f.Name
			f.Size, f.Align = tableValueSize(&f.TypeRef)
			if h, ok := fnvHashes[f.Attributes["hash"]]; ok && f.Kind.IsInteger() && f.Size == h.size {
				f.hash = h.sum
			}
			if f.Kind == Vector {
				if err := planVectorAlign(f); err != nil {
					return fmt.Errorf("schema: %s.%s: %w", t.Name, f.Name, err)
				}
			}
		}
	}
	if t.Kind == Table {
		// Pair each union value field with its `_type` field.
		for _, f := range t.Fields {
			isUnion := f.Kind == Union || (f.Kind == Vector && f.Elem.Kind == Union)
			if !isUnion {
				continue
			}
			tf := t.fieldNamed(f.Name + "_type")
			ok := tf != nil && ((f.Kind == Union && tf.Kind == UnionType && tf.Type == f.Type) ||
				(f.Kind == Vector && tf.Kind == Vector && tf.Elem.Kind == UnionType && tf.Elem.Type == f.Elem.Type))
			if !ok {
				return fmt.Errorf("schema: %s.%s: union has no matching %s_type field", t.Name, f.Name, f.Name)
			}
			f.UnionTypeField, tf.UnionValueField = tf, f
		}
	}
	return nil
}

func (t *Type) fieldNamed(name string) *Field {
	for _, f := range t.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// tableValueSize is the size and alignment of what a table stores inline.
// fnv64Basis is flatc's 64-bit FNV offset basis (0xcbf29ce484222645, not
// FNV's published 0xcbf29ce484222325): stored hashes must be flatc's.
const fnv64Basis = 0xcbf29ce484222645

// fnvHashes are the `hash` attributes flatc knows: a field with one takes a
// string in JSON (and in encoders' values), stored as its FNV hash.
var fnvHashes = map[string]struct {
	size int
	sum  func([]byte) uint64
}{
	"fnv1_32": {4, func(b []byte) uint64 {
		h := uint32(2166136261)
		for _, c := range b {
			h = h*16777619 ^ uint32(c)
		}
		return uint64(h)
	}},
	"fnv1a_32": {4, func(b []byte) uint64 {
		h := uint32(2166136261)
		for _, c := range b {
			h = (h ^ uint32(c)) * 16777619
		}
		return uint64(h)
	}},
	"fnv1_64": {8, func(b []byte) uint64 {
		h := uint64(fnv64Basis)
		for _, c := range b {
			h = h*1099511628211 ^ uint64(c)
		}
		return h
	}},
	"fnv1a_64": {8, func(b []byte) uint64 {
		h := uint64(fnv64Basis)
		for _, c := range b {
			h = (h ^ uint64(c)) * 1099511628211
		}
		return h
	}},
}

// maxForceAlign is the largest force_align flatc accepts.
const maxForceAlign = 32

// planVectorAlign sets the alignment of a vector field's elements: their
// own, or the field's force_align when larger (flatc honours it when it
// builds the vector; TFLite's model buffers rely on it).
func planVectorAlign(f *Field) error {
	_, f.vectorAlign = tableValueSize(f.Elem)
	fa, ok := f.Attributes["force_align"]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(fa)
	if err != nil || n < 1 || n > maxForceAlign || n&(n-1) != 0 {
		return fmt.Errorf("force_align %q is not a power of two up to %d", fa, maxForceAlign)
	}
	f.vectorAlign = max(f.vectorAlign, n)
	return nil
}

func tableValueSize(r *TypeRef) (int, int) {
	switch r.Kind {
	case Struct:
		return r.Type.ByteSize, r.Type.MinAlign
	case Enum:
		n := r.Type.Underlying.scalarSize()
		return n, n
	case UnionType:
		return 1, 1
	}
	if n := r.Kind.scalarSize(); n > 0 {
		return n, n
	}
	return 4, 4 // an offset
}

func setDefault(f *Field, di int64, dr float64) error {
	if f.Optional {
		return nil
	}
	k := f.Kind
	if k == Enum {
		k = f.Type.Underlying
	}
	switch {
	case k == Bool:
		f.Default = di != 0
	case k == Float32 || k == Float64:
		f.Default = dr
	case k.IsSigned():
		f.Default = di
	case k.IsInteger() || k == UnionType:
		f.Default = uint64(di)
	}
	return nil
}

// structLayouts sizes every struct field, checks it lies inside its struct,
// and refuses structs that contain themselves.
func (l *bfbsLoader) structLayouts() error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[*Type]int{}
	var visit func(t *Type) error
	visit = func(t *Type) error {
		switch state[t] {
		case visiting:
			return fmt.Errorf("schema: struct %s contains itself", t.Name)
		case done:
			return nil
		}
		state[t] = visiting
		for _, f := range t.Fields {
			inner := &f.TypeRef
			n := 1
			if f.Kind == Array {
				inner, n = f.Elem, f.Len
			}
			var size, align int
			switch inner.Kind {
			case Struct:
				if err := visit(inner.Type); err != nil {
					return err
				}
				size, align = inner.Type.ByteSize, inner.Type.MinAlign
			case Enum:
				size = inner.Type.Underlying.scalarSize()
				align = size
			default:
				size = inner.Kind.scalarSize()
				align = size
			}
			f.Size, f.Align = size*n, align
			if int(f.Slot)+f.Size > t.ByteSize || int(f.Slot)%align != 0 {
				return fmt.Errorf("schema: struct %s: field %s (%d bytes at offset %d) does not fit its %d-byte struct aligned",
					t.Name, f.Name, f.Size, f.Slot, t.ByteSize)
			}
		}
		state[t] = done
		return nil
	}
	for _, t := range l.objects {
		if t.Kind == Struct {
			if err := visit(t); err != nil {
				return err
			}
		}
	}
	return nil
}
