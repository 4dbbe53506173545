// Package schema is crossbuf's run-time schema engine: a user's FlatBuffers or
// Cap'n Proto schema, loaded from its binary form (.bfbs, CodeGeneratorRequest)
// or compiled from text by the reference compiler, becomes a Schema of Types.
// Each Type carries its plan (slots, offsets, sizes, defaults, element types),
// computed once at load; verifying, decoding, encoding (EncodeFlatBuffer,
// EncodeCapnp), reading one field through a compiled Path, and JSON
// transcoding of messages are driven by plans, with no code written per user
// type.
//
// A Schema and everything reachable from it is immutable after load and safe
// to share between goroutines.
//
// # Type ids
//
// Every type has a stable 64-bit id that survives schema evolution:
//   - Cap'n Proto: the node id the compiler assigns (from the @0x... file id
//     and the type's name, or an explicit id).
//   - FlatBuffers: FNV-1a 64 of the fully-qualified name
//     (e.g. "MyGame.Example.Monster"), never of the field list, so adding a
//     field keeps the id. See FlatBuffersTypeID.
//
// A Registry maps ids to types across loaded schemas; see Registry.Add for
// what happens when two schemas claim the same id.
//
// # Dynamic values
//
// Decode returns a message as a Record: its values by field slot, with
// typed accessors (Record.Get, Value.Str, Value.Int, Value.Index, ...).
// Record.Map and Value.Any give the same message as plain Go values, the
// form JSON, MsgPack and the encoders use:
//   - tables and structs (and Cap'n Proto groups): map[string]any keyed by
//     field name;
//   - vectors, lists and fixed arrays: []any;
//   - bool: bool; signed integers: int64; unsigned integers: uint64;
//     float32 and float64: float64 (a float32 widens exactly);
//   - strings and Text: string (the bytes as stored; UTF-8 is not checked
//     there, but JSON output refuses invalid UTF-8); Data: []byte (a copy);
//   - enums: their integer value (int64 or uint64 after the underlying type;
//     Cap'n Proto enums are uint64), so values unknown to the schema survive;
//   - FlatBuffers unions: the `_type` field holds the member's enum value as
//     uint64, the value field the member's decoded table (or struct, string);
//     a nested_flatbuffer field holds the nested root table, as flatc prints it;
//   - Cap'n Proto Void: nil; capabilities: nil when set (left out when
//     null, as capnp's JSON codec does); AnyPointer: []byte, a message
//     (stream framing) whose root is a copy of the object, which the
//     encoders copy back in (its content has no schema here); a union
//     contributes only its active member, always: nil when that member is
//     a null pointer or an AnyPointer, so its variant survives encoding the
//     value again (the encoders take a member given as nil as the active
//     one, with a null pointer).
//
// A Cap'n Proto generic struct whose parameters a field's type binds
// (Pair(Text, Inner)) is a type of its own, "file.capnp:Pair(Text, Inner)",
// listed with the schema's types: its fields read,
// encode and print as the bound types (unbound parameters as AnyPointer).
//
// FlatBuffers tables hold only the fields present in the message (absent
// fields read as Field.Default); Cap'n Proto structs hold every data field
// and every non-null pointer field, as `capnp convert` does.
package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Format is the wire format a schema describes.
type Format uint8

const (
	FlatBuffers Format = iota + 1
	CapnProto
)

