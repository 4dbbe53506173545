package flatbuf

// The zero-copy codec contract shared with go/codec/capnp lives in
// internal/codectest (ZeroCopy, FuzzZeroCopy); this file runs it and
// holds what is specific to FlatBuffers.

import (
	"testing"

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

func FuzzDecodeLogEntry(f *testing.F) { codectest.FuzzZeroCopy(f, cdc, record.TypeLogEntry, nil) }
func FuzzDecodeSample(f *testing.F)   { codectest.FuzzZeroCopy(f, cdc, record.TypeSample, nil) }
func FuzzDecodeTensor(f *testing.F)   { codectest.FuzzZeroCopy(f, cdc, record.TypeTensor, nil) }
