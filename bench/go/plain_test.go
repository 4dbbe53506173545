package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"capnproto.org/go/capnp/v3"
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/codectest/plain"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

// The official FlatBuffers and Cap'n Proto runtimes with their generated code:
// encode with a new Builder or Message per record (fresh) or one reset per
// record (reuse); decode copies every field into a new record (strings are
// copied as Go strings do; byte vectors stay aliased, as their accessors
// return them); read-one-field uses the generated accessor in place.

func fbOps(tb testing.TB, pool []record.Record) *ops {
	t := pool[0].RecordType()
	reused := flatbuffers.NewBuilder(1024)
	o := &ops{
		check: checkRecord,
		encodes: []encVariant{
			{vFresh, func(i int) ([]byte, error) { return fbBuild(flatbuffers.NewBuilder(1024), pool[i]) }},
			{vReuse, func(i int) ([]byte, error) { reused.Reset(); return fbBuild(reused, pool[i]) }},
		},
		decodes:     append([]decVariant{{vFresh, plain.FlatBuffersDecoder(t)}}, aliasDecoders(t, fbDecodeAlias)...),
		read:        fbReader(t),
		readVariant: vInPlace,
	}
	for _, rec := range pool {
		w, err := fbBuild(flatbuffers.NewBuilder(1024), rec)
		if err != nil {
			tb.Fatal(err)
		}
		o.wires = append(o.wires, w)
	}
	return o
}

