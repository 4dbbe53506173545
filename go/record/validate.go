package record

import (
	"errors"
	"fmt"
	"math/bits"
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
