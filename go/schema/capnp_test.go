package schema

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capnpTestRequest compiles capnp/test.capnp from the conformance folder the
// way its README says, at test time.
func capnpTestRequest(t testing.TB) (dir string, req []byte) {
	t.Helper()
	dir = conformanceDir(t, "capnp")
	needTool(t, "capnp")
	req, err := CompileCapnpRequest("capnp/test.capnp", &CompileOptions{Dir: dir, ImportPaths: []string{dir}, NoStandardImport: true})
	require.NoError(t, err)
	return dir, req
}

func loadTestAllTypes(t testing.TB) (string, *Type) {
	t.Helper()
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	ty, err := s.Type("capnp/test.capnp:TestAllTypes")
	require.NoError(t, err)
	return dir, ty
}

func TestLoadCapnpRequest(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	s := ty.Schema()
	assert.Equal(t, CapnProto, s.Format)
	short, err := s.Type("TestAllTypes")
	require.NoError(t, err)
	assert.Same(t, ty, short)
	// test.capnp's file id is @0xd508eebdc2dc42b8; the node id is the compiler's.
	byID, err := s.TypeByID(ty.ID)
	require.NoError(t, err)
	assert.Same(t, ty, byID)
	assert.Equal(t, Struct, ty.Kind)
	assert.Equal(t, uint16(6), ty.DataWords)
	assert.Equal(t, uint16(20), ty.PointerCount)

	// Plans: offsets in units of the field size, pointer indices.
	assert.Equal(t, uint32(0), ty.Field("boolField").Offset)   // bit 0: voidField takes no space
	assert.Equal(t, uint32(0), ty.Field("textField").Offset)   // first pointer
	assert.Equal(t, uint32(2), ty.Field("structField").Offset) // after textField and dataField
	assert.Equal(t, Enum, ty.Field("enumField").Kind)
	assert.Equal(t, "capnp/test.capnp:TestEnum", ty.Field("enumField").Type.Name)
	assert.Equal(t, Vector, ty.Field("structList").Kind)
	assert.Same(t, ty, ty.Field("structList").Elem.Type)

	// Defaults are XOR masks of the data section.
	def, err := s.Type("TestDefaults")
	require.NoError(t, err)
	assert.Equal(t, true, def.Field("boolField").Default)
	assert.Equal(t, uint64(1), def.Field("boolField").DefaultBits)
	assert.Equal(t, int64(-123), def.Field("int8Field").Default)
	assert.Equal(t, uint64(0x85), def.Field("int8Field").DefaultBits)
	assert.Equal(t, uint64(12345678901234567890), def.Field("uInt64Field").Default)
	assert.Equal(t, 1234.5, def.Field("float32Field").Default)
	// Pointer defaults are decoded values.
	assert.Equal(t, "foo", def.Field("textField").Default)
	assert.Equal(t, []byte("bar"), def.Field("dataField").Default)
	assert.Equal(t, []any{"plugh", "xyzzy", "thud"}, def.Field("textList").Default)
	assert.Equal(t, []any{int64(111), int64(-111)}, def.Field("int8List").Default)
	sd, ok := def.Field("structField").Default.(map[string]any)
	require.True(t, ok)
	assert.Equal(t, "baz", sd["textField"])
	assert.Equal(t, int64(-12), sd["int8Field"])

	// Unions and groups: discriminant offsets, members, nested groups.
	u, err := s.Type("TestUnion")
	require.NoError(t, err)
	union0 := u.Field("union0")
	require.Equal(t, Group, union0.Kind)
	assert.Equal(t, uint16(14), union0.Type.DiscriminantCount) // u0f0s0 .. u0f1sp
	assert.Equal(t, uint16(0), union0.Type.Field("u0f0s0").Discriminant)
	assert.Equal(t, uint16(NoDiscriminant), union0.Discriminant)
	g, err := s.Type("TestGroups")
	require.NoError(t, err)
	groups := g.Field("groups")
	require.Equal(t, Group, groups.Kind)
	assert.Equal(t, uint16(3), groups.Type.DiscriminantCount)
}

func capnpFile(t *testing.T, dir, name string) []byte {
	return readFile(t, filepath.Join(dir, "capnp", "testdata", name))
}

// capnpConvertJSON is `capnp convert <from>:json` of a message.
func capnpConvertJSON(t *testing.T, dir, from, name string) []byte {
	t.Helper()
	capnp := needTool(t, "capnp")
	return runToolIn(t, dir, capnpFile(t, dir, name), capnp, "convert", from+":json", "--no-standard-import", "-I", ".", "capnp/test.capnp", "TestAllTypes")
}

