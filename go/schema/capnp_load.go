package schema

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"capnproto.org/go/capnp/v3"
	cschema "capnproto.org/go/capnp/v3/std/capnp/schema"
)

// Limits for reading an untrusted CodeGeneratorRequest.
const (
	requestTraverseLimit = 64 << 20
	requestDepthLimit    = 64
	maxTypeNesting       = 32 // List(List(...)) levels in one field type
)

// LoadCapnpRequest loads the CodeGeneratorRequest that `capnp compile -o-`
// writes (stream framing), read with go-capnp's schema types under traversal
// and depth limits. Every struct, enum and interface node becomes a Type named
// by its display name ("capnp/test.capnp:TestAllTypes") with the node id as
// its type id. The Schema does not keep b.
func LoadCapnpRequest(b []byte) (*Schema, error) {
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("schema: invalid CodeGeneratorRequest: %w", err)
	}
	msg.TraverseLimit = requestTraverseLimit
	msg.DepthLimit = requestDepthLimit
	req, err := cschema.ReadRootCodeGeneratorRequest(msg)
	if err != nil {
		return nil, fmt.Errorf("schema: invalid CodeGeneratorRequest: %w", err)
	}
	nodes, err := req.Nodes()
	if err != nil {
		return nil, fmt.Errorf("schema: CodeGeneratorRequest nodes: %w", err)
	}
	l := &capnpLoader{byID: map[uint64]*Type{}, nodes: map[uint64]cschema.Node{}, instances: map[string]*Type{}, instanceNames: map[string]bool{}}
	var types []*Type
	for i := 0; i < nodes.Len(); i++ {
		n := nodes.At(i)
		var kind Kind
		switch n.Which() {
		case cschema.Node_Which_structNode:
			kind = Struct
			if n.StructNode().IsGroup() {
				kind = Group
			}
		case cschema.Node_Which_enum:
			kind = Enum
		case cschema.Node_Which_interface:
			kind = Interface
		default:
			continue // files, constants and annotations describe no message
		}
		name, err := n.DisplayName()
		if err != nil {
			return nil, fmt.Errorf("schema: node %#x: %w", n.Id(), err)
		}
		if err := checkName(name, CapnProto); err != nil {
			return nil, fmt.Errorf("schema: node %#x: %w", n.Id(), err)
		}
		if _, dup := l.byID[n.Id()]; dup {
			return nil, fmt.Errorf("schema: node id %#016x appears twice", n.Id())
		}
		t := &Type{Name: name, ID: n.Id(), Format: CapnProto, Kind: kind}
		if kind == Enum {
			t.Underlying = Uint16 // before any field's default is read as one
		}
		l.byID[t.ID] = t
		l.nodes[t.ID] = n
		types = append(types, t)
	}
	for _, t := range types {
		var err error
		switch t.Kind {
		case Struct, Group:
			err = l.structNode(t, l.nodes[t.ID].StructNode(), nil)
		case Enum:
			err = l.enumNode(t, l.nodes[t.ID].Enum())
		}
		if err != nil {
			return nil, err
		}
	}
	types = append(types, l.instTypes...)
	if err := checkGroups(types); err != nil {
		return nil, err
	}
	for _, p := range l.pointerDefaults {
		if err := p.decode(); err != nil {
			return nil, fmt.Errorf("schema: %s.%s: default value: %v", p.t.Name, p.f.Name, err)
		}
		if b, ok := pointerDefault(p.f.Default, &p.f.TypeRef); ok {
			p.f.nullDefault = &b
		}
	}
	s := &Schema{Format: CapnProto, binary: bytes.Clone(b)}
	if err := s.finish(types); err != nil {
		return nil, err
	}
	return s, nil
}

type capnpLoader struct {
	byID  map[uint64]*Type
	nodes map[uint64]cschema.Node
	// pointerDefaults are decoded once every type has its plan.
	pointerDefaults []pendingDefault
	// instances are the generic structs (and their groups) with bound
	// parameters that fields use, by generic node and bindings.
	instances     map[string]*Type
	instanceNames map[string]bool
	instTypes     []*Type
}

// capnpEnv binds generic parameters: the types bound to the parameters of
// each scope (the node that declares them), by scope id. A parameter left
// unbound reads as AnyPointer.
type capnpEnv map[uint64][]TypeRef

// maxInstances bounds the generic instances one request may make (a generic
// struct whose fields instantiate it with ever longer bindings never ends).
const maxInstances = 1024

type pendingDefault struct {
	t *Type
	f *Field
	v cschema.Value
}

