package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadMonster(t testing.TB) (*Schema, []byte) {
	t.Helper()
	dir := conformanceDir(t, "flatbuffers")
	s, err := LoadBFBS(readFile(t, filepath.Join(dir, "monster_test.bfbs")))
	require.NoError(t, err)
	return s, readFile(t, filepath.Join(dir, "monsterdata_test.mon"))
}

func TestLoadMonsterBFBS(t *testing.T) {
	s, _ := loadMonster(t)
	require.NotNil(t, s.Root)
	assert.Equal(t, "MyGame.Example.Monster", s.Root.Name)
	assert.Equal(t, "MONS", s.FileIdentifier)

	m, err := s.Type("MyGame.Example.Monster")
	require.NoError(t, err)
	assert.Same(t, s.Root, m)
	assert.Equal(t, FlatBuffersTypeID("MyGame.Example.Monster"), m.ID)
	byID, err := s.TypeByID(m.ID)
	require.NoError(t, err)
	assert.Same(t, m, byID)

	// The plan follows monster_test.fbs: `hp:short = 100` is field id 2.
	hp := m.Field("hp")
	require.NotNil(t, hp)
	assert.Equal(t, Int16, hp.Kind)
	assert.Equal(t, uint16(2), hp.ID)
	assert.Equal(t, uint16(4+2*2), hp.Slot)
	assert.Equal(t, int64(100), hp.Default)
	assert.True(t, m.Field("friendly").Deprecated)
	assert.True(t, m.Field("name").Required)
	assert.True(t, m.Field("name").Key)

	// Unions pair the value with its `_type` field.
	test := m.Field("test")
	require.Equal(t, Union, test.Kind)
	assert.Equal(t, "MyGame.Example.Any", test.Type.Name)
	assert.Same(t, m.Field("test_type"), test.UnionTypeField)
	assert.Same(t, test, m.Field("test_type").UnionValueField)
	member, ok := test.Type.EnumValueOf(1)
	require.True(t, ok)
	assert.Equal(t, "Monster", member.Name)
	assert.Same(t, m, member.Member.Type)

	// Structs: `struct Vec3 (force_align: 8)` with a nested Test struct.
	vec3, err := s.Type("MyGame.Example.Vec3")
	require.NoError(t, err)
	assert.Equal(t, Struct, vec3.Kind)
	assert.Equal(t, 32, vec3.ByteSize)
	assert.Equal(t, 8, vec3.MinAlign)
	assert.Equal(t, uint16(26), vec3.Field("test3").Slot)
	assert.Equal(t, 4, vec3.Field("test3").Size)

	color, err := s.Type("MyGame.Example.Color")
	require.NoError(t, err)
	assert.True(t, color.BitFlags)
	assert.Equal(t, Uint8, color.Underlying)
	assert.Equal(t, "Blue", color.EnumName(8))

	nested := m.Field("testnestedflatbuffer")
	require.NotNil(t, nested.Nested)
	assert.Same(t, m, nested.Nested)

	inv := m.Field("inventory")
	assert.Equal(t, Vector, inv.Kind)
	assert.Equal(t, Uint8, inv.Elem.Kind)
	assert.Equal(t, "[uint8]", inv.TypeRef.String())
}

func TestMonsterDecodeValues(t *testing.T) {
	s, mon := loadMonster(t)
	require.NoError(t, s.Root.Verify(mon, &Options{Identifier: "MONS"}))
	v, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	// Values from monsterdata_test.json.
	assert.Equal(t, int64(80), v["hp"])
	assert.Equal(t, "MyMonster", v["name"])
	assert.Equal(t, []any{uint64(0), uint64(1), uint64(2), uint64(3), uint64(4)}, v["inventory"])
	pos := v["pos"].(map[string]any)
	assert.Equal(t, 2.0, pos["y"])
	assert.Equal(t, uint64(2), pos["test2"]) // Green
	assert.Equal(t, map[string]any{"a": int64(5), "b": int64(6)}, pos["test3"])
	assert.Equal(t, uint64(1), v["test_type"])
	assert.Equal(t, map[string]any{"name": "Fred"}, v["test"])
	assert.Equal(t, []any{"test1", "test2"}, v["testarrayofstring"])
	assert.Equal(t, []any{true, false, true}, v["testarrayofbools"])
	assert.NotContains(t, v, "mana") // absent: reads as the default
	assert.Equal(t, int64(150), s.Root.Field("mana").Default)
}

// flatcJSON is what `flatc --json --strict-json` prints for a binary.
func flatcJSON(t *testing.T, dir, fbs, bin string) []byte {
	t.Helper()
	flatc := needTool(t, "flatc")
	out := t.TempDir()
	runTool(t, dir, flatc, "-I", "include_test", "--json", "--strict-json", "--raw-binary", "-o", out, fbs, "--", bin)
	base := filepath.Base(bin)
	return readFile(t, filepath.Join(out, base[:len(base)-len(filepath.Ext(base))]+".json"))
}

func TestMonsterJSONMatchesFlatc(t *testing.T) {
	s, mon := loadMonster(t)
	dir := conformanceDir(t, "flatbuffers")
	want := flatcJSON(t, dir, "monster_test.fbs", filepath.Join(dir, "monsterdata_test.mon"))
	got, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
}

