package stream

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/region"
)

// FuzzReader lands arbitrary bytes, read as a stream, in a small region:
// any input gives frames and then io.EOF or an error, never a panic, and
// every landed frame lies inside the region with the length its header
// announced.
func FuzzReader(f *testing.F) {
	src := fill(f, 6)
	wire := encode(f, src)
	require.NoError(f, src.Close())
	f.Add(wire)
	f.Add(wire[:HeaderSize+10])
	f.Add(wire[:HeaderSize])
	f.Add([]byte("XBUFSTM\x00"))
	dst, err := region.CreateAnon(1 << 14)
	require.NoError(f, err)
	f.Cleanup(func() { _ = dst.Close() })
	f.Fuzz(func(t *testing.T, b []byte) {
		require.NoError(t, dst.Reset())
		rd, err := NewReader(bytes.NewReader(b))
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		rd.MaxPayload = 1 << 20
		for {
			h, err := rd.Next()
			if err != nil {
				if err != io.EOF {
					require.ErrorIs(t, err, ErrMalformed)
				}
				return
			}
			fr, err := rd.ToRegion(dst)
			if err != nil {
				if !errorsIsAny(err, ErrMalformed, region.ErrFull) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			require.Equal(t, h.PayloadLen, uint64(len(fr.Payload)))
			require.True(t, inside(t, dst, fr.Payload))
		}
	})
}
