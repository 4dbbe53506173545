package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A schema written for the tests, using the features monster_test.fbs does
// not: fixed arrays (of scalars and structs), optional scalars, bit flags
// over ushort, unknown enum values in vectors, vectors of bytes and structs,
// a nested_flatbuffer of another table, and a deprecated field.
const featuresFBS = `
namespace feat.test;
enum Flags:ushort (bit_flags) { A, B, C }
enum Kind:byte { Zero, One, Two }
struct Inner { v:short; k:Kind; }
struct WithArrays { xs:[int:3]; inners:[Inner:2]; d:double; }
table Leaf { name:string; n:int = 7; }
table Other { x:float; }
union Member { Leaf, Other }
table Root {
  id:ulong (key);
  flags:Flags = A;
  maybe:int = null;
  arrays:WithArrays;
  one:Member;
  leaves:[Leaf];
  nested:[ubyte] (nested_flatbuffer: "Leaf");
  old:int (deprecated);
  req:string (required);
  bytes:[byte];
  kinds:[Kind];
  structs:[Inner];
}
root_type Root;
file_identifier "FEAT";
`

// featuresFull sets every field of featuresFBS.
const featuresFull = `{ id: 18446744073709551615, flags: "A C", maybe: 0, arrays: { xs: [1, -2, 3], inners: [{v: 1, k: One}, {v: -1, k: Two}], d: 2.5 },
  one_type: "Other", one: { x: 1.5 }, leaves: [{name: "a", n: 1}, {}], nested: { name: "inside", n: 42 },
  req: "r", bytes: [-1, 0, 127], kinds: [Zero, Two, 5], structs: [{v: 1, k: One}, {v: 2, k: 9}] }`

// A vector of unions, and struct and string union members.
const advancedUnionsFBS = `
namespace adv;
struct Pt { x:short; y:short; }
table Leaf { name:string; }
union Member { Leaf, Pt, Text:string }
table Root { one:Member; many:[Member]; }
root_type Root;
`

const advancedUnionsJSON = `{ one_type: "Pt", one: {x: 1, y: -2},
  many_type: ["Leaf", "Text", "Pt", "Leaf"], many: [{name: "l"}, "str", {x: 3, y: 4}, {}] }`

// flatcBinary writes a binary from JSON with flatc -b.
func flatcBinary(t *testing.T, fbs, js string) (dir string, bin []byte) {
	t.Helper()
	flatc := needTool(t, "flatc")
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.fbs"), []byte(fbs), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(js), 0o644))
	runTool(t, dir, flatc, "-b", "s.fbs", "m.json")
	return dir, readFile(t, filepath.Join(dir, "m.bin"))
}

func TestFeaturesAgainstFlatc(t *testing.T) {
	flatc := needTool(t, "flatc")
	for name, js := range map[string]string{
		"full":                     featuresFull,
		"minimal":                  `{ req: "" }`,
		"flags":                    `{ req: "x", flags: 0, one_type: "Leaf", one: {}, leaves: [] }`,
		"deprecated field present": `{ req: "x", old: 5 }`,
	} {
		t.Run(name, func(t *testing.T) {
			dir, bin := flatcBinary(t, featuresFBS, js)
			s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
			require.NoError(t, err)
			require.NoError(t, s.Root.Verify(bin, &Options{Identifier: "FEAT"}))
			got, err := s.Root.JSON(bin, nil)
			require.NoError(t, err)
			runTool(t, dir, flatc, "--json", "--strict-json", "--raw-binary", "s.fbs", "--", "m.bin")
			want := readFile(t, filepath.Join(dir, "m.json")) // flatc overwrote it with its output
			assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
			// Encoding flatc's JSON back gives what flatc reads as the same.
			v, err := s.Root.ValueFromJSON(want)
			require.NoError(t, err)
			b := flatbuffers.NewBuilder(0)
			require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ours.bin"), b.FinishedBytes(), 0o644))
			runTool(t, dir, flatc, "--json", "--strict-json", "--raw-binary", "s.fbs", "--", "ours.bin")
			assert.Equal(t, parseJSON(t, want), parseJSON(t, readFile(t, filepath.Join(dir, "ours.json"))))
		})
	}
	// The plan of the fixed arrays.
	dir, _ := flatcBinary(t, featuresFBS, `{req: ""}`)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	wa, err := s.Type("feat.test.WithArrays")
	require.NoError(t, err)
	xs := wa.Field("xs")
	assert.Equal(t, Array, xs.Kind)
	assert.Equal(t, 3, xs.Len)
	assert.Equal(t, 12, xs.Size)
	assert.Equal(t, uint16(12), wa.Field("inners").Slot)
	assert.Equal(t, 8, wa.Field("inners").Size)
	assert.Equal(t, uint16(24), wa.Field("d").Slot)
	assert.Equal(t, 32, wa.ByteSize)
	maybe := s.Root.Field("maybe")
	assert.True(t, maybe.Optional)
	assert.Nil(t, maybe.Default)
}

