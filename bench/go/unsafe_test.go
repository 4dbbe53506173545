package bench

import (
	"errors"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

// The aliasing (unsafe) decodes of the official FlatBuffers and Cap'n Proto
// runtimes: their generated accessors return byte slices into the message,
// and these decodes make the record's strings point at them instead of
// copying, as crossbuf's zero-copy decode does. Into a new record per call
// (fresh-unsafe) or into one record whose slices are reused (reuse-unsafe).

// alias is a string over b's bytes, without a copy: valid while b is.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// resize returns s with length n, reusing its array when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// aliasDecoders returns the fresh-unsafe and reuse-unsafe variants of into.
func aliasDecoders(t record.Type, into func(w []byte, out record.Record) error) []decVariant {
	dst := record.New(t)
	return []decVariant{
		{vFreshUnsafe, func(w []byte) (any, error) { out := record.New(t); return out, into(w, out) }},
		{vReuseUnsafe, func(w []byte) (any, error) { return dst, into(w, dst) }},
	}
}

func fbDecodeAlias(w []byte, out record.Record) error {
	switch o := out.(type) {
	case *record.LogEntry:
		e := fbgen.GetRootAsLogEntry(w, 0)
		o.TimestampNs, o.Level = e.TimestampNs(), record.Level(e.Level())
		o.Service, o.Host, o.Message = alias(e.Service()), alias(e.Host()), alias(e.Message())
		copy(o.TraceID[:], e.TraceIdBytes())
		o.Tags = resize(o.Tags, e.TagsLength())
		for i := range o.Tags {
			o.Tags[i] = alias(e.Tags(i))
		}
		o.Attributes = resize(o.Attributes, e.AttributesLength())
		var a fbgen.Attribute
		for i := range o.Attributes {
			if !e.Attributes(&a, i) {
				return errors.New("attribute out of range")
			}
			o.Attributes[i] = record.Attribute{Key: alias(a.Key()), Value: alias(a.Value())}
		}
		var h fbgen.Http
		if e.Http(&h) == nil {
			return errors.New("no http")
		}
		o.HTTP = record.HTTP{Method: alias(h.Method()), Path: alias(h.Path()), Status: h.Status(), LatencyNs: h.LatencyNs()}
	case *record.Sample:
		s := fbgen.GetRootAsSample(w, 0)
		o.TimestampNs, o.Label = s.TimestampNs(), s.Label()
		for i := range min(s.FeaturesLength(), len(o.Features)) {
			o.Features[i] = s.Features(i)
		}
	case *record.Tensor:
		t := fbgen.GetRootAsTensor(w, 0)
		o.Name, o.DType, o.Data = alias(t.Name()), record.DType(t.Dtype()), t.DataBytes()
		o.Shape = resize(o.Shape, t.ShapeLength())
		for i := range o.Shape {
			o.Shape[i] = t.Shape(i)
		}
	}
	return nil
}

func capnpDecodeAlias(w []byte, out record.Record) error {
	msg, err := capnpMessage(w)
	if err != nil {
		return err
	}
	switch o := out.(type) {
	case *record.LogEntry:
		e, err := capnpgen.ReadRootLogEntry(msg)
		if err != nil {
			return err
		}
		o.TimestampNs, o.Level = e.TimestampNs(), record.Level(e.Level())
		service, e1 := e.ServiceBytes()
		host, e2 := e.HostBytes()
		message, e3 := e.Message_Bytes()
		trace, e4 := e.TraceId()
		tags, e5 := e.Tags()
		attrs, e6 := e.Attributes()
		h, e7 := e.Http()
		if err := errors.Join(e1, e2, e3, e4, e5, e6, e7); err != nil {
			return err
		}
		o.Service, o.Host, o.Message = alias(service), alias(host), alias(message)
		copy(o.TraceID[:], trace)
		o.Tags = resize(o.Tags, tags.Len())
		for i := range o.Tags {
			b, err := tags.BytesAt(i)
			if err != nil {
				return err
			}
			o.Tags[i] = alias(b)
		}
		o.Attributes = resize(o.Attributes, attrs.Len())
		for i := range o.Attributes {
			a := attrs.At(i)
			k, e1 := a.KeyBytes()
			v, e2 := a.ValueBytes()
			if err := errors.Join(e1, e2); err != nil {
				return err
			}
			o.Attributes[i] = record.Attribute{Key: alias(k), Value: alias(v)}
		}
		m, e1 := h.MethodBytes()
		p, e2 := h.PathBytes()
		if err := errors.Join(e1, e2); err != nil {
			return err
		}
		o.HTTP = record.HTTP{Method: alias(m), Path: alias(p), Status: h.Status(), LatencyNs: h.LatencyNs()}
	case *record.Sample:
		s, err := capnpgen.ReadRootSample(msg)
		if err != nil {
			return err
		}
		f, err := s.Features()
		if err != nil {
			return err
		}
		o.TimestampNs, o.Label = s.TimestampNs(), s.Label()
		for i := range min(f.Len(), len(o.Features)) {
			o.Features[i] = f.At(i)
		}
	case *record.Tensor:
		t, err := capnpgen.ReadRootTensor(msg)
		if err != nil {
			return err
		}
		name, e1 := t.NameBytes()
		data, e2 := t.Data()
		sh, e3 := t.Shape()
		if err := errors.Join(e1, e2, e3); err != nil {
			return err
		}
		o.Name, o.DType, o.Data = alias(name), record.DType(t.Dtype()), data
		o.Shape = resize(o.Shape, sh.Len())
		for i := range o.Shape {
			o.Shape[i] = sh.At(i)
		}
	}
	return nil
}
