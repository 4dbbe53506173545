package schema

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON verifies msg and transcodes it to JSON, with each format's reference
// conventions:
//
// FlatBuffers, as `flatc --json --strict-json`: the fields present in the
// message (and key fields, always), in schema order; enums by name (bit_flags
// as space-separated names) or as numbers when the schema has no name for the
// value; unions as `x_type` name plus the member object; nested flatbuffers
// as their table; floats in fixed notation with 6 (float) or 12 (double)
// decimals, as flatc prints them, so tiny values lose digits. flatc writes non-finite floats as bare nan/inf, which is
// not JSON: they are written as the strings "nan", "inf" and "-inf".
//
// Cap'n Proto, as the capnp JSON codec (`capnp convert binary:json`): every
// data field and non-null pointer field; 64-bit integers as strings; enums by
// name; Void and capabilities as null; Data as an array of numbers; a union
// as its active member; non-finite floats as "NaN", "Infinity", "-Infinity".
// AnyPointer content, which has no schema here, as the bytes of a message
// whose root is the object, written like Data.
//
// Strings must be valid UTF-8 for JSON output (as flatc requires by default).
func (t *Type) JSON(msg []byte, opts *Options) ([]byte, error) {
	v, err := t.Decode(msg, opts)
	if err != nil {
		return nil, err
	}
	return t.AppendJSON(nil, v.Map())
}

// AppendJSON appends the JSON form of a value in the map form of t's
// records (Record.Map).
func (t *Type) AppendJSON(dst []byte, v map[string]any) ([]byte, error) {
	e := jsonEncoder{buf: dst, format: t.Format}
	if err := e.object(t, v); err != nil {
		return nil, toDataError(t.Format, t, err)
	}
	return e.buf, nil
}

type jsonEncoder struct {
	buf    []byte
	format Format
}