// pointerDefault sets a pointer field's Default to its decoded default
// value: the value is copied out of the request into a message of its own
// and read by the same reader as any message.
func (p pendingDefault) decode() error {
	f, v := p.f, p.v
	var ptr capnp.Ptr
	var err error
	switch {
	case f.Kind == String && v.Which() == cschema.Value_Which_text:
		if v.HasText() {
			f.Default, err = v.Text()
		}
		return err
	case f.Kind == Bytes && v.Which() == cschema.Value_Which_data:
		if v.HasData() {
			var b []byte
			b, err = v.Data()
			f.Default = append([]byte(nil), b...)
		}
		return err
	case f.Kind == Vector && v.Which() == cschema.Value_Which_list:
		ptr, err = v.List()
	case f.Kind == Struct && v.Which() == cschema.Value_Which_structValue:
		ptr, err = v.StructValue()
	default:
		return nil // interfaces and AnyPointer have no default value to read
	}
	if err != nil || !ptr.IsValid() {
		return err
	}
	msg, _, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		return err
	}
	if err := msg.SetRoot(ptr); err != nil {
		return err
	}
	b, err := msg.Marshal()
	if err != nil {
		return err
	}
	segs, err := splitSegments(b, Stream)
	if err != nil {
		return err
	}
	o := (*Options)(nil).withDefaults()
	limit := o.traverseLimit(len(b))
	r := &cpReader{segs: segs, budget: limit, limit: limit, maxDepth: o.MaxDepth, build: true, a: newArena(len(b))}
	d, _, err := r.pointer(&f.TypeRef, 0, 0)
	if err != nil {
		return err
	}
	f.Default = Value{r.a, d}.Any()
	return nil
}

func (l *capnpLoader) enumNode(t *Type, n cschema.Node_enum) error {
	es, err := n.Enumerants()
	if err != nil {
		return fmt.Errorf("schema: enum %s: %w", t.Name, err)
	}
	for i := 0; i < es.Len(); i++ {
		name, err := es.At(i).Name()
		if err == nil {
			err = checkIdent(name)
		}
		if err != nil {
			return fmt.Errorf("schema: enum %s: enumerant %d: %w", t.Name, i, err)
		}
		t.Values = append(t.Values, EnumValue{Name: name, Value: int64(i)})
	}
	return nil
}

// structNode plans struct or group t from its node; env binds the generic
// parameters its fields use (nil for the node as declared, where they read
// as AnyPointer).
func (l *capnpLoader) structNode(t *Type, n cschema.Node_structNode, env capnpEnv) error {
	t.DataWords, t.PointerCount = n.DataWordCount(), n.PointerCount()
	t.DiscriminantCount, t.DiscriminantOffset = n.DiscriminantCount(), n.DiscriminantOffset()
	dataBits := uint64(t.DataWords) * 64
	if t.DiscriminantCount > 0 && (uint64(t.DiscriminantOffset)+1)*16 > dataBits {
		return fmt.Errorf("schema: %s: union discriminant at %d is outside the %d-word data section", t.Name, t.DiscriminantOffset, t.DataWords)
	}
	fs, err := n.Fields()
	if err != nil {
		return fmt.Errorf("schema: %s: %w", t.Name, err)
	}
	seen := map[string]bool{}
	for i := 0; i < fs.Len(); i++ {
		cf := fs.At(i)
		name, err := cf.Name()
		if err == nil {
			err = checkIdent(name)
		}
		if err != nil || seen[name] {
			return fmt.Errorf("schema: %s: field %d: no name, a duplicate one, or %v", t.Name, i, err)
		}
		seen[name] = true
		f := &Field{Name: name, Discriminant: cf.DiscriminantValue()}
		if f.Discriminant != NoDiscriminant && t.DiscriminantCount == 0 {
			return fmt.Errorf("schema: %s.%s: union member of a struct without a union", t.Name, name)
		}
		switch cf.Which() {
		case cschema.Field_Which_group:
			g, ok := l.byID[cf.Group().TypeId()]
			if !ok || g.Kind != Group {
				return fmt.Errorf("schema: %s.%s: group %#x is not a group node of the request", t.Name, name, cf.Group().TypeId())
			}
			if len(env) > 0 { // its fields may use the parameters env binds
				if g, err = l.instantiate(g, env); err != nil {
					return fmt.Errorf("schema: %s.%s: %w", t.Name, name, err)
				}
			}
			f.TypeRef = TypeRef{Kind: Group, Type: g}
		case cschema.Field_Which_slot:
			slot := cf.Slot()
			ct, err := slot.Type()
			if err != nil {
				return fmt.Errorf("schema: %s.%s: %w", t.Name, name, err)
			}
			r, err := l.typeRef(ct, 0, env)
			if err != nil {
				return fmt.Errorf("schema: %s.%s: %w", t.Name, name, err)
			}
			f.TypeRef = r
			f.Offset = slot.Offset()
			if err := checkSlot(t, f); err != nil {
				return err
			}
			if f.Kind.IsScalar() || f.Kind == Enum {
				// Zero unless the request says otherwise (it may leave the
				// default out of nodes of imported files).
				f.Default = scalarFromBits(f.scalarKind(), 0)
			}
			if dv, err := slot.DefaultValue(); err == nil && dv.IsValid() {
				if f.IsPointer() {
					l.pointerDefaults = append(l.pointerDefaults, pendingDefault{t, f, dv})
				} else {
					setCapnpDefault(f, dv)
				}
			}
		default:
			return fmt.Errorf("schema: %s.%s: unknown field kind %d", t.Name, name, cf.Which())
		}
		t.Fields = append(t.Fields, f)
	}
	return nil
}