// flatc 2.0.8 reads and writes vectors of unions and struct or string union
// members in binaries, but cannot print them as JSON: their values are
// checked directly.
func TestAdvancedUnions(t *testing.T) {
	dir, bin := flatcBinary(t, advancedUnionsFBS, advancedUnionsJSON)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	v, err := mapOf(s.Root.Decode(bin, nil))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v["one_type"])
	assert.Equal(t, map[string]any{"x": int64(1), "y": int64(-2)}, v["one"])
	assert.Equal(t, []any{uint64(1), uint64(3), uint64(2), uint64(1)}, v["many_type"])
	assert.Equal(t, []any{
		map[string]any{"name": "l"}, "str", map[string]any{"x": int64(3), "y": int64(4)}, map[string]any{},
	}, v["many"])
	js, err := s.Root.AppendJSON(nil, v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"one_type": "Pt", "one": {"x": 1, "y": -2}, "many_type": ["Leaf", "Text", "Pt", "Leaf"],
	  "many": [{"name": "l"}, "str", {"x": 3, "y": 4}, {}]}`, string(js))

	// Through refs: each element is its member, and the JSON of the vector
	// is the whole message's.
	root, err := s.Root.Root(bin)
	require.NoError(t, err)
	many, ok, err := root.Field(bin, s.Root.Field("many"))
	require.NoError(t, err)
	require.True(t, ok)
	n, err := many.Len(bin)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	e, ok, err := many.Elem(bin, 2)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "adv.Pt", e.T.Type.Name)
	pv, err := e.Value(bin)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": int64(3), "y": int64(4)}, pv)
	e, ok, err = many.Elem(bin, 1)
	require.NoError(t, err)
	require.True(t, ok)
	str, err := e.Bytes(bin)
	require.NoError(t, err)
	assert.Equal(t, "str", string(str))
	_, ok, err = many.Elem(bin, 4)
	require.NoError(t, err)
	assert.False(t, ok, "past the end")
	mv, err := many.Value(bin)
	require.NoError(t, err)
	assert.Equal(t, v["many"], mv)
	mj, err := many.AppendJSON(nil, bin)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"name": "l"}, "str", {"x": 3, "y": 4}, {}]`, string(mj))

	// A union vector whose type vector is shorter is refused.
	b := flatbuffers.NewBuilder(0)
	leaf, err := s.Type("adv.Leaf")
	require.NoError(t, err)
	b.StartObject(len(leaf.Fields))
	l := b.EndObject()
	b.StartVector(1, 1, 1)
	b.PrependByte(1)
	types := b.EndVector(1)
	b.StartVector(4, 2, 4)
	b.PrependUOffsetT(l)
	b.PrependUOffsetT(l)
	values := b.EndVector(2)
	b.StartObject(len(s.Root.Fields))
	b.PrependUOffsetTSlot(int(s.Root.Field("many_type").ID), types, 0)
	b.PrependUOffsetTSlot(int(s.Root.Field("many").ID), values, 0)
	b.Finish(b.EndObject())
	bad := b.FinishedBytes()
	requireDataError(t, s.Root.Verify(bad, nil), "many", "2 values but 1 types")
	badRoot, err := s.Root.Root(bad)
	require.NoError(t, err)
	badMany, _, err := badRoot.Field(bad, s.Root.Field("many"))
	require.NoError(t, err)
	_, _, err = badMany.Elem(bad, 0)
	require.ErrorIs(t, err, ErrMalformedPath)
	assert.ErrorContains(t, err, "vector of 2 unions has 1 types")
}

