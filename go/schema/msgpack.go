package schema

import (
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// MsgPack verifies msg and transcodes it to MessagePack: the dynamic value
// Decode returns (see the package documentation), written in schema order.
//
//   - tables, structs and groups: maps keyed by field name, holding the
//     fields Decode holds (FlatBuffers: the fields present in the message;
//     Cap'n Proto: every data field and non-null pointer field);
//   - integers and enums: MessagePack integers of their exact value and sign;
//     unions' `_type` fields: the member's enum value;
//   - float32 fields: MessagePack float32, float64 fields: float64, with the
//     stored bits (NaN and infinities included);
//   - strings: str, which must be valid UTF-8 (the policy of JSON as well);
//     Cap'n Proto Data: bin;
//   - Void, capabilities and unknown union members: nil.
func (t *Type) MsgPack(msg []byte, opts *Options) ([]byte, error) {
	v, err := t.Decode(msg, opts)
	if err != nil {
		return nil, err
	}
	return t.AppendMsgPack(nil, v)
}

// AppendMsgPack appends the MessagePack form of a value Decode returned for t.
func (t *Type) AppendMsgPack(dst []byte, v map[string]any) ([]byte, error) {
	e := msgpackEncoder{buf: dst}
	if err := e.object(t, v); err != nil {
		return nil, toDataError(t.Format, t, err)
	}
	return e.buf, nil
}

type msgpackEncoder struct {
	buf []byte
}

func (e *msgpackEncoder) object(t *Type, m map[string]any) error {
	n := uint32(0)
	for _, f := range t.Fields {
		if _, ok := m[f.Name]; ok {
			n++
		}
	}
	e.buf = msgp.AppendMapHeader(e.buf, n)
	for _, f := range t.Fields {
		v, ok := m[f.Name]
		if !ok {
			continue
		}
		e.buf = msgp.AppendString(e.buf, f.Name)
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
	return nil
}

func (e *msgpackEncoder) unionValue(u *Type, tag, v any) error {
	ev, ok := u.EnumValueOf(toInt64(tag))
	if !ok || ev.Member == nil {
		e.buf = msgp.AppendNil(e.buf)
		return nil
	}
	return e.value(ev.Member, v)
}

func (e *msgpackEncoder) unionVector(f *Field, tags, v any) error {
	vs, ok := v.([]any)
	ts, ok2 := tags.([]any)
	if !ok || !ok2 || len(vs) != len(ts) {
		return failf("union vector and its type vector do not match")
	}
	e.buf = msgp.AppendArrayHeader(e.buf, uint32(len(vs)))
	for i := range vs {
		if err := e.unionValue(f.Elem.Type, ts[i], vs[i]); err != nil {
			return atIndex(err, i)
		}
	}
	return nil
}

func (e *msgpackEncoder) value(r *TypeRef, v any) error {
	if v == nil {
		e.buf = msgp.AppendNil(e.buf)
		return nil
	}
	switch r.Kind {
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return failf("%T is not a bool", v)
		}
		e.buf = msgp.AppendBool(e.buf, b)
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Enum, UnionType:
		switch x := v.(type) {
		case int64:
			e.buf = msgp.AppendInt64(e.buf, x)
		case uint64:
			e.buf = msgp.AppendUint64(e.buf, x)
		default:
			return failf("%T is not an integer", v)
		}
	case Float32, Float64:
		f, ok := v.(float64)
		if !ok {
			return failf("%T is not a float", v)
		}
		if r.Kind == Float32 {
			// Decode widened the float32 exactly; narrowing gives its bits back.
			e.buf = msgp.AppendFloat32(e.buf, float32(f))
		} else {
			e.buf = msgp.AppendFloat64(e.buf, f)
		}
	case String:
		s, ok := v.(string)
		if !ok {
			return failf("%T is not a string", v)
		}
		if !utf8.ValidString(s) {
			return failf("string is not valid UTF-8")
		}
		e.buf = msgp.AppendString(e.buf, s)
	case Bytes:
		b, ok := v.([]byte)
		if !ok {
			return failf("%T is not bytes", v)
		}
		e.buf = msgp.AppendBytes(e.buf, b)
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
		e.buf = msgp.AppendArrayHeader(e.buf, uint32(len(l)))
		for i, x := range l {
			if err := e.value(r.Elem, x); err != nil {
				return atIndex(err, i)
			}
		}
	case Void, Interface:
		e.buf = msgp.AppendNil(e.buf)
	default:
		return failf("cannot write %s as MessagePack", r.Kind)
	}
	return nil
}
