package capnp

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

// withFarRoot returns b with its root pointer replaced by a far pointer to
// a landing pad appended to the (single) segment.
func withFarRoot(b []byte) []byte {
	words := binary.LittleEndian.Uint32(b[4:])
	out := codectest.Aligned(append(append([]byte(nil), b...), make([]byte, 8)...))
	seg := out[8:]
	root := binary.LittleEndian.Uint64(seg)
	pad := uint64(words)
	// The pad points where the root did: offset from the word after the pad.
	off := int64(1+int32(uint32(root))>>2) - int64(pad+1)
	binary.LittleEndian.PutUint64(seg[8*pad:], root&^0xFFFFFFFF|uint64(uint32(int32(off)<<2)))
	binary.LittleEndian.PutUint64(seg, 2|pad<<3) // far, single landing pad, segment 0
	binary.LittleEndian.PutUint32(out[4:], words+1)
	return out
}

func TestFarPointerFallsBack(t *testing.T) {
	e := record.NewLogEntry(3)
	b := withFarRoot(encode(t, e))
	var got record.LogEntry
	require.NoError(t, cdc.Decode(b, &got))
	codectest.CheckLogEntry(t, e, &got, b)
	s, err := cdc.ReadString(b, codec.FieldLogMessage)
	require.NoError(t, err)
	assert.Equal(t, e.Message, s)
	codectest.Inside(t, s, b)

	tn := record.NewTensor(3, 64)
	b = withFarRoot(encode(t, tn))
	var gt record.Tensor
	require.NoError(t, cdc.Decode(b, &gt))
	codectest.CheckTensor(t, tn, &gt, b)
}

func TestShortStructReadsDefaults(t *testing.T) {
	e := record.NewLogEntry(4)
	orig := encode(t, e)
	// Shrink the root struct's sections in its pointer: whatever falls
	// outside reads as default, exactly as the runtime reads it.
	for _, size := range []struct{ data, ptrs uint64 }{{2, 3}, {1, 0}, {0, 0}, {2, 6}} {
		b := codectest.Aligned(orig)
		root := binary.LittleEndian.Uint64(b[8:])
		binary.LittleEndian.PutUint64(b[8:], root&0xFFFFFFFF|size.data<<32|size.ptrs<<48)
		var got, rt record.LogEntry
		require.NoError(t, cdc.Decode(b, &got))
		require.NoError(t, decodeRuntime(b, &rt))
		assert.Equal(t, rt, got)
		if size.data > 0 {
			assert.Equal(t, e.TimestampNs, got.TimestampNs)
		} else {
			assert.Zero(t, got.TimestampNs)
		}
		if size.ptrs == 3 {
			assert.Equal(t, e.Message, got.Message)
		}
		if size.ptrs < 7 {
			assert.Zero(t, got.HTTP)
		}
		s, err := cdc.ReadString(b, codec.FieldLogHTTPPath)
		require.NoError(t, err)
		assert.Empty(t, s)
	}
}

// TestReaderMatchesRuntime corrupts encodings at random: whenever both the
// checked reader and the runtime accept a message, they agree.
func TestReaderMatchesRuntime(t *testing.T) {
	r := record.NewRand(7)
	agreed := 0
	for _, rec := range []record.Record{record.NewLogEntry(9), record.NewSample(9), record.NewTensor(9, 256)} {
		orig := encode(t, rec)
		b := make([]byte, len(orig))
		for i := 0; i < 3000; i++ {
			copy(b, orig)
			for k := 0; k <= i%3; k++ {
				b[8+r.Intn(len(b)-8)] ^= byte(1 << r.Intn(8))
			}
			fast, slow := record.New(rec.RecordType()), record.New(rec.RecordType())
			s, ok, err := single(b)
			require.NoError(t, err)
			require.True(t, ok)
			errFast := s.decode(fast)
			errSlow := decodeRuntime(b, slow)
			if errFast == nil && errSlow == nil {
				agreed++
				assert.Equal(t, slow, fast)
			}
			if errFast == nil {
				// The runtime is laxer (wrong pointer kinds read as
				// defaults), so only the checked reader's accepts are
				// required to be accepted by the runtime too.
				assert.NoError(t, errSlow, "%x", b)
			}
		}
	}
	assert.Greater(t, agreed, 1000)
}

// TestRootTextMatchesGeneral checks the ReadString fast path against the
// general reader on many records and on random corruptions of them: where
// the fast path answers, the general reader gives the same string without
// an error; ReadString as a whole gives the general reader's result or an
// error of the same class.
func TestRootTextMatchesGeneral(t *testing.T) {
	r := record.NewRand(11)
	fields := []codec.Field{codec.FieldLogService, codec.FieldLogHost, codec.FieldLogMessage,
		codec.FieldLogHTTPMethod, codec.FieldLogHTTPPath, codec.FieldTensorName}
	check := func(b []byte) (answered int) {
		for _, f := range fields {
			want, wantErr := readStringGeneral(b, f)
			got, err := cdc.ReadString(b, f)
			if wantErr != nil {
				require.Error(t, err, "field %d of %x", f, b)
				assert.Equal(t, errors.Is(wantErr, codec.ErrMalformed), errors.Is(err, codec.ErrMalformed))
				continue
			}
			require.NoError(t, err, "field %d of %x", f, b)
			assert.Equal(t, want, got, "field %d of %x", f, b)
			if f == codec.FieldLogHTTPMethod || f == codec.FieldLogHTTPPath {
				continue
			}
			i := uint64(f - codec.FieldLogService)
			if f == codec.FieldTensorName {
				i = 0
			}
			if s, ok := rootText(b, i); ok {
				answered++
				require.Equal(t, want, s, "field %d of %x", f, b)
				if s != "" {
					codectest.Inside(t, s, b)
				}
			}
		}
		return answered
	}
	answered := 0
	for seed := uint64(0); seed < 200; seed++ {
		var rec record.Record = record.NewLogEntry(seed)
		if seed%4 == 3 {
			rec = record.NewTensor(seed, 64)
		}
		orig := encode(t, rec)
		answered += check(orig)
		b := codectest.Aligned(orig)
		for i := 0; i < 100; i++ {
			copy(b, orig)
			for k := 0; k <= i%3; k++ {
				// Mostly the root and field pointers and the stream header.
				at := r.Intn(len(b))
				if i%2 == 0 {
					at = r.Intn(min(len(b), 72))
				}
				b[at] ^= byte(1 << r.Intn(8))
			}
			answered += check(b)
		}
		// Truncations and an unaligned copy.
		answered += check(b[:r.Intn(len(b))])
		answered += check(append(make([]byte, 1, len(orig)+1), orig...)[1:])
	}
	assert.Greater(t, answered, 10000)
}
