package schema

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// ErrMsgPackInput is the error of input that is not one MessagePack map of
// values (before any value is checked against a type).
var ErrMsgPackInput = errors.New("schema: MessagePack input")

// ValueFromMsgPack reads a MessagePack map into a dynamic value that the
// encoders take (the form Python's msgspec writes a record or dict in):
// maps with string keys → map[string]any, arrays → []any, integers →
// int64/uint64, floats → float64, str → string, bin → []byte, nil → nil.
// Nesting is bounded, so hostile bytes cannot exhaust the stack.
func ValueFromMsgPack(b []byte) (map[string]any, error) {
	v, rest, err := readMsgPackValue(b, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMsgPackInput, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", ErrMsgPackInput, len(rest))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w is a %T, not a map", ErrMsgPackInput, v)
	}
	return m, nil
}

func readMsgPackValue(b []byte, depth int) (any, []byte, error) {
	if depth > defaultMaxDepth {
		return nil, nil, fmt.Errorf("nesting deeper than %d levels", defaultMaxDepth)
	}
	switch msgp.NextType(b) {
	case msgp.MapType:
		n, b, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, nil, err
		}
		if uint64(n) > uint64(len(b)) {
			return nil, nil, fmt.Errorf("map of %d entries in %d bytes", n, len(b))
		}
		m := make(map[string]any, n)
		for i := uint32(0); i < n; i++ {
			var k string
			if k, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, nil, fmt.Errorf("map key: %w", err)
			}
			var v any
			if v, b, err = readMsgPackValue(b, depth+1); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = v
		}
		return m, b, nil
	case msgp.ArrayType:
		n, b, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, nil, err
		}
		if uint64(n) > uint64(len(b)) {
			return nil, nil, fmt.Errorf("array of %d items in %d bytes", n, len(b))
		}
		items := make([]any, n)
		for i := range items {
			if items[i], b, err = readMsgPackValue(b, depth+1); err != nil {
				return nil, nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return items, b, nil
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		return msgp.ReadUint64Bytes(b)
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.Float32Type:
		f, b, err := msgp.ReadFloat32Bytes(b)
		return float64(f), b, err
	case msgp.StrType:
		return msgp.ReadStringBytes(b)
	case msgp.BinType:
		return msgp.ReadBytesBytes(b, nil)
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.NilType:
		b, err := msgp.ReadNilBytes(b)
		return nil, b, err
	}
	return nil, nil, fmt.Errorf("unsupported MessagePack type %v", msgp.NextType(b))
}
