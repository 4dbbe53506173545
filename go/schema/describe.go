package schema

import (
	"encoding/json"
	"math"
)

// Describe returns the schema's types as JSON, for bindings that build their
// own classes from a schema (the Python package's record classes):
//
//	{"format": "flatbuffers", "root": "MyGame.Example.Monster" | null,
//	 "types": [{"name", "id", "kind", "fields": [{"name", "type", "default",
//	            "optional", "deprecated", "nested", "union_member"}],
//	            "values": [{"name", "value", "member"}]}]}
//
// where a type reference is {"kind", "type": name, "elem": reference,
// "len": n}; a FlatBuffers union's value names its member table or struct
// ("member"). Ids are decimal strings (JSON numbers lose 64-bit ids).
// Defaults that JSON cannot hold (NaN, infinities) are given as strings,
// Data as base64; struct defaults are left out.
func (s *Schema) Describe() []byte {
	type ref struct {
		Kind string `json:"kind"`
		Type string `json:"type,omitempty"`
		Elem *ref   `json:"elem,omitempty"`
		Len  int    `json:"len,omitempty"`
	}
	var mkRef func(r *TypeRef) *ref
	mkRef = func(r *TypeRef) *ref {
		out := &ref{Kind: r.Kind.String(), Len: r.Len}
		if r.Type != nil {
			out.Type = r.Type.Name
		}
		if r.Elem != nil {
			out.Elem = mkRef(r.Elem)
		}
		return out
	}
	type field struct {
		Name        string `json:"name"`
		Type        *ref   `json:"type"`
		Default     any    `json:"default,omitempty"`
		Optional    bool   `json:"optional,omitempty"`
		Deprecated  bool   `json:"deprecated,omitempty"`
		Nested      string `json:"nested,omitempty"`
		UnionMember bool   `json:"union_member,omitempty"`
	}
	type value struct {
		Name   string `json:"name"`
		Value  int64  `json:"value"`
		Member string `json:"member,omitempty"`
	}
	type typ struct {
		Name   string  `json:"name"`
		ID     string  `json:"id"`
		Kind   string  `json:"kind"`
		Fields []field `json:"fields,omitempty"`
		Values []value `json:"values,omitempty"`
	}
	out := struct {
		Format string  `json:"format"`
		Root   *string `json:"root"`
		Types  []typ   `json:"types"`
	}{Format: s.Format.String()}
	if s.Root != nil {
		out.Root = &s.Root.Name
	}
	for _, t := range s.types {
		d := typ{Name: t.Name, ID: jsonUint(t.ID), Kind: t.Kind.String()}
		for _, f := range t.Fields {
			fd := field{Name: f.Name, Type: mkRef(&f.TypeRef), Optional: f.Optional, Deprecated: f.Deprecated,
				UnionMember: f.Discriminant != NoDiscriminant && t.Format == CapnProto}
			if f.Nested != nil {
				fd.Nested = f.Nested.Name
			}
			if v, ok := describeDefault(f.Default); ok {
				fd.Default = v
			}
			d.Fields = append(d.Fields, fd)
		}
		for _, v := range t.Values {
			dv := value{Name: v.Name, Value: v.Value}
			if v.Member != nil && v.Member.Type != nil {
				dv.Member = v.Member.Type.Name
			}
			d.Values = append(d.Values, dv)
		}
		out.Types = append(out.Types, d)
	}
	b, _ := json.Marshal(out) // only maps, slices, strings and numbers
	return b
}

// describeDefault is a default value as the description gives it: numbers,
// bools and strings as they are (NaN and infinities as strings), Data as
// base64 (encoding/json's []byte), lists element by element. Struct values
// are left out (ok false).
func describeDefault(v any) (any, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return jsonFloat(x), true
		}
		return x, true
	case bool, int64, uint64, string, []byte:
		return x, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			d, ok := describeDefault(e)
			if !ok {
				return nil, false
			}
			out[i] = d
		}
		return out, true
	}
	return nil, false
}

func jsonUint(u uint64) string {
	b, _ := json.Marshal(u)
	return string(b)
}

func jsonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	}
	return "-inf"
}