func TestTestAllTypesConformance(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	// pretty.txt is the message as `capnp decode` prints it; capnp parses that
	// text and prints it in its JSON codec's form, the form compared here.
	capnp := needTool(t, "capnp")
	pretty := capnpFile(t, dir, "pretty.txt")
	want := parseJSON(t, runToolIn(t, dir, pretty, capnp, "convert", "text:json", "--no-standard-import", "-I", ".", "capnp/test.capnp", "TestAllTypes"))

	var decoded [][]byte
	for _, c := range []struct {
		name    string
		framing Framing
		from    string
	}{{"binary", Stream, "binary"}, {"segmented", Stream, "binary"}, {"flat", Flat, "flat"}, {"packed", Packed, "packed"}} {
		t.Run(c.name, func(t *testing.T) {
			msg := capnpFile(t, dir, c.name)
			opts := &Options{Framing: c.framing}
			require.NoError(t, ty.Verify(msg, opts))
			got, err := ty.JSON(msg, opts)
			require.NoError(t, err)
			assert.Equal(t, want, parseJSON(t, got))
			assert.Equal(t, want, parseJSON(t, capnpConvertJSON(t, dir, c.from, c.name)))
			decoded = append(decoded, got)
		})
	}
	require.Len(t, decoded, 4)
	for _, d := range decoded[1:] {
		assert.Equal(t, decoded[0], d, "the framings decode alike")
	}
	v, err := mapOf(ty.Decode(capnpFile(t, dir, "binary"), nil))
	require.NoError(t, err)
	assert.Equal(t, int64(-123), v["int8Field"])
	assert.Equal(t, uint64(12345678901234567890), v["uInt64Field"])
	assert.Equal(t, []byte("bar"), v["dataField"])
	assert.Equal(t, uint64(5), v["enumField"]) // corge
	assert.Equal(t, []any{"plugh", "xyzzy", "thud"}, v["textList"])
}

// capnpJSONToBinary encodes JSON with `capnp convert json:binary`.
func capnpJSONToBinary(t *testing.T, dir, typ, js string) []byte {
	t.Helper()
	capnp := needTool(t, "capnp")
	return runToolIn(t, dir, []byte(js), capnp, "convert", "json:binary", "--no-standard-import", "-I", ".", "capnp/test.capnp", typ)
}

// Messages capnp writes for unions, groups and nested lists decode to the
// JSON capnp prints for them.
func TestCapnpUnionsAndGroups(t *testing.T) {
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	capnp := needTool(t, "capnp")
	for _, c := range []struct{ typ, js string }{
		{"TestUnion", `{"union0": {"u0f0s16": 1234}, "union1": {"u1f1s8": -3}, "union2": {"u2f0s1": true}, "union3": {"u3f0s64": "-99"}, "bit0": true, "byte0": 7}`},
		{"TestUnion", `{"union0": {"u0f1sp": "text"}, "union1": {"u1f0sp": "x"}, "union2": {"u2f0s8": 1}, "union3": {"u3f0s8": 2}}`},
		{"TestGroups", `{"groups": {"baz": {"foo": 1, "bar": "22", "baz": "qux"}}}`},
		{"TestGroups", `{"groups": {"foo": {"corge": 5, "grault": "6", "garply": "hi"}}}`},
		{"TestLists", `{"list0": [{}], "list8": [{"f": 1}, {"f": 2}], "list64": [{"f": "5"}], "listP": [{"f": "p"}], "int32ListList": [[1, 2], [], [3]], "textListList": [["a"], ["b", "c"]], "structListList": [[{"int32Field": 9}]]}`},
		{"TestNewVersion", `{"old1": "1", "old2": "two", "new1": "3", "new2": "four"}`},
		{"TestDefaults", `{}`},
		{"TestUseGenerics", `{"basic": {"foo": {"int8Field": 5}, "rev": {"rev": {"foo": {"int8Field": 1}}}, "ug": {"ugfoo": 3},
		  "list": [{"foo": {"textField": "a"}}]}, "inner2": {"bar": {"int8Field": 2}, "baz": "bz",
		  "innerBound": {"foo": {"int16Field": 7}}}, "wrapper": {"value": {"foo": {"int32Field": 9}}}}`},
		{"TestDefaults", `{"boolField": false, "int8Field": 5, "uInt64Field": "0", "float32Field": 0, "enumField": "foo", "textField": "set"}`},
	} {
		t.Run(c.typ, func(t *testing.T) {
			ty, err := s.Type(c.typ)
			require.NoError(t, err)
			msg := capnpJSONToBinary(t, dir, c.typ, c.js)
			want := runToolIn(t, dir, msg, capnp, "convert", "binary:json", "--no-standard-import", "-I", ".", "capnp/test.capnp", c.typ)
			got, err := ty.JSON(msg, nil)
			require.NoError(t, err)
			assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
		})
	}
}

