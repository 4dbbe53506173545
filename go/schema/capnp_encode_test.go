package schema

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tinylib/msgp/msgp"
)

// TestEncodeTestAllTypes encodes the decoded reference message and checks
// the result with this package's reader and with capnp itself.
func TestEncodeTestAllTypes(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	ref := capnpFile(t, dir, "binary")
	want, err := mapOf(ty.Decode(ref, nil))
	require.NoError(t, err)
	msg, err := ty.EncodeCapnp(nil, want)
	require.NoError(t, err)
	// Compared as JSON: the float lists hold NaN, which no == matches.
	wantJSON, err := ty.JSON(ref, nil)
	require.NoError(t, err)
	gotJSON, err := ty.JSON(msg, nil)
	require.NoError(t, err)
	assert.Equal(t, string(wantJSON), string(gotJSON))

	capnp := needTool(t, "capnp")
	convert := func(b []byte) any {
		return parseJSON(t, runToolIn(t, dir, b, capnp, "convert", "binary:json", "--no-standard-import", "-I", ".",
			"capnp/test.capnp", "TestAllTypes"))
	}
	assert.Equal(t, convert(ref), convert(msg), "capnp reads our encoding as the reference")

	// From its own JSON as encoding/json parses it (64-bit integers are
	// strings there, as in Cap'n Proto's JSON codec): the same message.
	var parsed map[string]any
	require.NoError(t, json.Unmarshal(wantJSON, &parsed))
	require.IsType(t, "", parsed["int64Field"], "a 64-bit integer in the JSON is a string")
	fromJSON, err := ty.EncodeCapnp(nil, parsed)
	require.NoError(t, err)
	gotJSON, err = ty.JSON(fromJSON, nil)
	require.NoError(t, err)
	assert.Equal(t, string(wantJSON), string(gotJSON))
	for _, bad := range []string{"18446744073709551616", "12x", " 5", ""} {
		_, err := ty.EncodeCapnp(nil, map[string]any{"uInt64Field": bad})
		assert.ErrorContains(t, err, "uInt64Field: "+strconv.Quote(bad)+" is not an integer a uint64 can hold")
	}
	_, err = ty.EncodeCapnp(nil, map[string]any{"float64Field": "1e400"})
	assert.ErrorContains(t, err, `float64Field: "1e400" is not a number a float64 can hold`)
	_, err = ty.EncodeCapnp(nil, map[string]any{"int8Field": "-129"})
	assert.ErrorContains(t, err, "int8Field: -129 is outside the range of int8")

	// From MessagePack, read in place: the same message.
	mp, err := ty.MsgPack(ref, nil)
	require.NoError(t, err)
	fromMP, err := ty.EncodeCapnpMsgPack(nil, mp)
	require.NoError(t, err)
	assert.Equal(t, msg, fromMP)

	// Built in place when dst has room.
	dst := make([]byte, 0, 4096)
	in, err := ty.EncodeCapnp(dst, want)
	require.NoError(t, err)
	assert.Same(t, &dst[:1][0], &in[0])
	assert.Equal(t, msg, in)
}

// Unions, groups, nested lists and defaults: capnp writes each message from
// JSON, we decode and re-encode it, and capnp prints both the same.
func TestEncodeCapnpShapes(t *testing.T) {
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	capnp := needTool(t, "capnp")
	for _, c := range []struct{ typ, js string }{
		{"TestUnion", `{"union0": {"u0f0s16": 1234}, "union1": {"u1f1s8": -3}, "union2": {"u2f0s1": true}, "union3": {"u3f0s64": "-99"}, "bit0": true, "byte0": 7}`},
		{"TestUnion", `{"union0": {"u0f1sp": "text"}, "union1": {"u1f0sp": "x"}, "union2": {"u2f0s8": 1}, "union3": {"u3f0s8": 2}}`},
		{"TestGroups", `{"groups": {"baz": {"foo": 1, "bar": "22", "baz": "qux"}}}`},
		{"TestLists", `{"list0": [{}], "list8": [{"f": 1}, {"f": 2}], "list64": [{"f": "5"}], "listP": [{"f": "p"}], "int32ListList": [[1, 2], [], [3]], "textListList": [["a"], ["b", "c"]], "structListList": [[{"int32Field": 9}]]}`},
		{"TestDefaults", `{}`},
		{"TestDefaults", `{"boolField": false, "int8Field": 5, "uInt64Field": "0", "float32Field": 0, "enumField": "foo", "textField": "set"}`},
	} {
		t.Run(c.typ, func(t *testing.T) {
			ty, err := s.Type(c.typ)
			require.NoError(t, err)
			ref := capnpJSONToBinary(t, dir, c.typ, c.js)
			v, err := mapOf(ty.Decode(ref, nil))
			require.NoError(t, err)
			msg, err := ty.EncodeCapnp(nil, v)
			require.NoError(t, err)
			conv := func(b []byte) any {
				return parseJSON(t, runToolIn(t, dir, b, capnp, "convert", "binary:json", "--no-standard-import", "-I", ".",
					"capnp/test.capnp", c.typ))
			}
			assert.Equal(t, conv(ref), conv(msg))
			mp, err := ty.MsgPack(ref, nil)
			require.NoError(t, err)
			fromMP, err := ty.EncodeCapnpMsgPack(nil, mp)
			require.NoError(t, err)
			assert.Equal(t, conv(ref), conv(fromMP), "from MessagePack")
		})
	}
}

