package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Builder assembles a message of one type field by field, for callers
// that cannot hand over a whole value (C, say): Set stores a scalar, string
// or bytes in a field of the table or struct being built, or appends it to
// the list being built; Begin opens a nested table, struct, group, union
// member or list, and End closes it. Each value is checked against its field
// when it is set (an integer out of range, a float64 beyond a float32, text
// that is not UTF-8 are errors naming the field path, and nothing is
// stored); Value returns the value for EncodeFlatBuffer, EncodeCapnp or
// crossbuf.AppendValue, which check the rest (required fields, union tags).
//
// A Builder is not safe for concurrent use.
type Builder struct {
	root  *Type
	stack []bframe
}

type bframe struct {
	t    *TypeRef // Table, Struct, Group: fields; Vector, Array: elements
	m    map[string]any
	l    []any
	name string // path segment
}

// ErrBuild marks a call that does not fit the builder's state or the
// schema (a field of a list, End with nothing open, an unknown field).
var ErrBuild = errors.New("schema: builder")

// NewBuilder starts a message of t, a FlatBuffers table or Cap'n Proto
// struct.
func (t *Type) NewBuilder() (*Builder, error) {
	if !(t.Format == FlatBuffers && t.Kind == Table) && !(t.Format == CapnProto && t.Kind == Struct) {
		return nil, fmt.Errorf("%w: %s is a %s %s, not a message type", ErrBuild, t.Name, t.Format, t.Kind)
	}
	b := &Builder{root: t}
	b.Reset()
	return b, nil
}

// Reset drops everything set so far.
func (b *Builder) Reset() {
	b.stack = append(b.stack[:0], bframe{t: &TypeRef{Kind: b.root.Kind, Type: b.root}, m: map[string]any{}})
}

// Type is the type the builder builds.
func (b *Builder) Type() *Type { return b.root }

// Current is the type of the table, struct, group or list being built.
func (b *Builder) Current() *TypeRef { return b.stack[len(b.stack)-1].t }

// Path is where the builder is ("items[2].where").
func (b *Builder) Path() string {
	var s strings.Builder
	for i, f := range b.stack[1:] {
		if i > 0 && !strings.HasPrefix(f.name, "[") {
			s.WriteByte('.')
		}
		s.WriteString(f.name)
	}
	return s.String()
}

func (b *Builder) where(f *Field) string {
	p := b.Path()
	if f == nil {
		return fmt.Sprintf("%s[%d]", p, len(b.stack[len(b.stack)-1].l))
	}
	if p == "" {
		return f.Name
	}
	return p + "." + f.Name
}

// target checks that f (nil: a new element) can be given a value now and
// returns the type of that value.
func (b *Builder) target(f *Field) (*TypeRef, error) {
	top := &b.stack[len(b.stack)-1]
	if f == nil {
		if top.l == nil && top.m != nil {
			return nil, fmt.Errorf("%w: %s is a %s: name a field", ErrBuild, b.pathOr(), top.t)
		}
		if top.t.Kind == Array && len(top.l) >= top.t.Len {
			return nil, fmt.Errorf("%w: %s holds %d elements", ErrBuild, b.pathOr(), top.t.Len)
		}
		return top.t.Elem, nil
	}
	if top.m == nil {
		return nil, fmt.Errorf("%w: %s is a list: append elements (no field name)", ErrBuild, b.pathOr())
	}
	if top.t.Type == nil || f.Index >= len(top.t.Type.Fields) || top.t.Type.Fields[f.Index] != f {
		return nil, fmt.Errorf("%w: %s has no field %s", ErrBuild, top.t, f.Name)
	}
	return &f.TypeRef, nil
}

func (b *Builder) pathOr() string {
	if p := b.Path(); p != "" {
		return p
	}
	return b.root.Name
}

func (b *Builder) store(f *Field, v any) {
	top := &b.stack[len(b.stack)-1]
	if f == nil {
		top.l = append(top.l, v)
	} else {
		setField(top.t.Type, top.m, f, v)
	}
}

// setField stores v as field f of a struct of type t being built in m. A
// Cap'n Proto union member replaces the member set before, as capnp's
// setters do.
func setField(t *Type, m map[string]any, f *Field, v any) {
	if t != nil && t.Format == CapnProto && f.Discriminant != NoDiscriminant {
		for _, g := range t.Fields {
			if g != f && g.Discriminant != NoDiscriminant {
				delete(m, g.Name)
			}
		}
	}
	m[f.Name] = v
}