// The active member of a union is kept when its pointer is null: it decodes
// as null and encodes back to the same variant, on every road.
func TestCapnpUnionNullMember(t *testing.T) {
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	ty, err := s.Type("TestUnion")
	require.NoError(t, err)
	capnp := needTool(t, "capnp")
	decode := func(msg []byte) string {
		return string(runToolIn(t, dir, msg, capnp, "decode", "--no-standard-import", "-I", ".", "capnp/test.capnp", "TestUnion"))
	}
	for _, member := range []string{"u0f0sp", "u0f1sp"} { // Text members, not the union's first
		msg, err := ty.EncodeCapnp(nil, map[string]any{"union0": map[string]any{member: nil}})
		require.NoError(t, err)
		text := decode(msg)
		assert.Contains(t, text, "union0 = ("+member+" = \"\")", "capnp reads the variant")

		// The null text reads as capnp's getter reads it: "", and so does
		// every road; each encodes back to a message capnp reads the same.
		v, err := mapOf(ty.Decode(msg, nil))
		require.NoError(t, err)
		assert.Equal(t, map[string]any{member: ""}, v["union0"])
		again, err := ty.EncodeCapnp(nil, v)
		require.NoError(t, err)
		assert.Equal(t, text, decode(again), "Decode then EncodeCapnp")

		js, err := ty.JSON(msg, nil)
		require.NoError(t, err)
		assert.Contains(t, string(js), `"`+member+`":""`)
		fromJSON, err := ty.ValueFromJSON(js)
		require.NoError(t, err)
		again, err = ty.EncodeCapnp(nil, fromJSON)
		require.NoError(t, err)
		assert.Equal(t, text, decode(again), "JSON then EncodeCapnp")

		mp, err := ty.MsgPack(msg, nil)
		require.NoError(t, err)
		again, err = ty.EncodeCapnpMsgPack(nil, mp)
		require.NoError(t, err)
		assert.Equal(t, text, decode(again), "MsgPack then EncodeCapnpMsgPack")
	}
}

// Schema evolution: a message written with an old struct layout reads
// through a newer schema with new fields at their defaults, and the reverse.
func TestCapnpEvolution(t *testing.T) {
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	oldT, err := s.Type("TestOldVersion")
	require.NoError(t, err)
	newT, err := s.Type("TestNewVersion")
	require.NoError(t, err)
	oldMsg := capnpJSONToBinary(t, dir, "TestOldVersion", `{"old1": "7", "old2": "hi"}`)
	v, err := mapOf(newT.Decode(oldMsg, nil))
	require.NoError(t, err)
	assert.Equal(t, int64(7), v["old1"])
	assert.Equal(t, int64(987), v["new1"]) // the schema default
	newMsg := capnpJSONToBinary(t, dir, "TestNewVersion", `{"old1": "1", "new1": "5", "new2": "x"}`)
	v, err = mapOf(oldT.Decode(newMsg, nil))
	require.NoError(t, err)
	assert.Equal(t, int64(1), v["old1"])
	assert.NotContains(t, v, "new1")
}

// segmentOffsets gives the byte offset in msg of each segment.
func tagOffset(t *testing.T, msg []byte, seg, w int) int {
	t.Helper()
	segs, err := splitSegments(msg, Stream)
	require.NoError(t, err)
	r := &cpReader{segs: segs}
	p := r.word(seg, w)
	if p&3 == 2 {
		padSeg, pad := int(p>>32), int(uint32(p)>>3)
		if p&4 != 0 {
			pad++
		}
		seg, w = padSeg, pad
	}
	return cap(msg) - cap(segs[seg][w*8:])
}

// rootField is the (segment, word) of a root struct pointer field.
func rootField(t *testing.T, msg []byte, ty *Type, name string) (int, int) {
	t.Helper()
	segs, err := splitSegments(msg, Stream)
	require.NoError(t, err)
	r := &cpReader{segs: segs, budget: 1 << 30, limit: 1 << 30}
	var st cpStruct
	_, err = r.structAt(0, 0, &st)
	require.NoError(t, err)
	return st.seg, st.ptrs + int(ty.Field(name).Offset)
}

