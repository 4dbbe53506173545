package msgpack

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tinylib/msgp/msgp"
	vmsgpack "github.com/vmihailenco/msgpack/v5"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

func TestRoundTrip(t *testing.T) { codectest.RoundTrip(t, New()) }

func TestTruncated(t *testing.T) { codectest.Truncations(t, New(), true) }

func TestGarbage(t *testing.T) { codectest.Garbage(t, New()) }

func TestMaxSizeIsExact(t *testing.T) {
	c := New()
	for _, tc := range codectest.Records() {
		n, err := c.MaxSize(tc.Rec)
		require.NoError(t, err)
		require.Len(t, codectest.Encode(t, c, tc.Rec), n, tc.Name)
	}
	// Integer and string sizes at every encoding boundary.
	for _, v := range []int64{0, 127, 128, -32, -33, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		1<<31 - 1, 1 << 31, -1 << 31, -1<<31 - 1, 1<<63 - 1, -1 << 63} {
		require.Len(t, msgp.AppendInt64(nil, v), intSize(v), v)
		if v >= 0 {
			require.Len(t, msgp.AppendUint64(nil, uint64(v)), uintSize(uint64(v)), v)
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		require.Len(t, msgp.AppendString(nil, string(make([]byte, n))), strSize(n), n)
		require.Len(t, msgp.AppendBytes(nil, make([]byte, n)), binSize(n), n)
		require.Len(t, msgp.AppendArrayHeader(nil, uint32(n)), headerSize(n), n)
		require.Len(t, msgp.AppendMapHeader(nil, uint32(n)), headerSize(n), n)
	}
}

func TestUnsupported(t *testing.T) {
	c := New()
	_, err := c.MaxSize(nil)
	require.ErrorIs(t, err, codec.ErrRecordType)
	_, err = c.Encode(make([]byte, 100), &record.Tensor{DType: 99})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = c.ReadString(nil, codec.Field(99))
	require.ErrorIs(t, err, codec.ErrRecordType)
}

// The documented shape, as a generic MessagePack library sees it.
func TestShapeWithVmihailenco(t *testing.T) {
	c := New()
	e := record.NewLogEntry(2)
	var m map[string]any
	require.NoError(t, vmsgpack.Unmarshal(codectest.Encode(t, c, e), &m))
	require.Len(t, m, 9)
	require.EqualValues(t, e.TimestampNs, m["timestamp_ns"])
	require.EqualValues(t, e.Level, m["level"])
	require.Equal(t, e.Message, m["message"])
	require.Equal(t, e.TraceID[:], m["trace_id"])
	require.Len(t, m["tags"], len(e.Tags))
	attrs := m["attributes"].(map[string]any)
	for _, a := range e.Attributes {
		require.Equal(t, a.Value, attrs[a.Key])
	}
	h := m["http"].(map[string]any)
	require.Equal(t, e.HTTP.Path, h["path"])
	require.EqualValues(t, e.HTTP.Status, h["status"])
	require.EqualValues(t, e.HTTP.LatencyNs, h["latency_ns"])

	s := record.NewSample(2)
	require.NoError(t, vmsgpack.Unmarshal(codectest.Encode(t, c, s), &m))
	fs := m["features"].([]any)
	require.Len(t, fs, record.SampleFeatures)
	require.Equal(t, s.Features[5], fs[5].(float32))

	tn := record.NewTensor(2, 256)
	clear(m)
	require.NoError(t, vmsgpack.Unmarshal(codectest.Encode(t, c, tn), &m))
	require.Equal(t, tn.Data, m["data"])
	require.Equal(t, tn.Name, m["name"])
}

// A map written by another library, in another key order, with float64
// features, unknown keys and non-compact integers, decodes.
func TestDecodeForeignEncoding(t *testing.T) {
	c := New()
	e := record.NewLogEntry(5)
	var buf bytes.Buffer
	enc := vmsgpack.NewEncoder(&buf)
	require.NoError(t, enc.EncodeMapLen(10))
	for _, kv := range []any{
		"http", map[string]any{"latency_ns": e.HTTP.LatencyNs, "status": e.HTTP.Status, "path": e.HTTP.Path, "method": e.HTTP.Method},
		"unknown", []any{1, "x", nil},
		"tags", e.Tags, "trace_id", e.TraceID[:], "message", e.Message, "host", e.Host,
		"service", e.Service, "level", int64(e.Level), "timestamp_ns", e.TimestampNs,
	} {
		require.NoError(t, enc.Encode(kv))
	}
	// Attributes in record order: an ordered map by hand.
	require.NoError(t, enc.EncodeString("attributes"))
	require.NoError(t, enc.EncodeMapLen(len(e.Attributes)))
	for _, a := range e.Attributes {
		require.NoError(t, enc.EncodeString(a.Key))
		require.NoError(t, enc.EncodeString(a.Value))
	}
	var got record.LogEntry
	require.NoError(t, c.Decode(buf.Bytes(), &got))
	codectest.RequireEqual(t, e, &got)

	s := record.NewSample(5)
	f64 := make([]float64, len(s.Features))
	for i, f := range s.Features {
		f64[i] = float64(f)
	}
	b, err := vmsgpack.Marshal(map[string]any{"label": s.Label, "features": f64, "timestamp_ns": s.TimestampNs})
	require.NoError(t, err)
	var gs record.Sample
	require.NoError(t, c.Decode(b, &gs))
	codectest.RequireEqual(t, s, &gs)
}

func TestRejects(t *testing.T) {
	c := New()
	enc := func(v any) []byte {
		b, err := vmsgpack.Marshal(v)
		require.NoError(t, err)
		return b
	}
	e := record.NewLogEntry(1)
	for name, b := range map[string][]byte{
		"short trace_id":    enc(map[string]any{"trace_id": e.TraceID[:8]}),
		"no trace_id":       enc(map[string]any{"service": "x"}),
		"string trace_id":   enc(map[string]any{"trace_id": string(e.TraceID[:])}),
		"bad level":         enc(map[string]any{"trace_id": e.TraceID[:], "level": 7}),
		"string level":      enc(map[string]any{"trace_id": e.TraceID[:], "level": "info"}),
		"int tag":           enc(map[string]any{"trace_id": e.TraceID[:], "tags": []any{1}}),
		"not a map":         enc([]any{1, 2}),
		"trailing":          append(codectest.Encode(t, c, e), 0xc0),
		"huge array header": append(msgp.AppendArrayHeader(append(msgp.AppendMapHeader(nil, 1), kTags...), 1<<31), 0xa0),
		"huge map header":   msgp.AppendMapHeader(nil, 1<<31),
	} {
		codectest.RequireMalformed(t, c.Decode(b, &record.LogEntry{}), false)
		_ = name
	}
	for _, b := range [][]byte{
		enc(map[string]any{"features": make([]float32, 15)}),
		enc(map[string]any{"features": make([]string, 16)}),
		enc(map[string]any{}),
	} {
		codectest.RequireMalformed(t, c.Decode(b, &record.Sample{}), false)
	}
	for _, b := range [][]byte{
		enc(map[string]any{"dtype": 9, "shape": []int64{3}, "data": make([]byte, 8)}),
		enc(map[string]any{"dtype": 9, "shape": make([]int64, 9), "data": nil}),
		enc(map[string]any{"dtype": 42, "shape": []int64{}, "data": nil}),
		append(msgp.AppendBytes(append(msgp.AppendMapHeader(nil, 1), kData...), nil)[:len(kData)+1], 0xc6, 0x7f, 0xff, 0xff, 0xff),
	} {
		codectest.RequireMalformed(t, c.Decode(b, &record.Tensor{}), false)
	}
}

func FuzzDecodeLogEntry(f *testing.F) { codectest.Fuzz(f, New(), record.TypeLogEntry) }
func FuzzDecodeSample(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeSample) }
func FuzzDecodeTensor(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeTensor) }

