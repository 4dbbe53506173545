package flatbuf

import (
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/codecs/codectest"
	"github.com/crossbuf/crossbuf/go/gen/fbgen"
	"github.com/crossbuf/crossbuf/go/record"
)

// The plain way: the generated API and a heap Builder, as any FlatBuffers
// user would write it.

func plainLogEntry(e *record.LogEntry) []byte {
	b := flatbuffers.NewBuilder(1024)
	service, host, message := b.CreateString(e.Service), b.CreateString(e.Host), b.CreateString(e.Message)
	trace := b.CreateByteVector(e.TraceID[:])
	tags := make([]flatbuffers.UOffsetT, len(e.Tags))
	for i, t := range e.Tags {
		tags[i] = b.CreateString(t)
	}
	fbgen.LogEntryStartTagsVector(b, len(tags))
	for i := len(tags) - 1; i >= 0; i-- {
		b.PrependUOffsetT(tags[i])
	}
	tagsVec := b.EndVector(len(tags))
	attrs := make([]flatbuffers.UOffsetT, len(e.Attributes))
	for i, a := range e.Attributes {
		k, v := b.CreateString(a.Key), b.CreateString(a.Value)
		fbgen.AttributeStart(b)
		fbgen.AttributeAddKey(b, k)
		fbgen.AttributeAddValue(b, v)
		attrs[i] = fbgen.AttributeEnd(b)
	}
	fbgen.LogEntryStartAttributesVector(b, len(attrs))
	for i := len(attrs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(attrs[i])
	}
	attrsVec := b.EndVector(len(attrs))
	method, path := b.CreateString(e.HTTP.Method), b.CreateString(e.HTTP.Path)
	fbgen.HttpStart(b)
	fbgen.HttpAddMethod(b, method)
	fbgen.HttpAddPath(b, path)
	fbgen.HttpAddStatus(b, e.HTTP.Status)
	fbgen.HttpAddLatencyNs(b, e.HTTP.LatencyNs)
	http := fbgen.HttpEnd(b)
	fbgen.LogEntryStart(b)
	fbgen.LogEntryAddTimestampNs(b, e.TimestampNs)
	fbgen.LogEntryAddLevel(b, fbgen.Level(e.Level))
	fbgen.LogEntryAddService(b, service)
	fbgen.LogEntryAddHost(b, host)
	fbgen.LogEntryAddMessage(b, message)
	fbgen.LogEntryAddTraceId(b, trace)
	fbgen.LogEntryAddTags(b, tagsVec)
	fbgen.LogEntryAddAttributes(b, attrsVec)
	fbgen.LogEntryAddHttp(b, http)
	b.Finish(fbgen.LogEntryEnd(b))
	return b.FinishedBytes()
}

func plainSample(s *record.Sample) []byte {
	b := flatbuffers.NewBuilder(128)
	fbgen.SampleStartFeaturesVector(b, len(s.Features))
	for i := len(s.Features) - 1; i >= 0; i-- {
		b.PrependFloat32(s.Features[i])
	}
	features := b.EndVector(len(s.Features))
	fbgen.SampleStart(b)
	fbgen.SampleAddTimestampNs(b, s.TimestampNs)
	fbgen.SampleAddFeatures(b, features)
	fbgen.SampleAddLabel(b, s.Label)
	b.Finish(fbgen.SampleEnd(b))
	return b.FinishedBytes()
}

func plainTensor(t *record.Tensor) []byte {
	b := flatbuffers.NewBuilder(len(t.Data) + 128)
	name := b.CreateString(t.Name)
	fbgen.TensorStartShapeVector(b, len(t.Shape))
	for i := len(t.Shape) - 1; i >= 0; i-- {
		b.PrependInt64(t.Shape[i])
	}
	shape := b.EndVector(len(t.Shape))
	data := b.CreateByteVector(t.Data)
	fbgen.TensorStart(b)
	fbgen.TensorAddName(b, name)
	fbgen.TensorAddDtype(b, fbgen.DType(t.DType))
	fbgen.TensorAddShape(b, shape)
	fbgen.TensorAddData(b, data)
	b.Finish(fbgen.TensorEnd(b))
	return b.FinishedBytes()
}

// plainReadLogEntry reads b with the generated accessors.
func plainReadLogEntry(b []byte) *record.LogEntry {
	r := fbgen.GetRootAsLogEntry(b, 0)
	e := &record.LogEntry{
		TimestampNs: r.TimestampNs(),
		Level:       record.Level(r.Level()),
		Service:     string(r.Service()),
		Host:        string(r.Host()),
		Message:     string(r.Message()),
	}
	copy(e.TraceID[:], r.TraceIdBytes())
	for i := 0; i < r.TagsLength(); i++ {
		e.Tags = append(e.Tags, string(r.Tags(i)))
	}
	var a fbgen.Attribute
	for i := 0; i < r.AttributesLength(); i++ {
		r.Attributes(&a, i)
		e.Attributes = append(e.Attributes, record.Attribute{Key: string(a.Key()), Value: string(a.Value())})
	}
	if h := r.Http(nil); h != nil {
		e.HTTP = record.HTTP{Method: string(h.Method()), Path: string(h.Path()), Status: h.Status(), LatencyNs: h.LatencyNs()}
	}
	return e
}

func TestInteropOfficialReadsOurs(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		e := record.NewLogEntry(seed)
		codectest.CheckLogEntry(t, e, plainReadLogEntry(encode(t, e)), nil)

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
		b := plainLogEntry(e)
		require.NoError(t, cdc.Decode(b, &got))
		codectest.CheckLogEntry(t, e, &got, b)
		s, err := cdc.ReadString(b, codec.FieldLogHTTPPath)
		require.NoError(t, err)
		assert.Equal(t, e.HTTP.Path, s)
	}
	for seed := uint64(0); seed < 20; seed++ {
		s := record.NewSample(seed)
		var got record.Sample
		require.NoError(t, cdc.Decode(plainSample(s), &got))
		assert.Equal(t, *s, got)
	}
	var gt record.Tensor
	for _, tn := range codectest.Tensors() {
		b := plainTensor(tn)
		require.NoError(t, cdc.Decode(b, &gt))
		codectest.CheckTensor(t, tn, &gt, b)
	}
}

func BenchmarkEncode(b *testing.B) {
	codectest.BenchZeroCopyEncode(b, cdc, func(_ testing.TB, e *record.LogEntry) { plainLogEntry(e) })
}

func BenchmarkDecode(b *testing.B) {
	codectest.BenchZeroCopyDecode(b, cdc, func(_ testing.TB, enc []byte) { plainReadLogEntry(enc) })
}

func BenchmarkReadString(b *testing.B) {
	codectest.BenchZeroCopyReadString(b, cdc, func(enc []byte) {
		_ = fbgen.GetRootAsLogEntry(enc, 0).Message()
	})
}