// The same hostile change, made to the one-segment and the many-segment
// encodings of one message, is refused the same way by both.
func TestCapnpSegmentsRejectAlike(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	var errs [2][]string
	for i, name := range []string{"binary", "segmented"} {
		base := capnpFile(t, dir, name)

		// textField loses its NUL.
		msg := bytes.Clone(base)
		at := bytes.Index(msg, []byte("foo\x00"))
		require.Positive(t, at)
		msg[at+3] = 'x'
		errs[i] = append(errs[i], errString(ty.Verify(msg, nil)))

		// int32List claims 16-bit elements.
		msg = bytes.Clone(base)
		seg, w := rootField(t, msg, ty, "int32List")
		off := tagOffset(t, msg, seg, w)
		tag := binary.LittleEndian.Uint64(msg[off:])
		binary.LittleEndian.PutUint64(msg[off:], tag&^(7<<32)|3<<32)
		errs[i] = append(errs[i], errString(ty.Verify(msg, nil)))

		// structField points at a list.
		msg = bytes.Clone(base)
		seg, w = rootField(t, msg, ty, "structField")
		off = tagOffset(t, msg, seg, w)
		binary.LittleEndian.PutUint64(msg[off:], binary.LittleEndian.Uint64(msg[off:])|1)
		errs[i] = append(errs[i], errString(ty.Verify(msg, nil)))
	}
	assert.Equal(t, []string{
		"capnp: capnp/test.capnp:TestAllTypes: textField: text is not NUL-terminated",
		"capnp: capnp/test.capnp:TestAllTypes: int32List: expected a list of 32-bit int32, found 16-bit elements",
		"capnp: capnp/test.capnp:TestAllTypes: structField: expected a struct pointer, found a list pointer",
	}, errs[0])
	assert.Equal(t, errs[0], errs[1])
}

func TestCapnpTruncatedAndCorrupted(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	for _, name := range []string{"binary", "segmented", "flat"} {
		base := capnpFile(t, dir, name)
		opts := &Options{}
		if name == "flat" {
			opts.Framing = Flat
		}
		for n := 0; n < len(base); n += 3 {
			if name == "flat" && n%8 == 0 && n > 0 {
				continue // a shorter flat message can still be whole
			}
			require.Error(t, ty.Verify(base[:n], opts), "%s: prefix of %d bytes", name, n)
		}
		buf := make([]byte, len(base))
		for i := 0; i < len(base); i += 5 {
			copy(buf, base)
			buf[i] ^= 0xa5
			verr := ty.Verify(buf, opts)
			v, derr := mapOf(ty.Decode(buf, opts))
			require.Equal(t, verr == nil, derr == nil, "%s: byte %d", name, i)
			if derr == nil {
				if _, err := ty.AppendJSON(nil, v); err != nil {
					assert.Contains(t, err.Error(), "UTF-8")
				}
			}
		}
	}
}

// message builds a one-segment stream message from words.
func message(words ...uint64) []byte {
	b := make([]byte, 8+8*len(words))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(words)))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[8+8*i:], w)
	}
	return b
}

func structPtr(offset int32, dw, pc uint16) uint64 {
	return uint64(uint32(offset)<<2) | uint64(dw)<<32 | uint64(pc)<<48
}

func listPtr(offset int32, size uint8, count uint32) uint64 {
	return uint64(uint32(offset)<<2) | 1 | uint64(size)<<32 | uint64(count)<<35
}

func farPtr(seg uint32, word uint32, double bool) uint64 {
	p := uint64(word)<<3 | 2 | uint64(seg)<<32
	if double {
		p |= 4
	}
	return p
}

// rootWithPointer is a TestAllTypes root whose pointer field holds p.
func rootWithPointer(ty *Type, field string, p uint64) []uint64 {
	dw, pc := ty.DataWords, ty.PointerCount
	words := make([]uint64, 1+int(dw)+int(pc))
	words[0] = structPtr(0, dw, pc)
	words[1+int(dw)+int(ty.Field(field).Offset)] = p
	return words
}

