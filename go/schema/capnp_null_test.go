package schema

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"capnproto.org/go/capnp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nullPointersCapnp has a null-able pointer of every kind a path reads:
// Text, Data and List fields with and without defaults, a struct, lists of
// pointers, and union members.
const nullPointersCapnp = `@0xc0ffee1234567891;
struct Inner {
  name @0 :Text;
  n @1 :Int32 = 7;
  blob @2 :Data;
  nums @3 :List(Int16);
  label @4 :Text = "dflt";
}
struct Root {
  name @0 :Text;
  blob @1 :Data;
  nums @2 :List(Int32);
  inner @3 :Inner;
  texts @4 :List(Text);
  blobs @5 :List(Data);
  lists @6 :List(List(Int16));
  inners @7 :List(Inner);
  u :union {
    none @8 :Void;
    text @9 :Text;
    obj @10 :Inner;
    list @11 :List(UInt8);
  }
}
`

// length is the element count a path to a list reads.
type length int

// absentValue is what a path reads where capnp has no value: a union that
// holds another member, an index past a list's end.
var absentValue = struct{ absent bool }{true}

// nullPointerMessages are Root messages with null pointers, written by
// capnp (all null) and by go-capnp (null list elements, a union member
// whose pointer is null), with what capnp's getters read at each path.
func nullPointerMessages(t *testing.T) (*Type, []nullCase) {
	capnpTool := needTool(t, "capnp")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "null.capnp"), []byte(nullPointersCapnp), 0o644))
	s, err := CompileCapnp("null.capnp", &CompileOptions{Dir: dir})
	require.NoError(t, err)
	root, err := s.Type("Root")
	require.NoError(t, err)
	inner, err := s.Type("Inner")
	require.NoError(t, err)
	u := root.Field("u").Type

	// build writes a Root with go-capnp's untyped API, at the offsets the
	// schema gives: set fills in what is not null.
	build := func(set func(seg *capnp.Segment, r capnp.Struct)) []byte {
		msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
		require.NoError(t, err)
		r, err := capnp.NewRootStruct(seg, capnp.ObjectSize{DataSize: capnp.Size(root.DataWords) * 8, PointerCount: root.PointerCount})
		require.NoError(t, err)
		set(seg, r)
		b, err := msg.Marshal()
		require.NoError(t, err)
		return b
	}
	innerSize := capnp.ObjectSize{DataSize: capnp.Size(inner.DataWords) * 8, PointerCount: inner.PointerCount}
	ptr := func(f *Field) uint16 { return uint16(f.Offset) }
	which := func(r capnp.Struct, member string) {
		r.SetUint16(capnp.DataOffset(u.DiscriminantOffset*2), u.Field(member).Discriminant)
	}

	empty := map[string]any{
		"name": "", "blob": []byte{}, "nums": length(0), "inner.name": "", "inner.n": int64(7), "inner.blob": []byte{},
		"inner.nums": length(0), "inner.label": "dflt", "texts": length(0), "texts[0]": absentValue,
		"inners": length(0), "inners[0].n": absentValue, "u.text": absentValue, "u.obj.n": absentValue,
		"u.list": absentValue, "lists[0][0]": absentValue,
	}
	elements := build(func(seg *capnp.Segment, r capnp.Struct) {
		in, err := capnp.NewStruct(seg, innerSize) // set, with null pointers and n stored as 0: 7
		require.NoError(t, err)
		require.NoError(t, r.SetPtr(ptr(root.Field("inner")), in.ToPtr()))
		texts, err := capnp.NewTextList(seg, 2)
		require.NoError(t, err)
		require.NoError(t, texts.Set(0, "a")) // [1] stays null
		require.NoError(t, r.SetPtr(ptr(root.Field("texts")), texts.ToPtr()))
		blobs, err := capnp.NewDataList(seg, 2)
		require.NoError(t, err)
		require.NoError(t, blobs.Set(1, []byte("x"))) // [0] stays null
		require.NoError(t, r.SetPtr(ptr(root.Field("blobs")), blobs.ToPtr()))
		lists, err := capnp.NewPointerList(seg, 2)
		require.NoError(t, err)
		one, err := capnp.NewInt16List(seg, 1)
		require.NoError(t, err)
		one.Set(0, 1)
		require.NoError(t, lists.Set(0, one.ToPtr())) // [1] stays null
		require.NoError(t, r.SetPtr(ptr(root.Field("lists")), lists.ToPtr()))
		inners, err := capnp.NewCompositeList(seg, innerSize, 1)
		require.NoError(t, err)
		require.NoError(t, r.SetPtr(ptr(root.Field("inners")), inners.ToPtr()))
		which(r, "text") // its pointer stays null
	})
	obj := build(func(_ *capnp.Segment, r capnp.Struct) { which(r, "obj") })
	list := build(func(_ *capnp.Segment, r capnp.Struct) { which(r, "list") })
	return root, []nullCase{
		{"capnp encode ()", runToolIn(t, dir, []byte("()"), capnpTool, "encode", "null.capnp", "Root"), empty},
		{"go-capnp elements", elements, map[string]any{
			"inner.name": "", "inner.n": int64(7), "inner.label": "dflt", "inner.nums": length(0),
			"texts": length(2), "texts[0]": "a", "texts[1]": "", "texts[2]": absentValue,
			"blobs[0]": []byte{}, "blobs[1]": []byte("x"), "lists[0][0]": int64(1), "lists[1]": length(0),
			"lists[1][0]": absentValue, "inners[0].name": "", "inners[0].n": int64(7), "inners[0].label": "dflt",
			"inners[0].nums": length(0), "inners[1].name": absentValue,
			"u.text": "", "u.obj.n": absentValue, "u.list": absentValue,
		}},
		{"go-capnp struct member", obj, map[string]any{
			"u.obj.n": int64(7), "u.obj.name": "", "u.obj.label": "dflt", "u.obj.blob": []byte{}, "u.obj.nums": length(0),
			"u.text": absentValue,
		}},
		{"go-capnp list member", list, map[string]any{"u.list": length(0), "u.text": absentValue}},
	}
}

