// Package protobuf is the Protobuf baseline for schemas loaded at run time:
// a FileDescriptorSet (`protoc --include_imports --descriptor_set_out`)
// read with protobuf-go's protodesc, messages decoded and encoded with
// dynamicpb. It gives any schema that has a .proto twin a Protobuf opponent
// in the benchmarks, labelled dynamic: generated protobuf-go code is faster,
// and stays the opponent wherever it exists.
//
// Decoded messages use the dynamic values of package schema: message →
// map[string]any by field name (fields that are not set are left out, as
// proto3 JSON does), repeated → []any, integers → int64/uint64, floats →
// float64, string → string, bytes → []byte, enums → their number (unknown
// numbers survive). A field absent from the bytes reads as its default.
package protobuf

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Schema is a loaded FileDescriptorSet; immutable, safe for concurrent use.
type Schema struct {
	files *protoregistry.Files
}

// Message is one message type of a Schema.
type Message struct {
	desc protoreflect.MessageDescriptor
}

// ErrMalformed wraps a message that does not parse.
var ErrMalformed = errors.New("protobuf: malformed message")

// Load reads a serialized FileDescriptorSet. Every import must be in the
// set (protoc --include_imports).
func Load(b []byte) (*Schema, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("protobuf: not a FileDescriptorSet: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("protobuf: descriptor set: %w", err)
	}
	return &Schema{files: files}, nil
}

// Message returns the message type with a fully-qualified name
// ("crossbuf.pb.LogEntry").
func (s *Schema) Message(name string) (*Message, error) {
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("protobuf: no message %q in this descriptor set", name)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("protobuf: %q is not a message", name)
	}
	return &Message{desc: md}, nil
}

// Name is the message's fully-qualified name.
func (m *Message) Name() string { return string(m.desc.FullName()) }

// New returns an empty dynamic message of this type, for Unmarshal into a
// reused message.
func (m *Message) New() *dynamicpb.Message { return dynamicpb.NewMessage(m.desc) }

// Decode parses b and returns its dynamic value.
func (m *Message) Decode(b []byte) (map[string]any, error) {
	msg := m.New()
	if err := proto.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, m.Name(), err)
	}
	return value(msg), nil
}

// JSON parses b and returns it in the proto3 JSON mapping.
func (m *Message) JSON(b []byte) ([]byte, error) {
	msg := m.New()
	if err := proto.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, m.Name(), err)
	}
	return protojson.Marshal(msg)
}

func value(msg protoreflect.Message) map[string]any {
	out := make(map[string]any, msg.Descriptor().Fields().Len())
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		out[string(fd.Name())] = fieldValue(fd, v)
		return true
	})
	return out
}

func fieldValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case fd.IsList():
		l := v.List()
		items := make([]any, l.Len())
		for i := range items {
			items[i] = scalar(fd, l.Get(i))
		}
		return items
	case fd.IsMap():
		m := map[string]any{}
		v.Map().Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
			m[k.String()] = scalar(fd.MapValue(), e)
			return true
		})
		return m
	}
	return scalar(fd, v)
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return value(v.Message())
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.EnumKind:
		return int64(v.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return append([]byte(nil), v.Bytes()...)
	}
	return nil
}

// Encode builds the wire form of v (a dynamic value) and appends it to dst.
// Values are never changed to fit: out-of-range integers, floats beyond a
// float field, unknown fields and enum names are errors naming the field.
func (m *Message) Encode(dst []byte, v map[string]any) ([]byte, error) {
	msg := m.New()
	if err := fill(msg, v, ""); err != nil {
		return nil, fmt.Errorf("protobuf: encode %s: %w", m.Name(), err)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, msg)
}

