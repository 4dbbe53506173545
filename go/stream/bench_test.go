package stream

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// BenchmarkRead lands a stream of 1 KiB or 64 KiB frames, held in memory,
// in a region: header validation, reserve and commit, and the copy.
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf)
			require.NoError(b, err)
			p := make([]byte, size)
			const frames = 64
			for i := 0; i < frames; i++ {
				require.NoError(b, w.WriteFrame(codec.FlatBuffers, 1, 0, p))
			}
			wire := buf.Bytes()
			dst, err := region.CreateAnon(frames * (size + 128))
			require.NoError(b, err)
			defer dst.Close()
			require.NoError(b, dst.Prefault())
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; {
				require.NoError(b, dst.Reset())
				rd, err := NewReader(bytes.NewReader(wire))
				require.NoError(b, err)
				for ; i < b.N; i++ {
					if _, err := rd.ToRegion(dst); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
