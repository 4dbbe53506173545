// Package codec defines the interface every crossbuf format implements.
// The implementations live one per sub-package (flatbuf, capnp, json,
// msgpack, protobuf), and each registers itself when imported (Lookup), so a
// program links only the formats it uses; package codecs imports them all.
//
// FlatBuffers and Cap'n Proto are zero-copy: Encode builds the record in
// place in the destination (region memory) and Decode fills a record whose
// strings and byte slices point into the encoded bytes. JSON, MessagePack and
// Protobuf are the comparison baselines behind the same interface.
package codec

import (
	"errors"
	"fmt"

	"github.com/crossbuf/crossbuf/go/record"
)

// ID identifies a codec in frame headers and across the C ABI. The numbers
// are part of the frame layout; never reuse one.
type ID uint16

// Codec ids.
const (
	FlatBuffers ID = 1
	CapnProto   ID = 2
	JSON        ID = 3
	MsgPack     ID = 4
	Protobuf    ID = 5

	// Schema is the codec id of frames that carry a binary schema (a .bfbs
	// or a Cap'n Proto CodeGeneratorRequest) instead of a message, so a
	// region or stream describes its own types (dynamic.StoreSchema).
	Schema ID = 0x5343
)

// Known reports whether id is one of the ids above.
func (id ID) Known() bool { return id >= FlatBuffers && id <= Protobuf || id == Schema }

// String returns the codec's short name.
func (id ID) String() string {
	switch id {
	case FlatBuffers:
		return "flatbuffers"
	case CapnProto:
		return "capnp"
	case JSON:
		return "json"
	case MsgPack:
		return "msgpack"
	case Protobuf:
		return "protobuf"
	case Schema:
		return "schema"
	}
	return fmt.Sprintf("codec(%d)", uint16(id))
}

// Codec encodes and decodes the three records of package record.
// Implementations are safe for concurrent use.
type Codec interface {
	ID() ID
	// ZeroCopy reports whether Decode aliases the input bytes instead of copying.
	ZeroCopy() bool
	// MaxSize returns an upper bound of the encoded size of rec, so a caller
	// can reserve region space before Encode.
	MaxSize(rec record.Record) (int, error)
	// Encode writes rec into dst, which must be at least MaxSize(rec) bytes,
	// and returns the encoding: a sub-slice of dst, not necessarily at its
	// start (FlatBuffers builds back to front). It never allocates a second
	// output buffer: a too-small dst is ErrShortBuffer.
	Encode(dst []byte, rec record.Record) ([]byte, error)
	// Decode decodes b, which it treats as untrusted, into out (a
	// *record.LogEntry, *record.Sample or *record.Tensor). Zero-copy codecs
	// make out's strings and slices alias b. Out's slices are reused, so a
	// steady decode loop does not allocate per field. Malformed input is an
	// error wrapping ErrMalformed, never a panic.
	Decode(b []byte, out record.Record) error
}

// Errors shared by all codecs; implementations wrap them with detail.
var (
	ErrMalformed    = errors.New("malformed encoding")
	ErrShortBuffer  = errors.New("destination buffer too small")
	ErrUnknownCodec = errors.New("unknown codec")
	ErrRecordType   = errors.New("unsupported record type")
	ErrInvalid      = record.ErrInvalid
)

// Malformedf returns an error wrapping ErrMalformed.
func Malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
