// Package plain uses the official FlatBuffers runtime the plain way, as any
// user would write it: a new Builder per record, the generated API, and a
// decode that copies every field into a record (strings are copied as Go
// strings do; byte vectors stay aliased, as their accessors return them).
// The interop tests and the benchmarks of bench/go share it.
package plain

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

// FlatBuffers encodes rec with a new Builder and the generated API.
func FlatBuffers(rec record.Record) ([]byte, error) {
	b := flatbuffers.NewBuilder(1024)
	switch r := rec.(type) {
	case *record.LogEntry:
		service, host, msg := b.CreateString(r.Service), b.CreateString(r.Host), b.CreateString(r.Message)
		trace := b.CreateByteVector(r.TraceID[:])
		offs := make([]flatbuffers.UOffsetT, len(r.Tags))
		for i, t := range r.Tags {
			offs[i] = b.CreateString(t)
		}
		fbgen.LogEntryStartTagsVector(b, len(offs))
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		tags := b.EndVector(len(offs))
		offs = make([]flatbuffers.UOffsetT, len(r.Attributes))
		for i, a := range r.Attributes {
			k, v := b.CreateString(a.Key), b.CreateString(a.Value)
			fbgen.AttributeStart(b)
			fbgen.AttributeAddKey(b, k)
			fbgen.AttributeAddValue(b, v)
			offs[i] = fbgen.AttributeEnd(b)
		}
		fbgen.LogEntryStartAttributesVector(b, len(offs))
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		attrs := b.EndVector(len(offs))
		method, path := b.CreateString(r.HTTP.Method), b.CreateString(r.HTTP.Path)
		fbgen.HttpStart(b)
		fbgen.HttpAddMethod(b, method)
		fbgen.HttpAddPath(b, path)
		fbgen.HttpAddStatus(b, r.HTTP.Status)
		fbgen.HttpAddLatencyNs(b, r.HTTP.LatencyNs)
		http := fbgen.HttpEnd(b)
		fbgen.LogEntryStart(b)
		fbgen.LogEntryAddTimestampNs(b, r.TimestampNs)
		fbgen.LogEntryAddLevel(b, fbgen.Level(r.Level))
		fbgen.LogEntryAddService(b, service)
		fbgen.LogEntryAddHost(b, host)
		fbgen.LogEntryAddMessage(b, msg)
		fbgen.LogEntryAddTraceId(b, trace)
		fbgen.LogEntryAddTags(b, tags)
		fbgen.LogEntryAddAttributes(b, attrs)
		fbgen.LogEntryAddHttp(b, http)
		b.Finish(fbgen.LogEntryEnd(b))
	case *record.Sample:
		fbgen.SampleStartFeaturesVector(b, len(r.Features))
		for i := len(r.Features) - 1; i >= 0; i-- {
			b.PrependFloat32(r.Features[i])
		}
		features := b.EndVector(len(r.Features))
		fbgen.SampleStart(b)
		fbgen.SampleAddTimestampNs(b, r.TimestampNs)
		fbgen.SampleAddFeatures(b, features)
		fbgen.SampleAddLabel(b, r.Label)
		b.Finish(fbgen.SampleEnd(b))
	case *record.Tensor:
		name := b.CreateString(r.Name)
		fbgen.TensorStartShapeVector(b, len(r.Shape))
		for i := len(r.Shape) - 1; i >= 0; i-- {
			b.PrependInt64(r.Shape[i])
		}
		shape := b.EndVector(len(r.Shape))
		data := b.CreateByteVector(r.Data)
		fbgen.TensorStart(b)
		fbgen.TensorAddName(b, name)
		fbgen.TensorAddDtype(b, fbgen.DType(r.DType))
		fbgen.TensorAddShape(b, shape)
		fbgen.TensorAddData(b, data)
		b.Finish(fbgen.TensorEnd(b))
	default:
		return nil, fmt.Errorf("record %T", rec)
	}
	return b.FinishedBytes(), nil
}

// FlatBuffersDecoder returns a decoder of t's encoding that copies every
// field into a record with the generated accessors.
func FlatBuffersDecoder(t record.Type) func([]byte) (any, error) {
	switch t {
	case record.TypeLogEntry:
		return func(w []byte) (any, error) {
			e := fbgen.GetRootAsLogEntry(w, 0)
			out := &record.LogEntry{
				TimestampNs: e.TimestampNs(), Level: record.Level(e.Level()),
				Service: string(e.Service()), Host: string(e.Host()), Message: string(e.Message()),
			}
			copy(out.TraceID[:], e.TraceIdBytes())
			out.Tags = make([]string, e.TagsLength())
			for i := range out.Tags {
				out.Tags[i] = string(e.Tags(i))
			}
			out.Attributes = make([]record.Attribute, e.AttributesLength())
			var a fbgen.Attribute
			for i := range out.Attributes {
				if e.Attributes(&a, i) {
					out.Attributes[i] = record.Attribute{Key: string(a.Key()), Value: string(a.Value())}
				}
			}
			if h := e.Http(nil); h != nil {
				out.HTTP = record.HTTP{Method: string(h.Method()), Path: string(h.Path()), Status: h.Status(), LatencyNs: h.LatencyNs()}
			}
			return out, nil
		}
	case record.TypeSample:
		return func(w []byte) (any, error) {
			s := fbgen.GetRootAsSample(w, 0)
			out := &record.Sample{TimestampNs: s.TimestampNs(), Label: s.Label()}
			for i := range min(s.FeaturesLength(), len(out.Features)) {
				out.Features[i] = s.Features(i)
			}
			return out, nil
		}
	}
	return func(w []byte) (any, error) {
		t := fbgen.GetRootAsTensor(w, 0)
		out := &record.Tensor{Name: string(t.Name()), DType: record.DType(t.Dtype()), Data: t.DataBytes()}
		out.Shape = make([]int64, t.ShapeLength())
		for i := range out.Shape {
			out.Shape[i] = t.Shape(i)
		}
		return out, nil
	}
}