// monsterdata_test.json is flatc's relaxed JSON: flatc parses it into a
// binary, and prints that as strict JSON; the .mon decodes to those values.
func TestMonsterMatchesReferenceJSON(t *testing.T) {
	s, mon := loadMonster(t)
	dir := conformanceDir(t, "flatbuffers")
	flatc := needTool(t, "flatc")
	tmp := t.TempDir()
	runTool(t, dir, flatc, "-I", "include_test", "-b", "-o", tmp, "monster_test.fbs", "monsterdata_test.json")
	fromJSON := filepath.Join(tmp, "monsterdata_test.mon")
	want := flatcJSON(t, dir, "monster_test.fbs", fromJSON)
	got, err := s.Root.JSON(mon, &Options{Identifier: "MONS"})
	require.NoError(t, err)
	assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
	// The binary flatc writes from the JSON verifies and decodes alike.
	got2, err := s.Root.JSON(readFile(t, fromJSON), nil)
	require.NoError(t, err)
	assert.Equal(t, parseJSON(t, got), parseJSON(t, got2))
}

func TestMonsterFromCompiledFBS(t *testing.T) {
	dir := conformanceDir(t, "flatbuffers")
	needTool(t, "flatc")
	s, err := CompileFBS(filepath.Join(dir, "monster_test.fbs"), &CompileOptions{ImportPaths: []string{filepath.Join(dir, "include_test")}})
	require.NoError(t, err)
	m, err := s.Type("MyGame.Example.Monster")
	require.NoError(t, err)
	mon := readFile(t, filepath.Join(dir, "monsterdata_test.mon"))
	got, err := m.JSON(mon, nil)
	require.NoError(t, err)
	want := flatcJSON(t, dir, "monster_test.fbs", filepath.Join(dir, "monsterdata_test.mon"))
	assert.Equal(t, parseJSON(t, want), parseJSON(t, got))

	// The same type from the committed .bfbs decodes to the same value.
	ref, _ := loadMonster(t)
	a, err := mapOf(m.Decode(mon, nil))
	require.NoError(t, err)
	b, err := mapOf(ref.Root.Decode(mon, nil))
	require.NoError(t, err)
	assert.Equal(t, b, a)
	assert.Equal(t, ref.Root.ID, m.ID)
}

// A message flatc writes from JSON covering nested flatbuffers, bit flags,
// unknown enum values, key fields and unions decodes to the JSON flatc prints.
func TestFlatcWrittenMessages(t *testing.T) {
	dir := conformanceDir(t, "flatbuffers")
	flatc := needTool(t, "flatc")
	s, _ := loadMonster(t)
	for name, src := range map[string]string{
		"nested":  `{name:"x", scalar_key_sorted_tables:[{id:"a"}], testnestedflatbuffer:{name:"inner", hp: 5, inventory:[7]}, color: "Red Blue"}`,
		"unknown": `{name:"x", color: 7, signed_enum: -1, test_type: "MyGame_Example2_Monster", test: {}}`,
		"unions":  `{name:"u", any_unique_type: "M2", any_unique: {}, any_ambiguous_type: "M3", any_ambiguous: {name: "amb"}, testempty: {id: "e", val: -5}}`,
		"scalars": `{name:"s", testf: 0.1, testf2: -2.5e-8, long_enum_normal_default: "LongTwo", vector_of_enums: ["Blue", "Red"], testhashu64_fnv1: 18446744073709551615, vector_of_weak_references: [1, 2]}`,
		"escapes": `{name:"a\"b\\c\n\u0001é", testarrayofstring2: ["", "x"]}`,
		"vectors": `{name:"v", testarrayoftables: [{name: "t1", hp: 1}, {name: "t2", testarrayoftables: [{name: "deep"}]}], test4: [], vector_of_doubles: [1e300, -0.0]}`,
	} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			in := filepath.Join(tmp, name+".json")
			require.NoError(t, os.WriteFile(in, []byte(src), 0o644))
			runTool(t, dir, flatc, "-I", "include_test", "-b", "-o", tmp, "monster_test.fbs", in)
			bin := readFile(t, filepath.Join(tmp, name+".mon"))
			got, err := s.Root.JSON(bin, &Options{Identifier: "MONS"})
			require.NoError(t, err)
			want := flatcJSON(t, dir, "monster_test.fbs", filepath.Join(tmp, name+".mon"))
			assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
		})
	}
}

func TestMonsterSizePrefixed(t *testing.T) {
	s, mon := loadMonster(t)
	dir := conformanceDir(t, "flatbuffers")
	flatc := needTool(t, "flatc")
	tmp := t.TempDir()
	runTool(t, dir, flatc, "-I", "include_test", "-b", "--size-prefixed", "-o", tmp, "monster_test.fbs", "monsterdata_test.json")
	bin := readFile(t, filepath.Join(tmp, "monsterdata_test.mon"))
	opts := &Options{SizePrefixed: true, Identifier: "MONS"}
	got, err := s.Root.JSON(bin, opts)
	require.NoError(t, err)
	want, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	assert.Equal(t, parseJSON(t, want), parseJSON(t, got))
	assert.Error(t, s.Root.Verify(bin, nil), "a size prefix is not a root offset")
	requireDataError(t, s.Root.Verify(bin[:len(bin)-4], opts), "", "is larger than")
}
