package record

import (
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every Validate error.
var ErrInvalid = errors.New("invalid record")

// Validate checks the invariants that the schemas cannot express: a
// 16-byte trace id is implied by the Go type, so for LogEntry only the
// level is checked; a Tensor's shape must describe exactly its data.
// Codecs call it before encoding and after decoding.
func Validate(rec Record) error {
	switch r := rec.(type) {
	case *LogEntry:
		if r.Level < LevelTrace || r.Level > LevelFatal {
			return fmt.Errorf("%w: LogEntry level %d", ErrInvalid, r.Level)
		}
	case *Sample:
	case *Tensor:
		return r.validate()
	default:
		return fmt.Errorf("%w: unknown record %T", ErrInvalid, rec)
	}
	return nil
}

func (t *Tensor) validate() error {
	es := t.DType.Size()
	if es == 0 {
		return fmt.Errorf("%w: Tensor dtype %d", ErrInvalid, t.DType)
	}
	if len(t.Shape) > MaxTensorDims {
		return fmt.Errorf("%w: Tensor has %d dims, max %d", ErrInvalid, len(t.Shape), MaxTensorDims)
	}
	n := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%w: Tensor negative dim %d", ErrInvalid, d)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > 1<<48 { // checked before it can wrap
			return fmt.Errorf("%w: Tensor shape %v has more than 2^48 elements", ErrInvalid, t.Shape)
		}
		n = lo
	}
	if n*uint64(es) != uint64(len(t.Data)) {
		return fmt.Errorf("%w: Tensor shape %v of %d-byte elements needs %d bytes, data has %d",
			ErrInvalid, t.Shape, es, n*uint64(es), len(t.Data))
	}
	return nil
}

// CheckUTF8 reports the first string field of rec that is not valid UTF-8,
// naming it. The codecs store strings as given; records handed across the
// C boundary (to Python's str, to JSON) must be text.
func CheckUTF8(rec Record) error {
	bad := func(field string) error {
		return fmt.Errorf("%w: %s %s is not valid UTF-8", ErrInvalid, rec.RecordType(), field)
	}
	switch r := rec.(type) {
	case *LogEntry:
		for _, f := range [...]struct{ name, s string }{{"service", r.Service}, {"host", r.Host},
			{"message", r.Message}, {"http.method", r.HTTP.Method}, {"http.path", r.HTTP.Path}} {
			if !utf8.ValidString(f.s) {
				return bad(f.name)
			}
		}
		for i, t := range r.Tags {
			if !utf8.ValidString(t) {
				return bad(fmt.Sprintf("tags[%d]", i))
			}
		}
		for i, a := range r.Attributes {
			if !utf8.ValidString(a.Key) || !utf8.ValidString(a.Value) {
				return bad(fmt.Sprintf("attributes[%d]", i))
			}
		}
	case *Tensor:
		if !utf8.ValidString(r.Name) {
			return bad("name")
		}
	}
	return nil
}
