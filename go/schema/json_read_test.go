package schema

import (
	"math"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValueFromJSONRoundTrips(t *testing.T) {
	s, mon := loadMonster(t)
	js, err := s.Root.JSON(mon, nil)
	require.NoError(t, err)
	v, err := s.Root.ValueFromJSON(js)
	require.NoError(t, err)
	b := flatbuffers.NewBuilder(0)
	require.NoError(t, s.Root.EncodeFlatBuffer(b, v))
	again, err := s.Root.JSON(b.FinishedBytes(), nil)
	require.NoError(t, err)
	assert.JSONEq(t, string(js), string(again))

	dir, ty := loadTestAllTypes(t)
	js, err = ty.JSON(capnpFile(t, dir, "binary"), nil)
	require.NoError(t, err)
	v, err = ty.ValueFromJSON(js) // 64-bit integers as strings, "NaN", Data as numbers
	require.NoError(t, err)
	msg, err := ty.EncodeCapnp(nil, v)
	require.NoError(t, err)
	again, err = ty.JSON(msg, nil)
	require.NoError(t, err)
	assert.JSONEq(t, string(js), string(again))
}

func TestValueFromJSONRejects(t *testing.T) {
	s, _ := loadMonster(t)
	for in, want := range map[string]string{
		"{\"name\":\"\xff\"}":             "UTF-8",
		`{"name":"\ud800"}`:               "lone surrogate",
		`{"name":"\udc00\ud800"}`:         "lone surrogate",
		`{"name":"x"} {}`:                 "after the value",
		`[1]`:                             "not an object",
		`{"name":`:                        "JSON input",
		`{"inventory":[1,"x"]}`:           "",
		`{"name":"\ud83d\ude00 \\ud800"}`: "",
	} {
		_, err := s.Root.ValueFromJSON([]byte(in))
		if want == "" {
			assert.NoError(t, err, in)
			continue
		}
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
	// Range errors come from the encoder, naming the field.
	v, err := s.Root.ValueFromJSON([]byte(`{"name":"x","hp":40000}`))
	require.NoError(t, err)
	err = s.Root.EncodeFlatBuffer(flatbuffers.NewBuilder(0), v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hp")
	// A value JSON cannot give its field is an EncodeError naming the path.
	_, ty := loadTestAllTypes(t)
	_, err = ty.ValueFromJSON([]byte(`{"dataField": [1, 300]}`))
	var ee *EncodeError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "dataField[1]", ee.Path)
}

// FuzzValueFromJSON reads arbitrary bytes as Monster JSON: an error, or a
// value that encodes to a message that verifies or fails with an
// EncodeError.
func FuzzValueFromJSON(f *testing.F) {
	s, mon := loadMonster(f)
	js, err := s.Root.JSON(mon, nil)
	require.NoError(f, err)
	f.Add(js)
	f.Add([]byte(`{"name":"\ud83d\ude00","test_type":1,"test":{"name":"y"},"testf":"nan","hp":"12"}`))
	b := flatbuffers.NewBuilder(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := s.Root.ValueFromJSON(data)
		if err != nil {
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

// JSON's -0 keeps its sign in a float field, as Type.JSON writes -0.0, and is
// 0 in an integer field.
func TestValueFromJSONNegativeZero(t *testing.T) {
	_, ty := loadTestAllTypes(t)
	v, err := ty.ValueFromJSON([]byte(`{"float64Field": -0, "float32Field": -0, "int32Field": -0, "float64List": [-0, 0]}`))
	require.NoError(t, err)
	msg, err := ty.EncodeCapnp(nil, v)
	require.NoError(t, err)
	got, err := mapOf(ty.Decode(msg, nil))
	require.NoError(t, err)
	assert.True(t, math.Signbit(got["float64Field"].(float64)))
	assert.True(t, math.Signbit(got["float32Field"].(float64)))
	assert.Equal(t, int64(0), got["int32Field"])
	list := got["float64List"].([]any)
	assert.True(t, math.Signbit(list[0].(float64)))
	assert.False(t, math.Signbit(list[1].(float64)))
	js, err := ty.JSON(msg, nil)
	require.NoError(t, err)
	again, err := ty.ValueFromJSON(js)
	require.NoError(t, err)
	msg2, err := ty.EncodeCapnp(nil, again)
	require.NoError(t, err)
	assert.Equal(t, msg, msg2, "Type.JSON's output encodes back to the same message")
}
