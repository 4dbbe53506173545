package flatbuf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
	"github.com/crossbuf/crossbuf/internal/codectest/plain"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

// The plain way, as any FlatBuffers user would write it, is in package plain.

func plainEncode(t testing.TB, rec record.Record) []byte {
	b, err := plain.FlatBuffers(rec)
	require.NoError(t, err)
	return b
}

// plainReadLogEntry reads b with the generated accessors.
func plainReadLogEntry(t testing.TB, b []byte) *record.LogEntry {
	e, err := plain.FlatBuffersDecoder(record.TypeLogEntry)(b)
	require.NoError(t, err)
	return e.(*record.LogEntry)
}

func TestInteropOfficialReadsOurs(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		e := record.NewLogEntry(seed)
		codectest.CheckLogEntry(t, e, plainReadLogEntry(t, encode(t, e)), nil)

		s := record.NewSample(seed)
		r := fbgen.GetRootAsSample(encode(t, s), 0)
		assert.Equal(t, s.TimestampNs, r.TimestampNs())
		assert.Equal(t, s.Label, r.Label())
		require.Equal(t, record.SampleFeatures, r.FeaturesLength())
		for i := range s.Features {
			assert.Equal(t, s.Features[i], r.Features(i))
		}
	}
	for _, tn := range codectest.Tensors() {
		r := fbgen.GetRootAsTensor(encode(t, tn), 0)
		got := &record.Tensor{Name: string(r.Name()), DType: record.DType(r.Dtype()), Data: r.DataBytes()}
		for i := 0; i < r.ShapeLength(); i++ {
			got.Shape = append(got.Shape, r.Shape(i))
		}
		codectest.CheckTensor(t, tn, got, nil)
	}
}

func TestInteropWeReadOfficial(t *testing.T) {
	recs := append(codectest.EdgeLogEntries(), record.NewLogEntry(1), record.NewLogEntry(2))
	var got record.LogEntry
	for _, e := range recs {
		b := plainEncode(t, e)
		require.NoError(t, cdc.Decode(b, &got))
		codectest.CheckLogEntry(t, e, &got, b)
		s, err := cdc.ReadString(b, codec.FieldLogHTTPPath)
		require.NoError(t, err)
		assert.Equal(t, e.HTTP.Path, s)
	}
	for seed := uint64(0); seed < 20; seed++ {
		s := record.NewSample(seed)
		var got record.Sample
		require.NoError(t, cdc.Decode(plainEncode(t, s), &got))
		assert.Equal(t, *s, got)
	}
	var gt record.Tensor
	for _, tn := range codectest.Tensors() {
		b := plainEncode(t, tn)
		require.NoError(t, cdc.Decode(b, &gt))
		codectest.CheckTensor(t, tn, &gt, b)
	}
}

func BenchmarkEncode(b *testing.B) {
	codectest.BenchZeroCopyEncode(b, cdc, func(tb testing.TB, e *record.LogEntry) { plainEncode(tb, e) })
}

func BenchmarkDecode(b *testing.B) {
	codectest.BenchZeroCopyDecode(b, cdc, func(tb testing.TB, enc []byte) { plainReadLogEntry(tb, enc) })
}

func BenchmarkReadString(b *testing.B) {
	codectest.BenchZeroCopyReadString(b, cdc, func(enc []byte) {
		_ = fbgen.GetRootAsLogEntry(enc, 0).Message()
	})
}
