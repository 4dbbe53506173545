//go:build !race

package inplace_test

import (
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// A warm Builder reused across slots allocates nothing.
func TestFlatBuffersAllocatesNothing(t *testing.T) {
	r, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer r.Close()
	var b *flatbuffers.Builder
	one := func() {
		slot, err := r.Reserve(codec.FlatBuffers, uint64(record.TypeLogEntry), 128)
		if err != nil {
			require.NoError(t, r.Reset())
			return
		}
		var msg []byte
		b, msg, err = buildFB(b, slot.Buf, "x")
		require.NoError(t, err)
		_, err = slot.Commit(msg)
		require.NoError(t, err)
	}
	one()
	assert.Zero(t, testing.AllocsPerRun(1000, one))
}
