package schema

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Record reads the same values as its map form, by name, slot and index.
func TestRecordAccessorsOnMonster(t *testing.T) {
	s, mon := loadMonster(t)
	r, err := s.Root.Decode(mon, nil)
	require.NoError(t, err)
	assert.Same(t, s.Root, r.Type())
	assert.Equal(t, "MyMonster", r.Get("name").Str())
	assert.Equal(t, String, r.Get("name").Kind())
	assert.Equal(t, int64(80), r.Get("hp").Int())
	assert.Equal(t, r.Get("hp"), r.Field(s.Root.Field("hp").Index))
	assert.False(t, r.Get("mana").Present(), "absent: left out, as in the map form")
	assert.False(t, r.Get("no such field").Present())
	assert.False(t, r.Field(-1).Present())

	inv := r.Get("inventory")
	require.Equal(t, Vector, inv.Kind())
	require.Equal(t, 5, inv.Len())
	for i := 0; i < 5; i++ {
		assert.Equal(t, uint64(i), inv.Index(i).Uint())
	}
	assert.False(t, inv.Index(5).Present())
	assert.Equal(t, -math.MaxFloat64, r.Get("vector_of_doubles").Index(0).Float())

	pos := r.Get("pos").Record()
	require.NotNil(t, pos)
	assert.Equal(t, Struct, r.Get("pos").Kind())
	assert.Equal(t, int64(5), pos.Get("test3").Record().Get("a").Int())
	assert.Equal(t, "Fred", r.Get("test").Record().Get("name").Str(), "a union member")
	assert.Equal(t, int64(30), r.Get("test4").Index(1).Record().Get("a").Int())

	// Wrong-kind reads give zero values, never a panic.
	assert.Zero(t, r.Get("name").Int())
	assert.Empty(t, r.Get("hp").Str())
	assert.Nil(t, r.Get("hp").Record())
	assert.Zero(t, r.Get("hp").Len())

	want, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	assert.Equal(t, want, r.Map())
	assert.Equal(t, want["pos"], r.Get("pos").Any())
}

func TestRecordAccessorsOnTestAllTypes(t *testing.T) {
	dir, ty := loadTestAllTypes(t)
	r, err := ty.Decode(capnpFile(t, dir, "binary"), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(-123456789012345), r.Get("int64Field").Int())
	assert.Equal(t, uint64(12345678901234567890), r.Get("uInt64Field").Uint())
	assert.Equal(t, []byte("bar"), r.Get("dataField").Bytes())
	assert.Equal(t, uint64(5), r.Get("enumField").Uint())
	assert.True(t, r.Get("boolField").Bool())
	assert.Equal(t, "nested", r.Get("structField").Record().Get("structField").Record().Get("textField").Str())
	assert.Equal(t, Void, r.Get("voidField").Kind(), "Void is present and null")
	assert.Nil(t, r.Get("voidField").Any())

	// The bytes are the record's own: changing the message changes nothing.
	msg := capnpFile(t, dir, "binary")
	r2, err := ty.Decode(msg, nil)
	require.NoError(t, err)
	text := r2.Get("textField").Str()
	for i := range msg {
		msg[i] = 0
	}
	assert.Equal(t, text, r2.Get("textField").Str())
}
