package json

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

func TestRoundTrip(t *testing.T) { codectest.RoundTrip(t, New()) }

func TestTruncated(t *testing.T) { codectest.Truncations(t, New(), true) }

func TestGarbage(t *testing.T) { codectest.Garbage(t, New()) }

func TestMaxSize(t *testing.T) {
	c := New()
	for _, tc := range codectest.Records() {
		n, err := c.MaxSize(tc.Rec)
		require.NoError(t, err)
		b := codectest.Encode(t, c, tc.Rec)
		if tc.Rec.RecordType() == record.TypeSample {
			require.LessOrEqual(t, len(b), n)
		} else {
			require.Len(t, b, n, tc.Name)
		}
	}
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\n\t\r\b\f", "café 处理", "bad\xffutf8\xc3", "\u2028"} {
		require.Len(t, appendStr(nil, s), strSize(s), s)
	}
	for _, v := range []int64{0, 9, 10, -1, -10, 1<<63 - 1, -1 << 63} {
		require.Len(t, []byte(stdjsonMarshal(t, v)), intSize(v))
	}
}

func stdjsonMarshal(t *testing.T, v any) string {
	b, err := stdjson.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Features print exactly as encoding/json prints float32.
func TestFloatFormat(t *testing.T) {
	for _, f := range []float32{0, 1, -1, 0.1, 1e-7, -3.4028235e38, 1.17549435e-38, 1e20, 1e21, 123456789, 0.000001, 1.5e-45} {
		require.Equal(t, stdjsonMarshal(t, f), string(appendFloat32(nil, f)))
		require.LessOrEqual(t, len(appendFloat32(nil, f)), floatSize(f), f)
	}
	s := record.NewSample(1)
	s.Features[0] = float32(nanBits())
	_, err := New().Encode(make([]byte, 1000), s)
	require.ErrorIs(t, err, codec.ErrInvalid)
}

func nanBits() float64 { var z float64; return z / z }

func TestUnsupported(t *testing.T) {
	c := New()
	_, err := c.MaxSize(nil)
	require.ErrorIs(t, err, codec.ErrRecordType)
	_, err = c.Encode(make([]byte, 100), &record.Tensor{DType: 99})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = c.ReadString(nil, codec.Field(99))
	require.ErrorIs(t, err, codec.ErrRecordType)
}

// The documented shape, as encoding/json sees it.
func TestShapeWithEncodingJSON(t *testing.T) {
	c := New()
	e := record.NewLogEntry(2)
	var m map[string]any
	require.NoError(t, stdjson.Unmarshal(codectest.Encode(t, c, e), &m))
	require.Len(t, m, 9)
	require.Contains(t, m, "timestamp_ns")
	require.EqualValues(t, e.Level, m["level"])
	require.Equal(t, e.Message, m["message"])
	require.Equal(t, base64.StdEncoding.EncodeToString(e.TraceID[:]), m["trace_id"])
	require.Len(t, m["tags"], len(e.Tags))
	attrs := m["attributes"].(map[string]any)
	for _, a := range e.Attributes {
		require.Equal(t, a.Value, attrs[a.Key])
	}
	h := m["http"].(map[string]any)
	require.Equal(t, e.HTTP.Path, h["path"])
	require.EqualValues(t, e.HTTP.Status, h["status"])

	// Exact integers and key order.
	dec := stdjson.NewDecoder(bytesReader(codectest.Encode(t, c, e)))
	dec.UseNumber()
	var keys []string
	tok, _ := dec.Token()
	require.Equal(t, stdjson.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v any
		require.NoError(t, dec.Decode(&v))
		if k == "timestamp_ns" {
			require.Equal(t, stdjson.Number(stringInt(e.TimestampNs)), v)
		}
	}
	require.Equal(t, []string{"timestamp_ns", "level", "service", "host", "message", "trace_id", "tags", "attributes", "http"}, keys)

	s := record.NewSample(2)
	clear(m)
	require.NoError(t, stdjson.Unmarshal(codectest.Encode(t, c, s), &m))
	fs := m["features"].([]any)
	require.Len(t, fs, record.SampleFeatures)
	require.Equal(t, s.Features[5], float32(fs[5].(float64)))

	tn := record.NewTensor(2, 256)
	clear(m)
	require.NoError(t, stdjson.Unmarshal(codectest.Encode(t, c, tn), &m))
	require.Equal(t, base64.StdEncoding.EncodeToString(tn.Data), m["data"])
	require.Equal(t, []any{float64(64)}, m["shape"])
}

// Another library's output, in another key order with whitespace and
// unknown keys, decodes.
func TestDecodeForeignEncoding(t *testing.T) {
	c := New()
	e := record.NewLogEntry(6)
	b := []byte(` { "http" : {"latency_ns":` + stringInt(e.HTTP.LatencyNs) + `,"status":` + stringInt(int64(e.HTTP.Status)) +
		`,"path":` + stdjsonMarshal(t, e.HTTP.Path) + `,"method":"` + e.HTTP.Method + `","x":[1]},
		"unknown": {"a":[1,2,{"b":null}]}, "tags": ` + stdjsonMarshal(t, e.Tags) +
		`, "trace_id": "` + base64.StdEncoding.EncodeToString(e.TraceID[:]) + `", "message": ` + stdjsonMarshal(t, e.Message) +
		`, "host": "` + e.Host + `", "service": "` + e.Service + `", "level": ` + stringInt(int64(e.Level)) +
		`, "timestamp_ns": ` + stringInt(e.TimestampNs) + `, "attributes": {`)
	for i, a := range e.Attributes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, stdjsonMarshal(t, a.Key)+" : "+stdjsonMarshal(t, a.Value)...)
	}
	b = append(b, "}}\n"...)
	var got record.LogEntry
	require.NoError(t, c.Decode(b, &got))
	codectest.RequireEqual(t, e, &got)

	s := record.NewSample(6)
	b, err := stdjson.Marshal(map[string]any{"label": s.Label, "features": s.Features, "timestamp_ns": s.TimestampNs})
	require.NoError(t, err)
	var gs record.Sample
	require.NoError(t, c.Decode(b, &gs))
	codectest.RequireEqual(t, s, &gs)
}

