package schema

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathsOnTestAllTypes(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	for _, name := range []string{"binary", "segmented"} { // far pointers read alike
		msg := capnpFile(t, dir, name)
		path := func(p string) *Path {
			t.Helper()
			c, err := ty.Path(p)
			require.NoError(t, err, p)
			return c
		}
		num := func(p string) int64 {
			t.Helper()
			v, err := path(p).Int(msg)
			require.NoError(t, err, p)
			return v
		}
		str := func(p string) string {
			t.Helper()
			v, err := path(p).ReadString(msg)
			require.NoError(t, err, p)
			return v
		}
		assert.Equal(t, int64(-123), num("int8Field"), name)
		assert.Equal(t, int64(-12), num("structField.int8Field"))
		assert.Equal(t, "nested", str("structField.structField.textField"))
		assert.Equal(t, "really nested", str("structField.structField.structField.textField"))
		assert.Equal(t, "xyzzy", str("textList[1]"))
		assert.Equal(t, "structlist 3", str("structList[2].textField"))
		assert.Equal(t, int64(-11111), num("int16List[1]"))
		assert.Equal(t, int64(1), num("boolList[3]"))
		assert.Equal(t, int64(7), num("enumList[1]"))
		u, err := path("uInt64Field").Uint(msg)
		require.NoError(t, err)
		assert.Equal(t, uint64(12345678901234567890), u)
		f, err := path("float64Field").Float(msg)
		require.NoError(t, err)
		assert.Equal(t, -1.23e47, f)
		b, err := path("dataField").Bytes(msg)
		require.NoError(t, err)
		assert.Equal(t, []byte("bar"), b)
		n, err := path("structList").Len(msg)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		_, err = path("textList[9]").Bytes(msg)
		assert.ErrorIs(t, err, ErrAbsent)
		i16, n16, k, err := path("int16List").Scalars(msg)
		require.NoError(t, err)
		assert.Equal(t, Int16, k)
		require.Equal(t, 2, n16)
		assert.Equal(t, int16(-11111), int16(binary.LittleEndian.Uint16(i16[2:])), "in place, little-endian")
		_, _, _, err = path("boolList").Scalars(msg)
		assert.Error(t, err, "bit-packed")
		_, _, _, err = path("textList").Scalars(msg)
		assert.Error(t, err, "text is not a scalar")
	}

	// Unions and groups, in a message capnp writes.
	d, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	un, err := s.Type("TestUnion")
	require.NoError(t, err)
	msg := capnpJSONToBinary(t, d, "TestUnion", `{"union0": {"u0f0s16": 1234}, "union1": {"u1f1s8": -3}, "union2": {"u2f0s1": true}, "union3": {"u3f0s64": "-99"}}`)
	p, err := un.Path("union0.u0f0s16")
	require.NoError(t, err)
	v, err := p.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(1234), v)
	p, err = un.Path("union1.u1f1s8")
	require.NoError(t, err)
	v, err = p.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), v)
	p, err = un.Path("union0.u0f0s8")
	require.NoError(t, err)
	_, err = p.Int(msg)
	assert.ErrorIs(t, err, ErrAbsent, "another member is set")

	dp, err := s.Type("TestDefaults")
	require.NoError(t, err)
	empty := capnpJSONToBinary(t, d, "TestDefaults", `{}`)
	p, err = dp.Path("int32Field")
	require.NoError(t, err)
	v, err = p.Int(empty)
	require.NoError(t, err)
	assert.Equal(t, int64(-12345678), v, "an unset field reads as its default")
	// Through a null struct pointer, a scalar reads as that field's default
	// value holds it (capnp reads the default struct), else as its own.
	for path, want := range map[string]int64{
		"structField.int8Field":             -12,
		"structField.int16List[1]":          -5678,
		"structField.enumField":             2, // baz
		"structField.structField.int8Field": 0,
		"structField.uInt32Field":           56789012,
	} {
		p, err := dp.Path(path)
		require.NoError(t, err)
		v, err := p.Int(empty)
		require.NoError(t, err, path)
		assert.Equal(t, want, v, path)
	}
	p, err = dp.Path("structField.float32Field")
	require.NoError(t, err)
	f, err := p.Float(empty)
	require.NoError(t, err)
	assert.Equal(t, float64(float32(-1.25e-10)), f)
	p, err = dp.Path("structField.boolField")
	require.NoError(t, err)
	bv, err := p.Int(empty)
	require.NoError(t, err)
	assert.Equal(t, int64(1), bv)
	// A null Text, Data or List reads as its default too, the field's own or
	// the one a null struct's default value holds, as capnp's getters read it.
	for path, want := range map[string]string{
		"textField":                         "foo",
		"dataField":                         "bar",
		"structField.textField":             "baz",
		"structField.dataField":             "qux",
		"structField.structField.textField": "nested",
		"structField.structField.structField.textField": "really nested",
		"structField.structField.dataField":             "", // the default struct holds none, nor the field: empty
	} {
		p, err := dp.Path(path)
		require.NoError(t, err)
		b, err := p.Bytes(empty)
		require.NoError(t, err, path)
		assert.Equal(t, want, string(b), path)
	}
	scalars := func(path string) ([]byte, int, Kind) {
		p, err := dp.Path(path)
		require.NoError(t, err)
		b, n, k, err := p.Scalars(empty)
		require.NoError(t, err, path)
		l, err := p.Len(empty)
		require.NoError(t, err, path)
		assert.Equal(t, n, l, path)
		return b, n, k
	}
	b, n, k := scalars("int16List")
	assert.Equal(t, []byte{0x67, 0x2b, 0x99, 0xd4}, b) // 11111, -11111
	assert.Equal(t, 2, n)
	assert.Equal(t, Int16, k)
	b, n, _ = scalars("structField.uInt32List")
	assert.Equal(t, 4, n)
	assert.Equal(t, uint32(0xffffffff), binary.LittleEndian.Uint32(b[12:]))
	b, n, _ = scalars("enumList")
	assert.Equal(t, []byte{0, 0, 7, 0}, b) // foo, garply
	assert.Equal(t, 2, n)
	b, n, _ = scalars("float64List")
	assert.Equal(t, 4, n)
	assert.Equal(t, 7777.75, math.Float64frombits(binary.LittleEndian.Uint64(b)))
	assert.True(t, math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(b[24:]))))
	// An element of a null list reads from the list's default.
	for path, want := range map[string]int64{"int16List[1]": -11111, "uInt32List[0]": 3333333333, "enumList[1]": 7} {
		p, err := dp.Path(path)
		require.NoError(t, err)
		v, err := p.Int(empty)
		require.NoError(t, err, path)
		assert.Equal(t, want, v, path)
	}
	for path, want := range map[string]string{"textList[1]": "xyzzy", "dataList[2]": "rfc3092"} {
		p, err := dp.Path(path)
		require.NoError(t, err)
		b, err := p.Bytes(empty)
		require.NoError(t, err, path)
		assert.Equal(t, want, string(b), path)
	}
	for _, path := range []string{"int16List[2]", "textList[3]"} { // past the default's end
		p, err := dp.Path(path)
		require.NoError(t, err)
		_, err = p.Bytes(empty)
		if p.Leaf().Kind != String {
			_, err = p.Int(empty)
		}
		assert.ErrorIs(t, err, ErrAbsent, path)
	}
	ms := capnpJSONToBinary(t, d, "TestDefaults", `{"textField": "set", "int16List": []}`)
	p, err = dp.Path("textField")
	require.NoError(t, err)
	got, err := p.Bytes(ms)
	require.NoError(t, err)
	assert.Equal(t, "set", string(got), "a value the message holds wins")
	_, n, _ = func() ([]byte, int, Kind) {
		p, err := dp.Path("int16List")
		require.NoError(t, err)
		b, n, k, err := p.Scalars(ms)
		require.NoError(t, err)
		return b, n, k
	}()
	assert.Zero(t, n, "an empty list the message holds is not its default")
	// A null root reads as the default struct, its struct fields as their defaults.
	nullRoot := []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	p, err = dp.Path("structField.textField")
	require.NoError(t, err)
	got, err = p.Bytes(nullRoot)
	require.NoError(t, err)
	assert.Equal(t, "baz", string(got))
	p, err = dp.Path("structField.int8Field")
	require.NoError(t, err)
	v, err = p.Int(nullRoot)
	require.NoError(t, err)
	assert.Equal(t, int64(-12), v)
	p, err = un.Path("union0.u0f0s8")
	require.NoError(t, err)
	_, err = p.Int(nullRoot)
	assert.ErrorIs(t, err, ErrAbsent, "a null root's unions hold member 0")

	for _, bad := range []string{"", "nope", "int8Field.x", "int8Field[0]", "structField", "textList[x]", "textField[", "textList[+1]", "textList[ 1]", "textList[-1]", "textList[]"} {
		_, err := ty.Path(bad)
		assert.Error(t, err, bad)
	}
	through, err := ty.Path("structList[2].textField")
	require.NoError(t, err)
	bin := capnpFile(t, dir, "binary")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = through.Bytes(bin) }), "one-segment reads allocate nothing")
}

