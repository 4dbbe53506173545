package flatbuf

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

// TestEncodeZeroesPadding encodes into zeroed and into dirty memory: the
// bytes are the same, so no padding or absent field keeps old contents.
func TestEncodeZeroesPadding(t *testing.T) {
	recs := []record.Record{record.NewSample(1), &record.Sample{}}
	for _, e := range codectest.EdgeLogEntries() {
		recs = append(recs, e)
	}
	for _, tn := range codectest.Tensors() {
		recs = append(recs, tn)
	}
	for _, rec := range recs {
		n, err := cdc.MaxSize(rec)
		require.NoError(t, err)
		clean, err := cdc.Encode(make([]byte, n), rec)
		require.NoError(t, err)
		dirty := encode(t, rec)
		require.Equal(t, clean, dirty, "%T", rec)
	}
}

// TestTensorDataAligned checks that the data starts 8-aligned relative to
// dst (absolute in region memory) and so does the buffer.
func TestTensorDataAligned(t *testing.T) {
	for _, tn := range codectest.Tensors() {
		n, err := cdc.MaxSize(tn)
		require.NoError(t, err)
		require.Zero(t, n%8)
		w := make([]uint64, n/8)
		dst := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
		b, err := cdc.Encode(dst, tn)
		require.NoError(t, err)
		assert.Zero(t, uintptr(unsafe.Pointer(&b[0]))%8)
		var got record.Tensor
		require.NoError(t, cdc.Decode(b, &got))
		if len(got.Data) > 0 {
			assert.Zero(t, uintptr(unsafe.Pointer(&got.Data[0]))%8, "%d bytes", len(got.Data))
		}
	}
}
