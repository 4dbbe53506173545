//go:build !race

package inplace_test

import (
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/inplace"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
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

// go-capnp allocates its Message and arena per message (its Arena
// interface cannot be implemented outside the runtime); the message bytes
// are never copied.
func TestCapnpAllocatesTheMessageOnly(t *testing.T) {
	r, err := region.CreateAnon(64 << 20)
	require.NoError(t, err)
	defer r.Close()
	one := func() {
		slot, err := r.Reserve(codec.CapnProto, uint64(record.TypeLogEntry), 512)
		require.NoError(t, err)
		msg, seg, err := inplace.CapnpMessage(slot.Buf)
		require.NoError(t, err)
		e, err := capnpgen.NewRootLogEntry(seg)
		require.NoError(t, err)
		require.NoError(t, e.SetService("checkout"))
		payload, err := inplace.CapnpBytes(slot.Buf, msg)
		require.NoError(t, err)
		_, err = slot.Commit(payload)
		require.NoError(t, err)
	}
	one()
	allocs := testing.AllocsPerRun(1000, one)
	t.Logf("%.0f allocations per message", allocs)
	assert.LessOrEqual(t, allocs, 2.0, "the Message and its arena (measured: 2)")
}
