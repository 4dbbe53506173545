package schema

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refWalk rebuilds the dynamic value of what r points at using only Ref
// calls, in the shape Decode gives, so that the two roads can be compared.
func refWalk(t *testing.T, msg []byte, r Ref) any {
	t.Helper()
	switch r.Kind() {
	case RefTable, RefStruct:
		m := map[string]any{}
		ty := r.T.Type
		for _, f := range ty.Fields {
			if f.Kind == AnyPointer || (f.Kind == Vector && f.Elem.Kind == Union) {
				continue
			}
			if f.Nested != nil || f.Kind == Union {
				v, err := r.fieldValue(msg, f)
				require.NoError(t, err, f.Name)
				if v != nil {
					m[f.Name] = v
				}
				continue
			}
			if f.Kind == Interface || f.Kind == Void {
				if f.Discriminant == NoDiscriminant || activeIs(t, msg, r, f) {
					m[f.Name] = nil
				}
				continue
			}
			c, ok, err := r.Field(msg, f)
			require.NoError(t, err, f.Name)
			if ok {
				m[f.Name] = refWalk(t, msg, c)
			}
		}
		return m
	case RefList:
		n, err := r.Len(msg)
		require.NoError(t, err)
		out := make([]any, n)
		for i := range out {
			e, ok, err := r.Elem(msg, i)
			require.NoError(t, err)
			require.True(t, ok)
			if e.T.Kind == Void {
				continue
			}
			out[i] = refWalk(t, msg, e)
		}
		if r.T.Elem.Kind.IsScalar() && !(r.Format == CapnProto && r.T.Elem.Kind == Bool) {
			b, cnt, k, err := r.Scalars(msg)
			require.NoError(t, err)
			require.Equal(t, n, cnt)
			for i := range out {
				assert.Equal(t, nanSafe(out[i]), nanSafe(readScalar(k, b[i*k.scalarSize():])), "element %d", i)
			}
		}
		return out
	}
	switch r.T.Kind {
	case String:
		b, err := r.Bytes(msg)
		require.NoError(t, err)
		return string(b)
	case Bytes:
		b, err := r.Bytes(msg)
		require.NoError(t, err)
		return b
	case Float32, Float64:
		f, err := r.Float(msg)
		require.NoError(t, err)
		return f
	case Bool:
		v, err := r.Int(msg)
		require.NoError(t, err)
		return v != 0
	}
	if k := r.T.scalarKind(); k.IsSigned() {
		v, err := r.Int(msg)
		require.NoError(t, err)
		return v
	}
	v, err := r.Uint(msg)
	require.NoError(t, err)
	return v
}

// fieldValue is the Decode form of a field Refs expose differently: a
// nested_flatbuffer (Decode gives its root table) and a union value.
func (r Ref) fieldValue(msg []byte, f *Field) (any, error) {
	if f.Kind == Union {
		_, m, ok, err := r.Union(msg, f)
		if err != nil || !ok {
			return nil, err
		}
		return m.Value(msg)
	}
	c, ok, err := r.Field(msg, f)
	if err != nil || !ok {
		return nil, err
	}
	b, err := c.Bytes(msg)
	if err != nil {
		return nil, err
	}
	root, err := f.Nested.Root(b)
	if err != nil {
		return nil, err
	}
	return root.Value(b)
}

// nanSafe replaces NaNs (which never compare equal) by a marker.
func nanSafe(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) {
			return "NaN"
		}
	case map[string]any:
		for k, e := range x {
			x[k] = nanSafe(e)
		}
	case []any:
		for i, e := range x {
			x[i] = nanSafe(e)
		}
	}
	return v
}

func activeIs(t *testing.T, msg []byte, r Ref, f *Field) bool {
	_, active, err := r.Which(msg)
	require.NoError(t, err)
	return active == f
}