func TestCapnpHostile(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	dw, pc := int32(ty.DataWords), int32(ty.PointerCount)
	sf := int32(ty.Field("structField").Offset)

	// structField points back at its own struct: a cycle.
	self := rootWithPointer(ty, "structField", structPtr(-(dw+sf+1), uint16(dw), uint16(pc)))
	err := ty.Verify(message(self...), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nesting deeper than 64")
	assert.Contains(t, err.Error(), "structField.structField.structField")

	// A void list of 2^29-1 elements costs its length in budget.
	huge := rootWithPointer(ty, "voidList", listPtr(0, 0, 1<<29-1))
	assert.ErrorContains(t, ty.Verify(message(huge...), nil), "traversal limit of 8388608 words exceeded")

	// Shared objects are charged each time they are reached.
	shared := rootWithPointer(ty, "int64List", listPtr(int32(-(1+int(ty.Field("int64List").Offset))-int(dw)), 5, uint32(dw+pc)))
	require.NoError(t, ty.Verify(message(shared...), nil))
	assert.ErrorContains(t, ty.Verify(message(shared...), &Options{TraverseLimitWords: 10}), "traversal limit")

	// Far pointers: out of range, onto another far pointer, loops between segments.
	twoSegs := func(a, b []uint64) []byte {
		m := make([]byte, 8+8*(len(a)+len(b)))
		binary.LittleEndian.PutUint32(m, 1)
		binary.LittleEndian.PutUint32(m[4:], uint32(len(a)))
		var four [4]byte
		binary.LittleEndian.PutUint32(four[:], uint32(len(b)))
		m = append(m[:8], four[:]...)
		m = append(m, 0, 0, 0, 0) // pad the segment table to a word
		for _, w := range append(append([]uint64{}, a...), b...) {
			m = binary.LittleEndian.AppendUint64(m, w)
		}
		return m
	}
	loop := twoSegs([]uint64{farPtr(1, 0, false)}, []uint64{farPtr(0, 0, false)})
	assert.ErrorContains(t, ty.Verify(loop, nil), "far pointer lands on another far pointer")
	dloop := twoSegs([]uint64{farPtr(1, 0, true)}, []uint64{farPtr(0, 0, true), 0})
	assert.ErrorContains(t, ty.Verify(dloop, nil), "double-far landing pad does not start with a single far pointer")
	outside := message(farPtr(5, 0, false))
	assert.ErrorContains(t, ty.Verify(outside, nil), "outside the message")
	// A valid single-far root into segment 1 reads.
	ok := twoSegs([]uint64{farPtr(1, 0, false)}, []uint64{structPtr(0, 1, 0), 0})
	require.NoError(t, ty.Verify(ok, nil))

	// Segment tables that lie.
	assert.ErrorContains(t, ty.Verify([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0}, nil), "segments")
	assert.ErrorContains(t, ty.Verify(message(structPtr(0, 100, 0)), nil), "outside segment 0")
	assert.ErrorContains(t, ty.Verify(append(message(0), 0, 0, 0, 0, 0, 0, 0, 0), nil), "follow the last segment")
	assert.ErrorContains(t, ty.Verify([]byte{1, 2, 3}, &Options{Framing: Flat}), "whole number of words")

	// Packed: a zero run claims 256 words per 2 bytes; the bound comes first.
	bomb := bytes.Repeat([]byte{0, 0xff}, 40000)
	assert.ErrorContains(t, ty.Verify(bomb, &Options{Framing: Packed}), "unpacks to more than the traversal limit")
	assert.ErrorContains(t, ty.Verify([]byte{0xff, 1, 2}, &Options{Framing: Packed}), "ends inside a literal run")
	assert.ErrorContains(t, ty.Verify([]byte{0x03, 1}, &Options{Framing: Packed}), "ends inside a word")

	// A bit list where a struct list is expected.
	bits := rootWithPointer(ty, "structList", listPtr(0, 1, 3))
	assert.ErrorContains(t, ty.Verify(message(bits...), nil), "found a bit list")
}

// A message larger than the 8 Mi word default is read whole: the default
// limit grows with the message, an explicit one does not.
func TestCapnpLargeMessage(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	const dataWords = 9 << 20 // 72 MiB
	// the list starts right after the root struct
	after := int32(ty.PointerCount) - int32(ty.Field("dataField").Offset) - 1
	root := rootWithPointer(ty, "dataField", listPtr(after, 2, dataWords*8))
	words := append(root, make([]uint64, dataWords)...)
	words[len(root)] = 0x0123456789abcdef
	msg := message(words...)

	require.NoError(t, ty.Verify(msg, nil))
	p, err := ty.Path("dataField")
	require.NoError(t, err)
	b, err := p.Bytes(msg)
	require.NoError(t, err)
	assert.Len(t, b, dataWords*8)
	assert.Equal(t, byte(0xef), b[0])

	assert.ErrorContains(t, ty.Verify(msg, &Options{TraverseLimitWords: 8 << 20}), "traversal limit of 8388608 words exceeded")
}

func TestCapnpDeepMessage(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	// capnp's JSON reader stops at 64 levels itself.
	js := strings.Repeat(`{"structField": `, 60) + `{"int8Field": 1}` + strings.Repeat("}", 60)
	msg := capnpJSONToBinary(t, dir, "TestAllTypes", js)
	assert.ErrorContains(t, ty.Verify(msg, &Options{MaxDepth: 40}), "nesting deeper than 40")
	v, err := mapOf(ty.Decode(msg, nil))
	require.NoError(t, err)
	depth := 0
	for ; v != nil; depth++ {
		v, _ = v["structField"].(map[string]any)
	}
	assert.Equal(t, 61, depth)
}

func TestLoadCapnpRequestHostile(t *testing.T) {
	_, req := capnpTestRequest(t)
	_, err := LoadCapnpRequest(nil)
	assert.Error(t, err)
	for n := 0; n < len(req); n += len(req)/60 + 1 {
		_, err := LoadCapnpRequest(req[:n])
		require.Error(t, err, "prefix of %d bytes", n)
	}
	buf := make([]byte, len(req))
	for i := 0; i < len(req); i += 401 {
		copy(buf, req)
		buf[i] ^= 0xff
		_, _ = LoadCapnpRequest(buf) // must not panic
	}
}

// Cap'n Proto lets a writer encode List(struct) as a primitive list and a
// primitive list as a struct list; a reader must accept both.
func TestCapnpListEncodings(t *testing.T) {
	_, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	ty, err := s.Type("TestLists")
	require.NoError(t, err)
	require.Equal(t, uint16(0), ty.DataWords)
	require.Equal(t, uint16(10), ty.PointerCount)
	ptr := func(name string) int { return 1 + int(ty.Field(name).Offset) }
	words := make([]uint64, 19)
	words[0] = structPtr(0, 0, 10)
	// list8 as a byte list.
	words[ptr("list8")] = listPtr(int32(11-ptr("list8")-1), 2, 3)
	words[11] = 0x030201
	// list16 as a composite list of one-word structs.
	words[ptr("list16")] = listPtr(int32(12-ptr("list16")-1), 7, 2)
	words[12] = uint64(2<<2) | 1<<32
	words[13], words[14] = 0x1234, 0x5678
	// int32ListList's element: List(Int32) as a composite list; the upper
	// half of each word is another field, not read.
	words[ptr("int32ListList")] = listPtr(int32(15-ptr("int32ListList")-1), 6, 1)
	words[15] = listPtr(0, 7, 2)
	words[16] = uint64(2<<2) | 1<<32
	words[17] = 0xdead_0000_0007
	words[18] = 0xbeef_0000_0000 | uint64(uint32(0xfffffff8))
	v, err := mapOf(ty.Decode(message(words...), nil))
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"f": uint64(1)}, map[string]any{"f": uint64(2)}, map[string]any{"f": uint64(3)}}, v["list8"])
	assert.Equal(t, []any{map[string]any{"f": uint64(0x1234)}, map[string]any{"f": uint64(0x5678)}}, v["list16"])
	assert.Equal(t, []any{[]any{int64(7), int64(-8)}}, v["int32ListList"])

	// A primitive list cannot stand for a list of pointers.
	words[ptr("textListList")] = listPtr(int32(11-ptr("textListList")-1), 2, 3)
	assert.ErrorContains(t, ty.Verify(message(words...), nil), "textListList: expected a list of pointers")
}

