// Package flatbuf is crossbuf's FlatBuffers codec (schemas/crossbuf.fbs).
//
// Encode builds with the official Go Builder directly inside the caller's
// buffer (region memory); Decode and ReadString read in place through a
// bounds-checking verifier (verify.go), because the Go runtime has none.
package flatbuf

import (
	"fmt"
	"sync"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// Slot numbers of the schema's fields (vtable index = 4 + 2*slot).
const (
	logTimestamp = iota
	logLevel
	logService
	logHost
	logMessage
	logTraceID
	logTags
	logAttributes
	logHTTP
	logFields
)

const (
	attrKey = iota
	attrValue
	attrFields
)

const (
	httpMethod = iota
	httpPath
	httpStatus
	httpLatency
	httpFields
)

const (
	sampleTimestamp = iota
	sampleFeatures
	sampleLabel
	sampleFields
)

const (
	tensorName = iota
	tensorDType
	tensorShape
	tensorData
	tensorFields
)

// Codec is the FlatBuffers codec. The zero value is ready; it is safe for
// concurrent use.
type Codec struct{}

var (
	_ codec.Codec       = (*Codec)(nil)
	_ codec.FieldReader = (*Codec)(nil)
)

// New returns the FlatBuffers codec.
func New() *Codec { return &Codec{} }

// ID implements codec.Codec.
func (*Codec) ID() codec.ID { return codec.FlatBuffers }

// ZeroCopy implements codec.Codec.
func (*Codec) ZeroCopy() bool { return true }

// Size bounds of the Builder's output. Each item may be preceded by
// alignment padding of up to its alignment minus one.
const (
	strOver   = 4 + 1 + 3 // length prefix, NUL, padding
	bytesOver = 4 + 3     // length prefix, padding
	vecOver   = 4 + 3 + 7 // length prefix, padding to 4, then to 8
	// A table: soffset (4+3), each field (size + size-1), vtable of
	// 2 bytes per field plus its 4-byte header.
	offField   = 4 + 3
	logTable   = 7 + (8 + 7) + 1 + 7*offField + 2*logFields + 4
	attrTable  = 7 + 2*offField + 2*attrFields + 4
	httpTable  = 7 + 2*offField + (4 + 3) + (8 + 7) + 2*httpFields + 4
	sampleTbl  = 7 + (8 + 7) + offField + (4 + 3) + 2*sampleFields + 4
	tensorTbl  = 7 + offField + 1 + 2*offField + 2*tensorFields + 4
	finishOver = 7 + 4 + 1 // root offset padded to minalign; the Builder needs one spare byte
)

func strSize(s string) int { return len(s) + strOver }

// MaxSize implements codec.Codec. The bound is a multiple of 8.
func (*Codec) MaxSize(rec record.Record) (int, error) {
	n, err := maxSize(rec)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func maxSize(rec record.Record) (int, error) {
	var n int
	switch r := rec.(type) {
	case *record.LogEntry:
		n = logTable + strSize(r.Service) + strSize(r.Host) + strSize(r.Message) +
			record.TraceIDLen + bytesOver + vecOver + 4*len(r.Tags) +
			vecOver + 4*len(r.Attributes) + httpTable + strSize(r.HTTP.Method) + strSize(r.HTTP.Path)
		for _, t := range r.Tags {
			n += strSize(t)
		}
		for i := range r.Attributes {
			n += attrTable + strSize(r.Attributes[i].Key) + strSize(r.Attributes[i].Value)
		}
	case *record.Sample:
		n = sampleTbl + vecOver + 4*record.SampleFeatures
	case *record.Tensor:
		n = tensorTbl + strSize(r.Name) + vecOver + 8*len(r.Shape) + bytesOver + 8 + len(r.Data)
	default:
		return 0, fmt.Errorf("%w: %T", codec.ErrRecordType, rec)
	}
	n = (n + finishOver + 7) &^ 7
	if n > maxBuffer {
		return 0, fmt.Errorf("%w: flatbuffers: record needs %d bytes, max %d", codec.ErrInvalid, n, maxBuffer)
	}
	return n, nil
}

// encoder is the pooled per-call state: the Builder keeps its vtable
// slices and offs is reused, so a steady Encode does not allocate.
type encoder struct {
	b    *flatbuffers.Builder
	offs []flatbuffers.UOffsetT
}

var encoders = sync.Pool{New: func() any { return &encoder{b: flatbuffers.NewBuilder(0)} }}

// Encode implements codec.Codec. The encoding ends at dst[MaxSize(rec)]
// (minus nothing: it fills back to front) and starts 8-byte aligned
// relative to dst.
func (*Codec) Encode(dst []byte, rec record.Record) (out []byte, err error) {
	n, err := maxSize(rec)
	if err != nil {
		return nil, err
	}
	if err := record.Validate(rec); err != nil {
		return nil, err
	}
	if len(dst) < n {
		return nil, fmt.Errorf("%w: flatbuffers: need %d bytes, have %d", codec.ErrShortBuffer, n, len(dst))
	}
	e := encoders.Get().(*encoder)
	defer func() {
		e.b.Bytes = nil // never keep region memory reachable from the pool
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: flatbuffers: builder: %v", codec.ErrShortBuffer, p)
			return // drop the encoder: its Builder may be mid-object
		}
		encoders.Put(e)
	}()
	b := e.b
	b.Bytes = dst[:n:n]
	b.Reset()
	var root flatbuffers.UOffsetT
	switch r := rec.(type) {
	case *record.LogEntry:
		root = e.logEntry(r)
	case *record.Sample:
		root = e.sample(r)
	case *record.Tensor:
		root = e.tensor(r)
	}
	b.Finish(root)
	// On overflow the Builder silently moves to a new heap slice.
	if len(b.Bytes) != n || unsafe.SliceData(b.Bytes) != unsafe.SliceData(dst) {
		return nil, fmt.Errorf("%w: flatbuffers: builder outgrew %d bytes", codec.ErrShortBuffer, n)
	}
	return dst[b.Head():n:n], nil
}

// str creates s, or returns 0 (field absent, reads as "") when s is empty.
func str(b *flatbuffers.Builder, s string) flatbuffers.UOffsetT {
	if s == "" {
		return 0
	}
	return b.CreateString(s)
}

func (e *encoder) logEntry(r *record.LogEntry) flatbuffers.UOffsetT {
	b := e.b
	service, host, message := str(b, r.Service), str(b, r.Host), str(b, r.Message)
	traceID := b.CreateByteVector(r.TraceID[:])

	var tags flatbuffers.UOffsetT
	if len(r.Tags) > 0 {
		e.offs = e.offs[:0]
		for _, t := range r.Tags {
			e.offs = append(e.offs, b.CreateString(t))
		}
		tags = e.vector(e.offs)
	}

	var attrs flatbuffers.UOffsetT
	if len(r.Attributes) > 0 {
		e.offs = e.offs[:0]
		for i := range r.Attributes {
			k, v := str(b, r.Attributes[i].Key), str(b, r.Attributes[i].Value)
			b.StartObject(attrFields)
			b.PrependUOffsetTSlot(attrValue, v, 0)
			b.PrependUOffsetTSlot(attrKey, k, 0)
			e.offs = append(e.offs, b.EndObject())
		}
		attrs = e.vector(e.offs)
	}

	method, path := str(b, r.HTTP.Method), str(b, r.HTTP.Path)
	b.StartObject(httpFields)
	b.PrependInt64Slot(httpLatency, r.HTTP.LatencyNs, 0)
	b.PrependUOffsetTSlot(httpPath, path, 0)
	b.PrependUOffsetTSlot(httpMethod, method, 0)
	b.PrependUint32Slot(httpStatus, r.HTTP.Status, 0)
	http := b.EndObject()

	b.StartObject(logFields)
	b.PrependInt64Slot(logTimestamp, r.TimestampNs, 0)
	b.PrependUOffsetTSlot(logHTTP, http, 0)
	b.PrependUOffsetTSlot(logAttributes, attrs, 0)
	b.PrependUOffsetTSlot(logTags, tags, 0)
	b.PrependUOffsetTSlot(logTraceID, traceID, 0)
	b.PrependUOffsetTSlot(logMessage, message, 0)
	b.PrependUOffsetTSlot(logHost, host, 0)
	b.PrependUOffsetTSlot(logService, service, 0)
	b.PrependInt8Slot(logLevel, int8(r.Level), 0)
	return b.EndObject()
}

// vector writes a vector of offsets (strings or tables).
func (e *encoder) vector(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b := e.b
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

func (e *encoder) sample(r *record.Sample) flatbuffers.UOffsetT {
	b := e.b
	b.StartVector(4, record.SampleFeatures, 4)
	for i := record.SampleFeatures - 1; i >= 0; i-- {
		b.PrependFloat32(r.Features[i])
	}
	features := b.EndVector(record.SampleFeatures)
	b.StartObject(sampleFields)
	b.PrependInt64Slot(sampleTimestamp, r.TimestampNs, 0)
	b.PrependUOffsetTSlot(sampleFeatures, features, 0)
	b.PrependInt32Slot(sampleLabel, r.Label, 0)
	return b.EndObject()
}

func (e *encoder) tensor(r *record.Tensor) flatbuffers.UOffsetT {
	b := e.b
	// Align the data to 8 so C, Python and numpy can view it in place as
	// arrays of any element type; CreateByteVector alone aligns only to 4.
	b.Prep(8, len(r.Data))
	data := b.CreateByteVector(r.Data)
	b.StartVector(8, len(r.Shape), 8)
	for i := len(r.Shape) - 1; i >= 0; i-- {
		b.PrependInt64(r.Shape[i])
	}
	shape := b.EndVector(len(r.Shape))
	name := str(b, r.Name)
	b.StartObject(tensorFields)
	b.PrependUOffsetTSlot(tensorData, data, 0)
	b.PrependUOffsetTSlot(tensorShape, shape, 0)
	b.PrependUOffsetTSlot(tensorName, name, 0)
	b.PrependInt8Slot(tensorDType, int8(r.DType), 0)
	return b.EndObject()
}