func FuzzPathTestAllTypes(f *testing.F) {
	dir, ty := loadTestAllTypes(f)
	f.Add(readFile(f, dir+"/capnp/testdata/binary"))
	f.Add(readFile(f, dir+"/capnp/testdata/segmented"))
	var paths []*Path
	for _, p := range []string{"int8Field", "structField.structField.structField.textField", "textList[1]", "structList[2].textField",
		"int16List[1]", "boolList[3]", "dataField", "structList", "float64Field"} {
		c, err := ty.Path(p)
		require.NoError(f, err)
		paths = append(paths, c)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, p := range paths {
			_, _ = p.Int(msg)
			_, _ = p.Bytes(msg)
			_, _ = p.Float(msg)
			_, _ = p.Len(msg)
		}
	})
}

// The fused read of a root Text or Data field takes only what the general
// walk reads to the same bytes: on mutated messages, wherever it answers,
// the walk gives the same value without error.
func TestCapnpRootBytesAgreesWithTheWalk(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	orig := capnpFile(t, dir, "binary")
	rng := rand.New(rand.NewPCG(7, 11))
	for _, name := range []string{"textField", "dataField"} {
		p, err := ty.Path(name)
		require.NoError(t, err)
		fast := 0
		for i := range 20000 {
			msg := append([]byte(nil), orig...)
			for range i % 4 { // the first message unmutated
				msg[rng.IntN(len(msg))] ^= byte(1 + rng.IntN(255))
			}
			if i%7 == 3 {
				msg = msg[:rng.IntN(len(msg))]
			}
			b, ok := p.cpRootBytes(msg)
			if !ok {
				continue
			}
			fast++
			want, err := p.cpBytesWalk(msg)
			require.NoError(t, err, "%s, message %d", name, i)
			require.Equal(t, want, b, "%s, message %d", name, i)
		}
		assert.Greater(t, fast, 1000, name) // most mutations miss the path
	}
	// A segmented message (far pointers) goes to the walk, with the same value.
	seg := capnpFile(t, dir, "segmented")
	p, err := ty.Path("textField")
	require.NoError(t, err)
	_, ok := p.cpRootBytes(seg)
	assert.False(t, ok)
	got, err := p.ReadString(seg)
	require.NoError(t, err)
	want, err := p.ReadString(orig)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

const nullDefaultsCapnp = `@0xf1e2d3c4b5a69788;
struct Inner { label @0 :Text = "dflt"; }
struct Item { w @0 :UInt32; }
struct Holder {
  nums @0 :List(Int16) = [1, -2, 3];
  name @1 :Text = "anon";
  inner @2 :Inner = (label = "from-default");
}
struct Sub { kind :union { never @0 :Void; at @1 :Int64; } }
struct Root {
  holder @0 :Holder;
  items @1 :List(Item);
  sub @2 :Sub;
}
`

// Paths through null pointers read what capnp's getters read: a null
// struct reads as its field's default value, and inside it a null struct
// or list as theirs; a union inside a null struct holds its first member;
// an index past a list's end finds nothing.
func TestCapnpPathsThroughNullPointers(t *testing.T) {
	capnp := needTool(t, "capnp")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "n.capnp"), []byte(nullDefaultsCapnp), 0o644))
	s, err := CompileCapnp("n.capnp", &CompileOptions{Dir: dir})
	require.NoError(t, err)
	root, err := s.Type("Root")
	require.NoError(t, err)
	empty := runToolIn(t, dir, []byte("()"), capnp, "encode", "n.capnp", "Root")
	some := runToolIn(t, dir, []byte("(holder = (), items = [(w = 7)], sub = ())"), capnp, "encode", "n.capnp", "Root")
	for i, msg := range [][]byte{empty, some} {
		const absent = math.MinInt64
		firstItem := int64(absent)
		if i == 1 {
			firstItem = 7
		}
		for path, want := range map[string]int64{"holder.nums[1]": -2, "holder.nums[2]": 3, "items[0].w": firstItem,
			"items[5].w": absent, "holder.nums[3]": absent, "sub.kind.at": absent} {
			p, err := root.Path(path)
			require.NoError(t, err, path)
			v, err := p.Int(msg)
			if want == absent {
				assert.ErrorIs(t, err, ErrAbsent, path)
				continue
			}
			require.NoError(t, err, path)
			assert.Equal(t, want, v, path)
		}
		for path, want := range map[string]string{"holder.inner.label": "from-default", "holder.name": "anon"} {
			p, err := root.Path(path)
			require.NoError(t, err, path)
			b, err := p.Bytes(msg)
			require.NoError(t, err, path)
			assert.Equal(t, want, string(b), path)
		}
	}
}
