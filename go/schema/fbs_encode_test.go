package schema

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tinylib/msgp/msgp"
)

// TestEncodeMonsterRoundTrip decodes the reference Monster, encodes the value
// again and checks that the result verifies, decodes to the same value, and
// that flatc prints it exactly as it prints the reference binary.
func TestEncodeMonsterRoundTrip(t *testing.T) {
	s, mon := loadMonster(t)
	want, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)

	b := flatbuffers.NewBuilder(0)
	require.NoError(t, s.Root.EncodeFlatBuffer(b, want))
	out := bytes.Clone(b.FinishedBytes())
	require.NoError(t, s.Root.Verify(out, &Options{Identifier: "MONS"}), "carries MONS and verifies")
	got, err := mapOf(s.Root.Decode(out, nil))
	require.NoError(t, err)
	assert.Equal(t, want, got)

	dir := conformanceDir(t, "flatbuffers")
	bin := filepath.Join(t.TempDir(), "ours.mon")
	require.NoError(t, os.WriteFile(bin, out, 0o600))
	assert.Equal(t, parseJSON(t, flatcJSON(t, dir, "monster_test.fbs", filepath.Join(dir, "monsterdata_test.mon"))),
		parseJSON(t, flatcJSON(t, dir, "monster_test.fbs", bin)), "flatc reads our encoding as the reference")

	// A reused Builder builds the same bytes again.
	require.NoError(t, s.Root.EncodeFlatBuffer(b, want))
	assert.Equal(t, out, b.FinishedBytes())
}

// TestEncodeFromJSON encodes what encoding/json makes of flatc's strict JSON
// (numbers as float64, enums by name, base64-free byte lists) and compares
// with the binary flatc builds from the same JSON.
func TestEncodeFromJSON(t *testing.T) {
	s, mon := loadMonster(t)
	dir := conformanceDir(t, "flatbuffers")
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(flatcJSON(t, dir, "monster_test.fbs", filepath.Join(dir, "monsterdata_test.mon"))))
	d.UseNumber() // 64-bit hashes do not survive float64
	require.NoError(t, d.Decode(&v))
	b := flatbuffers.NewBuilder(0)
	require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
	got, err := mapOf(s.Root.Decode(b.FinishedBytes(), nil))
	require.NoError(t, err)
	want, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestEncodeRefusesWhatItCannotStore(t *testing.T) {
	s, mon := loadMonster(t)
	base, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	with := func(edit func(m map[string]any)) map[string]any {
		m, err := mapOf(s.Root.Decode(mon, nil))
		require.NoError(t, err)
		edit(m)
		return m
	}
	cases := map[string]struct {
		v    map[string]any
		path string
	}{
		"short overflow":     {with(func(m map[string]any) { m["hp"] = int64(1 << 15) }), "hp"},
		"negative unsigned":  {with(func(m map[string]any) { m["testhashu32_fnv1"] = int64(-1) }), "testhashu32_fnv1"},
		"wrapped 64 bits":    {with(func(m map[string]any) { m["testhashs64_fnv1"] = uint64(1 << 63) }), "testhashs64_fnv1"},
		"fraction in int":    {with(func(m map[string]any) { m["hp"] = 1.5 }), "hp"},
		"float32 overflow":   {with(func(m map[string]any) { m["testf"] = 1e39 }), "testf"},
		"rounds to infinity": {with(func(m map[string]any) { m["testf"] = 3.4028236e38 }), "testf"},
		"unknown field":      {with(func(m map[string]any) { m["nope"] = 1 }), "nope"},
		"missing required":   {with(func(m map[string]any) { delete(m, "name") }), "name"},
		"unknown enum name":  {with(func(m map[string]any) { m["color"] = "Purple" }), "color"},
		"bad union member":   {with(func(m map[string]any) { m["test_type"] = "Nobody" }), "test_type"},
		"struct field type":  {with(func(m map[string]any) { m["pos"].(map[string]any)["x"] = "far" }), "pos.x"},
		"partial struct":     {with(func(m map[string]any) { delete(m["pos"].(map[string]any), "z") }), "pos.z"},
		"vector element":     {with(func(m map[string]any) { m["inventory"] = []any{1.0, 256.0} }), "inventory[1]"},
		"table is not a map": {with(func(m map[string]any) { m["enemy"] = []any{} }), "enemy"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), c.v)
			var ee *EncodeError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, c.path, ee.Path, ee.Error())
			mp, merr := msgp.AppendIntf(nil, c.v)
			require.NoError(t, merr)
			err = s.Root.EncodeFlatBufferMsgPack(flatbuffers.NewBuilder(0), mp)
			require.ErrorAs(t, err, &ee, "from MessagePack")
			assert.Equal(t, c.path, ee.Path, ee.Error())
		})
	}
	// Values at the edges of their ranges are stored exactly.
	edge := with(func(m map[string]any) {
		m["hp"] = int64(math.MinInt16)
		m["testhashu64_fnv1"] = uint64(math.MaxUint64)
		m["testhashs64_fnv1"] = int64(math.MinInt64)
		m["testf"] = math.Inf(-1)
	})
	b := flatbuffers.NewBuilder(0)
	require.NoError(t, s.Root.EncodeFlatBuffer(b, edge))
	got, err := mapOf(s.Root.Decode(b.FinishedBytes(), nil))
	require.NoError(t, err)
	assert.Equal(t, int64(math.MinInt16), got["hp"])
	assert.Equal(t, uint64(math.MaxUint64), got["testhashu64_fnv1"])
	assert.Equal(t, int64(math.MinInt64), got["testhashs64_fnv1"])
	assert.True(t, math.IsInf(got["testf"].(float64), -1))
	// A value that rounds to the largest float32 (as numpy prints it) is that float32.
	edge["testf"] = 3.4028235e38
	b.Reset()
	require.NoError(t, s.Root.EncodeFlatBuffer(b, edge))
	got, err = mapOf(s.Root.Decode(b.FinishedBytes(), nil))
	require.NoError(t, err)
	assert.Equal(t, float64(math.MaxFloat32), got["testf"])
	_ = base
}