// force_align on vector fields is honoured when encoding, as flatc honours
// it (TFLite's model buffers rely on it): each vector's first element sits
// at a multiple of its alignment from the message's start.
func TestEncodeVectorForceAlign(t *testing.T) {
	const fbs = `
struct V16 (force_align: 16) { x: float; y: float; z: float; }
table T { a: byte; name: string; v: V16; vs: [V16]; raw: [ubyte] (force_align: 32);
  ints: [int] (force_align: 16); names: [string] (force_align: 8); }
root_type T;
`
	dir, _ := flatcBinary(t, fbs, `{}`)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	aligns := map[string]int{"vs": 16, "raw": 32, "ints": 16, "names": 8}
	for pad := range 8 { // names of every length modulo 8 move what follows
		js := `{"a": 1, "name": "` + strings.Repeat("n", pad) + `", "v": {"x": 1, "y": 2, "z": 3}, "vs": [{"x": 4, "y": 5, "z": 6}],
		  "raw": [1, 2, 3], "ints": [7], "names": ["a"]}`
		_, ref := flatcBinary(t, fbs, js)
		v, err := s.Root.ValueFromJSON([]byte(js))
		require.NoError(t, err)
		b := flatbuffers.NewBuilder(0)
		require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
		for name, msg := range map[string][]byte{"crossbuf": b.FinishedBytes(), "flatc": ref} {
			require.NoError(t, s.Root.Verify(msg, nil))
			tab := &flatbuffers.Table{Bytes: msg, Pos: flatbuffers.GetUOffsetT(msg)}
			for field, align := range aligns {
				f := s.Root.Field(field)
				start := tab.Vector(flatbuffers.UOffsetT(tab.Offset(flatbuffers.VOffsetT(f.Slot))))
				assert.Zero(t, int(start)%align, "%s: %s at %d, name of %d bytes", name, field, start, pad)
			}
		}
	}
}

// againstFlatc builds js with flatc and returns what flatc prints of it, the
// schema, and encode, which builds JSON with crossbuf and returns what
// crossbuf prints of it.
func againstFlatc(t *testing.T, fbs, js string) (want any, s *Schema, encode func(js string) any) {
	t.Helper()
	flatc := needTool(t, "flatc")
	dir, _ := flatcBinary(t, fbs, js)
	runTool(t, dir, flatc, "--json", "--strict-json", "--raw-binary", "s.fbs", "--", "m.bin")
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	return parseJSON(t, readFile(t, filepath.Join(dir, "m.json"))), s, func(js string) any {
		v, err := s.Root.ValueFromJSON([]byte(js))
		require.NoError(t, err)
		b := flatbuffers.NewBuilder(0)
		require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
		got, err := s.Root.JSON(b.FinishedBytes(), nil)
		require.NoError(t, err)
		return parseJSON(t, got)
	}
}

// Vectors of tables or structs with a key field are sorted by key when
// encoded, as flatc sorts them, so generated code's LookupByKey finds them.
func TestEncodeSortsByKey(t *testing.T) {
	const fbs = `
table Item { name: string (key); n: int; }
table Num { id: short (key); }
table Real { x: double (key); }
struct P { v: uint; id: int (key); }
table Root { items: [Item]; nums: [Num]; reals: [Real]; ps: [P]; }
root_type Root;
`
	const js = `{"items": [{"name": "b", "n": 1}, {"name": "a"}, {"name": "ab"}, {"name": ""}],
	  "nums": [{"id": 3}, {"id": -7}, {}, {"id": 300}], "reals": [{"x": 1.5}, {"x": -2}, {"x": 0.25}],
	  "ps": [{"v": 1, "id": 9}, {"v": 2, "id": -1}, {"v": 3, "id": 0}]}`
	want, _, encode := againstFlatc(t, fbs, js)
	assert.Equal(t, want, encode(js), "flatc's order")
	// flatc's sort is not stable; crossbuf's is.
	got := encode(`{"items": [{"name": "b", "n": 1}, {"name": "a"}, {"name": "b", "n": 2}, {"name": "b", "n": 3}]}`)
	assert.Equal(t, []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "n": 1.0},
		map[string]any{"name": "b", "n": 2.0}, map[string]any{"name": "b", "n": 3.0}}, got.(map[string]any)["items"])
}

