package bench

import (
	"errors"
	"fmt"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/crossbuf/crossbuf/go/codec/codecs/codectest"
	"github.com/crossbuf/crossbuf/go/codec/codecs/codectest/plain"
	"github.com/crossbuf/crossbuf/go/gen/capnpgen"
	"github.com/crossbuf/crossbuf/go/gen/fbgen"
	"github.com/crossbuf/crossbuf/go/record"
)

// The official FlatBuffers and Cap'n Proto runtimes used the plain way: a new
// Builder or Message per record, generated accessors, and a decode that
// copies every field into a record (strings are copied as Go strings do;
// byte vectors stay aliased, as their accessors return them).

func checkRecord(rec record.Record) func(any) error {
	return func(got any) error {
		if !codectest.Equal(rec, got.(record.Record)) {
			return mismatch("record", rec, got)
		}
		return nil
	}
}

func fbOps(tb testing.TB, rec record.Record) *ops {
	o := &ops{missing: map[string]string{}, check: checkRecord(rec)}
	o.encode = func() ([]byte, error) { return plain.FlatBuffers(rec) }
	o.decode = plain.FlatBuffersDecoder(rec.RecordType())
	o.read = fbReader(rec.RecordType())
	var err error
	if o.wire, err = o.encode(); err != nil {
		tb.Fatal(err)
	}
	return o
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

func capnpOps(tb testing.TB, rec record.Record) *ops {
	o := &ops{missing: map[string]string{}, check: checkRecord(rec)}
	o.encode = func() ([]byte, error) { return capnpEncode(rec) }
	o.decode = capnpDecoder(rec.RecordType())
	o.read = capnpReader(rec.RecordType())
	var err error
	if o.wire, err = o.encode(); err != nil {
		tb.Fatal(err)
	}
	return o
}

func capnpEncode(rec record.Record) ([]byte, error) {
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		return nil, err
	}
	switch r := rec.(type) {
	case *record.LogEntry:
		e, err := capnpgen.NewRootLogEntry(seg)
		if err != nil {
			return nil, err
		}
		e.SetTimestampNs(r.TimestampNs)
		e.SetLevel(capnpgen.Level(r.Level))
		err = errors.Join(e.SetService(r.Service), e.SetHost(r.Host), e.SetMessage_(r.Message), e.SetTraceId(r.TraceID[:]))
		if err != nil {
			return nil, err
		}
		tags, err := e.NewTags(int32(len(r.Tags)))
		if err != nil {
			return nil, err
		}
		for i, t := range r.Tags {
			if err := tags.Set(i, t); err != nil {
				return nil, err
			}
		}
		attrs, err := e.NewAttributes(int32(len(r.Attributes)))
		if err != nil {
			return nil, err
		}
		for i, a := range r.Attributes {
			at := attrs.At(i)
			if err := errors.Join(at.SetKey(a.Key), at.SetValue(a.Value)); err != nil {
				return nil, err
			}
		}
		h, err := e.NewHttp()
		if err != nil {
			return nil, err
		}
		if err := errors.Join(h.SetMethod(r.HTTP.Method), h.SetPath(r.HTTP.Path)); err != nil {
			return nil, err
		}
		h.SetStatus(r.HTTP.Status)
		h.SetLatencyNs(r.HTTP.LatencyNs)
	case *record.Sample:
		s, err := capnpgen.NewRootSample(seg)
		if err != nil {
			return nil, err
		}
		s.SetTimestampNs(r.TimestampNs)
		s.SetLabel(r.Label)
		f, err := s.NewFeatures(int32(len(r.Features)))
		if err != nil {
			return nil, err
		}
		for i, v := range r.Features {
			f.Set(i, v)
		}
	case *record.Tensor:
		t, err := capnpgen.NewRootTensor(seg)
		if err != nil {
			return nil, err
		}
		t.SetDtype(capnpgen.DType(r.DType))
		sh, err := t.NewShape(int32(len(r.Shape)))
		if err != nil {
			return nil, err
		}
		for i, v := range r.Shape {
			sh.Set(i, v)
		}
		if err := errors.Join(t.SetName(r.Name), t.SetData(r.Data)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("record %T", rec)
	}
	return msg.Marshal()
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
