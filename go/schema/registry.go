package schema

import (
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
)

// FlatBuffersTypeID is the type id of a FlatBuffers type: FNV-1a 64 of its
// fully-qualified name (namespace and name joined by dots, as in
// "MyGame.Example.Monster"). Only the name is hashed, so a type keeps its id
// when fields are added; renaming or moving a type to another namespace
// changes it.
func FlatBuffersTypeID(fullName string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(fullName))
	return h.Sum64()
}

// Registry maps type ids to types across loaded schemas, so that a frame's
// type id can be resolved to the type that decodes it. It is safe for
// concurrent use.
type Registry struct {
	mu   sync.RWMutex
	byID map[uint64]*Type
}

// Add registers every type of s by id, all or nothing.
//
// Two schemas may claim the same id:
//   - when both definitions are the same (same format, name, kind, fields,
//     plan and enum values), the type already registered is kept and Add
//     succeeds, so loading one schema twice, or two schemas that import a
//     common file, is fine;
//   - when they differ (another name, or another version of the same type,
//     e.g. with a field added), Add fails with an error naming the id and
//     both types, and registers nothing: one id must never decode two ways
//     in one process. Load one version of a schema per registry.
func (r *Registry) Add(s *Schema) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range s.types {
		if o, ok := r.byID[t.ID]; ok && o != t && o.definition() != t.definition() {
			return fmt.Errorf("schema: type id %#016x is already registered for %s %q with another definition than %s %q",
				t.ID, o.Format, o.Name, t.Format, t.Name)
		}
	}
	if r.byID == nil {
		r.byID = make(map[uint64]*Type)
	}
	for _, t := range s.types {
		if _, ok := r.byID[t.ID]; !ok {
			r.byID[t.ID] = t
		}
	}
	return nil
}

// TypeByID returns the type registered for id.
func (r *Registry) TypeByID(id uint64) (*Type, error) {
	r.mu.RLock()
	t, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no loaded schema has a type with id %#016x", ErrUnknownType, id)
	}
	return t, nil
}

// definition describes everything that decides how t reads a message, for
// comparing two claims on one id.
func (t *Type) definition() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s u=%s bf=%v sz=%d/%d cp=%d/%d/%d/%d{", t.Format, t.Kind, t.Name, t.Underlying, t.BitFlags,
		t.ByteSize, t.MinAlign, t.DataWords, t.PointerCount, t.DiscriminantCount, t.DiscriminantOffset)
	for _, f := range t.Fields {
		nested := ""
		if f.Nested != nil {
			nested = f.Nested.Name
		}
		fmt.Fprintf(&b, "%s:%s id=%d slot=%d off=%d def=%v/%x d=%d dep=%v req=%v opt=%v n=%s;",
			f.Name, f.TypeRef.String(), f.ID, f.Slot, f.Offset, f.Default, f.DefaultBits, f.Discriminant,
			f.Deprecated, f.Required, f.Optional, nested)
	}
	for _, v := range t.Values {
		m := ""
		if v.Member != nil {
			m = v.Member.String()
		}
		fmt.Fprintf(&b, "%s=%d:%s;", v.Name, v.Value, m)
	}
	b.WriteByte('}')
	return b.String()
}