func BenchmarkCodec(b *testing.B) { codectest.Bench(b, New()) }

// vmLog is the plain reflection-based vmihailenco/msgpack mapping of the
// same shape, for comparison (attributes as a Go map, so unordered).
type vmLog struct {
	TimestampNs int64             `msgpack:"timestamp_ns"`
	Level       int32             `msgpack:"level"`
	Service     string            `msgpack:"service"`
	Host        string            `msgpack:"host"`
	Message     string            `msgpack:"message"`
	TraceID     []byte            `msgpack:"trace_id"`
	Tags        []string          `msgpack:"tags"`
	Attributes  map[string]string `msgpack:"attributes"`
	HTTP        struct {
		Method    string `msgpack:"method"`
		Path      string `msgpack:"path"`
		Status    uint32 `msgpack:"status"`
		LatencyNs int64  `msgpack:"latency_ns"`
	} `msgpack:"http"`
}

func BenchmarkVmihailenco(b *testing.B) {
	e := record.NewLogEntry(1)
	v := vmLog{TimestampNs: e.TimestampNs, Level: int32(e.Level), Service: e.Service, Host: e.Host,
		Message: e.Message, TraceID: e.TraceID[:], Tags: e.Tags, Attributes: map[string]string{}}
	for _, a := range e.Attributes {
		v.Attributes[a.Key] = a.Value
	}
	v.HTTP.Method, v.HTTP.Path, v.HTTP.Status, v.HTTP.LatencyNs = e.HTTP.Method, e.HTTP.Path, e.HTTP.Status, e.HTTP.LatencyNs
	b.Run("Marshal/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := vmsgpack.Marshal(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, err := vmsgpack.Marshal(&v)
	require.NoError(b, err)
	b.Run("Unmarshal/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out vmLog
			if err := vmsgpack.Unmarshal(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
