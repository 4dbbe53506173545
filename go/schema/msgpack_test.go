package schema

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// readMsgPack decodes MessagePack with an independent implementation, with
// integers as int64 (or uint64 above MaxInt64) and floats as float64, the
// forms Decode uses.
func readMsgPack(t *testing.T, b []byte) any {
	t.Helper()
	d := msgpack.NewDecoder(bytes.NewReader(b))
	var v any
	require.NoError(t, d.Decode(&v))
	_, err := d.DecodeInterface()
	require.Error(t, err, "one value, nothing after it")
	return normalizeInts(v)
}

// normalizeInts makes every integer an int64 (a uint64 above MaxInt64
// stays one), float32 a float64 and NaN a string, so that values compare
// whatever MessagePack format carried them.
func normalizeInts(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeInts(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeInts(e)
		}
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case float32:
		return normalizeInts(float64(x))
	case float64:
		if math.IsNaN(x) {
			return "NaN" // NaN != NaN; the test compares values, not bits
		}
	}
	return v
}

func TestMsgPackMatchesDecode(t *testing.T) {
	s, mon := loadMonster(t)
	want, err := mapOf(s.Root.Decode(mon, nil))
	require.NoError(t, err)
	got, err := s.Root.MsgPack(mon, nil)
	require.NoError(t, err)
	assert.Equal(t, normalizeInts(want), readMsgPack(t, got))

	_, ty := loadTestAllTypes(t)
	dir := conformanceDir(t, "capnp")
	msg := readFile(t, dir+"/capnp/testdata/binary")
	want, err = mapOf(ty.Decode(msg, nil))
	require.NoError(t, err)
	got, err = ty.MsgPack(msg, nil)
	require.NoError(t, err)
	assert.Equal(t, normalizeInts(want), readMsgPack(t, got))

	// A vector of unions: its types are written once, by their own field.
	dir, bin := flatcBinary(t, advancedUnionsFBS, advancedUnionsJSON)
	adv, err := CompileFBS(filepath.Join(dir, "s.fbs"), nil)
	require.NoError(t, err)
	want, err = mapOf(adv.Root.Decode(bin, nil))
	require.NoError(t, err)
	got, err = adv.Root.MsgPack(bin, nil)
	require.NoError(t, err)
	assert.Equal(t, normalizeInts(want), readMsgPack(t, got))
}

// Keys follow the schema's field order, so the bytes are deterministic.
func TestMsgPackSchemaOrder(t *testing.T) {
	s, mon := loadMonster(t)
	a, err := s.Root.MsgPack(mon, nil)
	require.NoError(t, err)
	for range 5 {
		b, err := s.Root.MsgPack(mon, nil)
		require.NoError(t, err)
		require.Equal(t, a, b)
	}
	d := msgpack.NewDecoder(bytes.NewReader(a))
	n, err := d.DecodeMapLen()
	require.NoError(t, err)
	last := -1
	for range n {
		k, err := d.DecodeString()
		require.NoError(t, err)
		f := s.Root.Field(k)
		require.NotNil(t, f, k)
		assert.Greater(t, f.Index, last, "%s out of schema order", k)
		last = f.Index
		require.NoError(t, d.Skip())
	}
}

// Invalid UTF-8 in a string is refused, with the field's path, as JSON does.
func TestMsgPackInvalidUTF8(t *testing.T) {
	s, mon := loadMonster(t)
	bad := bytes.Clone(mon)
	i := bytes.Index(bad, []byte("MyMonster"))
	require.GreaterOrEqual(t, i, 0)
	bad[i+2] = 0xff
	_, err := s.Root.MsgPack(bad, nil)
	var de *DataError
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, "name", de.Path)
	assert.Contains(t, de.Reason, "UTF-8")
	_, jerr := s.Root.JSON(bad, nil)
	require.Error(t, jerr, "JSON has the same policy")
}

// MessagePack of any message that decodes is one well-formed value equal to
// the decoded one; the only refusal is a string that is not UTF-8.
func FuzzMsgPackMonster(f *testing.F) {
	dir := fuzzConformance("flatbuffers")
	if dir == "" {
		f.Skip("conformance data not found (set CROSSBUF_CONFORMANCE)")
	}
	s, err := LoadBFBS(readFile(f, filepath.Join(dir, "monster_test.bfbs")))
	require.NoError(f, err)
	f.Add(readFile(f, filepath.Join(dir, "monsterdata_test.mon")))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := mapOf(s.Root.Decode(b, nil))
		mp, merr := s.Root.AppendMsgPack(nil, b, nil)
		if err != nil {
			require.Error(t, merr, "MessagePack fails where Decode does")
			return
		}
		err = merr
		if err != nil {
			var de *DataError
			require.True(t, errors.As(err, &de), "%v", err)
			require.Contains(t, de.Reason, "UTF-8")
			return
		}
		require.Equal(t, normalizeInts(v), readMsgPack(t, mp))
	})
}

func TestValueFromMsgPackBoundsNesting(t *testing.T) {
	deep := bytes.Repeat([]byte{0x81, 0xa1, 'a'}, 10000) // {"a": {"a": ...}}
	_, err := ValueFromMsgPack(append(deep, 0xc0))
	require.ErrorContains(t, err, "nesting")
	_, err = ValueFromMsgPack([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}) // a map claiming 4G entries
	require.Error(t, err)
	v, err := ValueFromMsgPack([]byte{0x82, 0xa1, 'n', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa1, 's', 0xa2, 'h', 'i'})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"n": uint64(math.MaxUint64), "s": "hi"}, v)
}

func FuzzValueFromMsgPack(f *testing.F) {
	f.Add([]byte{0x81, 0xa1, 'a', 0x93, 0x01, 0xc0, 0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ValueFromMsgPack(b)
	})
}
