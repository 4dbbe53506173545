package protobuf

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
	"github.com/crossbuf/crossbuf/internal/gen/pbgen"
)

func TestRoundTrip(t *testing.T) { codectest.RoundTrip(t, New()) }

func TestTruncated(t *testing.T) { codectest.Truncations(t, New(), false) }

func TestGarbage(t *testing.T) { codectest.Garbage(t, New()) }

func TestMaxSizeIsExact(t *testing.T) {
	c := New()
	for _, tc := range codectest.Records() {
		n, err := c.MaxSize(tc.Rec)
		require.NoError(t, err)
		require.Len(t, codectest.Encode(t, c, tc.Rec), n, tc.Name)
	}
}

func TestUnsupported(t *testing.T) {
	c := New()
	_, err := c.MaxSize(nil)
	require.ErrorIs(t, err, codec.ErrRecordType)
	_, err = c.Encode(make([]byte, 10), &record.Tensor{DType: 99})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = c.ReadString(nil, codec.Field(99))
	require.ErrorIs(t, err, codec.ErrRecordType)
}

// Our bytes are standard protobuf: proto.Unmarshal reads them, and we read
// proto.Marshal's.
func TestInteropWithProtoPackage(t *testing.T) {
	c := New()
	for s := uint64(0); s < 5; s++ {
		e := record.NewLogEntry(s)
		var m pbgen.LogEntry
		require.NoError(t, proto.Unmarshal(codectest.Encode(t, c, e), &m))
		require.Equal(t, e.Service, m.Service)
		require.Equal(t, e.TraceID[:], m.TraceId)
		require.Len(t, m.Attributes, len(e.Attributes))
		require.Equal(t, e.Attributes[3].Value, m.Attributes[3].Value)
		require.Equal(t, e.HTTP.Path, m.Http.Path)
		b, err := proto.Marshal(&m)
		require.NoError(t, err)
		var back record.LogEntry
		require.NoError(t, c.Decode(b, &back))
		codectest.RequireEqual(t, e, &back)

		sm := record.NewSample(s)
		var ps pbgen.Sample
		require.NoError(t, proto.Unmarshal(codectest.Encode(t, c, sm), &ps))
		require.Equal(t, sm.Features[:], ps.Features)
		b, err = proto.Marshal(&ps)
		require.NoError(t, err)
		var sback record.Sample
		require.NoError(t, c.Decode(b, &sback))
		codectest.RequireEqual(t, sm, &sback)

		tn := record.NewTensor(s, 4096)
		var pt pbgen.Tensor
		require.NoError(t, proto.Unmarshal(codectest.Encode(t, c, tn), &pt))
		require.Equal(t, tn.Data, pt.Data)
		b, err = proto.Marshal(&pt)
		require.NoError(t, err)
		var tback record.Tensor
		require.NoError(t, c.Decode(b, &tback))
		codectest.RequireEqual(t, tn, &tback)
	}
}

func TestRejects(t *testing.T) {
	c := New()
	e := record.NewLogEntry(1)
	m := &pbgen.LogEntry{TraceId: e.TraceID[:8], Http: &pbgen.Http{}}
	b, _ := proto.Marshal(m)
	codectest.RequireMalformed(t, c.Decode(b, &record.LogEntry{}), false)

	m.TraceId = e.TraceID[:]
	m.Level = 9
	b, _ = proto.Marshal(m)
	codectest.RequireMalformed(t, c.Decode(b, &record.LogEntry{}), false)

	b, _ = proto.Marshal(&pbgen.Sample{Features: make([]float32, 15)})
	codectest.RequireMalformed(t, c.Decode(b, &record.Sample{}), false)

	b, _ = proto.Marshal(&pbgen.Tensor{Dtype: pbgen.DType_F32, Shape: []int64{3}, Data: make([]byte, 8)})
	codectest.RequireMalformed(t, c.Decode(b, &record.Tensor{}), false)

	// A length prefix far beyond the input.
	b = protowire.AppendTag(nil, 4, protowire.BytesType)
	b = protowire.AppendVarint(b, 1<<40)
	codectest.RequireMalformed(t, c.Decode(b, &record.Tensor{}), false)
	// Wrong wire type for a string field.
	b = protowire.AppendTag(nil, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	codectest.RequireMalformed(t, c.Decode(b, &record.LogEntry{}), false)
}

func FuzzDecodeLogEntry(f *testing.F) { codectest.Fuzz(f, New(), record.TypeLogEntry) }
func FuzzDecodeSample(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeSample) }
func FuzzDecodeTensor(f *testing.F)   { codectest.Fuzz(f, New(), record.TypeTensor) }

func BenchmarkCodec(b *testing.B) { codectest.Bench(b, New()) }

// BenchmarkProtoPackage is the plain google.golang.org/protobuf path, for
// comparison: convert, proto.Marshal, proto.Unmarshal.
func BenchmarkProtoPackage(b *testing.B) {
	e := record.NewLogEntry(1)
	l := new(logMsg)
	l.fill(e)
	b.Run("Marshal/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(&l.m); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, err := proto.Marshal(&l.m)
	require.NoError(b, err)
	b.Run("Unmarshal/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m pbgen.LogEntry
			if err := proto.Unmarshal(enc, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MarshalVT/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.m.MarshalVT(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UnmarshalVT/LogEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m pbgen.LogEntry
			if err := m.UnmarshalVT(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
