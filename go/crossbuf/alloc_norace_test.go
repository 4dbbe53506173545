//go:build !race

// sync.Pool drops items at random under -race, so the encoders' pooled
// scratch allocates there: these tests run without it.

package crossbuf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// What Python's region.encode hands the library, a LogEntry as MessagePack,
// is encoded into a region frame of either format with no allocation.
func TestEncodeFromMessagePackAllocatesNothing(t *testing.T) {
	for _, f := range engineFormats {
		ty := bundled(t, f.format)
		hand, err := codec.Lookup(f.id)
		require.NoError(t, err)
		mp, err := ty.MsgPack(encodeWith(t, hand, record.NewLogEntry(7)), nil)
		require.NoError(t, err)
		r, err := region.CreateAnon(64 << 20)
		require.NoError(t, err)
		defer r.Close()
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := dynamic.AppendMsgPack(r, ty, mp); err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs, f.format.String())
	}
}