func TestCapnpAnyPointerVerified(t *testing.T) {
	_, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	ty, err := s.Type("TestAnyPointer")
	require.NoError(t, err)
	require.Equal(t, AnyPointer, ty.Field("anyPointerField").Kind)

	// Root {anyPointerField -> struct {1 data word, 1 pointer -> text "hi"}}.
	good := message(structPtr(0, 0, 1), structPtr(0, 1, 1), 42, listPtr(0, 2, 3), 0x006968)
	v, err := mapOf(ty.Decode(good, nil))
	require.NoError(t, err)
	// The content is a message of its own whose root is a copy of the object.
	assert.Equal(t, message(structPtr(0, 1, 1), 42, listPtr(0, 2, 3), 0x006968), v["anyPointerField"])
	again, err := ty.EncodeCapnp(nil, v)
	require.NoError(t, err)
	assert.Equal(t, good, again, "encoded back, the object is copied in")
	js, err := ty.JSON(good, nil)
	require.NoError(t, err)
	fromJSON, err := ty.ValueFromJSON(js)
	require.NoError(t, err)
	again, err = ty.EncodeCapnp(nil, fromJSON)
	require.NoError(t, err)
	assert.Equal(t, good, again, "through JSON")
	mp, err := ty.MsgPack(good, nil)
	require.NoError(t, err)
	again, err = ty.EncodeCapnpMsgPack(nil, mp)
	require.NoError(t, err)
	assert.Equal(t, good, again, "through MessagePack")
	_, err = ty.EncodeCapnp(nil, map[string]any{"anyPointerField": []byte{1, 2, 3}})
	assert.ErrorContains(t, err, "not a Cap'n Proto message")

	// The struct's pointer points back at the struct: a cycle.
	cyclic := message(structPtr(0, 0, 1), structPtr(0, 1, 1), 42, structPtr(-2, 1, 1))
	assert.ErrorContains(t, ty.Verify(cyclic, nil), "nesting deeper than 64")
	_, err = ty.Decode(cyclic, nil)
	assert.ErrorContains(t, err, "nesting deeper than 64", "copying the content checks it alike")
	// Out of bounds inside the unknown content.
	outside := message(structPtr(0, 0, 1), structPtr(0, 1, 1), 42, listPtr(50, 2, 3))
	assert.ErrorContains(t, ty.Verify(outside, nil), "anyPointerField: list of 3 elements at word 54 is outside segment 0")
}

