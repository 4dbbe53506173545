package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/tinylib/msgp/msgp"
)

// The encoders take a message's values either as a dynamic value (maps,
// lists and scalars, the form Decode returns) or as the MessagePack bytes of
// one, the form Python hands records over in. MessagePack is read in place,
// each object once into a window of its fields' values, and only as far as
// each field needs: no dynamic value is built for tables, structs, lists,
// strings or bytes.

// fieldValue is one value being encoded: a dynamic value (x), or the
// MessagePack bytes of one (mp). given says the object names the field, even
// as null (which selects a Cap'n Proto union member).
type fieldValue struct {
	x     any
	mp    []byte
	given bool
}

// present reports whether the value is there and not null.
func (v fieldValue) present() bool {
	if v.mp != nil {
		return v.mp[0] != 0xc0 // MessagePack nil; mp holds one whole value
	}
	return v.x != nil
}

// scalar is the bits of the value as a scalar of kind k (of enum type enum,
// when not nil), as scalarBits gives them for the dynamic value. MessagePack
// numbers and bools are read without boxing them, so encoding allocates
// nothing for them.
func (v fieldValue) scalar(k Kind, enum *Type) (uint64, error) {
	if v.mp == nil {
		return scalarBits(k, enum, v.x)
	}
	var err error
	switch msgp.NextType(v.mp) {
	case msgp.IntType:
		var i int64
		if i, _, err = msgp.ReadInt64Bytes(v.mp); err == nil {
			return scalarBits(k, enum, i)
		}
	case msgp.UintType:
		var u uint64
		if u, _, err = msgp.ReadUint64Bytes(v.mp); err == nil {
			return scalarBits(k, enum, u)
		}
	case msgp.Float64Type:
		var f float64
		if f, _, err = msgp.ReadFloat64Bytes(v.mp); err == nil {
			return scalarBits(k, enum, f)
		}
	case msgp.BoolType:
		var b bool
		if b, _, err = msgp.ReadBoolBytes(v.mp); err == nil {
			return scalarBits(k, enum, b)
		}
	default: // float32, enum names, and what is not a scalar
		var x any
		if x, err = v.value(); err == nil {
			return scalarBits(k, enum, x)
		}
	}
	return 0, failf("%v", err)
}

// value is the dynamic value (ValueFromMsgPack's form of MessagePack).
func (v fieldValue) value() (any, error) {
	if v.mp == nil {
		return v.x, nil
	}
	x, _, err := readMsgPackValue(v.mp)
	if err != nil {
		return nil, failf("%v", err)
	}
	return x, nil
}

// text is a MessagePack str or bin value's bytes, without a copy.
func (v fieldValue) text() ([]byte, bool) {
	switch msgp.NextType(v.mp) {
	case msgp.StrType:
		b, _, err := msgp.ReadStringZC(v.mp)
		return b, err == nil
	case msgp.BinType:
		b, _, err := msgp.ReadBytesZC(v.mp)
		return b, err == nil
	}
	return nil, false
}

// str returns v's bytes when it is a string.
func (v fieldValue) str() ([]byte, bool) {
	if v.mp == nil {
		s, ok := v.x.(string)
		return []byte(s), ok
	}
	if msgp.NextType(v.mp) != msgp.StrType {
		return nil, false
	}
	b, _, err := msgp.ReadStringZC(v.mp)
	return b, err == nil
}

// isObject reports whether v is an object (a map).
func (v fieldValue) isObject() bool {
	if v.mp != nil {
		return msgp.NextType(v.mp) == msgp.MapType
	}
	_, ok := v.x.(map[string]any)
	return ok
}

// what names v's type, for errors.
func (v fieldValue) what() string {
	if v.mp != nil {
		return "MessagePack " + msgp.NextType(v.mp).String()
	}
	return fmt.Sprintf("%T", v.x)
}

// valueStack holds the fields' values of the objects being encoded: each
// takes a window, by Field.Index (index it, never keep a slice of it: it
// may move).
type valueStack struct {
	vals []fieldValue
}

// push pushes n absent values and returns the index of the first.
func (s *valueStack) push(n int) int {
	base := len(s.vals)
	s.vals = slices.Grow(s.vals, n)[:base+n]
	clear(s.vals[base:])
	return base
}