// fbBuild builds rec with b and the generated API (the calls of
// codectest/plain, with the Builder passed in so it can be reused and the
// vector offsets on the stack). The result aliases b's buffer until b is reset.
func fbBuild(b *flatbuffers.Builder, rec record.Record) ([]byte, error) {
	switch r := rec.(type) {
	case *record.LogEntry:
		service, host, msg := b.CreateString(r.Service), b.CreateString(r.Host), b.CreateString(r.Message)
		trace := b.CreateByteVector(r.TraceID[:])
		var offs [32]flatbuffers.UOffsetT
		if len(r.Tags) > len(offs) || len(r.Attributes) > len(offs) {
			return nil, fmt.Errorf("more than %d tags or attributes", len(offs))
		}
		for i, t := range r.Tags {
			offs[i] = b.CreateString(t)
		}
		fbgen.LogEntryStartTagsVector(b, len(r.Tags))
		for i := len(r.Tags) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		tags := b.EndVector(len(r.Tags))
		for i, a := range r.Attributes {
			k, v := b.CreateString(a.Key), b.CreateString(a.Value)
			fbgen.AttributeStart(b)
			fbgen.AttributeAddKey(b, k)
			fbgen.AttributeAddValue(b, v)
			offs[i] = fbgen.AttributeEnd(b)
		}
		fbgen.LogEntryStartAttributesVector(b, len(r.Attributes))
		for i := len(r.Attributes) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		attrs := b.EndVector(len(r.Attributes))
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

func fbReader(t record.Type) func([]byte) (int, error) {
	switch t {
	case record.TypeLogEntry:
		return func(w []byte) (int, error) { return len(fbgen.GetRootAsLogEntry(w, 0).Message()), nil }
	case record.TypeSample:
		return func(w []byte) (int, error) { return int(fbgen.GetRootAsSample(w, 0).Label()), nil }
	}
	return func(w []byte) (int, error) { return len(fbgen.GetRootAsTensor(w, 0).Name()), nil }
}

func capnpOps(tb testing.TB, pool []record.Record) *ops {
	t := pool[0].RecordType()
	o := &ops{check: checkRecord, read: capnpReader(t), readVariant: vInPlace,
		decodes: append([]decVariant{{vFresh, capnpDecoder(t)}}, aliasDecoders(t, capnpDecodeAlias)...)}
	size := 0
	for _, rec := range pool {
		w, err := capnpFresh(rec)
		if err != nil {
			tb.Fatal(err)
		}
		o.wires = append(o.wires, w)
		size = max(size, len(w))
	}
	// reuse: one Message reset onto one buffer (arena reuse); the stream
	// header is written in front of the segment.
	var msg capnp.Message
	buf := make([]byte, size+64)
	o.encodes = []encVariant{
		{vFresh, func(i int) ([]byte, error) { return capnpFresh(pool[i]) }},
		{vReuse, func(i int) ([]byte, error) {
			seg, err := msg.Reset(capnp.SingleSegment(buf[8:8]))
			if err != nil {
				return nil, err
			}
			if err := capnpBuild(seg, pool[i]); err != nil {
				return nil, err
			}
			n := len(seg.Data())
			binary.LittleEndian.PutUint32(buf[0:], 0) // one segment
			binary.LittleEndian.PutUint32(buf[4:], uint32(n/8))
			return buf[:8+n], nil
		}},
	}
	return o
}

// capnpFresh builds rec in a new Message and marshals it into a new slice.
func capnpFresh(rec record.Record) ([]byte, error) {
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		return nil, err
	}
	if err := capnpBuild(seg, rec); err != nil {
		return nil, err
	}
	return msg.Marshal()
}

// capnpBuild builds rec as the root of seg's message with the generated API.
func capnpBuild(seg *capnp.Segment, rec record.Record) error {
	switch r := rec.(type) {
	case *record.LogEntry:
		e, err := capnpgen.NewRootLogEntry(seg)
		if err != nil {
			return err
		}
		e.SetTimestampNs(r.TimestampNs)
		e.SetLevel(capnpgen.Level(r.Level))
		err = errors.Join(e.SetService(r.Service), e.SetHost(r.Host), e.SetMessage_(r.Message), e.SetTraceId(r.TraceID[:]))
		if err != nil {
			return err
		}
		tags, err := e.NewTags(int32(len(r.Tags)))
		if err != nil {
			return err
		}
		for i, t := range r.Tags {
			if err := tags.Set(i, t); err != nil {
				return err
			}
		}
		attrs, err := e.NewAttributes(int32(len(r.Attributes)))
		if err != nil {
			return err
		}
		for i, a := range r.Attributes {
			at := attrs.At(i)
			if err := errors.Join(at.SetKey(a.Key), at.SetValue(a.Value)); err != nil {
				return err
			}
		}
		h, err := e.NewHttp()
		if err != nil {
			return err
		}
		if err := errors.Join(h.SetMethod(r.HTTP.Method), h.SetPath(r.HTTP.Path)); err != nil {
			return err
		}
		h.SetStatus(r.HTTP.Status)
		h.SetLatencyNs(r.HTTP.LatencyNs)
	case *record.Sample:
		s, err := capnpgen.NewRootSample(seg)
		if err != nil {
			return err
		}
		s.SetTimestampNs(r.TimestampNs)
		s.SetLabel(r.Label)
		f, err := s.NewFeatures(int32(len(r.Features)))
		if err != nil {
			return err
		}
		for i, v := range r.Features {
			f.Set(i, v)
		}
	case *record.Tensor:
		t, err := capnpgen.NewRootTensor(seg)
		if err != nil {
			return err
		}
		t.SetDtype(capnpgen.DType(r.DType))
		sh, err := t.NewShape(int32(len(r.Shape)))
		if err != nil {
			return err
		}
		for i, v := range r.Shape {
			sh.Set(i, v)
		}
		if err := errors.Join(t.SetName(r.Name), t.SetData(r.Data)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("record %T", rec)
	}
	return nil
}

// capnpMessage opens w in place (capnp.Unmarshal does not copy).
func capnpMessage(w []byte) (*capnp.Message, error) {
	msg, err := capnp.Unmarshal(w)
	if err != nil {
		return nil, err
	}
	msg.ResetReadLimit(unlimited)
	return msg, nil
}

func capnpDecoder(t record.Type) func([]byte) (any, error) {
	switch t {
	case record.TypeLogEntry:
		return func(w []byte) (any, error) {
			msg, err := capnpMessage(w)
			if err != nil {
				return nil, err
			}
			e, err := capnpgen.ReadRootLogEntry(msg)
			if err != nil {
				return nil, err
			}
			out := &record.LogEntry{TimestampNs: e.TimestampNs(), Level: record.Level(e.Level())}
			var e1, e2, e3 error
			out.Service, e1 = e.Service()
			out.Host, e2 = e.Host()
			out.Message, e3 = e.Message_()
			trace, e4 := e.TraceId()
			if err := errors.Join(e1, e2, e3, e4); err != nil {
				return nil, err
			}
			copy(out.TraceID[:], trace)
			tags, err := e.Tags()
			if err != nil {
				return nil, err
			}
			out.Tags = make([]string, tags.Len())
			for i := range out.Tags {
				if out.Tags[i], err = tags.At(i); err != nil {
					return nil, err
				}
			}
			attrs, err := e.Attributes()
			if err != nil {
				return nil, err
			}
			out.Attributes = make([]record.Attribute, attrs.Len())
			for i := range out.Attributes {
				a := attrs.At(i)
				k, e1 := a.Key()
				v, e2 := a.Value()
				if err := errors.Join(e1, e2); err != nil {
					return nil, err
				}
				out.Attributes[i] = record.Attribute{Key: k, Value: v}
			}
			h, err := e.Http()
			if err != nil {
				return nil, err
			}
			m, e1 := h.Method()
			p, e2 := h.Path()
			if err := errors.Join(e1, e2); err != nil {
				return nil, err
			}
			out.HTTP = record.HTTP{Method: m, Path: p, Status: h.Status(), LatencyNs: h.LatencyNs()}
			return out, nil
		}
	case record.TypeSample:
		return func(w []byte) (any, error) {
			msg, err := capnpMessage(w)
			if err != nil {
				return nil, err
			}
			s, err := capnpgen.ReadRootSample(msg)
			if err != nil {
				return nil, err
			}
			out := &record.Sample{TimestampNs: s.TimestampNs(), Label: s.Label()}
			f, err := s.Features()
			if err != nil {
				return nil, err
			}
			for i := range min(f.Len(), len(out.Features)) {
				out.Features[i] = f.At(i)
			}
			return out, nil
		}
	}
	return func(w []byte) (any, error) {
		msg, err := capnpMessage(w)
		if err != nil {
			return nil, err
		}
		t, err := capnpgen.ReadRootTensor(msg)
		if err != nil {
			return nil, err
		}
		out := &record.Tensor{DType: record.DType(t.Dtype())}
		name, e1 := t.Name()
		data, e2 := t.Data()
		sh, e3 := t.Shape()
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, err
		}
		out.Name, out.Data = name, data
		out.Shape = make([]int64, sh.Len())
		for i := range out.Shape {
			out.Shape[i] = sh.At(i)
		}
		return out, nil
	}
}

func capnpReader(t record.Type) func([]byte) (int, error) {
	return func(w []byte) (int, error) {
		msg, err := capnpMessage(w)
		if err != nil {
			return 0, err
		}
		switch t {
		case record.TypeLogEntry:
			e, err := capnpgen.ReadRootLogEntry(msg)
			if err != nil {
				return 0, err
			}
			s, err := e.Message_()
			return len(s), err
		case record.TypeSample:
			s, err := capnpgen.ReadRootSample(msg)
			return int(s.Label()), err
		}
		tn, err := capnpgen.ReadRootTensor(msg)
		if err != nil {
			return 0, err
		}
		s, err := tn.Name()
		return len(s), err
	}
}