const genericsCapnp = `@0xc3a7b1e2f4d5a6b7;
struct Inner { a @0 :Int32; b @1 :Text; }
struct Pair(K, V) {
  key @0 :K;
  value @1 :V;
  self @2 :List(Pair(K, V));
  g :group { v @3 :V; }
  union { none @4 :Void; alt @5 :V; }
}
struct Box(T) {
  item @0 :T;
  pair @1 :Pair(Text, T);
  struct Nested { t @0 :T; }
  nested @2 :Nested;
}
struct Uses {
  p @0 :Pair(Text, Inner);
  b @1 :Box(Data);
  raw @2 :Pair;
  boxes @3 :List(Box(Inner));
}
`

// Fields of a generic struct whose parameters a brand binds (Pair(Text,
// Inner)) are read, written and named as the bound types, as capnp reads
// them; unbound parameters stay AnyPointer.
func TestCapnpGenerics(t *testing.T) {
	capnp := needTool(t, "capnp")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "g.capnp"), []byte(genericsCapnp), 0o644))
	s, err := CompileCapnp("g.capnp", &CompileOptions{Dir: dir})
	require.NoError(t, err)
	ty, err := s.Type("Uses")
	require.NoError(t, err)
	pair := ty.Field("p").Type
	assert.Equal(t, "g.capnp:Pair(Text, Inner)", pair.Name)
	assert.Equal(t, String, pair.Field("key").Kind)
	assert.Same(t, ty.Field("boxes").Elem.Type.Field("pair").Type.Field("value").Type, pair.Field("value").Type)
	assert.Equal(t, AnyPointer, ty.Field("raw").Type.Field("key").Kind)

	text := `(p = (key = "k", value = (a = 1, b = "x"), self = [(key = "s", value = (b = "y"))], g = (v = (a = 3)), alt = (a = 4)),
	  b = (item = "data", pair = (key = "bk", value = "bv"), nested = (t = "nt")),
	  boxes = [(item = (a = 5), pair = (key = "q", value = (a = 6)))])`
	msg := runToolIn(t, dir, []byte(text), capnp, "encode", "g.capnp", "Uses")
	want := runToolIn(t, dir, msg, capnp, "convert", "binary:json", "g.capnp", "Uses")
	got, err := ty.JSON(msg, nil)
	require.NoError(t, err)
	assert.Equal(t, parseJSON(t, want), parseJSON(t, got))

	v, err := mapOf(ty.Decode(msg, nil))
	require.NoError(t, err)
	again, err := ty.EncodeCapnp(nil, v)
	require.NoError(t, err)
	wantText := runToolIn(t, dir, msg, capnp, "decode", "g.capnp", "Uses")
	assert.Equal(t, string(wantText), string(runToolIn(t, dir, again, capnp, "decode", "g.capnp", "Uses")))

	p, err := ty.Path("p.value.b")
	require.NoError(t, err)
	b, err := p.Bytes(msg)
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))
	p, err = ty.Path("boxes[0].pair.value.a")
	require.NoError(t, err)
	n, err := p.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(6), n)
}