// TestEncodeInPlace builds into caller memory, as into a region slot.
func TestEncodeInPlace(t *testing.T) {
	s, mon := loadMonster(t)
	v, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	slot := make([]byte, 4096)
	b := flatbuffers.NewBuilder(0)
	b.Bytes = slot
	require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
	out := b.FinishedBytes()
	require.Same(t, &slot[len(slot)-1], &out[len(out)-1], "built inside the slot")
	assert.Zero(t, (len(slot)-len(out))%8, "8-aligned from the slot's start")
	allocs := testing.AllocsPerRun(20, func() {
		b.Bytes = slot
		if err := s.Root.EncodeFlatBuffer(b, v); err != nil {
			panic(err)
		}
	})
	if !raceEnabled {
		assert.Zero(t, allocs, "a Monster encodes into a large enough slot with no allocation")
	}
}

// TestEncodeFromMessagePack checks that MessagePack read in place builds
// the message the dynamic value of the same MessagePack builds, on the
// reference Monster and on every message of the features schema.
func TestEncodeFromMessagePack(t *testing.T) {
	s, mon := loadMonster(t)
	type typed struct {
		ty   *Type
		msgs [][]byte
	}
	cases := []typed{{s.Root, [][]byte{mon}}}
	for _, c := range []struct{ fbs, js string }{
		{featuresFBS, featuresFull}, {featuresFBS, `{ req: "" }`},
		{featuresFBS, `{ req: "x", flags: 0, one_type: "Leaf", one: {}, leaves: [] }`},
		{advancedUnionsFBS, advancedUnionsJSON},
	} {
		dir, bin := flatcBinary(t, c.fbs, c.js)
		fs, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
		require.NoError(t, err)
		cases = append(cases, typed{fs.Root, [][]byte{bin}})
	}
	for _, c := range cases {
		for i, msg := range c.msgs {
			mp, err := c.ty.MsgPack(msg, nil)
			require.NoError(t, err)
			v, err := ValueFromMsgPack(mp)
			require.NoError(t, err)
			want := flatbuffers.NewBuilder(0)
			require.NoError(t, c.ty.EncodeFlatBuffer(want, v))
			got := flatbuffers.NewBuilder(0)
			require.NoError(t, c.ty.EncodeFlatBufferMsgPack(got, mp), "message %d", i)
			assert.Equal(t, want.FinishedBytes(), got.FinishedBytes(), "%s message %d", c.ty.Name, i)
		}
	}
	for name, mp := range map[string][]byte{
		"not a map":       msgp.AppendArrayHeader(nil, 0),
		"trailing bytes":  append(msgp.AppendMapHeader(nil, 0), 0xc0),
		"truncated":       msgp.AppendString(msgp.AppendMapHeader(nil, 1), "name"),
		"huge array":      msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "testarrayofstring"), 1<<31),
		"non-string key":  msgp.AppendInt(msgp.AppendInt(msgp.AppendMapHeader(nil, 1), 1), 2),
		"table not a map": msgp.AppendInt(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "enemy"), 2),
	} {
		assert.Error(t, s.Root.EncodeFlatBufferMsgPack(flatbuffers.NewBuilder(0), mp), name)
	}
	// Input ValueFromMsgPack refuses is refused whole, even where the
	// encoder would never read the bad part: here a later duplicate key
	// hides a MessagePack extension.
	dup, err := hex.DecodeString("82a46e616d65d40500a46e616d65a16d")
	require.NoError(t, err)
	assert.ErrorIs(t, s.Root.EncodeFlatBufferMsgPack(flatbuffers.NewBuilder(0), dup), ErrMsgPackInput)
}

