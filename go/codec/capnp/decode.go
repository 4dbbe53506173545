package capnp

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	capnplib "capnproto.org/go/capnp/v3"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/internal/fault"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
)

// Limits for untrusted input. Our schema nests three levels deep; the
// traversal limit allows reading every word a few times over, and stops
// amplification (many pointers to one large object).
const (
	depthLimit    = 8
	traverseSlack = 4096
)

// reader is a pooled read-only message; its arena never frees or zeroes
// the bytes it is given.
type reader struct {
	msg   capnplib.Message
	arena *capnplib.ReadOnlySingleSegment
}

var readers = sync.Pool{New: func() any {
	return &reader{arena: capnplib.NewReadOnlySingleSegment(nil)}
}}

func errf(format string, args ...any) error { return codec.Malformedf("capnp: "+format, args...) }

// open checks the stream header of b and points a pooled message at its
// single segment. Multi-segment messages (other writers, e.g. pycapnp for
// large records) go through capnp.Unmarshal, which allocates.
func open(b []byte) (*reader, *capnplib.Message, error) {
	if len(b) < 16 {
		return nil, nil, errf("message of %d bytes is too short", len(b))
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return nil, nil, errf("message is not 8-byte aligned")
	}
	nseg := uint64(binary.LittleEndian.Uint32(b)) + 1
	if nseg != 1 {
		hdr := (4 + 4*nseg + 7) &^ 7
		if nseg > 512 || hdr > uint64(len(b)) {
			return nil, nil, errf("bad stream header: %d segments", nseg)
		}
		total := hdr
		for i := uint64(0); i < nseg; i++ {
			total += 8 * uint64(binary.LittleEndian.Uint32(b[4+4*i:]))
		}
		if total > uint64(len(b)) {
			return nil, nil, errf("segments of %d bytes exceed message of %d", total, len(b))
		}
		m, err := capnplib.Unmarshal(b[:total])
		if err != nil {
			return nil, nil, errf("%v", err)
		}
		m.TraverseLimit = 2*total + traverseSlack
		m.DepthLimit = depthLimit
		return nil, m, nil
	}
	size := 8 * uint64(binary.LittleEndian.Uint32(b[4:]))
	if size == 0 || size > uint64(len(b))-8 {
		return nil, nil, errf("segment of %d bytes in message of %d", size, len(b))
	}
	r := readers.Get().(*reader)
	r.msg.TraverseLimit = 2*size + traverseSlack
	r.msg.DepthLimit = depthLimit
	r.arena.ReplaceData(b[8 : 8+size : 8+size])
	if _, err := r.msg.Reset(r.arena); err != nil {
		r.close()
		return nil, nil, errf("%v", err)
	}
	return r, &r.msg, nil
}

// close detaches the message from the caller's bytes and returns it to the pool.
func (r *reader) close() {
	if r == nil {
		return
	}
	_, _ = r.msg.Reset(nil) // releases the arena: drops the slice, never zeroes it
	readers.Put(r)
}

func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Decode implements codec.Codec. b must be 8-byte aligned. Strings and
// Tensor.Data alias b; TraceID is copied; out's slices are reused.
// Single-segment messages are read by the checked reader of read.go;
// multi-segment ones (and far pointers) by the runtime.
func (*Codec) Decode(b []byte, out record.Record) (err error) {
	switch out.(type) {
	case *record.LogEntry, *record.Sample, *record.Tensor:
	default:
		return fmt.Errorf("%w: %T", codec.ErrRecordType, out)
	}
	s, ok, err := single(b)
	if err != nil {
		return err
	}
	if ok {
		err = s.decode(out)
	}
	if !ok || err == errFar {
		err = decodeRuntime(b, out)
	}
	if err != nil {
		return err
	}
	if err := record.Validate(out); err != nil {
		return fmt.Errorf("%w: capnp: %w", codec.ErrMalformed, err)
	}
	return nil
}

// decode reads the root of s into out with the checked reader.
func (s *seg) decode(out record.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			err = errf("decode: %v", p)
		}
	}()
	switch o := out.(type) {
	case *record.LogEntry:
		return s.readLogEntry(o)
	case *record.Sample:
		return s.readSample(o)
	case *record.Tensor:
		return s.readTensor(o)
	}
	return nil
}

// decodeRuntime decodes b with the runtime and the generated accessors.
func decodeRuntime(b []byte, out record.Record) (err error) {
	r, msg, err := open(b)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			err = errf("decode: %v", p)
		}
		r.close()
	}()
	switch o := out.(type) {
	case *record.LogEntry:
		return decodeLogEntry(msg, o)
	case *record.Sample:
		return decodeSample(msg, o)
	case *record.Tensor:
		return decodeTensor(msg, o)
	}
	return nil
}

func wrap(err error) error { return errf("%v", err) }

