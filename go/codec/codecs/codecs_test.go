package codecs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/codec/codecs/codectest"
)

func TestRegistry(t *testing.T) {
	all := codecs.All()
	require.Len(t, all, 5)
	want := []codec.ID{codec.FlatBuffers, codec.CapnProto, codec.JSON, codec.MsgPack, codec.Protobuf}
	for i, c := range all {
		require.Equal(t, want[i], c.ID())
		got, err := codecs.Get(want[i])
		require.NoError(t, err)
		require.Same(t, c, got)
		_, ok := c.(codec.FieldReader)
		require.True(t, ok, "%v implements FieldReader", c.ID())
	}
	require.Equal(t, []bool{true, true, false, false, false},
		[]bool{all[0].ZeroCopy(), all[1].ZeroCopy(), all[2].ZeroCopy(), all[3].ZeroCopy(), all[4].ZeroCopy()})
	for _, id := range []codec.ID{0, 6, 0xffff} {
		_, err := codecs.Get(id)
		require.ErrorIs(t, err, codec.ErrUnknownCodec)
	}
}

// Every codec × record: round trip, MaxSize respected, ErrShortBuffer, and
// ReadString equal to the decoded field.
func TestAllCodecs(t *testing.T) {
	for _, c := range codecs.All() {
		t.Run(c.ID().String(), func(t *testing.T) { codectest.RoundTrip(t, c) })
	}
}

func TestAllCodecsMalformed(t *testing.T) {
	for _, c := range codecs.All() {
		t.Run(c.ID().String(), func(t *testing.T) {
			codectest.Truncations(t, c, false)
			codectest.Garbage(t, c)
		})
	}
}

func BenchmarkAll(b *testing.B) {
	for _, c := range codecs.All() {
		b.Run(c.ID().String(), func(b *testing.B) { codectest.Bench(b, c) })
	}
}
