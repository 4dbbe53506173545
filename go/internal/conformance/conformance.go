// Package conformance finds the FlatBuffers and Cap'n Proto projects' own
// test schemas and messages for tests: ../shared/conformance beside the
// repository root, or the folder CROSSBUF_CONFORMANCE names.
package conformance

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Path is the conformance folder's subfolder sub, and an error when it is
// absent.
func Path(sub string) (string, error) {
	dir := os.Getenv("CROSSBUF_CONFORMANCE")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "conformance")
	}
	dir = filepath.Join(dir, sub)
	_, err := os.Stat(dir)
	return dir, err
}

// Dir is Path, skipping the test visibly when the data is absent.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := Path(sub)
	if err != nil {
		t.Skipf("conformance data not found at %s (set CROSSBUF_CONFORMANCE): %v", dir, err)
	}
	return dir
}