func fill(msg protoreflect.Message, v map[string]any, path string) error {
	fields := msg.Descriptor().Fields()
	for name, x := range v {
		fd := fields.ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("%s%s: no such field", path, name)
		}
		p := path + name
		switch {
		case fd.IsList():
			items, ok := x.([]any)
			if !ok {
				return fmt.Errorf("%s: want a list, got %T", p, x)
			}
			l := msg.Mutable(fd).List()
			for i, it := range items {
				if fd.Kind() == protoreflect.MessageKind {
					m, ok := it.(map[string]any)
					if !ok {
						return fmt.Errorf("%s[%d]: want an object, got %T", p, i, it)
					}
					e := l.NewElement()
					if err := fill(e.Message(), m, fmt.Sprintf("%s[%d].", p, i)); err != nil {
						return err
					}
					l.Append(e)
					continue
				}
				e, err := toValue(fd, it)
				if err != nil {
					return fmt.Errorf("%s[%d]: %w", p, i, err)
				}
				l.Append(e)
			}
		case fd.IsMap():
			return fmt.Errorf("%s: map fields are not supported yet", p)
		case fd.Kind() == protoreflect.MessageKind:
			m, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: want an object, got %T", p, x)
			}
			if err := fill(msg.Mutable(fd).Message(), m, p+"."); err != nil {
				return err
			}
		default:
			e, err := toValue(fd, x)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			msg.Set(fd, e)
		}
	}
	return nil
}

func toValue(fd protoreflect.FieldDescriptor, x any) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if b, ok := x.(bool); ok {
			return protoreflect.ValueOfBool(b), nil
		}
	case protoreflect.StringKind:
		if s, ok := x.(string); ok {
			return protoreflect.ValueOfString(s), nil
		}
	case protoreflect.BytesKind:
		if b, ok := x.([]byte); ok {
			return protoreflect.ValueOfBytes(b), nil
		}
	case protoreflect.EnumKind:
		if s, ok := x.(string); ok {
			ev := fd.Enum().Values().ByName(protoreflect.Name(s))
			if ev == nil {
				return protoreflect.Value{}, fmt.Errorf("%q is not a value of %s", s, fd.Enum().FullName())
			}
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := toInt(x, math.MinInt32, math.MaxInt32)
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), err
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := toInt(x, math.MinInt32, math.MaxInt32)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := toInt(x, math.MinInt64, math.MaxInt64)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := toUint(x, math.MaxUint32)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := toUint(x, math.MaxUint64)
		return protoreflect.ValueOfUint64(n), err
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, ok := x.(float64)
		if !ok {
			break
		}
		if fd.Kind() == protoreflect.FloatKind {
			if !math.IsInf(f, 0) && math.IsInf(float64(float32(f)), 0) { // rounds to infinity
				return protoreflect.Value{}, fmt.Errorf("%g does not fit a float", f)
			}
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return protoreflect.Value{}, fmt.Errorf("cannot store a %T in a %s field", x, fd.Kind())
}

func toInt(x any, lo, hi int64) (int64, error) {
	switch n := x.(type) {
	case int64:
		if n < lo || n > hi {
			return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
		}
		return n, nil
	case uint64:
		if n > uint64(hi) {
			return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
		}
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || n < float64(lo) || n >= -float64(lo) {
			return 0, fmt.Errorf("%g is not an integer in [%d, %d]", n, lo, hi)
		}
		return toInt(int64(n), lo, hi)
	}
	return 0, fmt.Errorf("want an integer, got %T", x)
}

func toUint(x any, hi uint64) (uint64, error) {
	switch n := x.(type) {
	case uint64:
		if n > hi {
			return 0, fmt.Errorf("%d is out of range [0, %d]", n, hi)
		}
		return n, nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return toUint(uint64(n), hi)
	case float64:
		if n != math.Trunc(n) || n < 0 || n >= 1<<64 {
			return 0, fmt.Errorf("%g is not an unsigned integer", n)
		}
		return toUint(uint64(n), hi)
	}
	return 0, fmt.Errorf("want an unsigned integer, got %T", x)
}
