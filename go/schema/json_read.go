package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// ValueFromJSON reads a JSON object into the dynamic value the encoders take
// for a message of t, accepting what Type.JSON writes: enums by name or
// number, FlatBuffers union members after their `_type` field, Cap'n Proto
// 64-bit integers as strings, Data as an array of byte values or a base64
// string, and non-finite floats as "nan", "inf", "-inf" (or "NaN",
// "Infinity", "-Infinity"). Numbers stay exact (an integer is never rounded
// through a float64); the encoder then rejects a value its field cannot hold
// and names the field.
//
// The input must be valid UTF-8 with no lone surrogate escapes (\ud800), so a
// string is never stored as other text than given. Of duplicate keys the last
// wins, as for MessagePack input.
func (t *Type) ValueFromJSON(b []byte) (map[string]any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("schema: JSON input is not valid UTF-8")
	}
	if err := checkSurrogates(b); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema: JSON input: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("schema: JSON input: data after the value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: JSON input is a %T, not an object", v)
	}
	if err := jsonFields(t, m, 0); err != nil {
		return nil, toEncodeError(t, err) // a value its field cannot hold, named by its path
	}
	return m, nil
}

// checkSurrogates rejects \u escapes of UTF-16 surrogates that do not form a
// pair: encoding/json would turn them into U+FFFD.
func checkSurrogates(b []byte) error {
	hex := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // an escaped character, maybe a backslash
			continue
		}
		r, ok := hex(i)
		if !ok {
			continue // the decoder reports it
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			lo, ok := hex(i + 6)
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return fmt.Errorf("schema: JSON input: lone surrogate \\u%04x at byte %d", r, i)
			}
			i += 11
		case r >= 0xdc00 && r <= 0xdfff:
			return fmt.Errorf("schema: JSON input: lone surrogate \\u%04x at byte %d", r, i)
		default:
			i += 5
		}
	}
	return nil
}

// jsonFields rewrites, in place, the JSON forms of m's fields that the
// encoders do not take as they are.
func jsonFields(t *Type, m map[string]any, depth int) error {
	if depth > defaultMaxDepth {
		return fmt.Errorf("nesting deeper than %d", defaultMaxDepth)
	}
	for _, f := range t.Fields {
		x, ok := m[f.Name]
		if !ok || x == nil {
			continue
		}
		ref := &f.TypeRef
		if f.Kind == Union {
			ev, ok := unionMemberOf(f, m)
			if !ok {
				continue // the encoder reports a missing or unknown tag
			}
			ref = ev.Member
		}
		v, err := jsonValue(ref, x, depth+1)
		if err != nil {
			return at(err, f.Name)
		}
		m[f.Name] = v
	}
	return nil
}

// unionMemberOf finds the member a FlatBuffers union field's `_type`
// sibling names (by name or number).
func unionMemberOf(f *Field, m map[string]any) (EnumValue, bool) {
	if f.UnionTypeField == nil {
		return EnumValue{}, false
	}
	switch tag := m[f.UnionTypeField.Name].(type) {
	case string:
		for _, ev := range f.Type.Values {
			if ev.Name == tag && ev.Member != nil {
				return ev, true
			}
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(tag), 10, 64); err == nil {
			ev, ok := f.Type.EnumValueOf(n)
			return ev, ok && ev.Member != nil
		}
	}
	return EnumValue{}, false
}

func jsonValue(r *TypeRef, x any, depth int) (any, error) {
	switch r.Kind {
	case Table, Struct, Group:
		if m, ok := x.(map[string]any); ok {
			return m, jsonFields(r.Type, m, depth)
		}
	case Vector, Array:
		l, ok := x.([]any)
		if !ok {
			break
		}
		for i, e := range l {
			v, err := jsonValue(r.Elem, e, depth+1)
			if err != nil {
				return nil, atIndex(err, i)
			}
			l[i] = v
		}
		return l, nil
	case Bytes, AnyPointer:
		if l, ok := x.([]any); ok {
			b := make([]byte, len(l))
			for i, e := range l {
				n, ok := e.(json.Number)
				v, err := strconv.ParseUint(string(n), 10, 8)
				if !ok || err != nil {
					return nil, atIndex(failf("%v is not a byte value", e), i)
				}
				b[i] = byte(v)
			}
			return b, nil
		}
	case Float32, Float64:
		if s, ok := x.(string); ok {
			switch s {
			case "nan", "NaN":
				return math.NaN(), nil
			case "inf", "Infinity", "+inf":
				return math.Inf(1), nil
			case "-inf", "-Infinity":
				return math.Inf(-1), nil
			}
		}
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		if s, ok := x.(string); ok {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return json.Number(s), nil
			}
			if _, err := strconv.ParseUint(s, 10, 64); err == nil {
				return json.Number(s), nil
			}
		}
	}
	return x, nil
}