func decodeLogEntry(msg *capnplib.Message, r *record.LogEntry) error {
	e, err := capnpgen.ReadRootLogEntry(msg)
	if err != nil {
		return wrap(err)
	}
	r.TimestampNs = e.TimestampNs()
	r.Level = record.Level(e.Level())
	var b []byte
	if b, err = e.ServiceBytes(); err != nil {
		return wrap(err)
	}
	r.Service = str(b)
	if b, err = e.HostBytes(); err != nil {
		return wrap(err)
	}
	r.Host = str(b)
	if b, err = e.Message_Bytes(); err != nil {
		return wrap(err)
	}
	r.Message = str(b)
	if b, err = e.TraceId(); err != nil {
		return wrap(err)
	}
	switch len(b) {
	case 0:
		r.TraceID = [record.TraceIDLen]byte{}
	case record.TraceIDLen:
		copy(r.TraceID[:], b)
	default:
		return errf("traceId has %d bytes, want %d", len(b), record.TraceIDLen)
	}

	tags, err := e.Tags()
	if err != nil {
		return wrap(err)
	}
	r.Tags = r.Tags[:0]
	for i := 0; i < tags.Len(); i++ {
		t, err := tags.BytesAt(i)
		if err != nil {
			return wrap(err)
		}
		r.Tags = append(r.Tags, str(t))
	}

	attrs, err := e.Attributes()
	if err != nil {
		return wrap(err)
	}
	r.Attributes = r.Attributes[:0]
	for i := 0; i < attrs.Len(); i++ {
		a := attrs.At(i)
		k, err := a.KeyBytes()
		if err != nil {
			return wrap(err)
		}
		v, err := a.ValueBytes()
		if err != nil {
			return wrap(err)
		}
		r.Attributes = append(r.Attributes, record.Attribute{Key: str(k), Value: str(v)})
	}

	h, err := e.Http()
	if err != nil {
		return wrap(err)
	}
	r.HTTP.Status = h.Status()
	r.HTTP.LatencyNs = h.LatencyNs()
	if b, err = h.MethodBytes(); err != nil {
		return wrap(err)
	}
	r.HTTP.Method = str(b)
	if b, err = h.PathBytes(); err != nil {
		return wrap(err)
	}
	r.HTTP.Path = str(b)
	return nil
}

func decodeSample(msg *capnplib.Message, r *record.Sample) error {
	s, err := capnpgen.ReadRootSample(msg)
	if err != nil {
		return wrap(err)
	}
	r.TimestampNs = s.TimestampNs()
	r.Label = s.Label()
	f, err := s.Features()
	if err != nil {
		return wrap(err)
	}
	switch f.Len() {
	case 0:
		r.Features = [record.SampleFeatures]float32{}
	case record.SampleFeatures:
		for i := range r.Features {
			r.Features[i] = f.At(i)
		}
	default:
		return errf("features has %d values, want %d", f.Len(), record.SampleFeatures)
	}
	return nil
}

func decodeTensor(msg *capnplib.Message, r *record.Tensor) error {
	t, err := capnpgen.ReadRootTensor(msg)
	if err != nil {
		return wrap(err)
	}
	b, err := t.NameBytes()
	if err != nil {
		return wrap(err)
	}
	r.Name = str(b)
	r.DType = record.DType(t.Dtype())
	shape, err := t.Shape()
	if err != nil {
		return wrap(err)
	}
	if shape.Len() > record.MaxTensorDims {
		return errf("tensor has %d dims, max %d", shape.Len(), record.MaxTensorDims)
	}
	r.Shape = r.Shape[:0]
	for i := 0; i < shape.Len(); i++ {
		r.Shape = append(r.Shape, shape.At(i))
	}
	if b, err = t.Data(); err != nil {
		return wrap(err)
	}
	if b == nil {
		b = []byte{}
	}
	r.Data = b[:len(b):len(b)]
	return nil
}

// ReadString implements codec.FieldReader: it reads one string field
// without decoding the rest, aliasing b.
func (*Codec) ReadString(b []byte, field codec.Field) (str string, err error) {
	if field < codec.FieldLogService || field > codec.FieldTensorName {
		return "", fmt.Errorf("%w: capnp: unknown field %d", codec.ErrRecordType, field)
	}
	if field <= codec.FieldLogMessage || field == codec.FieldTensorName {
		i := uint64(field - codec.FieldLogService)
		if field == codec.FieldTensorName {
			i = 0
		}
		if str, ok := rootText(b, i); ok {
			return str, nil
		}
	}
	return readStringGeneral(b, field)
}

// readStringGeneral reads a string field (a valid field) with the checked
// reader, falling back to the runtime for multi-segment messages and far
// pointers.
func readStringGeneral(b []byte, field codec.Field) (str string, err error) {
	s, ok, err := single(b)
	if err != nil {
		return "", err
	}
	if ok {
		str, err = s.readStringSafe(field)
		if err != errFar {
			return str, err
		}
	}
	return readStringRuntime(b, field)
}

// readStringSafe is readString turning a panic (a reader bug) into an error.
func (s *seg) readStringSafe(field codec.Field) (str string, err error) {
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			str, err = "", errf("read: %v", p)
		}
	}()
	return s.readString(field)
}

// readStringRuntime reads one string field with the generated accessors.
func readStringRuntime(b []byte, field codec.Field) (s string, err error) {
	r, msg, err := open(b)
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			s, err = "", errf("read: %v", p)
		}
		r.close()
	}()
	var v []byte
	if field == codec.FieldTensorName {
		t, err := capnpgen.ReadRootTensor(msg)
		if err != nil {
			return "", wrap(err)
		}
		v, err = t.NameBytes()
		if err != nil {
			return "", wrap(err)
		}
		return str(v), nil
	}
	e, err := capnpgen.ReadRootLogEntry(msg)
	if err != nil {
		return "", wrap(err)
	}
	switch field {
	case codec.FieldLogService:
		v, err = e.ServiceBytes()
	case codec.FieldLogHost:
		v, err = e.HostBytes()
	case codec.FieldLogMessage:
		v, err = e.Message_Bytes()
	default:
		h, herr := e.Http()
		if herr != nil {
			return "", wrap(herr)
		}
		if field == codec.FieldLogHTTPMethod {
			v, err = h.MethodBytes()
		} else {
			v, err = h.PathBytes()
		}
	}
	if err != nil {
		return "", wrap(err)
	}
	return str(v), nil
}
