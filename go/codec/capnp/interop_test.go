package capnp

import (
	"testing"

	capnplib "capnproto.org/go/capnp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
)

// The plain way: the generated API on a heap message, as any Cap'n Proto
// user would write it. multi spreads the message over small segments.

func newMsg(t testing.TB, multi bool) (*capnplib.Message, *capnplib.Segment) {
	var arena capnplib.Arena = capnplib.SingleSegment(nil)
	if multi {
		arena = capnplib.MultiSegment(nil)
	}
	msg, seg, err := capnplib.NewMessage(arena)
	require.NoError(t, err)
	return msg, seg
}

func marshal(t testing.TB, msg *capnplib.Message) []byte {
	b, err := msg.Marshal()
	require.NoError(t, err)
	return codectest.Aligned(b)
}

func plainLogEntry(t testing.TB, e *record.LogEntry, multi bool) []byte {
	msg, seg := newMsg(t, multi)
	r, err := capnpgen.NewRootLogEntry(seg)
	require.NoError(t, err)
	r.SetTimestampNs(e.TimestampNs)
	r.SetLevel(capnpgen.Level(e.Level))
	require.NoError(t, r.SetService(e.Service))
	require.NoError(t, r.SetHost(e.Host))
	require.NoError(t, r.SetMessage_(e.Message))
	require.NoError(t, r.SetTraceId(e.TraceID[:]))
	tags, err := r.NewTags(int32(len(e.Tags)))
	require.NoError(t, err)
	for i, s := range e.Tags {
		require.NoError(t, tags.Set(i, s))
	}
	attrs, err := r.NewAttributes(int32(len(e.Attributes)))
	require.NoError(t, err)
	for i, a := range e.Attributes {
		require.NoError(t, attrs.At(i).SetKey(a.Key))
		require.NoError(t, attrs.At(i).SetValue(a.Value))
	}
	h, err := r.NewHttp()
	require.NoError(t, err)
	require.NoError(t, h.SetMethod(e.HTTP.Method))
	require.NoError(t, h.SetPath(e.HTTP.Path))
	h.SetStatus(e.HTTP.Status)
	h.SetLatencyNs(e.HTTP.LatencyNs)
	return marshal(t, msg)
}

func plainSample(t testing.TB, s *record.Sample) []byte {
	msg, seg := newMsg(t, false)
	r, err := capnpgen.NewRootSample(seg)
	require.NoError(t, err)
	r.SetTimestampNs(s.TimestampNs)
	r.SetLabel(s.Label)
	f, err := r.NewFeatures(record.SampleFeatures)
	require.NoError(t, err)
	for i, v := range s.Features {
		f.Set(i, v)
	}
	return marshal(t, msg)
}

func plainTensor(t testing.TB, tn *record.Tensor, multi bool) []byte {
	msg, seg := newMsg(t, multi)
	r, err := capnpgen.NewRootTensor(seg)
	require.NoError(t, err)
	require.NoError(t, r.SetName(tn.Name))
	r.SetDtype(capnpgen.DType(tn.DType))
	shape, err := r.NewShape(int32(len(tn.Shape)))
	require.NoError(t, err)
	for i, d := range tn.Shape {
		shape.Set(i, d)
	}
	require.NoError(t, r.SetData(tn.Data))
	return marshal(t, msg)
}

// plainReadLogEntry reads b with capnp.Unmarshal and the generated accessors.
func plainReadLogEntry(t testing.TB, b []byte) *record.LogEntry {
	msg, err := capnplib.Unmarshal(b)
	require.NoError(t, err)
	r, err := capnpgen.ReadRootLogEntry(msg)
	require.NoError(t, err)
	e := &record.LogEntry{TimestampNs: r.TimestampNs(), Level: record.Level(r.Level())}
	e.Service, _ = r.Service()
	e.Host, _ = r.Host()
	e.Message, _ = r.Message_()
	tid, _ := r.TraceId()
	copy(e.TraceID[:], tid)
	tags, _ := r.Tags()
	for i := 0; i < tags.Len(); i++ {
		s, _ := tags.At(i)
		e.Tags = append(e.Tags, s)
	}
	attrs, _ := r.Attributes()
	for i := 0; i < attrs.Len(); i++ {
		k, _ := attrs.At(i).Key()
		v, _ := attrs.At(i).Value()
		e.Attributes = append(e.Attributes, record.Attribute{Key: k, Value: v})
	}
	h, _ := r.Http()
	e.HTTP.Method, _ = h.Method()
	e.HTTP.Path, _ = h.Path()
	e.HTTP.Status, e.HTTP.LatencyNs = h.Status(), h.LatencyNs()
	return e
}

