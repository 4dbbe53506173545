package crossbuf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// Encoding into a region whose file another process truncated is
// ErrTruncated, not a SIGBUS: the encoder's writes into the slot are
// guarded like the region's own calls.
func TestAppendIntoTruncatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "region")
	r, err := region.CreateFile(path, 1<<20, 0o600)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, os.Truncate(path, 4096)) // what another process can do
	fb, err := codec.Lookup(codec.FlatBuffers)
	require.NoError(t, err)
	_, err = crossbuf.Append(r, fb, &record.LogEntry{Service: strings.Repeat("x", 10000)})
	require.ErrorIs(t, err, region.ErrTruncated)
	ty := bundled(t, schema.FlatBuffers)
	_, err = dynamic.AppendValue(r, ty, map[string]any{"service": strings.Repeat("y", 20000)})
	require.ErrorIs(t, err, region.ErrTruncated)
}