// dataBits is the width of a data field in bits (0 for pointer fields and Void).
func (r *TypeRef) dataBits() uint64 {
	switch r.Kind {
	case Bool:
		return 1
	case Enum:
		return 16
	}
	return uint64(r.Kind.scalarSize()) * 8
}

func checkSlot(t *Type, f *Field) error {
	if f.IsPointer() {
		if f.Offset >= uint32(t.PointerCount) {
			return fmt.Errorf("schema: %s.%s: pointer %d is outside the %d-pointer section", t.Name, f.Name, f.Offset, t.PointerCount)
		}
		return nil
	}
	if bits := f.dataBits(); bits > 0 && (uint64(f.Offset)+1)*bits > uint64(t.DataWords)*64 {
		return fmt.Errorf("schema: %s.%s: data field at %d×%d bits is outside the %d-word data section", t.Name, f.Name, f.Offset, bits, t.DataWords)
	}
	return nil
}

func (l *capnpLoader) typeRef(ct cschema.Type, depth int, env capnpEnv) (TypeRef, error) {
	if depth > maxTypeNesting {
		return TypeRef{}, fmt.Errorf("list types nested deeper than %d", maxTypeNesting)
	}
	named := func(id uint64, want Kind) (TypeRef, error) {
		nt, ok := l.byID[id]
		if !ok || nt.Kind != want {
			return TypeRef{}, fmt.Errorf("type %#x is not a %s node of the request", id, want)
		}
		return TypeRef{Kind: want, Type: nt}, nil
	}
	switch ct.Which() {
	case cschema.Type_Which_void:
		return TypeRef{Kind: Void}, nil
	case cschema.Type_Which_bool:
		return TypeRef{Kind: Bool}, nil
	case cschema.Type_Which_int8:
		return TypeRef{Kind: Int8}, nil
	case cschema.Type_Which_int16:
		return TypeRef{Kind: Int16}, nil
	case cschema.Type_Which_int32:
		return TypeRef{Kind: Int32}, nil
	case cschema.Type_Which_int64:
		return TypeRef{Kind: Int64}, nil
	case cschema.Type_Which_uint8:
		return TypeRef{Kind: Uint8}, nil
	case cschema.Type_Which_uint16:
		return TypeRef{Kind: Uint16}, nil
	case cschema.Type_Which_uint32:
		return TypeRef{Kind: Uint32}, nil
	case cschema.Type_Which_uint64:
		return TypeRef{Kind: Uint64}, nil
	case cschema.Type_Which_float32:
		return TypeRef{Kind: Float32}, nil
	case cschema.Type_Which_float64:
		return TypeRef{Kind: Float64}, nil
	case cschema.Type_Which_text:
		return TypeRef{Kind: String}, nil
	case cschema.Type_Which_data:
		return TypeRef{Kind: Bytes}, nil
	case cschema.Type_Which_list:
		et, err := ct.List().ElementType()
		if err != nil {
			return TypeRef{}, err
		}
		e, err := l.typeRef(et, depth+1, env)
		if err != nil {
			return TypeRef{}, err
		}
		return TypeRef{Kind: Vector, Elem: &e}, nil
	case cschema.Type_Which_enum:
		return named(ct.Enum().TypeId(), Enum)
	case cschema.Type_Which_structType:
		r, err := named(ct.StructType().TypeId(), Struct)
		if err != nil {
			return r, err
		}
		brand, err := ct.StructType().Brand()
		if err != nil {
			return TypeRef{}, err
		}
		bound, err := l.bindings(brand, depth, env)
		if err != nil || len(bound) == 0 {
			return r, err
		}
		r.Type, err = l.instantiate(r.Type, bound)
		return r, err
	case cschema.Type_Which_interface:
		return TypeRef{Kind: Interface}, nil
	case cschema.Type_Which_anyPointer:
		ap := ct.AnyPointer()
		if ap.Which() == cschema.Type_anyPointer_Which_parameter {
			p := ap.Parameter()
			if refs := env[p.ScopeId()]; int(p.ParameterIndex()) < len(refs) {
				return refs[p.ParameterIndex()], nil
			}
		}
		return TypeRef{Kind: AnyPointer}, nil
	}
	return TypeRef{}, fmt.Errorf("unknown type kind %d", ct.Which())
}