// TestEncodeMonsterDeepNesting: tables nested past the depth limit, through
// a vector of tables, are an error on both roads, never a stack overflow.
func TestEncodeMonsterDeepNesting(t *testing.T) {
	s, _ := loadMonster(t)
	v := map[string]any{"name": "leaf"}
	for range 2 * defaultMaxDepth {
		v = map[string]any{"name": "m", "testarrayoftables": []any{v}}
	}
	err := s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), v)
	assert.ErrorContains(t, err, "nesting deeper than")
	mp, err := msgp.AppendIntf(nil, v)
	require.NoError(t, err)
	err = s.Root.EncodeFlatBufferMsgPack(flatbuffers.NewBuilder(0), mp)
	assert.ErrorIs(t, err, ErrMsgPackInput)
	assert.ErrorIs(t, err, ErrTooDeep, "a value too deep, told apart from malformed bytes")
	assert.ErrorContains(t, err, "nesting deeper than")
}

func BenchmarkEncodeMonster(b *testing.B) {
	s, mon := loadMonster(b)
	v, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(b, err)
	fb := flatbuffers.NewBuilder(4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Root.EncodeFlatBuffer(fb, v); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEncodeMonsterMsgPack encodes arbitrary bytes as a Monster from
// MessagePack: it fails, or builds a message that verifies, and it builds
// what the dynamic value of the same MessagePack builds.
func FuzzEncodeMonsterMsgPack(f *testing.F) {
	s, mon := loadMonster(f)
	mp, err := s.Root.MsgPack(mon, nil)
	require.NoError(f, err)
	f.Add(mp)
	f.Add(msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "name"), "x"))
	b, want := flatbuffers.NewBuilder(0), flatbuffers.NewBuilder(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		err := s.Root.EncodeFlatBufferMsgPack(b, data)
		v, verr := ValueFromMsgPack(data)
		if verr != nil {
			require.ErrorIs(t, err, ErrMsgPackInput, "ValueFromMsgPack: %v", verr)
			return
		}
		werr := s.Root.EncodeFlatBuffer(want, v)
		require.Equal(t, werr == nil, err == nil, "dynamic value: %v; in place: %v", werr, err)
		if err != nil {
			return
		}
		require.NoError(t, s.Root.Verify(b.FinishedBytes(), nil))
		require.Equal(t, want.FinishedBytes(), b.FinishedBytes())
	})
}

