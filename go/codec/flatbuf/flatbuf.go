// Package flatbuf is crossbuf's FlatBuffers codec (schemas/crossbuf.fbs).
//
// Encode writes the FlatBuffers wire format directly into the caller's
// buffer (region memory), back to front as the official Builder does but
// with a fixed layout per table (encode.go); Decode and ReadString read in
// place through bounds-checking accessors (verify.go), because the Go
// runtime has none.
package flatbuf

import (
	"fmt"

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

// Importing the package registers the codec (codec.Lookup, crossbuf.Decode).
func init() { codec.Register(New()) }

// ID implements codec.Codec.
func (*Codec) ID() codec.ID { return codec.FlatBuffers }

// ZeroCopy implements codec.Codec.
func (*Codec) ZeroCopy() bool { return true }

// Size bounds of the encoding, as generous as the official Builder needs
// (each item may be preceded by alignment padding of up to its alignment
// minus one); the fixed layouts of encode.go never take more.
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