func (f Format) String() string {
	switch f {
	case FlatBuffers:
		return "flatbuffers"
	case CapnProto:
		return "capnp"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// Kind is the kind of a type or of a field's value.
type Kind uint8

const (
	Void Kind = iota + 1
	Bool
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Float32
	Float64
	String     // FlatBuffers string, Cap'n Proto Text
	Bytes      // Cap'n Proto Data
	Enum       // an enum value; Type is the enum
	Struct     // FlatBuffers inline struct, Cap'n Proto struct
	Table      // FlatBuffers table
	Union      // FlatBuffers union value; Type is the union enum
	UnionType  // FlatBuffers union discriminator (the `_type` field)
	Vector     // FlatBuffers vector, Cap'n Proto List; Elem is the element
	Array      // FlatBuffers fixed-length array; Elem and Len
	Group      // Cap'n Proto group: fields stored in the parent's sections
	Interface  // Cap'n Proto capability
	AnyPointer // Cap'n Proto AnyPointer (or a generic parameter)
)

var kindNames = [...]string{
	Void: "void", Bool: "bool", Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
	Uint8: "uint8", Uint16: "uint16", Uint32: "uint32", Uint64: "uint64",
	Float32: "float32", Float64: "float64", String: "string", Bytes: "bytes", Enum: "enum",
	Struct: "struct", Table: "table", Union: "union", UnionType: "union type", Vector: "vector",
	Array: "array", Group: "group", Interface: "interface", AnyPointer: "anypointer",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsScalar reports whether k is a bool, integer or float kind.
func (k Kind) IsScalar() bool { return k >= Bool && k <= Float64 }

// IsInteger reports whether k is a signed or unsigned integer kind.
func (k Kind) IsInteger() bool { return k >= Int8 && k <= Uint64 }

// IsSigned reports whether k is a signed integer kind.
func (k Kind) IsSigned() bool { return k >= Int8 && k <= Int64 }

// scalarSize is the byte size of a scalar kind (0 for others).
func (k Kind) scalarSize() int {
	switch k {
	case Bool, Int8, Uint8:
		return 1
	case Int16, Uint16:
		return 2
	case Int32, Uint32, Float32:
		return 4
	case Int64, Uint64, Float64:
		return 8
	}
	return 0
}

// TypeRef is the type of a field or of a vector element.
type TypeRef struct {
	Kind Kind
	// Type is the named type for Enum, Struct, Table, Union, UnionType and
	// Group; nil otherwise.
	Type *Type
	// Elem is the element type of a Vector or Array.
	Elem *TypeRef
	// Len is the length of an Array.
	Len int
	// nullDefault is, on the type of a Cap'n Proto Text, Data or List (of
	// numbers) field with a declared default, that default as a read gives
	// it (see pointerDefault): what the field's null pointer reads as.
	nullDefault *[]byte
}

func (r *TypeRef) String() string {
	switch r.Kind {
	case Vector:
		return "[" + r.Elem.String() + "]"
	case Array:
		return fmt.Sprintf("[%s:%d]", r.Elem.String(), r.Len)
	case Enum, Struct, Table, Union, UnionType, Group:
		if r.Type != nil {
			return r.Type.Name
		}
	}
	return r.Kind.String()
}

// EnumValue is one value of an enum, or one member of a FlatBuffers union.
type EnumValue struct {
	Name  string
	Value int64 // Cap'n Proto: the enumerant's ordinal
	// Member is the member's type for FlatBuffers unions (nil for NONE).
	Member *TypeRef
}

// Field is one field of a struct, table or group, with its plan.
type Field struct {
	Name  string
	Index int // position in Type.Fields
	TypeRef
	Deprecated bool
	Required   bool
	Key        bool
	// Optional marks a FlatBuffers scalar with no default (`= null`).
	Optional bool
	// Default is the value an absent scalar or enum field reads as:
	// bool, int64, uint64 or float64 (nil when there is none). For Cap'n
	// Proto pointer fields it is the decoded default (string, []byte, []any
	// or map[string]any) a null pointer stands for; Decode leaves null
	// pointers out, as capnp's JSON codec does.
	Default any
	// Attributes are the field's FlatBuffers attributes (nil for Cap'n Proto).
	Attributes map[string]string

	// FlatBuffers plan.

	// ID is the field's FlatBuffers id (vtable index).
	ID uint16
	// Slot is the vtable offset for table fields (4 + 2*ID) or the byte
	// offset inside the struct for struct fields.
	Slot uint16
	// Size and Align are the inline byte size and alignment of a struct field
	// or of a table field's stored value (4 for offsets).
	Size, Align int
	// UnionTypeField is, on a union value field, its `_type` field; on a
	// `_type` field, UnionValueField is the value field.
	UnionTypeField, UnionValueField *Field
	// Nested is the root type of a `nested_flatbuffer` [ubyte] field; Decode
	// gives such a field as the nested table, the way flatc prints it.
	Nested *Type
	// vectorAlign is the alignment a vector field's elements are written
	// at: theirs, or the field's force_align.
	vectorAlign int
	// hash, for a field with a `hash` attribute, is the hash a string
	// given for it is stored as.
	hash func([]byte) uint64

	// Cap'n Proto plan.

	// Offset is, for data fields, the offset in units of the field's own size
	// from the start of the data section (bits for Bool); for pointer fields
	// (Text, Data, List, Struct, Interface, AnyPointer) the pointer index.
	Offset uint32
	// DefaultBits is XORed with the stored bits of a data field.
	DefaultBits uint64
	// Discriminant is the union discriminant value that selects this field,
	// or NoDiscriminant when the field is not a union member.
	Discriminant uint16
}

// NoDiscriminant marks a Cap'n Proto field outside any union.
const NoDiscriminant = 0xffff

// IsPointer reports whether a Cap'n Proto field is stored in the pointer section.
func (f *Field) IsPointer() bool { return f.TypeRef.isPointer() }

func (r *TypeRef) isPointer() bool {
	switch r.Kind {
	case String, Bytes, Vector, Struct, Interface, AnyPointer:
		return true
	}
	return false
}

// Type is a named type of a schema: a table, struct, enum, union, Cap'n Proto
// group or interface.
type Type struct {
	Name   string // fully-qualified: "MyGame.Example.Monster", "capnp/test.capnp:TestAllTypes"
	ID     uint64
	Format Format
	// Kind is Table, Struct, Enum, Union, Group or Interface.
	Kind Kind
	// Fields in declaration order (FlatBuffers: by id for tables, by offset
	// for structs; Cap'n Proto: the schema's field order).
	Fields []*Field
	// Values of an enum or members of a FlatBuffers union, ascending by Value.
	Values []EnumValue
	// Underlying is the integer kind of an enum (Uint16 for Cap'n Proto).
	Underlying Kind
	BitFlags   bool
	Attributes map[string]string

	// FlatBuffers struct plan: inline size and alignment.
	ByteSize, MinAlign int

	// Cap'n Proto struct plan.
	DataWords, PointerCount uint16
	DiscriminantCount       uint16
	// DiscriminantOffset is in 16-bit units from the start of the data section.
	DiscriminantOffset uint32

	self    TypeRef // a TypeRef naming the type (see Type.TypeRef)
	fbSlots fbSlotPlan
	fbKey   *Field // a FlatBuffers table's or struct's key field, if any
	byName  map[string]*Field
	byValue map[int64]int
	schema  *Schema
}

// Field returns the field called name, or nil.
func (t *Type) Field(name string) *Field { return t.byName[name] }

// Schema returns the schema the type belongs to.
func (t *Type) Schema() *Schema { return t.schema }

// EnumName returns the name of an enum value, or "" when the schema has none.
func (t *Type) EnumName(v int64) string {
	if i, ok := t.byValue[v]; ok {
		return t.Values[i].Name
	}
	return ""
}

// EnumValueOf returns the value with the given enum value, if any.
func (t *Type) EnumValueOf(v int64) (EnumValue, bool) {
	if i, ok := t.byValue[v]; ok {
		return t.Values[i], true
	}
	return EnumValue{}, false
}

func (t *Type) String() string { return t.Name }

// TypeRef returns a TypeRef naming t, shared (do not modify it).
func (t *Type) TypeRef() *TypeRef { return &t.self }

func (t *Type) index() {
	t.self = TypeRef{Kind: t.Kind, Type: t}
	t.byName = make(map[string]*Field, len(t.Fields))
	for i, f := range t.Fields {
		f.Index = i
		t.byName[f.Name] = f
	}
	if t.Format == FlatBuffers && t.Kind == Table {
		t.fbSlots = planSlots(t.Fields)
	}
	if t.Format == FlatBuffers {
		for _, f := range t.Fields {
			if f.Key && (f.Kind == String || f.scalarKind().scalarSize() > 0) {
				t.fbKey = f
				break
			}
		}
	}
	if len(t.Values) > 0 {
		sort.SliceStable(t.Values, func(i, j int) bool { return t.Values[i].Value < t.Values[j].Value })
		t.byValue = make(map[int64]int, len(t.Values))
		for i, v := range t.Values {
			if _, dup := t.byValue[v.Value]; !dup {
				t.byValue[v.Value] = i
			}
		}
	}
}

// Schema is a loaded, immutable schema.
type Schema struct {
	Format Format
	// Root is the FlatBuffers root_type, when the schema declares one.
	Root *Type
	// FileIdentifier is the FlatBuffers file_identifier ("" when none).
	FileIdentifier string

	binary []byte // what it was loaded from: a .bfbs or a CodeGeneratorRequest
	types  []*Type
	byName map[string]*Type
	// byShort indexes Cap'n Proto types by display name without the file
	// ("TestAllTypes" for "capnp/test.capnp:TestAllTypes"); nil entries mark
	// names that are ambiguous.
	byShort map[string]*Type
	byID    map[uint64]*Type
}

// Binary returns the bytes the schema was loaded from (a .bfbs for
// FlatBuffers, a CodeGeneratorRequest for Cap'n Proto), so it can travel with
// the messages it describes (dynamic.StoreSchema). Do not modify them.
func (s *Schema) Binary() []byte { return s.binary }

// Load loads a binary schema of either format: a .bfbs (it carries the BFBS
// file identifier) or a Cap'n Proto CodeGeneratorRequest.
func Load(b []byte) (*Schema, error) {
	if len(b) >= 8 && string(b[4:8]) == "BFBS" {
		return LoadBFBS(b)
	}
	return LoadCapnpRequest(b)
}

// Types returns every named type, ordered by name.
func (s *Schema) Types() []*Type { return append([]*Type(nil), s.types...) }

// Type returns the type with a fully-qualified name. Cap'n Proto types are
// also found by their name within the file ("TestAllTypes",
// "TestAllTypes.Nested") when that is unambiguous across the loaded files.
func (s *Schema) Type(name string) (*Type, error) {
	if t, ok := s.byName[name]; ok {
		return t, nil
	}
	if t, ok := s.byShort[name]; ok {
		if t == nil {
			return nil, fmt.Errorf("%w: type name %q is ambiguous: use the full name (file:Name)", ErrUnknownType, name)
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: no type %q in this %s schema", ErrUnknownType, name, s.Format)
}

// ErrUnknownType: a type name or type id the schema (or registry) does not
// define; the error names it.
var ErrUnknownType = errors.New("schema: unknown type")

// TypeByID returns the type with a type id.
func (s *Schema) TypeByID(id uint64) (*Type, error) {
	if t, ok := s.byID[id]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: no type with id %#016x in this %s schema", ErrUnknownType, id, s.Format)
}

// finish indexes the types; it fails when two types share a name or an id.
func (s *Schema) finish(types []*Type) error {
	sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
	s.types = types
	s.byName = make(map[string]*Type, len(types))
	s.byID = make(map[uint64]*Type, len(types))
	for _, t := range types {
		t.schema = s
		t.index()
		if _, dup := s.byName[t.Name]; dup {
			return fmt.Errorf("schema: type %q is defined twice", t.Name)
		}
		s.byName[t.Name] = t
		if o, dup := s.byID[t.ID]; dup {
			return fmt.Errorf("schema: types %q and %q share the type id %#016x", o.Name, t.Name, t.ID)
		}
		s.byID[t.ID] = t
		if i := strings.IndexByte(t.Name, ':'); i >= 0 && s.Format == CapnProto {
			if s.byShort == nil {
				s.byShort = make(map[string]*Type)
			}
			short := t.Name[i+1:]
			if _, seen := s.byShort[short]; seen {
				s.byShort[short] = nil
			} else {
				s.byShort[short] = t
			}
		}
	}
	return nil
}

// checkName checks a type's full name: a FlatBuffers namespace and name
// ("MyGame.Example.Monster"), or a Cap'n Proto display name
// ("file.capnp:Outer.Inner", the file part any UTF-8 without control
// characters). The schema compilers write nothing else; a name a hostile
// schema makes up would otherwise reach Python classes and stubs.
func checkName(name string, format Format) error {
	if name == "" || len(name) > 1024 || !utf8.ValidString(name) {
		return fmt.Errorf("invalid type name %q", name)
	}
	local := name
	if i := strings.LastIndexByte(name, ':'); i >= 0 && format == CapnProto {
		for _, r := range name[:i] {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("invalid type name %q: a control character in its file name", name)
			}
		}
		// capnp names a method's implicit structs "method$Params".
		local = strings.ReplaceAll(name[i+1:], "$", "_")
	}
	for _, part := range strings.Split(local, ".") {
		if err := checkIdent(part); err != nil {
			return fmt.Errorf("invalid type name %q: %w", name, err)
		}
	}
	return nil
}

// checkIdent checks a field, enum value or name part: an identifier as both
// formats' grammars define it, [A-Za-z_][A-Za-z0-9_]*.
func checkIdent(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%q is not an identifier", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return fmt.Errorf("%q is not an identifier", name)
	}
	return nil
}
