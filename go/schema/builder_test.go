package schema

import (
	"os"
	"path/filepath"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuilderMonster(t *testing.T) {
	s, _ := loadMonster(t)
	m := s.Root
	b, err := m.NewBuilder()
	require.NoError(t, err)
	f := m.Field
	require.NoError(t, b.Set(f("name"), "built"))
	require.NoError(t, b.Set(f("hp"), int64(-7)))
	require.NoError(t, b.Set(f("color"), "Blue")) // the default: left out, as flatc does
	require.NoError(t, b.Set(f("testbool"), int64(1)))
	require.NoError(t, b.Begin(f("pos")))
	vec3 := b.Current().Type
	require.NoError(t, b.Set(vec3.Field("x"), 1.5))
	for _, name := range []string{"y", "z", "test1"} { // a struct takes every field, as flatc's
		require.NoError(t, b.Set(vec3.Field(name), 0.0))
	}
	require.NoError(t, b.Set(vec3.Field("test2"), int64(0)))
	require.NoError(t, b.Begin(vec3.Field("test3")))
	require.NoError(t, b.Set(b.Current().Type.Field("a"), int64(5)))
	require.NoError(t, b.Set(b.Current().Type.Field("b"), int64(6)))
	require.NoError(t, b.End())
	require.NoError(t, b.End())
	require.NoError(t, b.Set(f("inventory"), []byte{1, 2, 3}))
	require.NoError(t, b.Begin(f("vector_of_longs")))
	for _, v := range []int64{1, -2} {
		require.NoError(t, b.Set(nil, v))
	}
	require.NoError(t, b.End())
	require.NoError(t, b.Begin(f("testarrayoftables")))
	require.NoError(t, b.Begin(nil))
	require.NoError(t, b.Set(b.Current().Type.Field("name"), "child"))
	assert.Equal(t, "testarrayoftables[0]", b.Path())
	require.NoError(t, b.End())
	require.NoError(t, b.End())
	require.Error(t, b.Begin(f("test")), "the union's tag is not set")
	require.NoError(t, b.Set(f("test_type"), "Monster"))
	require.NoError(t, b.Begin(f("test")))
	require.NoError(t, b.Set(m.Field("name"), "member"))
	require.NoError(t, b.End())

	// Checked when set, naming the field; nothing stored.
	err = b.Set(f("hp"), int64(40000))
	var ee *EncodeError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "hp", ee.Path)
	assert.ErrorIs(t, b.Set(nil, int64(1)), ErrBuild, "a table takes fields")
	require.Error(t, b.Set(f("name"), "\xff"))
	require.Error(t, b.Set(f("testbool"), int64(2)))
	require.Error(t, b.Set(f("pos"), int64(2)))
	assert.ErrorIs(t, b.End(), ErrBuild)

	v, err := b.Value()
	require.NoError(t, err)
	fb := flatbuffers.NewBuilder(0)
	require.NoError(t, m.EncodeFlatBuffer(fb, v))
	js, err := m.JSON(fb.FinishedBytes(), nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"pos":{"x":1.5,"y":0.0,"z":0.0,"test1":0.0,"test2":0,"test3":{"a":5,"b":6}},"hp":-7,
		"name":"built","inventory":[1,2,3],"test_type":"Monster","test":{"name":"member"},
		"testarrayoftables":[{"name":"child"}],"testbool":true,"vector_of_longs":[1,-2]}`, string(js))
}

func TestBuilderTestAllTypes(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	b, err := ty.NewBuilder()
	require.NoError(t, err)
	require.NoError(t, b.Set(ty.Field("uInt64Field"), uint64(1)<<63))
	require.NoError(t, b.Set(ty.Field("dataField"), []byte("raw")))
	require.NoError(t, b.Set(ty.Field("enumField"), "corge"))
	require.NoError(t, b.Begin(ty.Field("textList")))
	require.NoError(t, b.Set(nil, "a"))
	require.NoError(t, b.End())
	require.Error(t, b.Set(ty.Field("int8Field"), int64(-129)))
	require.Error(t, b.Set(ty.Field("float32Field"), 1e39))
	v, err := b.Value()
	require.NoError(t, err)
	msg, err := ty.EncodeCapnp(nil, v)
	require.NoError(t, err)
	rec, err := ty.Decode(msg, nil)
	require.NoError(t, err)
	back := rec.Map()
	assert.Equal(t, uint64(1)<<63, back["uInt64Field"])
	assert.Equal(t, []byte("raw"), back["dataField"])
	assert.Equal(t, []any{"a"}, back["textList"])
	assert.Equal(t, int64(0), back["int8Field"], "the refused value was not stored")
}

// A Cap'n Proto union member is selected by setting it (a Void one too, with
// any value), and replaces the member set before, as capnp's setters do.
func TestBuilderCapnpUnionMembers(t *testing.T) {
	needTool(t, "capnp")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "u.capnp"), []byte(`@0xd1e2f3a4b5c6d7e8;
struct Reading {
  id @0 :UInt32;
  value :union {
    nothing @1 :Void;
    celsius @2 :Float64;
    text @3 :Text;
    pair :group { a @4 :Int16; b @5 :Int16; }
  }
}
`), 0o644))
	s, err := CompileCapnp("u.capnp", &CompileOptions{Dir: dir})
	require.NoError(t, err)
	ty, err := s.Type("u.capnp:Reading")
	require.NoError(t, err)
	value := ty.Field("value").Type
	build := func(steps func(b *Builder)) map[string]any {
		b, err := ty.NewBuilder()
		require.NoError(t, err)
		require.NoError(t, b.Set(ty.Field("id"), int64(7)))
		require.NoError(t, b.Begin(ty.Field("value")))
		steps(b)
		require.NoError(t, b.End())
		v, err := b.Value()
		require.NoError(t, err)
		msg, err := ty.EncodeCapnp(nil, v)
		require.NoError(t, err)
		rec, err := ty.Decode(msg, nil)
		require.NoError(t, err)
		return rec.Map()["value"].(map[string]any)
	}
	got := build(func(b *Builder) {
		require.NoError(t, b.Set(value.Field("celsius"), 21.5))
		require.NoError(t, b.Set(value.Field("nothing"), int64(0)))
	})
	assert.Equal(t, map[string]any{"nothing": nil}, got, "the Void member, set last, is the one held")
	got = build(func(b *Builder) {
		require.NoError(t, b.Set(value.Field("text"), "warm"))
		require.NoError(t, b.Begin(value.Field("pair")))
		require.NoError(t, b.Set(value.Field("pair").Type.Field("a"), int64(-3)))
		require.NoError(t, b.End())
	})
	assert.Equal(t, map[string]any{"pair": map[string]any{"a": int64(-3), "b": int64(0)}}, got)
	got = build(func(b *Builder) {
		require.NoError(t, b.Set(value.Field("text"), "warm"))
	})
	assert.Equal(t, map[string]any{"text": "warm"}, got)
}