// FuzzAnyPointer decodes arbitrary AnyPointer content: Decode and Verify
// agree, and what decodes encodes back to a message that decodes alike.
func FuzzAnyPointer(f *testing.F) {
	_, req := capnpTestRequest(f)
	s, err := LoadCapnpRequest(req)
	require.NoError(f, err)
	ty, err := s.Type("TestAnyPointer")
	require.NoError(f, err)
	f.Add(message(structPtr(0, 0, 1), structPtr(0, 1, 1), 42, listPtr(0, 2, 3), 0x006968))
	f.Add(message(structPtr(0, 0, 1), listPtr(0, 7, 4), 2<<2|1<<32|1<<48, 7, listPtr(2, 6, 1), 8, 0))
	f.Fuzz(func(t *testing.T, msg []byte) {
		verr := ty.Verify(msg, nil)
		v, err := mapOf(ty.Decode(msg, nil))
		require.Equal(t, verr == nil, err == nil, "verify: %v; decode: %v", verr, err)
		if err != nil {
			return
		}
		again, err := ty.EncodeCapnp(nil, v)
		require.NoError(t, err)
		w, err := mapOf(ty.Decode(again, nil))
		require.NoError(t, err)
		require.Equal(t, v, w)
	})
}

// Null pointers where a value must be given (an element of a list of text,
// data or lists; a union's active struct member) read as capnp reads them:
// "", empty data, [], a struct of defaults. The JSON is capnp's, and records
// hold values, never nulls.
func TestCapnpNullPointersInListsAndUnions(t *testing.T) {
	dir, req := capnpTestRequest(t)
	s, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	capnp := needTool(t, "capnp")
	for _, c := range []struct {
		typ  string
		in   map[string]any
		want string
	}{
		{"TestAllTypes", map[string]any{"textList": []any{nil, "b"}, "dataList": []any{[]byte("x"), nil}},
			`{"textList": ["", "b"], "dataList": [[120], []]}`},
		{"TestLists", map[string]any{"int32ListList": []any{[]any{int64(7)}, nil}, "textListList": []any{nil, []any{"a"}}},
			`{"int32ListList": [[7], []], "textListList": [[], ["a"]]}`},
		{"TestStructUnion", map[string]any{"un": map[string]any{"struct": nil}}, `{"un": {"struct": {}}}`},
	} {
		ty, err := s.Type(c.typ)
		require.NoError(t, err)
		msg, err := ty.EncodeCapnp(nil, c.in)
		require.NoError(t, err)
		ref := runToolIn(t, dir, msg, capnp, "convert", "binary:json", "--no-standard-import", "-I", ".", "capnp/test.capnp", c.typ)
		got, err := ty.JSON(msg, nil)
		require.NoError(t, err)
		assert.Equal(t, parseJSON(t, ref), parseJSON(t, got), "%s: as capnp prints it", c.typ)
		all := parseJSON(t, got).(map[string]any)
		for k, v := range parseJSON(t, []byte(c.want)).(map[string]any) {
			assert.Equal(t, v, all[k], "%s.%s", c.typ, k)
		}
		_, err = ty.Decode(msg, nil)
		require.NoError(t, err)
	}
}

// A union whose first member is its own struct: a message that leaves the
// union empty reads its null member as one struct of defaults, not as an
// endless expansion (which failed at the depth limit).
func TestCapnpRecursiveUnionNullMember(t *testing.T) {
	needTool(t, "capnp")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r.capnp"), []byte(`@0xe1f2a3b4c5d6e7f8;
struct Node { union { child @0 :Node; num @1 :Int32; } }
`), 0o644))
	s, err := CompileCapnp("r.capnp", &CompileOptions{Dir: dir})
	require.NoError(t, err)
	ty, err := s.Type("Node")
	require.NoError(t, err)
	msg, err := ty.EncodeCapnp(nil, map[string]any{})
	require.NoError(t, err)
	require.NoError(t, ty.Verify(msg, nil))
	js, err := ty.JSON(msg, nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"child": {"child": null}}`, string(js))
	_, err = ty.MsgPack(msg, nil)
	require.NoError(t, err)
	deep, err := ty.EncodeCapnp(nil, map[string]any{"child": map[string]any{"child": map[string]any{"num": int64(5)}}})
	require.NoError(t, err)
	js, err = ty.JSON(deep, nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"child": {"child": {"num": 5}}}`, string(js))
}