func TestRefsWalkMonsterLikeDecode(t *testing.T) {
	s, mon := loadMonster(t)
	rec, err := s.Root.Decode(mon, nil)
	require.NoError(t, err)
	want := rec.Map()
	root, err := s.Root.Root(mon)
	require.NoError(t, err)
	got := refWalk(t, mon, root)
	// Absent FlatBuffers scalars read as their default through a Ref but are
	// left out by Decode: compare the fields Decode has.
	for k, v := range want {
		if k == "test4" || k == "test5" || k == "testarrayofsortedstruct" || k == "test_type" {
			continue // unions and vectors of structs compared below
		}
		assert.Equal(t, v, got.(map[string]any)[k], k)
	}
	js, err := root.AppendJSON(nil, mon)
	require.NoError(t, err)
	whole, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	assert.JSONEq(t, string(whole), string(js))

	// The union: tag and member.
	tag, member, ok, err := root.Union(mon, s.Root.Field("test"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "Monster", s.Root.Field("test").Type.EnumName(tag))
	name, ok, err := member.Field(mon, member.T.Type.Field("name"))
	require.NoError(t, err)
	require.True(t, ok)
	b, err := name.Bytes(mon)
	require.NoError(t, err)
	assert.Equal(t, "Fred", string(b))

	// A vector of structs, element by element.
	test4, ok, err := root.Field(mon, s.Root.Field("test4"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want["test4"], refWalk(t, mon, test4))

	// An absent scalar reads as its default and is reported absent.
	c, ok, err := root.Field(mon, s.Root.Field("mana"))
	require.NoError(t, err)
	assert.False(t, ok)
	mana, err := c.Int(mon)
	require.NoError(t, err)
	assert.Equal(t, int64(150), mana)
}

func TestRefsWalkTestAllTypesLikeDecode(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	for _, name := range []string{"binary", "segmented"} {
		msg := capnpFile(t, dir, name)
		rec, err := ty.Decode(msg, nil)
		require.NoError(t, err)
		want := rec.Map()
		root, err := ty.Root(msg)
		require.NoError(t, err)
		got := refWalk(t, msg, root)
		assert.Equal(t, nanSafe(want), nanSafe(got), name)
		js, err := root.AppendJSON(nil, msg)
		require.NoError(t, err)
		whole, err := ty.JSON(msg, nil)
		require.NoError(t, err)
		assert.JSONEq(t, string(whole), string(js), name)
	}
}

func TestRefRangeChecks(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	msg := capnpFile(t, dir, "binary")
	root, err := ty.Root(msg)
	require.NoError(t, err)
	u, _, err := root.Field(msg, ty.Field("uInt64Field"))
	require.NoError(t, err)
	_, err = u.Int(msg) // 12345678901234567890 > MaxInt64
	assert.ErrorIs(t, err, ErrRange)
	i, _, err := root.Field(msg, ty.Field("int8Field"))
	require.NoError(t, err)
	_, err = i.Uint(msg) // -123
	assert.ErrorIs(t, err, ErrRange)
	_, err = i.Float(msg)
	assert.ErrorIs(t, err, ErrRefKind)
	_, err = root.Len(msg)
	assert.ErrorIs(t, err, ErrRefKind)
}

// FuzzRefs checks that Ref calls on hostile bytes and altered positions
// fail cleanly: never a panic, never a read outside the message.
func FuzzRefs(f *testing.F) {
	s, mon := loadMonster(f)
	dir, ty := loadTestAllTypes(f)
	cp := readFile(f, dir+"/capnp/testdata/segmented")
	f.Add(mon, uint64(0), uint64(0))
	f.Add(cp, uint64(8), uint64(1)<<32)
	f.Fuzz(func(t *testing.T, msg []byte, p0, p1 uint64) {
		for _, root := range []*Type{s.Root, ty} {
			r, err := root.Root(msg)
			if err != nil {
				r = Ref{T: &TypeRef{Kind: root.Kind, Type: root}, Format: root.Format}
			}
			r.Pos[0] ^= p0
			r.Pos[1] ^= p1
			fuzzWalk(msg, r, 0)
		}
	})
}

func fuzzWalk(msg []byte, r Ref, depth int) {
	if depth > 6 {
		return
	}
	_, _ = r.Value(msg)
	_, _ = r.AppendJSON(nil, msg)
	switch r.Kind() {
	case RefTable, RefStruct:
		_, _, _ = r.Which(msg)
		for _, f := range r.T.Type.Fields {
			if f.Kind == Union {
				_, _, _, _ = r.Union(msg, f)
			}
			if c, _, err := r.Field(msg, f); err == nil && c.T != nil {
				fuzzWalk(msg, c, depth+1)
			}
		}
	case RefList:
		_, _, _, _ = r.Scalars(msg)
		_, _ = r.Len(msg)
		for i := 0; i < 4; i++ {
			if e, ok, err := r.Elem(msg, i); err == nil && ok {
				fuzzWalk(msg, e, depth+1)
			}
		}
	case RefValue:
		_, _ = r.Bits(msg)
		_, _ = r.Int(msg)
		_, _ = r.Uint(msg)
		_, _ = r.Float(msg)
		_, _ = r.Bytes(msg)
	}
}

func TestRefsCapnpUnionsAndGroups(t *testing.T) {
	d, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	un, err := s.Type("TestUnion")
	require.NoError(t, err)
	msg := capnpJSONToBinary(t, d, "TestUnion", `{"union0": {"u0f0s16": 1234}, "union1": {"u1f1s8": -3}, "union2": {"u2f0s1": true}, "union3": {"u3f0s64": "-99"}}`)
	root, err := un.Root(msg)
	require.NoError(t, err)
	want, err := un.Decode(msg, nil)
	require.NoError(t, err)
	assert.Equal(t, want.Map(), refWalk(t, msg, root))

	g, ok, err := root.Field(msg, un.Field("union0"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, RefStruct, g.Kind(), "a group is a struct ref over the same data")
	d0, active, err := g.Which(msg)
	require.NoError(t, err)
	require.NotNil(t, active)
	assert.Equal(t, "u0f0s16", active.Name)
	assert.Equal(t, active.Discriminant, d0)
	v, ok, err := g.Field(msg, active)
	require.NoError(t, err)
	require.True(t, ok)
	n, err := v.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(1234), n)
	_, ok, err = g.Field(msg, g.T.Type.Field("u0f0s8"))
	require.NoError(t, err)
	assert.False(t, ok, "another member is set")
	_, _, err = root.Which(msg)
	assert.ErrorIs(t, err, ErrRefKind, "TestUnion itself has no unnamed union")
}

// BenchmarkRefMonsterName reads Monster.name through a Ref (root, field,
// bytes), to compare with BenchmarkPathMonsterName.
func BenchmarkRefMonsterName(b *testing.B) {
	s, mon := loadMonster(b)
	f := s.Root.Field("name")
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.Root.Root(mon)
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := r.Field(mon, f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := n.Bytes(mon); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefTestAllTypesText reads structField.textField of a Cap'n Proto
// message through Refs.
func BenchmarkRefTestAllTypesText(b *testing.B) {
	dir, ty := loadTestAllTypes(b)
	msg := readFile(b, dir+"/capnp/testdata/binary")
	sf, tf := ty.Field("structField"), ty.Field("structField").Type.Field("textField")
	b.ReportAllocs()
	for b.Loop() {
		r, _ := ty.Root(msg)
		s, _, _ := r.Field(msg, sf)
		t, _, _ := s.Field(msg, tf)
		if _, err := t.Bytes(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// A null pointer field (Text, Data, List, struct; with or without a schema
// default) is not held (ok false), and its Ref reads as capnp's getters
// read it, never at offset 0: a declared default, else empty; a struct of
// its fields' defaults.
func TestRefsCapnpNullPointersReadAsDefaults(t *testing.T) {
	d, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	for _, c := range []struct {
		typ, text, data string
		int16s          []byte
	}{
		{"TestAllTypes", "", "", nil},
		{"TestDefaults", "foo", "bar", []byte{0x67, 0x2b, 0x99, 0xd4}}, // int16List 11111, -11111
	} {
		ty, err := s.Type(c.typ)
		require.NoError(t, err)
		msg := capnpJSONToBinary(t, d, c.typ, `{}`)
		root, err := ty.Root(msg)
		require.NoError(t, err)
		field := func(name string) Ref {
			r, ok, err := root.Field(msg, ty.Field(name))
			require.NoError(t, err, c.typ+"."+name)
			assert.False(t, ok, c.typ+"."+name)
			require.NotNil(t, r.T, c.typ+"."+name)
			return r
		}
		b, err := field("textField").Bytes(msg)
		require.NoError(t, err)
		assert.Equal(t, c.text, string(b), c.typ)
		b, err = field("dataField").Bytes(msg)
		require.NoError(t, err)
		assert.Equal(t, c.data, string(b), c.typ)
		l := field("int16List")
		b, n, k, err := l.Scalars(msg)
		require.NoError(t, err)
		assert.Equal(t, Int16, k)
		assert.Equal(t, len(c.int16s)/2, n)
		assert.Equal(t, string(c.int16s), string(b), c.typ)
		if n > 0 {
			e, ok, err := l.Elem(msg, 1)
			require.NoError(t, err)
			assert.False(t, ok, "an element of a default")
			v, err := e.Int(msg)
			require.NoError(t, err)
			assert.Equal(t, int64(-11111), v)
			all, err := l.Value(msg)
			require.NoError(t, err)
			assert.Equal(t, []any{int64(11111), int64(-11111)}, all)
		}
		_, ok, err := l.Elem(msg, n)
		require.NoError(t, err)
		assert.False(t, ok, "past the end")
		sf := field("structField")
		v, _, err := sf.Field(msg, sf.T.Type.Field("int8Field"))
		require.NoError(t, err)
		i8, err := v.Int(msg)
		require.NoError(t, err)
		// A struct value the field declares as its default is not applied
		// (TestDefaults' structField = (int8Field = -12)): its fields' own.
		assert.Zero(t, i8, c.typ)
		tl := field("textList")
		n, err = tl.Len(msg)
		require.NoError(t, err)
		// A default list of Text is not applied either: paths apply it.
		assert.Zero(t, n, c.typ)
	}
}