func TestRejects(t *testing.T) {
	c := New()
	// Invalid UTF-8 becomes U+FFFD, as in encoding/json.
	var got record.LogEntry
	in := codectest.Encode(t, c, record.NewLogEntry(1))
	bad := bytes.Replace(in, []byte(`"service":"`), []byte("\"service\":\"\xff"), 1)
	require.NoError(t, c.Decode(bad, &got))
	require.True(t, strings.HasPrefix(got.Service, "\uFFFD"), got.Service)

	e := record.NewLogEntry(1)
	tid := `"` + base64.StdEncoding.EncodeToString(e.TraceID[:]) + `"`
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{`, `{"trace_id":` + tid,
		`{"trace_id":"AAAA"}`,
		`{"service":"x"}`,
		`{"trace_id":"!!!notbase64!!!"}`,
		`{"trace_id":` + tid + `,"level":7}`,
		`{"trace_id":` + tid + `,"level":"info"}`,
		`{"trace_id":` + tid + `,"level":1.5}`,
		`{"trace_id":` + tid + `,"timestamp_ns":1e3}`,
		`{"trace_id":` + tid + `,"timestamp_ns":99999999999999999999}`,
		`{"trace_id":` + tid + `,"tags":[1]}`,
		`{"trace_id":` + tid + `,"tags":"a"}`,
		`{"trace_id":` + tid + `,"attributes":{"a":1}}`,
		`{"trace_id":` + tid + `,"attributes":["a","b"]}`,
		`{"trace_id":` + tid + `,"attributes":{"a":{"b":"c"}}}`,
		`{"trace_id":` + tid + `,"http":{"status":-1}}`,
		`{"trace_id":` + tid + `} x`,
		`{"trace_id":` + tid + `}{}`,
	} {
		if err := c.Decode([]byte(s), &record.LogEntry{}); err == nil {
			t.Errorf("decoded: %s", s)
		} else {
			codectest.RequireMalformed(t, err, false)
		}
	}
	for _, s := range []string{
		`{"features":[1,2,3]}`, `{}`, `{"features":["a",2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}`,
		`{"features":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}`,
		`{"features":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],"label":"x"}`,
		`{"features":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,1e39]}`,
	} {
		codectest.RequireMalformed(t, c.Decode([]byte(s), &record.Sample{}), false)
	}
	for _, s := range []string{
		`{"dtype":9,"shape":[3],"data":"AAAAAAAAAAA="}`,
		`{"dtype":42,"shape":[],"data":""}`,
		`{"dtype":0,"shape":[1,1,1,1,1,1,1,1,1],"data":"AA=="}`,
		`{"dtype":0,"shape":[1],"data":"AA"}`,
	} {
		codectest.RequireMalformed(t, c.Decode([]byte(s), &record.Tensor{}), false)
	}
}

func FuzzDecodeLogEntry(f *testing.F) { codectest.Fuzz(f, New(), record.TypeLogEntry) }
func FuzzDecodeSample(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeSample) }
func FuzzDecodeTensor(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeTensor) }

func BenchmarkCodec(b *testing.B) { codectest.Bench(b, New()) }

// plainLog is the plain struct mapping of the LogEntry shape that the
// libraries encode and decode without help (attributes as a Go map, so
// unordered): the comparison for choosing the library.
type plainLog struct {
	TimestampNs int64             `json:"timestamp_ns"`
	Level       int32             `json:"level"`
	Service     string            `json:"service"`
	Host        string            `json:"host"`
	Message     string            `json:"message"`
	TraceID     []byte            `json:"trace_id"`
	Tags        []string          `json:"tags"`
	Attributes  map[string]string `json:"attributes"`
	HTTP        wireHTTP          `json:"http"`
}

func BenchmarkLibraries(b *testing.B) {
	e := record.NewLogEntry(1)
	v := plainLog{TimestampNs: e.TimestampNs, Level: int32(e.Level), Service: e.Service, Host: e.Host,
		Message: e.Message, TraceID: e.TraceID[:], Tags: e.Tags, Attributes: map[string]string{}, HTTP: wireHTTP(e.HTTP)}
	for _, a := range e.Attributes {
		v.Attributes[a.Key] = a.Value
	}
	libs := []struct {
		name      string
		marshal   func(any) ([]byte, error)
		unmarshal func([]byte, any) error
	}{
		{"encoding_json", stdjson.Marshal, stdjson.Unmarshal},
		{"go-json", gojson.Marshal, gojson.Unmarshal},
		{"sonic", sonic.Marshal, sonic.Unmarshal},
		{"sonic_copystring", api.Marshal, api.Unmarshal},
	}
	for _, l := range libs {
		b.Run("Marshal/"+l.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.marshal(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	enc := codectest.Encode(b, New(), e)
	for _, l := range libs {
		b.Run("Unmarshal/"+l.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out plainLog
				if err := l.unmarshal(enc, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func stringInt(v int64) string { return strconv.FormatInt(v, 10) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
