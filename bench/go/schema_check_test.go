package bench

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSchemaChecks runs the any-schema cells' checks on the reference
// projects' own messages (FlatBuffers' monsterdata_test.mon, Cap'n Proto's
// TestAllTypes), twice, so reused buffers cannot carry state over.
func TestSchemaChecks(t *testing.T) {
	base := os.Getenv("CROSSBUF_CONFORMANCE")
	if base == "" {
		base = filepath.Join("..", "..", "..", "shared", "conformance")
	}
	if _, err := os.Stat(base); err != nil {
		t.Skipf("conformance data not found at %s (set CROSSBUF_CONFORMANCE)", base)
	}
	base, _ = filepath.Abs(base)
	fb, cp := filepath.Join(base, "flatbuffers"), filepath.Join(base, "capnp")
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	pools := []map[string]any{
		{"record": "Monster", "schema": filepath.Join(fb, "monster_test.fbs"), "type": "MyGame.Example.Monster",
			"imports": []any{filepath.Join(fb, "include_test")}, "path": "name",
			"wires": []any{read(filepath.Join(fb, "monsterdata_test.mon"))}},
		{"record": "TestAllTypes", "schema": filepath.Join(cp, "capnp", "test.capnp"), "type": "TestAllTypes",
			"imports": []any{cp}, "path": "structField.textField",
			"wires": []any{read(filepath.Join(cp, "capnp", "testdata", "binary"))}},
	}
	// An empty carsales ParkingLot (written by capnp encode) has no
	// cars[0]: the path reads as absent there, not as an error.
	cmd := exec.Command("capnp", "encode", filepath.Join(cp, "carsales.capnp"), "ParkingLot")
	cmd.Stdin = strings.NewReader("()\n")
	if enc, err := cmd.Output(); !errors.Is(err, exec.ErrNotFound) {
		require.NoError(t, err, "capnp encode of an empty ParkingLot")
		pools = append(pools, map[string]any{"record": "ParkingLot-empty", "schema": filepath.Join(cp, "carsales.capnp"),
			"type": "ParkingLot", "imports": []any{cp}, "path": "cars[0].make", "wires": []any{enc}})
	}
	for _, m := range pools {
		t.Run(m["record"].(string), func(t *testing.T) {
			if _, err := os.Stat("/usr/bin/flatc"); err != nil && m["record"] == "Monster" {
				t.Skip("flatc is not installed")
			}
			sp, err := newSchemaPool(m)
			require.NoError(t, err)
			for _, l := range sp.libs(t) {
				require.Empty(t, l.why, l.name)
				require.NoError(t, l.verify(sp), "%s/%s", l.format, l.name)
				require.NoError(t, l.verify(sp), "%s/%s (second pass)", l.format, l.name)
			}
		})
	}
}
