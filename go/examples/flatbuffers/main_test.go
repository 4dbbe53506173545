package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	require.Equal(t, "checkout order placed 201\n", out.String())
}

// The program's non-standard dependencies are crossbuf's own packages, with
// one format among them, and golang.org/x/sys: no other format's runtime.
func TestLinksOneFormat(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	b, err := cmd.Output()
	require.NoError(t, err)
	deps := strings.Fields(string(b))
	require.Contains(t, deps, "github.com/crossbuf/crossbuf/go/codec/flatbuf")
	for _, d := range deps {
		if own, ok := strings.CutPrefix(d, "github.com/crossbuf/crossbuf/"); ok {
			require.True(t, !strings.HasPrefix(own, "go/codec/") || own == "go/codec/flatbuf", "links another format: %s", d)
			require.NotContains(t, own, "schema", "links the schema engine: %s", d)
			continue
		}
		require.True(t, strings.HasPrefix(d, "golang.org/x/sys/"), "links a third-party package: %s", d)
	}
}

// A frame of a format the program does not import is a clear error, not a
// guess or a panic.
func TestUnregisteredFormat(t *testing.T) {
	r, err := region.CreateAnon(1 << 16)
	require.NoError(t, err)
	defer r.Close()
	slot, err := r.Reserve(codec.CapnProto, uint64(record.TypeLogEntry), 16)
	require.NoError(t, err)
	f, err := slot.Commit(slot.Buf[:16])
	require.NoError(t, err)
	var out record.LogEntry
	err = crossbuf.Decode(f, &out)
	require.ErrorIs(t, err, codec.ErrUnknownCodec)
	require.ErrorContains(t, err, "capnp is not registered")
}
