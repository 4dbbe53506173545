package schema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/internal/fbreflect"
)

func requireDataError(t *testing.T, err error, path, reason string) {
	t.Helper()
	require.Error(t, err)
	var de *DataError
	require.True(t, errors.As(err, &de), "%v is not a *DataError", err)
	assert.Equal(t, path, de.Path, "%v", err)
	assert.Contains(t, de.Reason, reason)
}

func TestMonsterTruncated(t *testing.T) {
	s, mon := loadMonster(t)
	full, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	failed := 0
	for n := 0; n < len(mon); n++ {
		// A prefix that only drops trailing padding is still the message.
		got, err := s.Root.JSON(mon[:n], nil)
		if err != nil {
			failed++
			continue
		}
		assert.Equal(t, string(full), string(got), "prefix of %d bytes", n)
	}
	assert.Greater(t, failed, len(mon)-8)
}

// Every single-byte corruption either fails verification or decodes and
// transcodes without error: Verify's verdict holds for Decode and JSON.
func TestMonsterCorrupted(t *testing.T) {
	s, mon := loadMonster(t)
	buf := make([]byte, len(mon))
	for i := range mon {
		for _, x := range []byte{0xff, 0x01, 0x80} {
			copy(buf, mon)
			buf[i] ^= x
			verr := s.Root.Verify(buf, nil)
			v, derr := mapOf(s.Root.Decode(buf, nil))
			assert.Equal(t, verr == nil, derr == nil, "byte %d ^ %#x: verify %v, decode %v", i, x, verr, derr)
			if derr == nil {
				_, err := s.Root.AppendJSON(nil, v)
				if err != nil {
					assert.Contains(t, err.Error(), "UTF-8", "byte %d ^ %#x", i, x)
				}
			}
		}
	}
}

// monsterBuilder writes Monsters through the plan's slots, for hostile shapes
// flatc would not write.
type monsterBuilder struct {
	b *flatbuffers.Builder
	m *Type
}

func (mb monsterBuilder) slot(name string) int {
	return int(mb.m.Field(name).ID)
}

func (mb monsterBuilder) monster(name string, enemy flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	n := mb.b.CreateString(name)
	mb.b.StartObject(len(mb.m.Fields) + 8)
	mb.b.PrependUOffsetTSlot(mb.slot("name"), n, 0)
	if enemy != 0 {
		mb.b.PrependUOffsetTSlot(mb.slot("enemy"), enemy, 0)
	}
	return mb.b.EndObject()
}