func TestInteropOfficialReadsOurs(t *testing.T) {
	recs := codectest.EdgeLogEntries()
	for seed := uint64(0); seed < 50; seed++ {
		recs = append(recs, record.NewLogEntry(seed))
	}
	for _, e := range recs {
		codectest.CheckLogEntry(t, e, plainReadLogEntry(t, encode(t, e)), nil)
	}
	for seed := uint64(0); seed < 50; seed++ {
		s := record.NewSample(seed)
		msg, err := capnplib.Unmarshal(encode(t, s))
		require.NoError(t, err)
		r, err := capnpgen.ReadRootSample(msg)
		require.NoError(t, err)
		assert.Equal(t, s.TimestampNs, r.TimestampNs())
		assert.Equal(t, s.Label, r.Label())
		f, err := r.Features()
		require.NoError(t, err)
		require.Equal(t, record.SampleFeatures, f.Len())
		for i := range s.Features {
			assert.Equal(t, s.Features[i], f.At(i))
		}
	}
	for _, tn := range codectest.Tensors() {
		msg, err := capnplib.Unmarshal(encode(t, tn))
		require.NoError(t, err)
		r, err := capnpgen.ReadRootTensor(msg)
		require.NoError(t, err)
		got := &record.Tensor{DType: record.DType(r.Dtype())}
		got.Name, _ = r.Name()
		got.Data, _ = r.Data()
		shape, _ := r.Shape()
		for i := 0; i < shape.Len(); i++ {
			got.Shape = append(got.Shape, shape.At(i))
		}
		codectest.CheckTensor(t, tn, got, nil)
	}
}

func TestInteropWeReadOfficial(t *testing.T) {
	recs := append(codectest.EdgeLogEntries(), record.NewLogEntry(1), record.NewLogEntry(2))
	var got record.LogEntry
	for _, multi := range []bool{false, true} {
		for _, e := range recs {
			b := plainLogEntry(t, e, multi)
			require.NoError(t, cdc.Decode(b, &got))
			codectest.CheckLogEntry(t, e, &got, b)
			s, err := cdc.ReadString(b, codec.FieldLogHTTPPath)
			require.NoError(t, err)
			assert.Equal(t, e.HTTP.Path, s)
		}
		var gt record.Tensor
		for _, tn := range codectest.Tensors() {
			b := plainTensor(t, tn, multi)
			if multi && len(tn.Data) == 1<<20 {
				require.NotZero(t, b[0], "want a multi-segment message")
			}
			require.NoError(t, cdc.Decode(b, &gt))
			codectest.CheckTensor(t, tn, &gt, b)
		}
	}
	for seed := uint64(0); seed < 20; seed++ {
		s := record.NewSample(seed)
		var got record.Sample
		require.NoError(t, cdc.Decode(plainSample(t, s), &got))
		assert.Equal(t, *s, got)
	}
}

func BenchmarkEncode(b *testing.B) {
	codectest.BenchZeroCopyEncode(b, cdc, func(tb testing.TB, e *record.LogEntry) { plainLogEntry(tb, e, false) })
}

func BenchmarkDecode(b *testing.B) {
	codectest.BenchZeroCopyDecode(b, cdc, func(tb testing.TB, enc []byte) { plainReadLogEntry(tb, enc) })
}

func BenchmarkReadString(b *testing.B) {
	codectest.BenchZeroCopyReadString(b, cdc, func(enc []byte) {
		m, _ := capnplib.Unmarshal(enc)
		r, _ := capnpgen.ReadRootLogEntry(m)
		_, _ = r.Message_()
	})
}
