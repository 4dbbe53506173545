package crossbuf_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"capnproto.org/go/capnp/v3"
	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/gen/capnpgen"
	"github.com/crossbuf/crossbuf/go/gen/fbgen"
	"github.com/crossbuf/crossbuf/go/internal/conformance"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

func monsterSchema(t *testing.T) (*schema.Schema, []byte) {
	dir := conformance.Dir(t, "flatbuffers")
	bfbs, err := os.ReadFile(filepath.Join(dir, "monster_test.bfbs"))
	require.NoError(t, err)
	s, err := schema.LoadBFBS(bfbs)
	require.NoError(t, err)
	mon, err := os.ReadFile(filepath.Join(dir, "monsterdata_test.mon"))
	require.NoError(t, err)
	return s, mon
}

func TestAppendValueOfARuntimeSchema(t *testing.T) {
	s, mon := monsterSchema(t)
	v, err := s.Root.Decode(mon, nil)
	require.NoError(t, err)
	r, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer r.Close()

	f, err := crossbuf.AppendValue(r, s.Root, v)
	require.NoError(t, err)
	assert.Equal(t, s.Root.ID, f.TypeID, "the frame names its type")
	assert.Equal(t, uint16(codec.FlatBuffers), f.Codec)
	got, err := crossbuf.DecodeValue(f, s)
	require.NoError(t, err)
	assert.Equal(t, v, got)
	require.NoError(t, s.Root.Verify(f.Payload, &schema.Options{Identifier: "MONS"}))

	// A frame whose type this schema does not define is refused by id.
	other, err := r.Reserve(uint16(codec.FlatBuffers), 0xfeedface, len(mon))
	require.NoError(t, err)
	n := copy(other.Buf, mon)
	of, err := other.Commit(other.Buf[:n])
	require.NoError(t, err)
	_, err = crossbuf.DecodeValue(of, s)
	require.ErrorIs(t, err, codec.ErrRecordType)
	assert.Contains(t, err.Error(), "00000000feedface")

	// Bad values commit nothing.
	before, err := r.Stats()
	require.NoError(t, err)
	_, err = crossbuf.AppendValue(r, s.Root, map[string]any{"name": "x", "hp": int64(1 << 20)})
	var ee *schema.EncodeError
	require.ErrorAs(t, err, &ee)
	after, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, before.Used, after.Used)
}

// The pattern of Example_flatcGeneratedCode allocates nothing once the
// Builder is warm.
func TestGeneratedCodeBuildsInPlaceWithoutAllocating(t *testing.T) {
	r, err := region.CreateAnon(64 << 20)
	require.NoError(t, err)
	defer r.Close()
	b := flatbuffers.NewBuilder(0)
	build := func() {
		slot, err := r.Reserve(uint16(codec.FlatBuffers), uint64(record.TypeLogEntry), 256)
		if err != nil {
			panic(err)
		}
		b.Bytes = slot.Buf
		b.Reset()
		b.Prep(8, 0)
		service := b.CreateString("checkout")
		fbgen.LogEntryStart(b)
		fbgen.LogEntryAddService(b, service)
		b.Finish(fbgen.LogEntryEnd(b))
		if _, err := slot.Commit(b.FinishedBytes()); err != nil {
			panic(err)
		}
	}
	build()
	assert.Zero(t, testing.AllocsPerRun(1000, build))
}

// The pattern of Example_capnpcGeneratedCode builds in place; go-capnp's
// Message and arena are allocated per message (its Arena interface cannot be
// implemented outside the runtime), which this test pins.
func TestCapnpGeneratedCodeBuildsInPlace(t *testing.T) {
	r, err := region.CreateAnon(64 << 20)
	require.NoError(t, err)
	defer r.Close()
	build := func() {
		slot, err := r.Reserve(uint16(codec.CapnProto), uint64(record.TypeLogEntry), 512)
		if err != nil {
			panic(err)
		}
		_, seg, err := capnp.NewMessage(capnp.SingleSegment(slot.Buf[8:8]))
		if err != nil {
			panic(err)
		}
		e, err := capnpgen.NewRootLogEntry(seg)
		if err != nil {
			panic(err)
		}
		if err := e.SetService("checkout"); err != nil {
			panic(err)
		}
		data := seg.Data()
		if &data[0] != &slot.Buf[8] {
			panic("outgrew the slot")
		}
		binary.LittleEndian.PutUint64(slot.Buf, uint64(len(data)/8)<<32)
		if _, err := slot.Commit(slot.Buf[:8+len(data)]); err != nil {
			panic(err)
		}
	}
	build()
	allocs := testing.AllocsPerRun(1000, build)
	t.Logf("%.0f allocations per message", allocs)
	assert.LessOrEqual(t, allocs, 2.0, "the Message and its arena only (measured: 2): the bytes are never copied")
}
