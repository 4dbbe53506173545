package flatbuf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/internal/fault"
	"github.com/crossbuf/crossbuf/go/record"
)

var (
	logPool    = sync.Pool{New: func() any { return new(record.LogEntry) }}
	tensorPool = sync.Pool{New: func() any { return new(record.Tensor) }}
)

// Decode implements codec.Codec. Strings and Tensor.Data alias b; TraceID
// is copied; out's Tags, Attributes and Shape are reused.
func (*Codec) Decode(b []byte, out record.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			err = errf("decode: %v", p)
		}
	}()
	switch r := out.(type) {
	case *record.LogEntry:
		err = decodeLogEntry(b, r)
	case *record.Sample:
		err = decodeSample(b, r)
	case *record.Tensor:
		err = decodeTensor(b, r)
	default:
		return fmt.Errorf("%w: %T", codec.ErrRecordType, out)
	}
	if err != nil {
		return err
	}
	if err := record.Validate(out); err != nil {
		return fmt.Errorf("%w: flatbuffers: %w", codec.ErrMalformed, err)
	}
	return nil
}

// bad reports an invalid field.
//
//go:noinline
func bad(table, field string) error { return errf("%s.%s is out of range or malformed", table, field) }

func decodeLogEntry(b []byte, r *record.LogEntry) error {
	t, err := rootTab(b)
	if err != nil {
		return err
	}
	p, ok := t.at(b, vo(logTimestamp), 8)
	if !ok {
		return bad("LogEntry", "timestamp_ns")
	}
	r.TimestampNs = 0
	if p != 0 {
		r.TimestampNs = int64(binary.LittleEndian.Uint64(b[p:]))
	}
	if p, ok = t.at(b, vo(logLevel), 1); !ok {
		return bad("LogEntry", "level")
	}
	r.Level = 0
	if p != 0 {
		r.Level = record.Level(int8(b[p]))
	}
	if r.Service, ok = t.str(b, vo(logService)); !ok {
		return bad("LogEntry", "service")
	}
	if r.Host, ok = t.str(b, vo(logHost)); !ok {
		return bad("LogEntry", "host")
	}
	if r.Message, ok = t.str(b, vo(logMessage)); !ok {
		return bad("LogEntry", "message")
	}

	elems, n, ok := t.vec(b, vo(logTraceID), 1)
	if !ok {
		return bad("LogEntry", "trace_id")
	}
	switch n {
	case 0:
		r.TraceID = [record.TraceIDLen]byte{}
	case record.TraceIDLen:
		r.TraceID = [record.TraceIDLen]byte(b[elems : elems+record.TraceIDLen])
	default:
		return errf("trace_id has %d bytes, want %d", n, record.TraceIDLen)
	}

	if elems, n, ok = t.vec(b, vo(logTags), 4); !ok {
		return bad("LogEntry", "tags")
	}
	r.Tags = r.Tags[:0]
	for i := uint64(0); i < n; i++ {
		s, ok := strAt(b, elems+4*i)
		if !ok {
			return bad("LogEntry", "tags[i]")
		}
		r.Tags = append(r.Tags, s)
	}

	if elems, n, ok = t.vec(b, vo(logAttributes), 4); !ok {
		return bad("LogEntry", "attributes")
	}
	r.Attributes = r.Attributes[:0]
	for i := uint64(0); i < n; i++ {
		a, ok := subAt(b, elems+4*i)
		if !ok {
			return bad("LogEntry", "attributes[i]")
		}
		var kv record.Attribute
		if kv.Key, ok = a.str(b, vo(attrKey)); !ok {
			return bad("Attribute", "key")
		}
		if kv.Value, ok = a.str(b, vo(attrValue)); !ok {
			return bad("Attribute", "value")
		}
		r.Attributes = append(r.Attributes, kv)
	}

	r.HTTP = record.HTTP{}
	if p, ok = t.at(b, vo(logHTTP), 4); !ok {
		return bad("LogEntry", "http")
	}
	if p == 0 {
		return nil
	}
	h, ok := subAt(b, p)
	if !ok {
		return bad("LogEntry", "http")
	}
	if r.HTTP.Method, ok = h.str(b, vo(httpMethod)); !ok {
		return bad("Http", "method")
	}
	if r.HTTP.Path, ok = h.str(b, vo(httpPath)); !ok {
		return bad("Http", "path")
	}
	if p, ok = h.at(b, vo(httpStatus), 4); !ok {
		return bad("Http", "status")
	}
	if p != 0 {
		r.HTTP.Status = binary.LittleEndian.Uint32(b[p:])
	}
	if p, ok = h.at(b, vo(httpLatency), 8); !ok {
		return bad("Http", "latency_ns")
	}
	if p != 0 {
		r.HTTP.LatencyNs = int64(binary.LittleEndian.Uint64(b[p:]))
	}
	return nil
}