// Set stores x in field f of the table or struct being built, or (f nil)
// appends it to the list being built. x is a bool, int64, uint64, float64
// (scalars; a bool field also takes 0 or 1), a string (text, or an enum
// value's or union tag's name) or []byte (Cap'n Proto Data, a vector of
// bytes; copied).
func (b *Builder) Set(f *Field, x any) error {
	r, err := b.target(f)
	if err != nil {
		return err
	}
	fail := func(err error) error { return &EncodeError{Type: b.root.Name, Path: b.where(f), Reason: err.Error()} }
	switch r.Kind {
	case String:
		s, ok := x.(string)
		if !ok {
			return fail(fmt.Errorf("want a string, got %s", jsonKind(x)))
		}
		if !utf8.ValidString(s) {
			return fail(errors.New("text is not valid UTF-8"))
		}
		b.store(f, strings.Clone(s))
		return nil
	case Bytes, Vector:
		raw, ok := x.([]byte)
		if r.Kind == Vector && (r.Elem.scalarKind() != Uint8 && r.Elem.scalarKind() != Int8 || r.Elem.Kind == Enum) {
			ok = false
		}
		if !ok {
			return fail(fmt.Errorf("want bytes for a %s; begin a list to set its elements", r))
		}
		b.store(f, append([]byte{}, raw...))
		return nil
	case UnionType:
		switch v := x.(type) {
		case string:
			if _, err := enumByName(r.Type, v); err != nil {
				return fail(err)
			}
		case int64, uint64:
		default:
			return fail(fmt.Errorf("want a union tag, got %s", jsonKind(x)))
		}
		b.store(f, x)
		return nil
	}
	if r.Kind == Void { // a Cap'n Proto union member with no value: setting it selects it
		b.store(f, nil)
		return nil
	}
	k := r.scalarKind()
	if !k.IsScalar() {
		return fail(fmt.Errorf("a %s is built with Begin and End", r))
	}
	if k == Bool {
		switch v := x.(type) {
		case int64:
			if v != 0 && v != 1 {
				return fail(fmt.Errorf("%d is not a bool (0 or 1)", v))
			}
			x = v == 1
		case uint64:
			if v > 1 {
				return fail(fmt.Errorf("%d is not a bool (0 or 1)", v))
			}
			x = v == 1
		}
	}
	var enum *Type
	if r.Kind == Enum {
		enum = r.Type
	}
	if _, err := scalarBits(k, enum, x); err != nil {
		return fail(err)
	}
	b.store(f, x)
	return nil
}

// Begin opens field f (nil: a new element of the list being built): a
// table, struct, group or list; a FlatBuffers union field opens the member
// its `_type` field, set before, names.
func (b *Builder) Begin(f *Field) error {
	r, err := b.target(f)
	if err != nil {
		return err
	}
	if len(b.stack) > defaultMaxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrBuild, defaultMaxDepth)
	}
	name := "[" + strconv.Itoa(len(b.stack[len(b.stack)-1].l)) + "]"
	if f != nil {
		name = f.Name
	}
	if r.Kind == Union {
		top := b.stack[len(b.stack)-1]
		ev, ok := unionMemberOf(f, map[string]any{f.UnionTypeField.Name: unionTagJSON(top.m[f.UnionTypeField.Name])})
		if !ok {
			return &EncodeError{Type: b.root.Name, Path: b.where(f), Reason: "set the union's " + f.UnionTypeField.Name + " to a member first"}
		}
		r = ev.Member
	}
	switch r.Kind {
	case Table, Struct, Group:
		b.stack = append(b.stack, bframe{t: r, m: map[string]any{}, name: name})
	case Vector, Array:
		if r.Elem.Kind == Union {
			return fmt.Errorf("%w: %s: vectors of unions are encoded from JSON or MessagePack", ErrBuild, b.where(f))
		}
		b.stack = append(b.stack, bframe{t: r, l: []any{}, name: name})
	default:
		return fmt.Errorf("%w: %s is a %s: set it", ErrBuild, b.where(f), r)
	}
	return nil
}

// unionTagJSON gives a stored tag the form unionMemberOf reads.
func unionTagJSON(x any) any {
	switch v := x.(type) {
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	}
	return x
}

// End closes what the last Begin opened and stores it in its parent.
func (b *Builder) End() error {
	if len(b.stack) < 2 {
		return fmt.Errorf("%w: End with nothing open", ErrBuild)
	}
	top := b.stack[len(b.stack)-1]
	if top.t.Kind == Array && len(top.l) != top.t.Len {
		return &EncodeError{Type: b.root.Name, Path: b.Path(), Reason: fmt.Sprintf("a %s needs %d elements, got %d", top.t, top.t.Len, len(top.l))}
	}
	b.stack = b.stack[:len(b.stack)-1]
	parent := &b.stack[len(b.stack)-1]
	var v any = top.m
	if top.m == nil {
		v = top.l
	}
	if parent.m != nil {
		if f := parent.t.Type.Field(top.name); f != nil {
			setField(parent.t.Type, parent.m, f, v)
		} else {
			parent.m[top.name] = v
		}
	} else {
		parent.l = append(parent.l, v)
	}
	return nil
}

// Value returns the message built so far; everything Begin opened must be
// closed. The builder keeps it: Reset before building the next message.
func (b *Builder) Value() (map[string]any, error) {
	if len(b.stack) != 1 {
		return nil, fmt.Errorf("%w: %s is still open", ErrBuild, b.Path())
	}
	return b.stack[0].m, nil
}
