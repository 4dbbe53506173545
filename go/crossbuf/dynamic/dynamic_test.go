package dynamic_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/internal/conformance"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

func monsterSchema(t *testing.T) (*schema.Schema, []byte) {
	dir := conformance.Dir(t, "flatbuffers")
	bfbs, err := os.ReadFile(filepath.Join(dir, "monster_test.bfbs"))
	require.NoError(t, err)
	s, err := schema.LoadBFBS(bfbs)
	require.NoError(t, err)
	mon, err := os.ReadFile(filepath.Join(dir, "monsterdata_test.mon"))
	require.NoError(t, err)
	return s, mon
}

func TestAppendValueOfARuntimeSchema(t *testing.T) {
	s, mon := monsterSchema(t)
	dv, err := s.Root.Decode(mon, nil)
	require.NoError(t, err)
	v := dv.Map()
	r, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer r.Close()

	f, err := dynamic.AppendValue(r, s.Root, v)
	require.NoError(t, err)
	assert.Equal(t, s.Root.ID, f.TypeID, "the frame names its type")
	assert.Equal(t, codec.FlatBuffers, f.Codec)
	got, err := dynamic.DecodeValue(f, s)
	require.NoError(t, err)
	assert.Equal(t, v, got.Map())
	require.NoError(t, s.Root.Verify(f.Payload, &schema.Options{Identifier: "MONS"}))

	// A frame whose type this schema does not define is refused by id.
	other, err := r.Reserve(codec.FlatBuffers, 0xfeedface, len(mon))
	require.NoError(t, err)
	n := copy(other.Buf, mon)
	of, err := other.Commit(other.Buf[:n])
	require.NoError(t, err)
	_, err = dynamic.DecodeValue(of, s)
	require.ErrorIs(t, err, schema.ErrUnknownType)
	assert.Contains(t, err.Error(), "00000000feedface")

	// Bad values commit nothing.
	before, err := r.Stats()
	require.NoError(t, err)
	_, err = dynamic.AppendValue(r, s.Root, map[string]any{"name": "x", "hp": int64(1 << 20)})
	var ee *schema.EncodeError
	require.ErrorAs(t, err, &ee)
	after, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, before.Used, after.Used)
}

// A region that carries its schemas is decoded by a reader that has none:
// both formats in one region, read through a second mapping.
func TestRegionCarriesItsSchemas(t *testing.T) {
	fb, mon := monsterSchema(t)
	monster, err := fb.Root.Decode(mon, nil)
	require.NoError(t, err)
	cdir := conformance.Dir(t, "capnp")
	if _, err := exec.LookPath("capnp"); err != nil {
		t.Skip("capnp not installed (./build.sh test installs it)")
	}
	cp, err := schema.CompileCapnp("capnp/test.capnp", &schema.CompileOptions{Dir: cdir, ImportPaths: []string{cdir}, NoStandardImport: true})
	require.NoError(t, err)
	all, err := cp.Type("TestAllTypes")
	require.NoError(t, err)
	ref, err := os.ReadFile(filepath.Join(cdir, "capnp", "testdata", "binary"))
	require.NoError(t, err)
	everything, err := all.Decode(ref, nil)
	require.NoError(t, err)

	name := fmt.Sprintf("/xbtest-schemas-%d", os.Getpid())
	w, err := region.CreateShm(name, 1<<20, 0)
	require.NoError(t, err)
	defer func() { _ = region.UnlinkShm(name) }()
	defer w.Close()
	for _, s := range []*schema.Schema{fb, cp} {
		_, err := dynamic.StoreSchema(w, s)
		require.NoError(t, err)
	}
	_, err = dynamic.AppendValue(w, fb.Root, monster.Map())
	require.NoError(t, err)
	_, err = dynamic.AppendValue(w, all, everything.Map())
	require.NoError(t, err)

	rd, err := region.OpenShm(name, region.ReadOnly)
	require.NoError(t, err)
	defer rd.Close()
	types, err := dynamic.Schemas(rd)
	require.NoError(t, err)
	var names []string
	for f, err := range rd.Frames() {
		require.NoError(t, err)
		if codec.ID(f.Codec) == codec.Schema {
			continue
		}
		ty, err := types.TypeByID(f.TypeID)
		require.NoError(t, err)
		names = append(names, ty.Name)
		_, err = dynamic.DecodeValue(f, types)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"MyGame.Example.Monster", "capnp/test.capnp:TestAllTypes"}, names)
}