func decodeSample(b []byte, r *record.Sample) error {
	t, err := rootTab(b)
	if err != nil {
		return err
	}
	p, ok := t.at(b, vo(sampleTimestamp), 8)
	if !ok {
		return bad("Sample", "timestamp_ns")
	}
	r.TimestampNs = 0
	if p != 0 {
		r.TimestampNs = int64(binary.LittleEndian.Uint64(b[p:]))
	}
	if p, ok = t.at(b, vo(sampleLabel), 4); !ok {
		return bad("Sample", "label")
	}
	r.Label = 0
	if p != 0 {
		r.Label = int32(binary.LittleEndian.Uint32(b[p:]))
	}
	elems, n, ok := t.vec(b, vo(sampleFeatures), 4)
	if !ok {
		return bad("Sample", "features")
	}
	switch n {
	case 0:
		r.Features = [record.SampleFeatures]float32{}
	case record.SampleFeatures:
		f := b[elems : elems+4*record.SampleFeatures]
		for i := range r.Features {
			r.Features[i] = math.Float32frombits(binary.LittleEndian.Uint32(f[4*i:]))
		}
	default:
		return errf("features has %d values, want %d", n, record.SampleFeatures)
	}
	return nil
}

func decodeTensor(b []byte, r *record.Tensor) error {
	t, err := rootTab(b)
	if err != nil {
		return err
	}
	var ok bool
	if r.Name, ok = t.str(b, vo(tensorName)); !ok {
		return bad("Tensor", "name")
	}
	p, ok := t.at(b, vo(tensorDType), 1)
	if !ok {
		return bad("Tensor", "dtype")
	}
	r.DType = 0
	if p != 0 {
		r.DType = record.DType(int8(b[p]))
	}
	elems, n, ok := t.vec(b, vo(tensorShape), 8)
	if !ok {
		return bad("Tensor", "shape")
	}
	if n > record.MaxTensorDims {
		return errf("tensor has %d dims, max %d", n, record.MaxTensorDims)
	}
	r.Shape = r.Shape[:0]
	for i := uint64(0); i < n; i++ {
		r.Shape = append(r.Shape, int64(binary.LittleEndian.Uint64(b[elems+8*i:])))
	}
	if elems, n, ok = t.vec(b, vo(tensorData), 1); !ok {
		return bad("Tensor", "data")
	}
	if n == 0 {
		r.Data = b[:0:0]
	} else {
		r.Data = b[elems : elems+n : elems+n]
	}
	return nil
}

// ReadString implements codec.FieldReader: it reads one string field through
// the vtables, without decoding the rest, and returns it aliasing b.
func (*Codec) ReadString(b []byte, field codec.Field) (string, error) {
	switch field {
	case codec.FieldLogService:
		return rootString(b, vo(logService))
	case codec.FieldLogHost:
		return rootString(b, vo(logHost))
	case codec.FieldLogMessage:
		return rootString(b, vo(logMessage))
	case codec.FieldTensorName:
		return rootString(b, vo(tensorName))
	case codec.FieldLogHTTPMethod, codec.FieldLogHTTPPath:
		return readHTTPString(b, vo(httpMethod)+2*uint64(field-codec.FieldLogHTTPMethod))
	}
	return "", fmt.Errorf("%w: flatbuffers: unknown field %d", codec.ErrRecordType, field)
}

// rootString reads the string field at vtable offset off of the root table
// in one pass: root offset, table, vtable, field, string, each checked as
// openTab, at and strAt check them.
func rootString(b []byte, off uint64) (string, error) {
	n := uint64(len(b))
	if n < 8 || n > maxBuffer {
		return "", errf("buffer of %d bytes is out of range", n)
	}
	pos := uint64(binary.LittleEndian.Uint32(b))
	if pos < 4 || pos > n-4 {
		return "", errf("root table at %d is invalid", pos)
	}
	// A vtable before the buffer wraps around to a huge vt.
	vt := pos - uint64(int64(int32(binary.LittleEndian.Uint32(b[pos:]))))
	if vt > n-4 {
		return "", errf("root vtable at %d is invalid", int64(vt))
	}
	vtLen := uint64(binary.LittleEndian.Uint16(b[vt:]))
	tLen := uint64(binary.LittleEndian.Uint16(b[vt+2:]))
	if vtLen < 4 || vtLen&1 != 0 || vt+vtLen > n || tLen < 4 || pos+tLen > n {
		return "", errf("root table sizes %d, %d are invalid", vtLen, tLen)
	}
	if off >= vtLen {
		return "", nil
	}
	o := uint64(binary.LittleEndian.Uint16(b[vt+off:]))
	if o == 0 {
		return "", nil
	}
	if o < 4 || o+4 > tLen {
		return "", bad("root", "string field")
	}
	p := pos + o
	s := p + uint64(binary.LittleEndian.Uint32(b[p:]))
	if s+4 > n {
		return "", bad("root", "string field")
	}
	l := uint64(binary.LittleEndian.Uint32(b[s:]))
	end := s + 4 + l
	if end >= n || b[end] != 0 {
		return "", bad("root", "string field")
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), s+4)), int(l)), nil
}

// readHTTPString reads a string field of LogEntry.http.
func readHTTPString(b []byte, off uint64) (string, error) {
	t, err := rootTab(b)
	if err != nil {
		return "", err
	}
	p, ok := t.at(b, vo(logHTTP), 4)
	if !ok {
		return "", bad("LogEntry", "http")
	}
	if p == 0 {
		return "", nil
	}
	h, ok := subAt(b, p)
	if !ok {
		return "", bad("LogEntry", "http")
	}
	s, ok := h.str(b, off)
	if !ok {
		return "", bad("Http", "string field")
	}
	return s, nil
}