// FuzzEncodeMonsterJSON encodes arbitrary JSON as a Monster: it either fails
// with an EncodeError or builds a message that verifies.
func FuzzEncodeMonsterJSON(f *testing.F) {
	s, mon := loadMonster(f)
	j, err := s.Root.JSON(mon, nil)
	require.NoError(f, err)
	f.Add(j)
	f.Add([]byte(`{"name":"x","hp":-1,"test_type":"Monster","test":{"name":"y"}}`))
	f.Add([]byte(`{"name":"x","pos":{"x":1e39},"inventory":"AAEC"}`))
	b := flatbuffers.NewBuilder(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v map[string]any
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if d.Decode(&v) != nil || v == nil {
			return
		}
		if err := s.Root.EncodeFlatBuffer(b, v); err != nil {
			var ee *EncodeError
			require.ErrorAs(t, err, &ee)
			return
		}
		require.NoError(t, s.Root.Verify(b.FinishedBytes(), nil))
	})
}

// TestEncodeNestedFlatBufferBytes: a nested_flatbuffer field given as the
// nested buffer's bytes is stored only when they verify as its root table,
// 8-aligned, on every road.
func TestEncodeNestedFlatBufferBytes(t *testing.T) {
	s, _ := loadMonster(t)
	inner := flatbuffers.NewBuilder(0)
	require.NoError(t, s.Root.EncodeFlatBuffer(inner, map[string]any{"name": "inner", "hp": int64(7)}))
	raw := inner.FinishedBytes()
	ints := make([]any, len(raw))
	for i, c := range raw {
		ints[i] = int64(c)
	}
	f := s.Root.Field("testnestedflatbuffer")
	for name, x := range map[string]any{
		"bytes":  raw,
		"base64": base64.StdEncoding.EncodeToString(raw),
		"list":   ints,
	} {
		for pad := range 8 { // outer names of every length modulo 8
			b := flatbuffers.NewBuilder(0)
			outer := map[string]any{"name": strings.Repeat("m", pad+1), f.Name: x}
			require.NoError(t, s.Root.EncodeFlatBuffer(b, outer), name)
			msg := b.FinishedBytes()
			got, err := mapOf(s.Root.Decode(msg, nil))
			require.NoError(t, err, name)
			assert.Equal(t, "inner", got[f.Name].(map[string]any)["name"], name)
			// The nested buffer's first byte is 8-aligned from the message's end.
			tab := &flatbuffers.Table{Bytes: msg, Pos: flatbuffers.GetUOffsetT(msg)}
			start := tab.Vector(flatbuffers.UOffsetT(tab.Offset(flatbuffers.VOffsetT(4 + 2*f.ID))))
			assert.Zero(t, (len(msg)-int(start))%8, "%s, name of %d bytes", name, pad+1)
		}
	}
	for name, x := range map[string]any{
		"empty":     []byte{},
		"truncated": raw[:len(raw)-4],
		"garbage":   bytes.Repeat([]byte{0xff}, 32),
		"not bytes": []any{int64(256)},
		"no base64": "!!",
	} {
		v := map[string]any{"name": "m", f.Name: x}
		err := s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), v)
		var ee *EncodeError
		require.ErrorAs(t, err, &ee, name)
		assert.Contains(t, ee.Path, f.Name, name)
		mp, merr := msgp.AppendIntf(nil, v)
		require.NoError(t, merr)
		assert.Error(t, s.Root.EncodeFlatBufferMsgPack(flatbuffers.NewBuilder(0), mp), name)
	}
}
