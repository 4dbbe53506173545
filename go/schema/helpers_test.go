package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/internal/conformance"
)

// conformancePath and conformanceDir locate the reference projects' data.
func conformancePath(sub string) (string, error) { return conformance.Path(sub) }

func conformanceDir(t testing.TB, sub string) string {
	t.Helper()
	return conformance.Dir(t, sub)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (./build.sh test installs it)", name)
	}
	return p
}

func runTool(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	return runToolIn(t, dir, nil, name, args...)
}

func runToolIn(t testing.TB, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return out
}

// parseJSON parses JSON with numbers normalised so that the same value
// written two ways ("1.0" and "1", shortest or full expansion) compares equal:
// integers stay exact, other numbers become float64.
func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), "%s", b)
	return normalize(v)
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case json.Number:
		s := string(x)
		if n, ok := new(big.Int).SetString(s, 10); ok {
			if f, acc := new(big.Float).SetInt(n).Float64(); acc == big.Exact {
				return f
			}
			return n.String()
		}
		f, err := x.Float64()
		if err != nil && !math.IsInf(f, 0) {
			return fmt.Sprintf("bad number %s", s)
		}
		return f
	}
	return v
}

// mapOf gives a decoded record in its map form, the form the tests compare.
func mapOf(r *Record, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return r.Map(), nil
}