// Data given in capnp's JSON form, a list of byte values (what capnp
// convert and Type.JSON print), encodes the same bytes.
func TestEncodeCapnpDataFromByteList(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	msg, err := ty.EncodeCapnp(nil, map[string]any{"dataField": []any{json.Number("0"), int64(255), 16.0}})
	require.NoError(t, err)
	p, err := ty.Path("dataField")
	require.NoError(t, err)
	b, err := p.Bytes(msg)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 255, 16}, b)
	_, err = ty.EncodeCapnp(nil, map[string]any{"dataField": []any{int64(256)}})
	require.ErrorContains(t, err, "data byte 0")
	_, err = ty.EncodeCapnp(nil, map[string]any{"dataField": map[string]any{}})
	require.ErrorContains(t, err, "got a map")
}

func TestEncodeCapnpRefusesWhatItCannotStore(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	base := func(edit func(m map[string]any)) map[string]any {
		m, err := mapOf(ty.Decode(capnpFile(t, dir, "binary"), nil))
		require.NoError(t, err)
		edit(m)
		return m
	}
	for name, c := range map[string]struct {
		v    map[string]any
		path string
	}{
		"int8 overflow":    {base(func(m map[string]any) { m["int8Field"] = int64(128) }), "int8Field"},
		"negative uint":    {base(func(m map[string]any) { m["uInt32Field"] = int64(-1) }), "uInt32Field"},
		"float32 overflow": {base(func(m map[string]any) { m["float32Field"] = 1e39 }), "float32Field"},
		"unknown field":    {base(func(m map[string]any) { m["nope"] = true }), "nope"},
		"unknown enum":     {base(func(m map[string]any) { m["enumField"] = "nope" }), "enumField"},
		"list element":     {base(func(m map[string]any) { m["int16List"] = []any{int64(1), int64(math.MaxInt32)} }), "int16List[1]"},
		"nested struct":    {base(func(m map[string]any) { m["structField"] = map[string]any{"int8Field": "x"} }), "structField.int8Field"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ty.EncodeCapnp(nil, c.v)
			var ee *EncodeError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, c.path, ee.Path, ee.Error())
			mp, merr := msgp.AppendIntf(nil, c.v)
			require.NoError(t, merr)
			_, err = ty.EncodeCapnpMsgPack(nil, mp)
			require.ErrorAs(t, err, &ee, "from MessagePack")
			assert.Equal(t, c.path, ee.Path, ee.Error())
		})
	}
}

// TestEncodeCapnpMsgPackRefusesBadInputWhole: input ValueFromMsgPack
// refuses is refused whole, even where the encoder would never read the bad
// part (a void field's value, hidden by a later duplicate key).
func TestEncodeCapnpMsgPackRefusesBadInputWhole(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	for name, h := range map[string]string{
		"extension under a duplicate key": "81a9766f69644669656c64d40500",
		"trailing bytes":                  "80c0",
		"not a map":                       "90",
	} {
		mp, err := hex.DecodeString(h)
		require.NoError(t, err)
		_, err = ty.EncodeCapnpMsgPack(nil, mp)
		assert.ErrorIs(t, err, ErrMsgPackInput, name)
	}
	v := map[string]any{"int8Field": int64(1)}
	for range 2 * defaultMaxDepth {
		v = map[string]any{"structList": []any{v}}
	}
	_, err := ty.EncodeCapnp(nil, v)
	assert.ErrorContains(t, err, "nesting deeper than")
	mp, err := msgp.AppendIntf(nil, v)
	require.NoError(t, err)
	_, err = ty.EncodeCapnpMsgPack(nil, mp)
	assert.ErrorIs(t, err, ErrMsgPackInput)
}

func TestEncodeCapnpIntoASlotAllocatesNothing(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	v, err := mapOf(ty.Decode(readFile(t, dir+"/capnp/testdata/binary"), nil))
	require.NoError(t, err)
	dst := make([]byte, 0, 8192)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := ty.EncodeCapnp(dst, v); err != nil {
			panic(err)
		}
	})
	if !raceEnabled { // pools drop items at random under -race
		assert.Zero(t, allocs)
	}
}

