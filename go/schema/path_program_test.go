package schema

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Programs of the common paths, and none for the paths they do not cover.
// That a program reads what the path reads, on these messages and corrupted
// copies, is checked where programs are run (python/tests/test_inplace.py).
func TestPathProgramsOnMonster(t *testing.T) {
	s, _ := loadMonster(t)
	prog := func(path string) []byte {
		t.Helper()
		p, err := s.Root.Path(path)
		require.NoError(t, err, path)
		return p.Program()
	}
	name := prog("name")
	require.Len(t, name, programHeader+ProgramStepSize)
	assert.Equal(t, []byte{ProgramVersion, 1, progString, 0, 0, 1}, name[:6])
	assert.Equal(t, byte(ProgTableField), name[16])
	assert.Equal(t, uint16(4+2*3), binary.LittleEndian.Uint16(name[20:]), "name is field 3")

	hp := prog("hp") // a short, default 100
	assert.Equal(t, []byte{progInt, 2, ProgSigned | ProgDefault}, hp[2:5])
	assert.Equal(t, uint64(100), binary.LittleEndian.Uint64(hp[8:]))

	x := prog("pos.x") // a float in a struct in the table
	require.Len(t, x, programHeader+2*ProgramStepSize)
	assert.Equal(t, []byte{progFloat, 4, 0}, x[2:5], "no default: the struct holds the value")
	assert.Equal(t, byte(ProgStructField), x[16+ProgramStepSize])

	enemy := prog("test.Monster.name")
	assert.Equal(t, byte(ProgUnionMember), enemy[16])
	assert.Equal(t, byte(1), enemy[18], "the Monster member's tag")

	elem := prog("testarrayoftables[1].name")
	require.Len(t, elem, programHeader+3*ProgramStepSize)
	assert.Equal(t, byte(ProgElement), elem[16+ProgramStepSize])
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(elem[16+ProgramStepSize+12:]))

	assert.Equal(t, byte(progBytes), prog("inventory")[2])
	assert.Nil(t, prog("testarrayofbools"), "vectors of scalars are read by the library")
	assert.Nil(t, prog("test4"), "a vector of structs is no leaf a program reads")
}

func TestPathProgramsOnTestAllTypes(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	prog := func(path string) []byte {
		t.Helper()
		p, err := ty.Path(path)
		require.NoError(t, err, path)
		return p.Program()
	}
	text := prog("textField")
	require.Len(t, text, programHeader+ProgramStepSize)
	assert.Equal(t, []byte{ProgramVersion, 2, progString}, text[:3])
	assert.Equal(t, byte(ProgPointerField), text[16])

	i32 := prog("int32Field")
	assert.Equal(t, []byte{progInt, 4, ProgSigned}, i32[2:5])
	assert.Equal(t, byte(ProgDataField), i32[16])

	assert.Nil(t, prog("boolField"), "a Cap'n Proto Bool is a bit")
	assert.Nil(t, prog("structField.textField"), "below the root struct the library reads")
	assert.Nil(t, prog("int32List"), "lists are read by the library")
}
