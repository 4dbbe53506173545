package schema

import (
	"encoding/binary"
	"path/filepath"
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
	bools := prog("testarrayofbools") // a vector of scalars: an array leaf
	assert.Equal(t, []byte{progArray, 1, 0}, bools[2:5])
	assert.Equal(t, byte(progBool), bools[6], "its elements")
	longs := prog("vector_of_longs")
	assert.Equal(t, []byte{progArray, 8, ProgSigned}, longs[2:5])
	assert.Equal(t, byte(progInt), longs[6])
	assert.Equal(t, uint64(0), binary.LittleEndian.Uint64(longs[8:]), "no default, no fixed length")
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
	list := prog("int32List") // a list of scalars of the root struct
	assert.Equal(t, []byte{progArray, 4, ProgSigned}, list[2:5])
	assert.Equal(t, []byte{progInt, 0}, list[6:8])
	assert.Equal(t, byte(ProgPointerField), list[16])
	assert.Equal(t, byte(progFloat), prog("float64List")[6])
	assert.Nil(t, prog("boolList"), "a List(Bool) is bits")
}

func TestPathProgramOfAFixedArray(t *testing.T) {
	dir, _ := flatcBinary(t, featuresFBS, `{ req: "" }`)
	s, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	p, err := s.Root.Path("arrays.xs")
	require.NoError(t, err)
	xs := p.Program()
	require.Len(t, xs, programHeader+2*ProgramStepSize)
	assert.Equal(t, []byte{progArray, 4, ProgSigned | ProgFixed}, xs[2:5])
	assert.Equal(t, byte(progInt), xs[6])
	assert.Equal(t, uint64(3), binary.LittleEndian.Uint64(xs[8:]), "its length")
	assert.Equal(t, byte(ProgStructField), xs[16+ProgramStepSize])
	p, err = s.Root.Path("arrays.inners")
	require.NoError(t, err)
	assert.Nil(t, p.Program(), "an array of structs is no leaf a program reads")
}
