package schema

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func compileFBSText(t *testing.T, src string) *Schema {
	t.Helper()
	needTool(t, "flatc")
	path := filepath.Join(t.TempDir(), "s.fbs")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	s, err := CompileFBS(path, nil)
	require.NoError(t, err)
	return s
}

func TestFlatBuffersTypeIDIsNameOnly(t *testing.T) {
	v1 := compileFBSText(t, "namespace app; table Item { a:int; } root_type Item;")
	v2 := compileFBSText(t, "namespace app; table Item { a:int; b:string; } root_type Item;")
	assert.Equal(t, v1.Root.ID, v2.Root.ID, "adding a field keeps the id")
	assert.Equal(t, FlatBuffersTypeID("app.Item"), v1.Root.ID)
	// FNV-1a 64 of the name, as documented.
	assert.Equal(t, uint64(0xcbf29ce484222325), FlatBuffersTypeID(""))
	assert.Equal(t, uint64(0xaf63dc4c8601ec8c), FlatBuffersTypeID("a"))
}

func TestRegistry(t *testing.T) {
	v1 := compileFBSText(t, "namespace app; table Item { a:int; } root_type Item;")
	again := compileFBSText(t, "namespace app; table Item { a:int; } root_type Item;")
	v2 := compileFBSText(t, "namespace app; table Item { a:int; b:string; } table Other { x:bool; } root_type Item;")

	var r Registry
	_, err := r.TypeByID(v1.Root.ID)
	assert.ErrorContains(t, err, "no loaded schema has a type with id")

	require.NoError(t, r.Add(v1))
	require.NoError(t, r.Add(again), "the same definition twice is accepted")
	got, err := r.TypeByID(v1.Root.ID)
	require.NoError(t, err)
	assert.Same(t, v1.Root, got, "the first registration is kept")

	err = r.Add(v2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app.Item")
	assert.Contains(t, err.Error(), "another definition")
	other, err := v2.Type("app.Other")
	require.NoError(t, err)
	_, err = r.TypeByID(other.ID)
	assert.Error(t, err, "a refused schema registers nothing")
}

func TestCompileErrors(t *testing.T) {
	needTool(t, "flatc")
	path := filepath.Join(t.TempDir(), "bad.fbs")
	require.NoError(t, os.WriteFile(path, []byte("table {"), 0o644))
	_, err := CompileFBS(path, nil)
	assert.ErrorContains(t, err, "flatc")
	for _, missing := range []string{"missing.fbs", "missing.capnp"} {
		dir := t.TempDir()
		var err error
		if filepath.Ext(missing) == ".fbs" {
			_, err = CompileFBS(missing, &CompileOptions{Dir: dir})
		} else {
			_, err = CompileCapnp(missing, &CompileOptions{Dir: dir})
		}
		require.ErrorIs(t, err, fs.ErrNotExist, "a missing file is named, not the compiler's usage")
		assert.NotContains(t, err.Error(), "Usage")
	}

	t.Setenv("PATH", t.TempDir())
	_, err = CompileFBS(path, nil)
	assert.ErrorContains(t, err, "apt-get install flatbuffers-compiler")
}

// Two Cap'n Proto requests that share an imported file claim the same node
// ids with the same definitions: the registry takes both.
func TestRegistryCapnpSharedImport(t *testing.T) {
	dir, req := capnpTestRequest(t)
	main, err := LoadCapnpRequest(req)
	require.NoError(t, err)
	imp, err := CompileCapnp("capnp/test-import.capnp", &CompileOptions{Dir: dir, ImportPaths: []string{dir}, NoStandardImport: true})
	require.NoError(t, err)
	ti, err := imp.Type("TestImport")
	require.NoError(t, err)
	other, err := imp.Type("TestAllTypes")
	require.NoError(t, err)
	mine, err := main.Type("TestAllTypes")
	require.NoError(t, err)
	require.Equal(t, mine.ID, other.ID)
	assert.Same(t, other, ti.Field("field").Type)

	var r Registry
	require.NoError(t, r.Add(main))
	require.NoError(t, r.Add(imp))
	got, err := r.TypeByID(ti.ID)
	require.NoError(t, err)
	assert.Same(t, ti, got)
}