type nullCase struct {
	name string
	msg  []byte
	want map[string]any
}

// A path or a Ref through a null pointer reads what capnp's getters read
// (a null Text "", Data and List empty, a struct its defaults, a declared
// default wins); only a union holding another member or an index past a
// list's end has no value. The whole-message decode agrees wherever it
// holds the value (it leaves null fields out, as capnp's JSON codec does,
// and gives list elements and union members as capnp reads them).
func TestCapnpNullPointersReadAsCapnpGetters(t *testing.T) {
	root, cases := nullPointerMessages(t)
	for _, c := range cases {
		decoded, err := mapOf(root.Decode(c.msg, nil))
		require.NoError(t, err, c.name)
		for path, want := range c.want {
			what := c.name + ": " + path
			p, err := root.Path(path)
			require.NoError(t, err, what)
			got := readPath(t, p, c.msg)
			assert.Equal(t, want, got, what)
			ref, held := readRef(t, root, c.msg, path)
			assert.Equal(t, want, ref, "%s through Refs", what)
			if want == absentValue {
				assert.False(t, held, what)
			}
			if d, ok := valueAt(decoded, path); ok {
				if l, isList := d.([]any); isList {
					d = length(len(l))
				}
				assert.Equal(t, want, d, "%s: the decode agrees", what)
			}
		}
	}
}

// readPath reads path p in msg as a value of the form the cases give.
func readPath(t *testing.T, p *Path, msg []byte) any {
	var v any
	var err error
	switch p.Kind() {
	case String:
		v, err = p.ReadString(msg)
	case Bytes:
		var b []byte
		b, err = p.Bytes(msg)
		v = append([]byte{}, b...)
	case Vector: // Len reads an absent list as empty; Scalars tells
		var n int
		n, err = p.Len(msg)
		require.NoError(t, err, p.String())
		v = length(n)
		if p.Leaf().Elem.scalarKind().scalarSize() > 0 {
			var m int
			if _, m, _, err = p.Scalars(msg); err == nil {
				require.Equal(t, n, m, p.String())
			}
		}
	default:
		v, err = p.Int(msg)
	}
	if err == ErrAbsent {
		return absentValue
	}
	require.NoError(t, err, p.String())
	return v
}

// readRef reads path through Refs: Field by Field, Elem by Elem. held is
// false where one on the way is not in the message.
func readRef(t *testing.T, ty *Type, msg []byte, path string) (v any, held bool) {
	r, err := ty.Root(msg)
	require.NoError(t, err)
	held = true
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		var ok bool
		r, ok, err = r.Field(msg, r.T.Type.Field(name))
		require.NoError(t, err, path)
		held = held && ok
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(idx)
			if r.T == nil {
				break
			}
			r, ok, err = r.Elem(msg, i)
			require.NoError(t, err, path)
			held = held && ok
			rest = strings.TrimPrefix(after, "[")
		}
		if r.T == nil {
			return absentValue, false
		}
	}
	switch r.T.Kind {
	case String:
		b, err := r.Bytes(msg)
		require.NoError(t, err, path)
		return string(b), held
	case Bytes:
		b, err := r.Bytes(msg)
		require.NoError(t, err, path)
		return append([]byte{}, b...), held
	case Vector:
		n, err := r.Len(msg)
		require.NoError(t, err, path)
		return length(n), held
	}
	n, err := r.Int(msg)
	require.NoError(t, err, path)
	return n, held
}

// valueAt is the decoded value at path, if the decode holds one.
func valueAt(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(idx)
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				return nil, false
			}
			v, rest = l[i], strings.TrimPrefix(after, "[")
		}
	}
	return v, true
}
