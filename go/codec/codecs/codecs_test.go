package codecs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

func TestRegistry(t *testing.T) {
	all := codec.Registered()
	require.Len(t, all, 5)
	want := []codec.ID{codec.FlatBuffers, codec.CapnProto, codec.JSON, codec.MsgPack, codec.Protobuf}
	for i, c := range all {
		require.Equal(t, want[i], c.ID())
		got, err := codec.Lookup(want[i])
		require.NoError(t, err)
		require.Same(t, c, got)
		_, ok := c.(codec.FieldReader)
		require.True(t, ok, "%v implements FieldReader", c.ID())
	}
	require.Equal(t, []bool{true, true, false, false, false},
		[]bool{all[0].ZeroCopy(), all[1].ZeroCopy(), all[2].ZeroCopy(), all[3].ZeroCopy(), all[4].ZeroCopy()})
	for _, id := range []codec.ID{0, 6, codec.Schema, 0xffff} {
		_, err := codec.Lookup(id)
		require.ErrorIs(t, err, codec.ErrUnknownCodec)
	}
	require.PanicsWithValue(t, "codec: Register called twice for flatbuffers", func() { codec.Register(all[0]) })
}

// Every codec × record: round trip, MaxSize respected, ErrShortBuffer, and
// ReadString equal to the decoded field.
func TestAllCodecs(t *testing.T) {
	for _, c := range codec.Registered() {
		t.Run(c.ID().String(), func(t *testing.T) { codectest.RoundTrip(t, c) })
	}
}

func TestAllCodecsMalformed(t *testing.T) {
	for _, c := range codec.Registered() {
		t.Run(c.ID().String(), func(t *testing.T) {
			codectest.Truncations(t, c, false)
			codectest.Garbage(t, c)
		})
	}
}

func BenchmarkAll(b *testing.B) {
	for _, c := range codec.Registered() {
		b.Run(c.ID().String(), func(b *testing.B) { codectest.Bench(b, c) })
	}
}