// A field with a `hash` attribute takes a string, stored as its hash, as
// flatc takes it from JSON (monster_test.fbs's testhash fields).
func TestEncodeHashedFields(t *testing.T) {
	const fbs = `
table T { c: int (hash: "fnv1_32"); c2: uint (hash: "fnv1a_32"); d: ulong (hash: "fnv1a_64"); d2: long (hash: "fnv1_64"); n: int; }
root_type T;
`
	const js = `{"c": "hello", "c2": "hello", "d": "This string is being hashed!", "d2": "", "n": 3}`
	want, s, encode := againstFlatc(t, fbs, js)
	assert.Equal(t, want, encode(js))
	err := s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), map[string]any{"n": "hello"})
	assert.Error(t, err, "a field without hash takes no string")
}

// Paths reach struct members of unions, elements of fixed arrays, and
// vectors of union types (as their uint8 tags).
func TestPathsThroughStructMembersAndArrays(t *testing.T) {
	dir, bin := flatcBinary(t, advancedUnionsFBS, advancedUnionsJSON)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	readInt := func(s *Schema, bin []byte, path string) (int64, error) {
		p, err := s.Root.Path(path)
		if err != nil {
			return 0, err
		}
		return p.Int(bin)
	}
	y, err := readInt(s, bin, "one.Pt.y")
	require.NoError(t, err)
	assert.Equal(t, int64(-2), y)
	_, err = readInt(s, bin, "one.Leaf.name")
	require.Error(t, err, "a string read as an int")
	tags, err := s.Root.Path("many_type")
	require.NoError(t, err)
	raw, n, k, err := tags.Scalars(bin)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 3, 2, 1}, raw)
	assert.Equal(t, 4, n)
	assert.Equal(t, Uint8, k)

	dir, bin = flatcBinary(t, featuresFBS, featuresFull)
	s, err = CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	for path, want := range map[string]int64{"arrays.xs[1]": -2, "arrays.xs[2]": 3, "arrays.inners[1].v": -1, "arrays.inners[1].k": 2, "arrays.inners[0].v": 1} {
		got, err := readInt(s, bin, path)
		require.NoError(t, err, path)
		assert.Equal(t, want, got, path)
	}
	for _, bad := range []string{"arrays.xs[3]", "arrays.inners[2].v", "arrays.xs[0][0]"} {
		_, err := s.Root.Path(bad)
		assert.Error(t, err, bad)
	}
}

// A union type given without its value is written as flatc writes it; a
// value without its type is refused.
func TestEncodeUnionTypeWithoutValue(t *testing.T) {
	const fbs = `
table A { x: int; }
table B { y: int; }
union U { A, B }
table T { u: U; n: int; }
root_type T;
`
	want, s, encode := againstFlatc(t, fbs, `{"u_type": "A", "n": 1}`)
	assert.Equal(t, want, encode(`{"u_type": "A", "n": 1}`))
	err := s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), map[string]any{"u": map[string]any{"x": int64(1)}})
	assert.ErrorContains(t, err, "union value without its type field")
}

// Strings print with flatc's escapes (every character outside printable
// ASCII as \uXXXX, surrogate pairs above U+FFFF), byte for byte.
func TestFlatBuffersJSONEscapesAsFlatc(t *testing.T) {
	const fbs = "table T { s: string; }\nroot_type T;\n"
	const js = `{ s: "a\u00e9\u007f\ud83d\ude00\u0001\b\f\t\n/\"\\<>&\u2028\uffff z" }`
	dir, bin := flatcBinary(t, fbs, js)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	got, err := s.Root.JSON(bin, nil)
	require.NoError(t, err)
	runTool(t, dir, needTool(t, "flatc"), "--json", "--strict-json", "--raw-binary", "s.fbs", "--", "m.bin")
	want := string(readFile(t, filepath.Join(dir, "m.json")))
	i := strings.Index(want, `"s": `)
	require.GreaterOrEqual(t, i, 0, want)
	literal := strings.TrimSpace(want[i+len(`"s": `):])
	literal = literal[:strings.LastIndex(literal, `"`)+1]
	assert.Equal(t, `{"s":`+literal+`}`, string(got))
}
