package capnp

// The zero-copy codec contract shared with go/codec/flatbuf lives in
// internal/codectest (ZeroCopy, FuzzZeroCopy); this file runs it and
// holds what is specific to Cap'n Proto.

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

var cdc = New()

// encode encodes rec into dirty memory of MaxSize bytes.
func encode(tb testing.TB, rec record.Record) []byte {
	tb.Helper()
	return codectest.EncodeDirty(tb, cdc, rec)
}

func TestZeroCopy(t *testing.T) { codectest.ZeroCopy(t, cdc) }

func FuzzDecodeLogEntry(f *testing.F) {
	codectest.FuzzZeroCopy(f, cdc, record.TypeLogEntry, codectest.Aligned)
}
func FuzzDecodeSample(f *testing.F) {
	codectest.FuzzZeroCopy(f, cdc, record.TypeSample, codectest.Aligned)
}
func FuzzDecodeTensor(f *testing.F) {
	codectest.FuzzZeroCopy(f, cdc, record.TypeTensor, codectest.Aligned)
}

// TestUnaligned checks that Decode requires 8-byte alignment.
func TestUnaligned(t *testing.T) {
	b := encode(t, record.NewLogEntry(1))
	u := make([]byte, len(b)+1)[1:]
	copy(u, b)
	assert.ErrorIs(t, cdc.Decode(u, &record.LogEntry{}), codec.ErrMalformed)
	var got record.LogEntry
	require.NoError(t, cdc.Decode(codectest.Aligned(u), &got))
	codectest.CheckLogEntry(t, record.NewLogEntry(1), &got, nil)
}

func TestAmplification(t *testing.T) {
	// Many tags pointing at one long text: the traversal limit stops it.
	e := &record.LogEntry{Tags: make([]string, 2000)}
	e.Tags[0] = strings.Repeat("x", 32000)
	b := encode(t, e)
	seg := b[8:]
	list := 1 + logData + logPtrs + 2 // root pointer, LogEntry, traceId
	first := binary.LittleEndian.Uint64(seg[8*list:])
	for i := 1; i < len(e.Tags); i++ {
		p := list + i
		off := int32(list+len(e.Tags)) - int32(p) - 1
		binary.LittleEndian.PutUint64(seg[8*p:], first&^0xFFFFFFFF|uint64(uint32(off<<2))|1)
	}
	err := cdc.Decode(b, &record.LogEntry{})
	assert.ErrorIs(t, err, codec.ErrMalformed)
	assert.ErrorContains(t, err, "limit")
}
