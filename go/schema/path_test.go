package schema

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathsOnMonster(t *testing.T) {
	s, mon := loadMonster(t)
	m := s.Root
	path := func(p string) *Path {
		t.Helper()
		c, err := m.Path(p)
		require.NoError(t, err, p)
		return c
	}
	str := func(p string) string {
		t.Helper()
		v, err := path(p).ReadString(mon)
		require.NoError(t, err, p)
		return v
	}
	num := func(p string) int64 {
		t.Helper()
		v, err := path(p).Int(mon)
		require.NoError(t, err, p)
		return v
	}
	flt := func(p string) float64 {
		t.Helper()
		v, err := path(p).Float(mon)
		require.NoError(t, err, p)
		return v
	}
	assert.Equal(t, "MyMonster", str("name"))
	assert.Equal(t, int64(80), num("hp"))
	assert.Equal(t, int64(150), num("mana"), "absent: the schema default")
	assert.Equal(t, 1.0, flt("pos.x"))
	assert.Equal(t, 3.0, flt("pos.test1"))
	assert.Equal(t, int64(5), num("pos.test3.a"))
	assert.Equal(t, int64(2), num("inventory[2]"))
	assert.Equal(t, int64(100000000), num("vector_of_longs[4]"))
	assert.Equal(t, "test2", str("testarrayofstring[1]"))
	assert.Equal(t, "Fred", str("enemy.name"))
	assert.Equal(t, "Fred", str("test.Monster.name"), "through the union's member")
	assert.Equal(t, "hit", str("scalar_key_sorted_tables[1].id"))
	assert.Equal(t, int64(30), num("test4[1].a"))
	n, err := path("inventory").Len(mon)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	b, err := path("inventory").Bytes(mon)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 1, 2, 3, 4}, b)
	longs, nl, k, err := path("vector_of_longs").Scalars(mon)
	require.NoError(t, err)
	assert.Equal(t, Int64, k)
	require.Equal(t, 5, nl)
	require.Len(t, longs, 5*8)
	assert.Equal(t, int64(100000000), int64(binary.LittleEndian.Uint64(longs[4*8:])), "in place, little-endian")
	_, _, _, err = path("testarrayofstring").Scalars(mon)
	assert.Error(t, err, "strings are not scalars")
	_, _, _, err = path("name").Scalars(mon)
	assert.Error(t, err, "a string is not a vector")
	_, _, _, err = path("vector_of_doubles").Scalars(mon[:len(mon)/2])
	assert.Error(t, err, "truncated")
	name, err := path("name").Bytes(mon)
	require.NoError(t, err)
	lo, hi := uintptr(unsafe.Pointer(&mon[0])), uintptr(unsafe.Pointer(&mon[len(mon)-1]))
	at := uintptr(unsafe.Pointer(&name[0]))
	assert.True(t, lo <= at && at <= hi, "strings alias the message")

	for _, p := range []string{"test.TestSimpleTableWithEnum.color", "testarrayofstring[5]", "enemy.enemy.name", "testempty.id"} {
		_, err := path(p).Int(mon)
		if path(p).Kind() == String {
			_, err = path(p).Bytes(mon)
		}
		assert.ErrorIs(t, err, ErrAbsent, p)
	}

	// Every path reads what Decode reads.
	v, err := mapOf(m.Decode(mon, nil))
	require.NoError(t, err)
	assert.Equal(t, v["name"], str("name"))
	assert.Equal(t, v["testhashu64_fnv1"], func() uint64 {
		u, err := path("testhashu64_fnv1").Uint(mon)
		require.NoError(t, err)
		return u
	}())

	for _, bad := range []string{"", "nope", "name.x", "pos[1]", "inventory[x]", "test.Nobody.name", "test", "enemy", "inventory[1", "name[", "inventory[+1]", "inventory[ 1 ]", "inventory[]", "inventory[99999999999999999999]"} {
		_, err := m.Path(bad)
		assert.Error(t, err, bad)
	}
	_, err = path("name").Int(mon)
	assert.Error(t, err, "type mismatch")
	friendly, err := path("friendly").Int(mon) // deprecated: read when present, else its default
	require.NoError(t, err)
	assert.Zero(t, friendly)
	through := path("test.Monster.name")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = through.Bytes(mon) }), "reads allocate nothing")
}

// FuzzPathMonster applies paths to hostile bytes: errors, never a panic or
// a read outside the message.
func FuzzPathMonster(f *testing.F) {
	s, mon := loadMonster(f)
	f.Add(mon)
	var paths []*Path
	for _, p := range []string{"name", "hp", "pos.test3.a", "inventory[2]", "testarrayofstring[1]", "test.Monster.name",
		"scalar_key_sorted_tables[1].id", "vector_of_longs[4]", "enemy.name", "vector_of_longs", "vector_of_doubles",
		"test.TestSimpleTableWithEnum.color", "testarrayofsortedstruct[1].distance", "pos.test3"} {
		c, err := s.Root.Path(p)
		require.NoError(f, err)
		paths = append(paths, c)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, p := range paths {
			_, _ = p.Int(msg)
			_, _ = p.Bytes(msg)
			_, _ = p.Float(msg)
			_, _ = p.Len(msg)
			if b, n, k, err := p.Scalars(msg); err == nil {
				require.Len(t, b, n*k.scalarSize())
			}
		}
	})
}

func BenchmarkPathMonsterName(b *testing.B) {
	s, mon := loadMonster(b)
	p, err := s.Root.Path("test.Monster.name")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Bytes(mon); err != nil {
			b.Fatal(err)
		}
	}
}
