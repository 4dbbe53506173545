package inplace_test

import (
	"bytes"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/inplace"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

func buildFB(b *flatbuffers.Builder, buf []byte, text string) (*flatbuffers.Builder, []byte, error) {
	b = inplace.FlatBuffersBuilder(b, buf)
	m := b.CreateString(text)
	fbgen.LogEntryStart(b)
	fbgen.LogEntryAddMessage(b, m)
	fbgen.LogEntryAddTimestampNs(b, 42)
	b.Finish(fbgen.LogEntryEnd(b))
	msg, err := inplace.FlatBuffersMessage(b, buf)
	return b, msg, err
}

// Generated FlatBuffers code builds in region slots with one reused
// Builder; a message that outgrows its slot is refused.
func TestFlatBuffersInRegionSlots(t *testing.T) {
	r, err := region.CreateAnon(1 << 16)
	require.NoError(t, err)
	defer r.Close()
	small, err := r.Reserve(codec.FlatBuffers, uint64(record.TypeLogEntry), 16)
	require.NoError(t, err)
	b, _, err := buildFB(nil, small.Buf, "a message longer than the sixteen bytes reserved")
	require.ErrorIs(t, err, codec.ErrShortBuffer)
	small.Abort()
	for _, text := range []string{"first", "second, longer"} {
		slot, err := r.Reserve(codec.FlatBuffers, uint64(record.TypeLogEntry), 128)
		require.NoError(t, err)
		var msg []byte
		b, msg, err = buildFB(b, slot.Buf, text)
		require.NoError(t, err)
		f, err := slot.Commit(msg)
		require.NoError(t, err)
		require.NoError(t, flatbuf.Verify(f.Payload, record.TypeLogEntry))
		e := fbgen.GetRootAsLogEntry(f.Payload, 0)
		assert.Equal(t, text, string(e.Message()))
		assert.Equal(t, int64(42), e.TimestampNs())
		assert.Same(t, &slot.Buf[len(slot.Buf)-1], &f.Payload[len(f.Payload)-1], "built in the slot")
	}
}

// Generated Cap'n Proto code builds in channel slots lap after lap (over an
// earlier lap's bytes): every field it did not set reads as its default.
func TestCapnpInChannelSlots(t *testing.T) {
	c, err := channel.CreateMemfd("inplace-test", channel.Options{Capacity: 4096, Policy: channel.Overwrite})
	require.NoError(t, err)
	defer c.Close()
	sub, err := c.Subscribe(channel.Wait{})
	require.NoError(t, err)
	for i := 0; i < 200; i++ { // several laps of the ring
		slot, err := c.Reserve(codec.CapnProto, uint64(record.TypeLogEntry), 256, time.Second)
		require.NoError(t, err)
		if i%2 == 0 {
			copy(slot.Buf, bytes.Repeat([]byte{0xA5}, len(slot.Buf))) // what a careless writer leaves
		}
		msg, seg, err := inplace.CapnpMessage(slot.Buf)
		require.NoError(t, err)
		e, err := capnpgen.NewRootLogEntry(seg)
		require.NoError(t, err)
		require.NoError(t, e.SetService("checkout"))
		e.SetTimestampNs(int64(i))
		payload, err := inplace.CapnpBytes(slot.Buf, msg)
		require.NoError(t, err)
		_, err = slot.Commit(payload)
		require.NoError(t, err)

		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		back, err := capnp.Unmarshal(f.Payload)
		require.NoError(t, err)
		le, err := capnpgen.ReadRootLogEntry(back)
		require.NoError(t, err)
		svc, err := le.Service()
		require.NoError(t, err)
		require.Equal(t, "checkout", svc)
		require.Equal(t, int64(i), le.TimestampNs())
		require.False(t, le.HasHost(), "an unset field is absent, not the slot's old bytes")
		require.Equal(t, capnpgen.Level_trace, le.Level())
		require.NoError(t, sub.Release())
	}
}

func TestCapnpErrors(t *testing.T) {
	tiny := make([]byte, 64)
	_, seg, err := inplace.CapnpMessage(tiny)
	require.NoError(t, err)
	e, err := capnpgen.NewRootLogEntry(seg)
	if err == nil {
		err = e.SetMessage_(string(bytes.Repeat([]byte("x"), 200)))
	}
	require.Error(t, err, "no room past the slot")
	_, _, err = inplace.CapnpMessage(make([]byte, 8))
	require.ErrorIs(t, err, codec.ErrShortBuffer)
	other, _, err := capnp.NewMessage(capnp.SingleSegment(nil))
	require.NoError(t, err)
	_, err = inplace.CapnpBytes(make([]byte, 64), other)
	require.ErrorIs(t, err, codec.ErrInvalid, "a message built elsewhere")
}
