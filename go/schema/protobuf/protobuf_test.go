package protobuf

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/record"
)

// descriptorSet compiles schemas/crossbuf.proto with protoc.
func descriptorSet(t testing.TB) []byte {
	t.Helper()
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (./build.sh test installs it)")
	}
	_, file, _, _ := runtime.Caller(0)
	schemas := filepath.Join(filepath.Dir(file), "..", "..", "..", "schemas")
	out := filepath.Join(t.TempDir(), "set.pb")
	cmd := exec.Command(protoc, "-I", schemas, "--include_imports", "--descriptor_set_out="+out, "crossbuf.proto")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	set, err := os.ReadFile(out)
	require.NoError(t, err)
	return set
}

func logEntryType(t testing.TB) *Message {
	s, err := Load(descriptorSet(t))
	require.NoError(t, err)
	m, err := s.Message("crossbuf.pb.LogEntry")
	require.NoError(t, err)
	return m
}

func encodeGenerated(t testing.TB, rec record.Record) []byte {
	c, err := codec.Lookup(codec.Protobuf)
	require.NoError(t, err)
	n, err := c.MaxSize(rec)
	require.NoError(t, err)
	b, err := c.Encode(make([]byte, n), rec)
	require.NoError(t, err)
	return b
}

func TestDynamicReadsWhatGeneratedCodeWrites(t *testing.T) {
	m := logEntryType(t)
	pb, err := codec.Lookup(codec.Protobuf)
	require.NoError(t, err)
	for seed := uint64(0); seed < 20; seed++ {
		rec := record.NewLogEntry(seed)
		b := encodeGenerated(t, rec)
		v, err := m.Decode(b)
		require.NoError(t, err)
		assert.Equal(t, rec.Message, v["message"])
		assert.Equal(t, rec.Service, v["service"])
		if rec.TimestampNs != 0 {
			assert.Equal(t, rec.TimestampNs, v["timestamp_ns"])
		}
		if rec.HTTP.Status != 0 {
			assert.Equal(t, uint64(rec.HTTP.Status), v["http"].(map[string]any)["status"])
		}

		// And the other way: the dynamic encoding decodes with generated code.
		again, err := m.Encode(nil, v)
		require.NoError(t, err)
		var back record.LogEntry
		require.NoError(t, pb.Decode(again, &back))
		assert.Equal(t, rec, &back)
	}
	js, err := m.JSON(encodeGenerated(t, record.NewLogEntry(1)))
	require.NoError(t, err)
	assert.Contains(t, string(js), `"message"`)
}

func TestEncodeRefusesWhatItCannotStore(t *testing.T) {
	m := logEntryType(t)
	for name, v := range map[string]map[string]any{
		"unknown field": {"nope": int64(1)},
		"int64 as text": {"timestamp_ns": "soon"},
		"uint32 range":  {"http": map[string]any{"status": int64(1 << 33)}},
		"negative uint": {"http": map[string]any{"status": int64(-1)}},
		"enum name":     {"level": "LOUD"},
		"fraction":      {"timestamp_ns": 1.5},
	} {
		_, err := m.Encode(nil, v)
		assert.Error(t, err, name)
	}
	b, err := m.Encode(nil, map[string]any{"level": "WARN", "tags": []any{"a", "b"}})
	require.NoError(t, err)
	v, err := m.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, int64(3), v["level"])
	assert.Equal(t, []any{"a", "b"}, v["tags"])
}

func FuzzDecodeLogEntry(f *testing.F) {
	m := logEntryType(f)
	f.Add(encodeGenerated(f, record.NewLogEntry(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := m.Decode(b)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		_, err = m.Encode(nil, v)
		require.NoError(t, err, "what decodes encodes again")
	})
}

func BenchmarkDecodeLogEntryDynamic(b *testing.B) {
	m := logEntryType(b)
	msg := encodeGenerated(b, record.NewLogEntry(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