func (e *jsonEncoder) object(t *Type, m map[string]any) error {
	e.buf = append(e.buf, '{')
	first := true
	for _, f := range t.Fields {
		v, ok := m[f.Name]
		if !ok {
			if e.format == FlatBuffers && f.Key && f.Default != nil {
				v, ok = f.Default, true
			}
			if !ok {
				continue
			}
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = e.str(e.buf, f.Name)
		e.buf = append(e.buf, ':')
		var err error
		switch {
		case f.Kind == Union:
			err = e.unionValue(f.Type, m[f.UnionTypeField.Name], v)
		case f.Kind == Vector && f.Elem.Kind == Union:
			err = e.unionVector(f, m[f.UnionTypeField.Name], v)
		case f.Nested != nil:
			mv, ok := v.(map[string]any)
			if !ok {
				return at(failf("nested flatbuffer value is %T, not a table", v), f.Name)
			}
			err = e.object(f.Nested, mv)
		default:
			err = e.value(&f.TypeRef, v)
		}
		if err != nil {
			return at(err, f.Name)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *jsonEncoder) unionValue(u *Type, tag, v any) error {
	ev, ok := u.EnumValueOf(toInt64(tag))
	if !ok || ev.Member == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	return e.value(ev.Member, v)
}

func (e *jsonEncoder) unionVector(f *Field, tags, v any) error {
	vs, ok := v.([]any)
	ts, ok2 := tags.([]any)
	if !ok || !ok2 || len(vs) != len(ts) {
		return failf("union vector and its type vector do not match")
	}
	e.buf = append(e.buf, '[')
	for i := range vs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.unionValue(f.Elem.Type, ts[i], vs[i]); err != nil {
			return atIndex(err, i)
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	}
	return 0
}

func (e *jsonEncoder) value(r *TypeRef, v any) error {
	if v == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	switch r.Kind {
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return failf("%T is not a bool", v)
		}
		e.buf = strconv.AppendBool(e.buf, b)
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		return e.integer(r.Kind, v)
	case Float32, Float64:
		f, ok := v.(float64)
		if !ok {
			return failf("%T is not a float", v)
		}
		e.float(r.Kind, f)
	case String:
		s, ok := v.(string)
		if !ok {
			return failf("%T is not a string", v)
		}
		if !utf8.ValidString(s) {
			return failf("string is not valid UTF-8")
		}
		e.buf = e.str(e.buf, s)
	case Bytes, AnyPointer: // AnyPointer: the bytes of a message of its own
		b, ok := v.([]byte)
		if !ok {
			return failf("%T is not bytes", v)
		}
		e.buf = append(e.buf, '[')
		for i, c := range b {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = strconv.AppendUint(e.buf, uint64(c), 10)
		}
		e.buf = append(e.buf, ']')
	case Enum, UnionType:
		e.enum(r.Type, v)
	case Struct, Table, Group:
		m, ok := v.(map[string]any)
		if !ok {
			return failf("%T is not a %s", v, r.Kind)
		}
		return e.object(r.Type, m)
	case Vector, Array:
		l, ok := v.([]any)
		if !ok {
			return failf("%T is not a list", v)
		}
		e.buf = append(e.buf, '[')
		for i, x := range l {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(r.Elem, x); err != nil {
				return atIndex(err, i)
			}
		}
		e.buf = append(e.buf, ']')
	case Void, Interface:
		e.buf = append(e.buf, "null"...)
	default:
		return failf("cannot write %s as JSON", r.Kind)
	}
	return nil
}

func (e *jsonEncoder) integer(k Kind, v any) error {
	quote := e.format == CapnProto && (k == Int64 || k == Uint64)
	if quote {
		e.buf = append(e.buf, '"')
	}
	switch x := v.(type) {
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	default:
		return failf("%T is not an integer", v)
	}
	if quote {
		e.buf = append(e.buf, '"')
	}
	return nil
}

func (e *jsonEncoder) float(k Kind, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		var s string
		switch {
		case math.IsNaN(f) && e.format == CapnProto:
			s = "NaN"
		case math.IsNaN(f):
			s = "nan"
		case e.format == CapnProto && f > 0:
			s = "Infinity"
		case e.format == CapnProto:
			s = "-Infinity"
		case f > 0:
			s = "inf"
		default:
			s = "-inf"
		}
		e.buf = e.str(e.buf, s)
		return
	}
	if e.format == FlatBuffers {
		// flatc prints fixed notation with 6 (float) or 12 (double)
		// decimals, trailing zeros trimmed to one.
		prec := 12
		if k == Float32 {
			prec = 6
		}
		start := len(e.buf)
		e.buf = strconv.AppendFloat(e.buf, f, 'f', prec, 64)
		end := len(e.buf)
		for end > start && e.buf[end-1] == '0' && e.buf[end-2] != '.' {
			end--
		}
		e.buf = e.buf[:end]
		return
	}
	e.buf = strconv.AppendFloat(e.buf, f, 'g', -1, 64)
}

func (e *jsonEncoder) enum(t *Type, v any) {
	n := toInt64(v)
	if name := t.EnumName(n); name != "" {
		e.buf = e.str(e.buf, name)
		return
	}
	if t.BitFlags && n > 0 {
		var names []string
		rest := uint64(n)
		for _, ev := range t.Values {
			b := uint64(ev.Value)
			if b != 0 && b&(b-1) == 0 && rest&b != 0 {
				names = append(names, ev.Name)
				rest &^= b
			}
		}
		if rest == 0 {
			e.buf = e.str(e.buf, strings.Join(names, " "))
			return
		}
	}
	switch x := v.(type) {
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	default:
		e.buf = strconv.AppendInt(e.buf, n, 10)
	}
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string the way this format's reference tool
// prints it: flatc escapes every character outside printable ASCII
// (\u00E9, a surrogate pair above U+FFFF, \b and \f); capnp writes UTF-8
// as it is.
func (e *jsonEncoder) str(b []byte, s string) []byte {
	if e.format == FlatBuffers {
		return appendFlatcString(b, s)
	}
	return appendJSONString(b, s)
}

// appendFlatcString is appendJSONString with flatc's escapes (s is valid
// UTF-8).
func appendFlatcString(b []byte, s string) []byte {
	const upper = "0123456789ABCDEF"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', upper[r>>12&0xf], upper[r>>8&0xf], upper[r>>4&0xf], upper[r&0xf])
	}
	b = append(b, '"')
	for len(s) > 0 {
		// Printable ASCII goes in runs; the rest rune by rune.
		i := 0
		for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\' {
			i++
		}
		b, s = append(b, s[:i]...), s[i:]
		if len(s) == 0 {
			break
		}
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r > 0xffff:
			r -= 0x10000
			b = u(u(b, 0xd800+(r>>10)), 0xdc00+(r&0x3ff))
		default:
			b = u(b, r)
		}
	}
	return append(b, '"')
}

// appendJSONString quotes valid UTF-8 as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