func TestMonsterDepthLimit(t *testing.T) {
	s, _ := loadMonster(t)
	mb := monsterBuilder{b: flatbuffers.NewBuilder(0), m: s.Root}
	var inner flatbuffers.UOffsetT
	for i := 0; i < 100; i++ {
		inner = mb.monster("m", inner)
	}
	mb.b.Finish(inner)
	buf := mb.b.FinishedBytes()
	err := s.Root.Verify(buf, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nesting deeper than 64")
	require.NoError(t, s.Root.Verify(buf, &Options{MaxDepth: 101}))
	v, err := mapOf(s.Root.Decode(buf, &Options{MaxDepth: 101}))
	require.NoError(t, err)
	depth := 0
	for v != nil {
		depth++
		v, _ = v["enemy"].(map[string]any)
	}
	assert.Equal(t, 100, depth)
}

func TestMonsterTableLimit(t *testing.T) {
	s, _ := loadMonster(t)
	mb := monsterBuilder{b: flatbuffers.NewBuilder(0), m: s.Root}
	shared := mb.monster("shared", 0)
	// 50 offsets to one table: the verifier counts each visit.
	mb.b.StartVector(4, 50, 4)
	for i := 0; i < 50; i++ {
		mb.b.PrependUOffsetT(shared)
	}
	vec := mb.b.EndVector(50)
	n := mb.b.CreateString("root")
	mb.b.StartObject(len(s.Root.Fields) + 8)
	mb.b.PrependUOffsetTSlot(mb.slot("name"), n, 0)
	mb.b.PrependUOffsetTSlot(mb.slot("testarrayoftables"), vec, 0)
	mb.b.Finish(mb.b.EndObject())
	buf := mb.b.FinishedBytes()
	require.NoError(t, s.Root.Verify(buf, nil))
	err := s.Root.Verify(buf, &Options{MaxTables: 20})
	requireDataError(t, err, "testarrayoftables[19]", "more than 20 tables")
}

func TestMonsterMissingRequired(t *testing.T) {
	s, _ := loadMonster(t)
	b := flatbuffers.NewBuilder(0)
	b.StartObject(4)
	b.PrependInt16Slot(int(s.Root.Field("hp").ID), 5, 100)
	b.Finish(b.EndObject())
	requireDataError(t, s.Root.Verify(b.FinishedBytes(), nil), "name", "required field is missing")
}

func TestMonsterBadVtablesAndOffsets(t *testing.T) {
	s, mon := loadMonster(t)
	root := int(binary.LittleEndian.Uint32(mon))
	vt := root - int(int32(binary.LittleEndian.Uint32(mon[root:])))

	odd := append([]byte(nil), mon...)
	binary.LittleEndian.PutUint16(odd[vt:], 5)
	requireDataError(t, s.Root.Verify(odd, nil), "", "invalid size 5")

	huge := append([]byte(nil), mon...)
	binary.LittleEndian.PutUint16(huge[vt:], 0xfffe)
	requireDataError(t, s.Root.Verify(huge, nil), "", "outside")

	away := append([]byte(nil), mon...)
	binary.LittleEndian.PutUint32(away[root:], 0x80000000)
	requireDataError(t, s.Root.Verify(away, nil), "", "outside the buffer")

	misaligned := append([]byte(nil), mon...)
	binary.LittleEndian.PutUint32(misaligned, uint32(root+1))
	requireDataError(t, s.Root.Verify(misaligned, nil), "", "aligned")
	// The C++ option check_alignment=false has its twin.
	assert.NotContains(t, errString(s.Root.Verify(misaligned, &Options{SkipAlignment: true})), "aligned")

	zero := append([]byte(nil), mon...)
	binary.LittleEndian.PutUint32(zero, 0)
	requireDataError(t, s.Root.Verify(zero, nil), "(root)", "invalid offset 0")

	requireDataError(t, s.Root.Verify(mon, &Options{Identifier: "NOPE"}), "", "file identifier")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMonsterStringNotTerminated(t *testing.T) {
	s, _ := loadMonster(t)
	b := flatbuffers.NewBuilder(0)
	n := b.CreateString("abc")
	b.StartObject(4)
	b.PrependUOffsetTSlot(int(s.Root.Field("name").ID), n, 0)
	b.Finish(b.EndObject())
	buf := b.FinishedBytes()
	require.NoError(t, s.Root.Verify(buf, nil))
	// The string's NUL is the byte after "abc".
	i := len(buf) - 1
	for ; i >= 0 && !(buf[i] == 0 && i >= 3 && string(buf[i-3:i]) == "abc"); i-- {
	}
	require.Positive(t, i)
	buf[i] = 'd'
	requireDataError(t, s.Root.Verify(buf, nil), "name", "not NUL-terminated")
}

func TestNotAMessageType(t *testing.T) {
	s, _ := loadMonster(t)
	vec3, err := s.Type("MyGame.Example.Vec3")
	require.NoError(t, err)
	assert.ErrorContains(t, vec3.Verify([]byte{1, 2, 3, 4}, nil), "not a message type")
	_, err = s.Type("MyGame.Example.Nope")
	assert.ErrorContains(t, err, `no type "MyGame.Example.Nope"`)
}

func TestLoadBFBSHostile(t *testing.T) {
	dir := conformanceDir(t, "flatbuffers")
	good := readFile(t, filepath.Join(dir, "monster_test.bfbs"))
	_, err := LoadBFBS(nil)
	assert.ErrorContains(t, err, "BFBS file identifier")
	full, err := LoadBFBS(good)
	require.NoError(t, err)
	for n := 8; n < len(good); n += len(good)/100 + 1 {
		s, err := LoadBFBS(good[:n])
		if err == nil { // only trailing padding was cut
			assert.Len(t, s.Types(), len(full.Types()), "prefix of %d bytes", n)
		}
	}
	_, err = LoadBFBS(good[:len(good)/2])
	assert.ErrorContains(t, err, "invalid binary schema")
	buf := make([]byte, len(good))
	for i := 0; i < len(good); i += 53 {
		copy(buf, good)
		buf[i] ^= 0xff
		_, _ = LoadBFBS(buf) // must not panic
	}
}

// Names a schema compiler cannot write (a field or enum value that is not
// an identifier, a type name that is not UTF-8) are refused at load: they
// would otherwise reach Python classes, stubs and C strings.
func TestLoadBFBSRefusesBadNames(t *testing.T) {
	good := readFile(t, filepath.Join(conformanceDir(t, "flatbuffers"), "monster_test.bfbs"))
	for _, c := range []struct{ from, to, why string }{
		{"testbool", "test~ool", `"test~ool" is not an identifier`},
		{"Blue", "Bl e", `"Bl e" is not an identifier`},
		{"MyGame.Example.Monster", "MyGame.Example.Monste\xff", "invalid type name"},
		{"MyGame.Example.Monster", "MyGame.Example..onster", "invalid type name"},
	} {
		to := c.to
		if strings.HasSuffix(to, "\\xff") {
			to = strings.TrimSuffix(to, "\\xff") + "\xff"
		}
		require.Equal(t, len(c.from), len(to))
		refused := false // the name also appears in attributes and docs: try each place
		for off := 0; ; {
			i := bytes.Index(good[off:], []byte(c.from))
			if i < 0 {
				break
			}
			bad := append([]byte(nil), good...)
			copy(bad[off+i:], to)
			if _, err := LoadBFBS(bad); err != nil && strings.Contains(err.Error(), c.why) {
				refused = true
			}
			off += i + 1
		}
		assert.True(t, refused, "%s -> %q", c.from, to)
	}
}

// The embedded reflection schema verifies against its own plan.
func TestReflectionSelfVerifies(t *testing.T) {
	rt, err := reflectionRoot()
	require.NoError(t, err)
	assert.Equal(t, "reflection.Schema", rt.Name)
	require.NoError(t, rt.Verify(fbreflect.ReflectionBFBS, &Options{Identifier: "BFBS"}))
	s, err := LoadBFBS(fbreflect.ReflectionBFBS)
	require.NoError(t, err)
	assert.Len(t, s.Types(), len(rt.Schema().Types()))
}

func TestMonsterNestedTooSmall(t *testing.T) {
	s, mon := loadMonster(t)
	requireDataError(t, s.Root.Verify(mon[:11], nil), "", "smaller than the 12-byte minimum")
	for _, nested := range [][]byte{{}, {1, 2, 3}} {
		b := flatbuffers.NewBuilder(0)
		nb := b.CreateByteVector(nested)
		n := b.CreateString("outer")
		b.StartObject(len(s.Root.Fields) + 8)
		b.PrependUOffsetTSlot(int(s.Root.Field("name").ID), n, 0)
		b.PrependUOffsetTSlot(int(s.Root.Field("testnestedflatbuffer").ID), nb, 0)
		b.Finish(b.EndObject())
		requireDataError(t, s.Root.Verify(b.FinishedBytes(), nil),
			"testnestedflatbuffer.(nested MyGame.Example.Monster)", "smaller than the 12-byte minimum")
	}
}

// A FlatBuffers bool stored as a byte other than 0 or 1 (which a verifier
// accepts) is true on every road, as flatc's generated code reads it.
func TestFlatBuffersBoolAnyNonZeroByteIsTrue(t *testing.T) {
	s, mon := loadMonster(t)
	p, err := s.Root.Path("testbool")
	require.NoError(t, err)
	pos, absent, err := p.locate(mon)
	require.NoError(t, err)
	require.False(t, absent)
	msg := append([]byte(nil), mon...)
	msg[pos] = 0x08
	require.NoError(t, s.Root.Verify(msg, nil))

	rec, err := s.Root.Decode(msg, nil)
	require.NoError(t, err)
	assert.True(t, rec.Get("testbool").Bool(), "Decode")
	for name, transcode := range map[string]func([]byte, *Options) ([]byte, error){
		"JSON": s.Root.JSON, "MsgPack": s.Root.MsgPack,
	} {
		out, err := transcode(msg, nil)
		require.NoError(t, err)
		back, err := transcode(mon, nil)
		require.NoError(t, err)
		assert.Equal(t, back, out, "%s of the message with testbool stored as 8", name)
	}
	root, err := s.Root.Root(msg)
	require.NoError(t, err)
	f, ok, err := root.Field(msg, s.Root.Field("testbool"))
	require.NoError(t, err)
	require.True(t, ok)
	v, err := f.Value(msg)
	require.NoError(t, err)
	assert.Equal(t, true, v, "Ref.Value")
	ri, err := f.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ri, "Ref.Int")
	ru, err := f.Uint(msg)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), ru, "Ref.Uint")
	n, err := p.Int(msg)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "Path.Int")
}