// pop drops the windows from base on, keeping none of the caller's values.
func (s *valueStack) pop(base int) {
	clear(s.vals[base:])
	s.vals = s.vals[:base]
}

// readObject puts each field of t that m, or the MessagePack map mp, holds
// into the window at base, after checking that t has it. mp has passed
// checkMsgPackMap as part of the whole input.
func (s *valueStack) readObject(t *Type, m map[string]any, mp []byte, base int) error {
	if mp == nil {
		for name, x := range m {
			f := t.Field(name)
			if f == nil {
				return noSuchField(t, name)
			}
			s.vals[base+f.Index] = fieldValue{x: x, given: true}
		}
		return nil
	}
	if msgp.NextType(mp) != msgp.MapType {
		return failf("want an object for %s, got MessagePack %s", t.Name, msgp.NextType(mp))
	}
	n, rest, err := msgp.ReadMapHeaderBytes(mp)
	if err != nil {
		return failf("%v", err)
	}
	for range n {
		var key []byte
		if key, rest, err = msgp.ReadStringZC(rest); err != nil {
			return failf("map key: %v", err)
		}
		f := t.byName[string(key)] // no copy of the key
		if f == nil {
			return noSuchField(t, string(key))
		}
		start := rest
		if rest, err = msgp.Skip(rest); err != nil {
			return at(failf("%v", err), f.Name)
		}
		s.vals[base+f.Index] = fieldValue{mp: start[:len(start)-len(rest)], given: true}
	}
	return nil
}

// noSuchField is the error of a value given for a field t does not have
// (a deprecated field is one it has: flatc's JSON parser takes it too).
func noSuchField(t *Type, name string) error {
	return at(failf("no such field in %s", t.Name), name)
}

// arrayItems reads the header of the MessagePack array mp and returns its
// length and its items, which item yields in order.
func arrayItems(mp []byte) (int, mpItems, error) {
	n, rest, err := msgp.ReadArrayHeaderBytes(mp)
	if err != nil {
		return 0, mpItems{}, failf("%v", err)
	}
	if uint64(n) > uint64(len(rest)) { // each item takes a byte at least
		return 0, mpItems{}, failf("array of %d items in %d bytes", n, len(rest))
	}
	return int(n), mpItems{rest}, nil
}

// mpItems is the rest of a MessagePack array.
type mpItems struct{ rest []byte }

// item yields the next item (the index is the caller's count).
func (a *mpItems) item(int) (fieldValue, error) {
	start := a.rest
	rest, err := msgp.Skip(start)
	if err != nil {
		return fieldValue{}, failf("%v", err)
	}
	a.rest = rest
	return fieldValue{mp: start[:len(start)-len(rest)], given: true}, nil
}

// jsonKind names the kind of a value given to an encoder as its JSON or
// MessagePack form would ("a list", "a string"), for errors: a Go type name
// means nothing to a caller in Python or C.
func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", x)
}

// widen turns every Go integer type a caller may pass (int, int32, uint8,
// a named one, ...) into int64 or uint64, the two scalarBits reads, and a
// named float, bool or string type into its plain one.
func widen(x any) any {
	switch n := x.(type) {
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case uint:
		return uint64(n)
	case uint8:
		return uint64(n)
	case uint16:
		return uint64(n)
	case uint32:
		return uint64(n)
	case uintptr:
		return uint64(n)
	case int64, uint64, float64, float32, bool, string, json.Number, nil, []any, map[string]any:
		return x
	}
	// A named type (a generated enum: type Color int8) by its kind.
	switch v := reflect.ValueOf(x); v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	}
	return x
}

// listOf is a list value as []any: the form Decode returns, or any other Go
// slice or array a caller builds ([]int32, []string, [3]float64, ...).
func listOf(x any) ([]any, bool) {
	if l, ok := x.([]any); ok {
		return l, true
	}
	v := reflect.ValueOf(x)
	if !v.IsValid() || (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) {
		return nil, false
	}
	l := make([]any, v.Len())
	for i := range l {
		l[i] = v.Index(i).Interface()
	}
	return l, true
}
