package schema

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/internal/fbreflect"
)

func FuzzLoadBFBS(f *testing.F) {
	f.Add(fbreflect.ReflectionBFBS)
	if dir := fuzzConformance("flatbuffers"); dir != "" {
		f.Add(readFile(f, filepath.Join(dir, "monster_test.bfbs")))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadBFBS(b)
		if err != nil {
			return
		}
		// A loaded schema's types verify messages without panicking.
		for _, ty := range s.Types() {
			if ty.Kind == Table {
				_ = ty.Verify(b, nil)
			}
		}
	})
}

func FuzzVerifyMonster(f *testing.F) {
	dir := fuzzConformance("flatbuffers")
	if dir == "" {
		f.Skip("conformance data not found (set CROSSBUF_CONFORMANCE)")
	}
	s, err := LoadBFBS(readFile(f, filepath.Join(dir, "monster_test.bfbs")))
	require.NoError(f, err)
	f.Add(readFile(f, filepath.Join(dir, "monsterdata_test.mon")))
	f.Fuzz(func(t *testing.T, b []byte) {
		verr := s.Root.Verify(b, nil)
		v, derr := mapOf(s.Root.Decode(b, nil))
		if (verr == nil) != (derr == nil) {
			t.Fatalf("verify %v but decode %v", verr, derr)
		}
		if derr == nil {
			_, _ = s.Root.AppendJSON(nil, v)
		}
	})
}

// fuzzConformance is the conformance folder, or "" when it is absent.
func fuzzConformance(sub string) string {
	dir, err := conformancePath(sub)
	if err != nil {
		return ""
	}
	return dir
}

func FuzzLoadCapnpRequest(f *testing.F) {
	if dir := fuzzConformance("capnp"); dir != "" {
		if req, err := CompileCapnpRequest("capnp/test.capnp", &CompileOptions{Dir: dir, ImportPaths: []string{dir}, NoStandardImport: true}); err == nil {
			f.Add(req)
		}
	}
	f.Add(message(structPtr(0, 0, 2), 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadCapnpRequest(b)
		if err != nil {
			return
		}
		for _, ty := range s.Types() {
			if ty.Kind == Struct {
				_ = ty.Verify(b, nil)
			}
		}
	})
}

func FuzzVerifyTestAllTypes(f *testing.F) {
	dir := fuzzConformance("capnp")
	if dir == "" {
		f.Skip("conformance data not found (set CROSSBUF_CONFORMANCE)")
	}
	req, err := CompileCapnpRequest("capnp/test.capnp", &CompileOptions{Dir: dir, ImportPaths: []string{dir}, NoStandardImport: true})
	if err != nil {
		f.Skipf("cannot compile test.capnp: %v", err)
	}
	s, err := LoadCapnpRequest(req)
	require.NoError(f, err)
	ty, err := s.Type("TestAllTypes")
	require.NoError(f, err)
	for _, name := range []string{"binary", "segmented", "packed"} {
		f.Add(readFile(f, filepath.Join(dir, "capnp", "testdata", name)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, framing := range []Framing{Stream, Flat, Packed} {
			opts := &Options{Framing: framing}
			verr := ty.Verify(b, opts)
			v, derr := mapOf(ty.Decode(b, opts))
			if (verr == nil) != (derr == nil) {
				t.Fatalf("verify %v but decode %v", verr, derr)
			}
			// MessagePack, written by the verifying walk, fails exactly
			// where Decode does (or on a string that is not UTF-8), and
			// otherwise holds the decoded value.
			mp, merr := ty.MsgPack(b, opts)
			if derr != nil {
				require.Error(t, merr)
				continue
			}
			_, _ = ty.AppendJSON(nil, v)
			if merr != nil {
				require.Contains(t, merr.Error(), "UTF-8")
				continue
			}
			require.Equal(t, normalizeInts(v), readMsgPack(t, mp))
		}
	})
}
