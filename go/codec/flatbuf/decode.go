package flatbuf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/crossbuf/crossbuf/go/codec"
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

func decodeLogEntry(b []byte, r *record.LogEntry) error {
	t, err := root(b)
	if err != nil {
		return err
	}
	if r.TimestampNs, err = t.int64(logTimestamp); err != nil {
		return err
	}
	lvl, err := t.int8(logLevel)
	if err != nil {
		return err
	}
	r.Level = record.Level(lvl)
	if r.Service, err = t.string(logService); err != nil {
		return err
	}
	if r.Host, err = t.string(logHost); err != nil {
		return err
	}
	if r.Message, err = t.string(logMessage); err != nil {
		return err
	}

	elems, n, err := t.vector(logTraceID, 1)
	if err != nil {
		return err
	}
	switch n {
	case 0:
		r.TraceID = [record.TraceIDLen]byte{}
	case record.TraceIDLen:
		copy(r.TraceID[:], b[elems:])
	default:
		return errf("trace_id has %d bytes, want %d", n, record.TraceIDLen)
	}

	if elems, n, err = t.vector(logTags, 4); err != nil {
		return err
	}
	r.Tags = r.Tags[:0]
	for i := uint64(0); i < n; i++ {
		s, err := elemString(b, elems, i)
		if err != nil {
			return err
		}
		r.Tags = append(r.Tags, s)
	}

	if elems, n, err = t.vector(logAttributes, 4); err != nil {
		return err
	}
	r.Attributes = r.Attributes[:0]
	for i := uint64(0); i < n; i++ {
		a, err := elemTable(b, elems, i)
		if err != nil {
			return err
		}
		var kv record.Attribute
		if kv.Key, err = a.string(attrKey); err != nil {
			return err
		}
		if kv.Value, err = a.string(attrValue); err != nil {
			return err
		}
		r.Attributes = append(r.Attributes, kv)
	}

	r.HTTP = record.HTTP{}
	h, ok, err := t.table(logHTTP)
	if err != nil || !ok {
		return err
	}
	if r.HTTP.Method, err = h.string(httpMethod); err != nil {
		return err
	}
	if r.HTTP.Path, err = h.string(httpPath); err != nil {
		return err
	}
	if r.HTTP.Status, err = h.uint32(httpStatus); err != nil {
		return err
	}
	r.HTTP.LatencyNs, err = h.int64(httpLatency)
	return err
}

func decodeSample(b []byte, r *record.Sample) error {
	t, err := root(b)
	if err != nil {
		return err
	}
	if r.TimestampNs, err = t.int64(sampleTimestamp); err != nil {
		return err
	}
	if r.Label, err = t.int32(sampleLabel); err != nil {
		return err
	}
	elems, n, err := t.vector(sampleFeatures, 4)
	if err != nil {
		return err
	}
	switch n {
	case 0:
		r.Features = [record.SampleFeatures]float32{}
	case record.SampleFeatures:
		for i := range r.Features {
			r.Features[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[elems+4*uint64(i):]))
		}
	default:
		return errf("features has %d values, want %d", n, record.SampleFeatures)
	}
	return nil
}

func decodeTensor(b []byte, r *record.Tensor) error {
	t, err := root(b)
	if err != nil {
		return err
	}
	if r.Name, err = t.string(tensorName); err != nil {
		return err
	}
	dt, err := t.int8(tensorDType)
	if err != nil {
		return err
	}
	r.DType = record.DType(dt)
	elems, n, err := t.vector(tensorShape, 8)
	if err != nil {
		return err
	}
	if n > record.MaxTensorDims {
		return errf("tensor has %d dims, max %d", n, record.MaxTensorDims)
	}
	r.Shape = r.Shape[:0]
	for i := uint64(0); i < n; i++ {
		r.Shape = append(r.Shape, int64(binary.LittleEndian.Uint64(b[elems+8*i:])))
	}
	if elems, n, err = t.vector(tensorData, 1); err != nil {
		return err
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
func (*Codec) ReadString(b []byte, field codec.Field) (s string, err error) {
	t, err := root(b)
	if err != nil {
		return "", err
	}
	switch field {
	case codec.FieldLogService:
		return t.string(logService)
	case codec.FieldLogHost:
		return t.string(logHost)
	case codec.FieldLogMessage:
		return t.string(logMessage)
	case codec.FieldLogHTTPMethod, codec.FieldLogHTTPPath:
		h, ok, err := t.table(logHTTP)
		if err != nil || !ok {
			return "", err
		}
		if field == codec.FieldLogHTTPMethod {
			return h.string(httpMethod)
		}
		return h.string(httpPath)
	case codec.FieldTensorName:
		return t.string(tensorName)
	}
	return "", fmt.Errorf("%w: flatbuffers: unknown field %d", codec.ErrRecordType, field)
}