func BenchmarkEncodeTestAllTypes(b *testing.B) {
	dir, ty := loadTestAllTypes(b)
	v, err := mapOf(ty.Decode(readFile(b, dir+"/capnp/testdata/binary"), nil))
	require.NoError(b, err)
	dst := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ty.EncodeCapnp(dst, v); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEncodeTestAllTypesMsgPack encodes arbitrary bytes as a TestAllTypes
// from MessagePack: it fails, or builds a message that verifies, and it
// builds what the dynamic value of the same MessagePack builds.
func FuzzEncodeTestAllTypesMsgPack(f *testing.F) {
	dir, ty := loadTestAllTypes(f)
	mp, err := ty.MsgPack(readFile(f, dir+"/capnp/testdata/binary"), nil)
	require.NoError(f, err)
	f.Add(mp)
	f.Add(msgp.AppendNil(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "voidField")))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := ty.EncodeCapnpMsgPack(nil, data)
		v, verr := ValueFromMsgPack(data)
		if verr != nil {
			require.ErrorIs(t, err, ErrMsgPackInput, "ValueFromMsgPack: %v", verr)
			return
		}
		want, werr := ty.EncodeCapnp(nil, v)
		require.Equal(t, werr == nil, err == nil, "dynamic value: %v; in place: %v", werr, err)
		if err == nil {
			require.Equal(t, want, msg)
			require.NoError(t, ty.Verify(msg, nil))
		}
	})
}

// FuzzEncodeTestAllTypesJSON encodes arbitrary JSON as a TestAllTypes: it
// either fails with an EncodeError or builds a message that verifies.
func FuzzEncodeTestAllTypesJSON(f *testing.F) {
	dir, ty := loadTestAllTypes(f)
	j, err := ty.JSON(readFile(f, dir+"/capnp/testdata/binary"), nil)
	require.NoError(f, err)
	f.Add(j)
	f.Add([]byte(`{"int8Field": -129, "structList": [{"textField": "x"}], "voidList": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v map[string]any
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if d.Decode(&v) != nil || v == nil {
			return
		}
		msg, err := ty.EncodeCapnp(nil, v)
		if err != nil {
			var ee *EncodeError
			require.ErrorAs(t, err, &ee)
			return
		}
		require.NoError(t, ty.Verify(msg, nil))
	})
}

// Values built in Go take any integer type and any slice or array: the
// encoders read them as Decode's int64, uint64 and []any.
func TestEncodeGoTypedValues(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	msg, err := ty.EncodeCapnp(nil, map[string]any{
		"int32Field": int32(-5), "uInt8Field": uint8(200), "int16Field": int8(-3), "uInt32Field": uint(7),
		"float32Field": float32(1.5), "float64Field": int32(2), "int32List": []int32{1, -2},
		"textList": []string{"a", "b"}, "float64List": [2]float64{0.5, 1}, "uInt16List": []uint16{65535},
	})
	require.NoError(t, err)
	rec, err := ty.Decode(msg, nil)
	require.NoError(t, err)
	m := rec.Map()
	assert.Equal(t, int64(-5), m["int32Field"])
	assert.Equal(t, uint64(200), m["uInt8Field"])
	assert.Equal(t, int64(-3), m["int16Field"])
	assert.Equal(t, uint64(7), m["uInt32Field"])
	assert.Equal(t, 1.5, m["float32Field"])
	assert.Equal(t, 2.0, m["float64Field"])
	assert.Equal(t, []any{int64(1), int64(-2)}, m["int32List"])
	assert.Equal(t, []any{"a", "b"}, m["textList"])
	assert.Equal(t, []any{0.5, 1.0}, m["float64List"])
	assert.Equal(t, []any{uint64(65535)}, m["uInt16List"])
	type color int8 // a generated enum's kind of type
	msg, err = ty.EncodeCapnp(nil, map[string]any{"int8Field": color(3), "int8List": []color{1, -2}})
	require.NoError(t, err)
	rec, err = ty.Decode(msg, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(3), rec.Map()["int8Field"])
	assert.Equal(t, []any{int64(1), int64(-2)}, rec.Map()["int8List"])
	_, err = ty.EncodeCapnp(nil, map[string]any{"int8Field": int32(300)})
	require.ErrorContains(t, err, "outside the range")
	_, err = ty.EncodeCapnp(nil, map[string]any{"int32List": map[string]int{}})
	require.ErrorContains(t, err, "want a list")

	m2, _ := loadMonster(t)
	fb := flatbuffers.NewBuilder(0)
	require.NoError(t, m2.Root.EncodeFlatBuffer(fb, map[string]any{
		"name": "typed", "hp": int16(-7), "mana": uint8(9), "inventory": []byte{1, 2}, "vector_of_longs": []int{1, -2},
		"testarrayofstring": []string{"x"},
	}))
	js, err := m2.Root.JSON(fb.FinishedBytes(), nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"typed","hp":-7,"mana":9,"inventory":[1,2],"vector_of_longs":[1,-2],
		"testarrayofstring":["x"]}`, string(js))
}