// bindings reads a brand: the types it binds to each scope's parameters
// (resolving those it inherits through env). It is empty when the brand
// binds nothing but AnyPointer: the struct as declared serves then.
func (l *capnpLoader) bindings(b cschema.Brand, depth int, env capnpEnv) (capnpEnv, error) {
	scopes, err := b.Scopes()
	if err != nil {
		return nil, err
	}
	var out capnpEnv
	for i := 0; i < scopes.Len(); i++ {
		sc := scopes.At(i)
		var refs []TypeRef
		switch sc.Which() {
		case cschema.Brand_Scope_Which_bind:
			bs, err := sc.Bind()
			if err != nil {
				return nil, err
			}
			refs = make([]TypeRef, bs.Len())
			for j := range refs {
				refs[j] = TypeRef{Kind: AnyPointer}
				if bd := bs.At(j); bd.Which() == cschema.Brand_Binding_Which_type {
					bt, err := bd.Type()
					if err != nil {
						return nil, err
					}
					if refs[j], err = l.typeRef(bt, depth+1, env); err != nil {
						return nil, err
					}
					if listDepth(&refs[j]) > maxTypeNesting {
						return nil, fmt.Errorf("generic parameter %d of scope %#x is bound to lists nested deeper than %d", j, sc.ScopeId(), maxTypeNesting)
					}
					if !refs[j].isPointer() {
						return nil, fmt.Errorf("generic parameter %d of scope %#x is bound to %s, not a pointer type", j, sc.ScopeId(), refs[j].Kind)
					}
				}
			}
		case cschema.Brand_Scope_Which_inherit:
			refs = env[sc.ScopeId()]
		}
		for _, r := range refs {
			if r.Kind != AnyPointer {
				if out == nil {
					out = capnpEnv{}
				}
				out[sc.ScopeId()] = refs
				break
			}
		}
	}
	return out, nil
}

// listDepth is how deeply lists nest in r.
func listDepth(r *TypeRef) int {
	n := 0
	for ; r.Kind == Vector; r = r.Elem {
		n++
	}
	return n
}

// capnpTypeName spells a bound parameter type (a pointer type) as capnp
// does (Text, Data, List(...), AnyPointer), named types by their display
// name, without the file when short.
func capnpTypeName(r *TypeRef, short bool) string {
	switch r.Kind {
	case String:
		return "Text"
	case Bytes:
		return "Data"
	case AnyPointer:
		return "AnyPointer"
	case Interface:
		return "Capability"
	case Vector:
		return "List(" + capnpTypeName(r.Elem, short) + ")"
	}
	if r.Type != nil && short {
		if _, name, ok := strings.Cut(r.Type.Name, ":"); ok {
			return name
		}
	}
	return r.String()
}

