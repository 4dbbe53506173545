// Package record holds crossbuf's data model as Go types: the three records
// that every codec, language and benchmark agrees on (see schemas/).
//
// A decoded record is also a view: codecs that can (FlatBuffers, Cap'n Proto)
// fill its strings and byte slices with pointers into the encoded bytes, so a
// record decoded from a region is valid only while that region's frame is.
package record

// Type identifies a record kind in frame headers and across the C ABI.
type Type uint16

// Record types. The numbers are part of the frame layout; never reuse one.
const (
	TypeLogEntry Type = 1
	TypeSample   Type = 2
	TypeTensor   Type = 3
)

func (t Type) String() string {
	switch t {
	case TypeLogEntry:
		return "LogEntry"
	case TypeSample:
		return "Sample"
	case TypeTensor:
		return "Tensor"
	}
	return "Type(?)"
}

// Valid reports whether t names a known record type.
func (t Type) Valid() bool { return t >= TypeLogEntry && t <= TypeTensor }

// Record is implemented by *LogEntry, *Sample and *Tensor.
type Record interface {
	RecordType() Type
}

// Level is a log severity.
type Level int32

// Levels, as in the schemas.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

// DType is the element type of a Tensor.
type DType int32

// Element types, as in the schemas.
const (
	DTypeU8 DType = iota
	DTypeI8
	DTypeU16
	DTypeI16
	DTypeU32
	DTypeI32
	DTypeU64
	DTypeI64
	DTypeF16
	DTypeF32
	DTypeF64
)

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case DTypeU8, DTypeI8:
		return 1
	case DTypeU16, DTypeI16, DTypeF16:
		return 2
	case DTypeU32, DTypeI32, DTypeF32:
		return 4
	case DTypeU64, DTypeI64, DTypeF64:
		return 8
	}
	return 0
}

// TraceIDLen is the fixed length of LogEntry.TraceID.
const TraceIDLen = 16

// SampleFeatures is the fixed number of features in a Sample.
const SampleFeatures = 16

// MaxTensorDims bounds Tensor.Shape; the C view stores the shape inline.
const MaxTensorDims = 8

// Attribute is one entry of LogEntry.Attributes (an ordered string map).
type Attribute struct {
	Key   string
	Value string
}

// HTTP is the request part of a LogEntry.
type HTTP struct {
	Method    string
	Path      string
	Status    uint32
	LatencyNs int64
}

// LogEntry is a structured log event of about 1 KB.
type LogEntry struct {
	TimestampNs int64
	Level       Level
	Service     string
	Host        string
	Message     string
	TraceID     [TraceIDLen]byte
	Tags        []string
	Attributes  []Attribute
	HTTP        HTTP
}

// Sample is a small fixed record (~80 B).
type Sample struct {
	TimestampNs int64
	Features    [SampleFeatures]float32
	Label       int32
}

// Tensor is a named n-dimensional array; Data is row-major, little-endian.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte
}

// RecordType implements Record.
func (*LogEntry) RecordType() Type { return TypeLogEntry }

// RecordType implements Record.
func (*Sample) RecordType() Type { return TypeSample }

// RecordType implements Record.
func (*Tensor) RecordType() Type { return TypeTensor }

// New returns a new zero record of type t, or nil for an unknown type.
func New(t Type) Record {
	switch t {
	case TypeLogEntry:
		return &LogEntry{}
	case TypeSample:
		return &Sample{}
	case TypeTensor:
		return &Tensor{}
	}
	return nil
}
