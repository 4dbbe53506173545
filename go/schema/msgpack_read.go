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
	if err := checkMsgPackMap(b); err != nil {
		return nil, err
	}
	v, _, err := readMsgPackValue(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMsgPackInput, err)
	}
	return v.(map[string]any), nil
}

// checkMsgPackMap checks that b is one MessagePack map in the form
// ValueFromMsgPack reads, without building anything: the encoders check
// their whole input once with it, then read it in place, in any order.
func checkMsgPackMap(b []byte) error {
	if t := msgp.NextType(b); t != msgp.MapType {
		return fmt.Errorf("%w is a %s, not a map", ErrMsgPackInput, t)
	}
	rest, err := skipMsgPackValue(b, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMsgPackInput, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d bytes after the value", ErrMsgPackInput, len(rest))
	}
	return nil
}

// ErrTooDeep: a value nests deeper than the 64 levels any message may have
// (a value the caller gave, not malformed bytes).
var ErrTooDeep = fmt.Errorf("nesting deeper than %d levels", defaultMaxDepth)

// skipMsgPackValue returns the bytes after the value at the start of b, the
// value at nesting level depth, after checking it: only the types
// readMsgPackValue builds, string keys, and at most defaultMaxDepth levels.
func skipMsgPackValue(b []byte, depth int) ([]byte, error) {
	if depth > defaultMaxDepth {
		return nil, ErrTooDeep
	}
	var err error
	switch msgp.NextType(b) {
	case msgp.MapType:
		var n uint32
		if n, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
			return nil, err
		}
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("map of %d entries in %d bytes", n, len(b))
		}
		for range n {
			var k []byte
			if k, b, err = msgp.ReadStringZC(b); err != nil {
				return nil, fmt.Errorf("map key: %w", err)
			}
			if b, err = skipMsgPackValue(b, depth+1); err != nil {
				if err == ErrTooDeep {
					return nil, err // not 64 keys long
				}
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return b, nil
	case msgp.ArrayType:
		var n uint32
		if n, b, err = msgp.ReadArrayHeaderBytes(b); err != nil {
			return nil, err
		}
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("array of %d items in %d bytes", n, len(b))
		}
		for i := range n {
			if b, err = skipMsgPackValue(b, depth+1); err != nil {
				if err == ErrTooDeep {
					return nil, err
				}
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return b, nil
	case msgp.IntType, msgp.UintType, msgp.Float64Type, msgp.Float32Type,
		msgp.StrType, msgp.BinType, msgp.BoolType, msgp.NilType:
		return msgp.Skip(b)
	}
	return nil, fmt.Errorf("unsupported MessagePack type %v", msgp.NextType(b))
}

// readMsgPackValue builds the value at the start of b, which
// skipMsgPackValue has checked, and returns the bytes after it.
func readMsgPackValue(b []byte) (any, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.MapType:
		n, b, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, nil, err
		}
		m := make(map[string]any, n)
		for range n {
			var k string
			if k, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, nil, err
			}
			if m[k], b, err = readMsgPackValue(b); err != nil {
				return nil, nil, err
			}
		}
		return m, b, nil
	case msgp.ArrayType:
		n, b, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, nil, err
		}
		items := make([]any, n)
		for i := range items {
			if items[i], b, err = readMsgPackValue(b); err != nil {
				return nil, nil, err
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