// instantiate returns generic struct or group g with the parameters env
// binds: a type of its own (named like capnp prints it, "file:Pair(Text,
// Inner)"), planned once per binding and listed with the schema's types.
func (l *capnpLoader) instantiate(g *Type, env capnpEnv) (*Type, error) {
	scopes := make([]uint64, 0, len(env))
	for id := range env {
		scopes = append(scopes, id)
	}
	slices.Sort(scopes)
	var key, args, full strings.Builder
	fmt.Fprintf(&key, "%x", g.ID)
	for _, id := range scopes {
		fmt.Fprintf(&key, "/%x:", id)
		for _, r := range env[id] {
			if args.Len() > 0 {
				args.WriteString(", ")
				full.WriteString(", ")
			}
			args.WriteString(capnpTypeName(&r, true))
			full.WriteString(capnpTypeName(&r, false))
			fmt.Fprintf(&key, "%s;", r.String())
		}
	}
	if t, ok := l.instances[key.String()]; ok {
		return t, nil
	}
	if len(l.instances) >= maxInstances {
		return nil, fmt.Errorf("more than %d generic instances", maxInstances)
	}
	// Named by the types' display names without their file, unless another
	// binding (of types of the same name from other files) took that name.
	name := g.Name + "(" + args.String() + ")"
	if l.instanceNames[name] {
		name = g.Name + "(" + full.String() + ")"
	}
	l.instanceNames[name] = true
	h := fnv.New64a()
	h.Write([]byte(key.String()))
	t := &Type{Name: name, ID: h.Sum64(), Format: CapnProto, Kind: g.Kind}
	l.instances[key.String()] = t // before its fields: they may use it
	l.instTypes = append(l.instTypes, t)
	return t, l.structNode(t, l.nodes[g.ID].StructNode(), env)
}

// setCapnpDefault records a data field's default: the Go value and the bits
// the wire value is XORed with.
func setCapnpDefault(f *Field, v cschema.Value) {
	if !valueMatches(f.Kind, v.Which()) {
		// Pointer defaults are not part of the plan yet; a data field whose
		// Value is of another kind (which no compiler writes) reads as zero
		// bits. The generated accessors panic on a kind mismatch.
		if f.Kind.IsScalar() || f.Kind == Enum {
			f.Default = scalarFromBits(f.scalarKind(), 0)
		}
		return
	}
	var bits uint64
	switch f.Kind {
	case Bool:
		if v.Bool() {
			bits = 1
		}
	case Int8:
		bits = uint64(uint8(v.Int8()))
	case Int16:
		bits = uint64(uint16(v.Int16()))
	case Int32:
		bits = uint64(uint32(v.Int32()))
	case Int64:
		bits = uint64(v.Int64())
	case Uint8:
		bits = uint64(v.Uint8())
	case Uint16:
		bits = uint64(v.Uint16())
	case Uint32:
		bits = uint64(v.Uint32())
	case Uint64:
		bits = v.Uint64()
	case Float32:
		bits = uint64(math.Float32bits(v.Float32()))
	case Float64:
		bits = math.Float64bits(v.Float64())
	case Enum:
		bits = uint64(v.Enum())
	}
	f.DefaultBits = bits
	f.Default = scalarFromBits(f.scalarKind(), bits)
}

func valueMatches(k Kind, w cschema.Value_Which) bool {
	want := map[Kind]cschema.Value_Which{
		Bool: cschema.Value_Which_bool, Int8: cschema.Value_Which_int8, Int16: cschema.Value_Which_int16,
		Int32: cschema.Value_Which_int32, Int64: cschema.Value_Which_int64, Uint8: cschema.Value_Which_uint8,
		Uint16: cschema.Value_Which_uint16, Uint32: cschema.Value_Which_uint32, Uint64: cschema.Value_Which_uint64,
		Float32: cschema.Value_Which_float32, Float64: cschema.Value_Which_float64, Enum: cschema.Value_Which_enum,
	}[k]
	return want == w
}

// scalarFromBits turns the little-endian bits of a scalar into its Go value.
func scalarFromBits(k Kind, bits uint64) any {
	switch k {
	case Bool: // a FlatBuffers bool byte other than 0 is true too
		return bits != 0
	case Int8:
		return int64(int8(bits))
	case Int16:
		return int64(int16(bits))
	case Int32:
		return int64(int32(bits))
	case Int64:
		return int64(bits)
	case Uint8, Uint16, Uint32, Uint64:
		return bits
	case Float32:
		return float64(math.Float32frombits(uint32(bits)))
	case Float64:
		return math.Float64frombits(bits)
	}
	return nil
}

// checkGroups refuses group fields that reach their own group again, which
// would make a struct's layout infinite.
func checkGroups(types []*Type) error {
	state := map[*Type]int{}
	var visit func(t *Type) error
	visit = func(t *Type) error {
		switch state[t] {
		case 1:
			return errors.New("schema: group " + t.Name + " contains itself")
		case 2:
			return nil
		}
		state[t] = 1
		for _, f := range t.Fields {
			if f.Kind == Group {
				if err := visit(f.Type); err != nil {
					return err
				}
			}
		}
		state[t] = 2
		return nil
	}
	for _, t := range types {
		if t.Kind == Struct || t.Kind == Group {
			if err := visit(t); err != nil {
				return err
			}
		}
	}
	return nil
}
