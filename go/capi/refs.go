package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// An xb_ref is a schema.Ref flattened into C memory: the Ref's TypeRef is
// named by (type id, field index, list depth), which the schema resolves
// again on every call, and its position is copied as is. Nothing is
// allocated for a ref and nothing needs freeing; every call re-checks the
// handles, the frame's identity and (in the schema package) the position.

// refCall is what one call on an xb_ref holds: the schema and region (kept
// open until done), the frame's payload and the resolved Ref.
type refCall struct {
	l       *loadedSchema
	msg     []byte
	ref     schema.Ref
	c       C.xb_ref
	owner   *schema.Type // the named type of a table or struct ref
	release func()
}

func (rc *refCall) done() { rc.release() }

// refFailure maps what a Ref call reports to a status, naming where.
func refFailure(err error, where string) status {
	msg := err.Error()
	if where != "" {
		msg = where + ": " + msg
	}
	switch {
	case errors.Is(err, schema.ErrMalformedPath):
		return fail(C.XB_ERR_MALFORMED, msg)
	case errors.Is(err, schema.ErrRange):
		return fail(C.XB_ERR_RANGE, msg)
	case errors.Is(err, schema.ErrRefKind):
		return fail(C.XB_ERR_INVALID_ARG, msg)
	}
	return fail(codeOf(err), msg)
}

// openRef checks c and resolves it; on XB_OK the caller must call done.
func openRef(c *C.xb_ref) (*refCall, status) {
	if c == nil {
		return nil, invalidf("ref is NULL")
	}
	if c.kind == 0 {
		return nil, invalidf("the ref is empty (an absent value)")
	}
	if c.region_id == 0 || c.generation == 0 {
		return nil, invalidf("the ref has no frame identity: it was not made by xb_ref_root")
	}
	l, releaseSchema, err := useSchema(c.schema)
	if err != nil {
		return nil, failErr(err)
	}
	r, releaseRegion, err := useRegion(c.region)
	if err != nil {
		releaseSchema()
		return nil, failErr(err)
	}
	rc := &refCall{l: l, c: *c, release: func() { releaseRegion(); releaseSchema() }}
	f, err := r.Get(region.Ref{RegionID: uint64(c.region_id), Generation: uint64(c.generation), Offset: uint64(c.frame)})
	if err == nil && f.Codec != codecOf(l.s.Format) {
		err = fmt.Errorf("%w: the frame at offset %d has codec %d, not the schema's %s", errInvalidArg, f.Offset, f.Codec, l.s.Format)
	}
	if err != nil {
		rc.done()
		return nil, failErr(err)
	}
	rc.msg = f.Payload
	t, err := l.s.TypeByID(uint64(c.type_id))
	if err != nil {
		rc.done()
		return nil, fail(C.XB_ERR_UNKNOWN_TYPE, err.Error())
	}
	var tr *schema.TypeRef
	if c.field < 0 {
		if c.depth != 0 || (t.Kind != schema.Table && t.Kind != schema.Struct && t.Kind != schema.Group) {
			rc.done()
			return nil, invalidf("the ref does not match its schema: %s is a %s", t.Name, t.Kind)
		}
		tr, rc.owner = t.TypeRef(), t
	} else {
		if int(c.field) >= len(t.Fields) {
			rc.done()
			return nil, invalidf("the ref does not match its schema: %s has %d fields, not %d", t.Name, len(t.Fields), int(c.field)+1)
		}
		tr = &t.Fields[c.field].TypeRef
		for d := 0; d < int(c.depth); d++ {
			if tr.Elem == nil {
				rc.done()
				return nil, invalidf("the ref does not match its schema: %s.%s has no list at depth %d", t.Name, t.Fields[c.field].Name, d+1)
			}
			tr = tr.Elem
		}
	}
	rc.ref = schema.Ref{T: tr, Format: l.s.Format, Pos: [4]uint64{uint64(c.where[0]), uint64(c.where[1]), uint64(c.where[2]), uint64(c.where[3])}}
	if k := rc.ref.Kind(); k == 0 || C.uint16_t(k) != c.kind {
		rc.done()
		return nil, invalidf("the ref does not match its schema: kind %d, the schema says %d", uint16(c.kind), k)
	}
	return rc, C.XB_OK
}

// field picks the field a getter names: nil (the ref itself) for name NULL
// and index XB_SELF.
func (rc *refCall) field(name *C.char, index C.int32_t) (*schema.Field, status) {
	if name == nil && index == -1 {
		return nil, C.XB_OK
	}
	if rc.owner == nil {
		return nil, invalidf("a %s has no fields; pass name NULL and XB_SELF to read it", rc.ref.T)
	}
	if name != nil {
		n, st := cName(name, "name")
		if st != C.XB_OK {
			return nil, st
		}
		f := rc.owner.Field(n)
		if f == nil {
			return nil, invalidf("%s has no field %q", rc.owner.Name, n)
		}
		return f, C.XB_OK
	}
	if index < 0 || int(index) >= len(rc.owner.Fields) {
		return nil, invalidf("%s has no field %d (it has %d)", rc.owner.Name, int(index), len(rc.owner.Fields))
	}
	return rc.owner.Fields[index], C.XB_OK
}

// target resolves a getter's field to a Ref; ok is false when absent (a
// FlatBuffers scalar then still has a Ref that reads its default).
func (rc *refCall) target(name *C.char, index C.int32_t) (schema.Ref, bool, string, status) {
	f, st := rc.field(name, index)
	if st != C.XB_OK {
		return schema.Ref{}, false, "", st
	}
	if f == nil {
		return rc.ref, true, rc.ref.T.String(), C.XB_OK
	}
	where := "field " + f.Name + " of " + rc.owner.Name
	r, ok, err := rc.ref.Field(rc.msg, f)
	if err != nil {
		return schema.Ref{}, false, where, refFailure(err, where)
	}
	return r, ok, where, C.XB_OK
}

// toC writes r, reached from rc by field f (nil for an element or a union
// member), into out.
func (rc *refCall) toC(r schema.Ref, f *schema.Field, out *C.xb_ref) status {
	c := rc.c
	switch {
	case r.T.Type != nil && (r.T.Kind == schema.Table || r.T.Kind == schema.Struct || r.T.Kind == schema.Group):
		c.type_id, c.field, c.depth = C.uint64_t(r.T.Type.ID), -1, 0
	case f != nil && r.T == &f.TypeRef: // not a union's string member, say
		c.type_id, c.field, c.depth = C.uint64_t(rc.owner.ID), C.int32_t(f.Index), 0
	case rc.c.field >= 0 && rc.ref.Kind() == schema.RefList && rc.ref.T.Elem.Kind != schema.Union:
		c.depth++
	default:
		return invalidf("a %s cannot be held by a ref; read it through xb_ref_json", r.T)
	}
	c.kind = C.uint16_t(r.Kind())
	for i := range c.where {
		c.where[i] = C.uint64_t(r.Pos[i])
	}
	*out = c
	return C.XB_OK
}

// cBytes is b, read through a ref, as C is handed it: in the frame, or (a
// null Cap'n Proto pointer's declared default, Go memory) the schema's C
// copy of it.
func (rc *refCall) cBytes(b []byte) unsafe.Pointer {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(rc.msg)))
	if p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(rc.msg)) {
		return unsafe.Pointer(unsafe.SliceData(b))
	}
	return rc.l.cDefault(b)
}

// heldOrNull reports whether a ref to r is written out: a value the
// message holds (ok), or a null Cap'n Proto pointer, whose ref reads as
// capnp's getters read it (a FlatBuffers absent value's ref stays zeroed).
func (rc *refCall) heldOrNull(r schema.Ref, ok bool) bool {
	return ok || (r.T != nil && rc.l.s.Format == schema.CapnProto)
}

func setPresent(p *C.uint8_t, ok bool) {
	if p != nil {
		*p = 0
		if ok {
			*p = 1
		}
	}
}

//export xb_ref_root
func xb_ref_root(h C.xb_schema, rh C.xb_region, frame *C.xb_frame, id C.uint64_t, flags C.uint32_t, out *C.xb_ref) (rc status) {
	defer guard(&rc, enter())
	if frame == nil || out == nil {
		return invalidf("frame or out is NULL")
	}
	if flags&^C.XB_REF_NO_VERIFY != 0 {
		return invalidf("unknown flags %#x", uint32(flags))
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	r, releaseRegion, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer releaseRegion()
	f, err := r.Get(refOf(frame))
	if err != nil {
		return failErr(err)
	}
	if f.TypeID != uint64(id) {
		return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("frame at offset %d holds type %#016x, not %#016x", f.Offset, f.TypeID, uint64(id)))
	}
	t, err := l.frameType(f)
	if err != nil {
		return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", f.Offset, err))
	}
	if flags&C.XB_REF_NO_VERIFY == 0 {
		if err := t.Verify(f.Payload, nil); err != nil {
			return failMalformed(err)
		}
	}
	root, err := t.Root(f.Payload)
	if err != nil {
		return refFailure(err, t.Name)
	}
	*out = C.xb_ref{region: rh, schema: h, region_id: C.uint64_t(f.RegionID), generation: C.uint64_t(f.Generation),
		frame: C.uint64_t(f.Offset), type_id: id, field: -1, kind: C.uint16_t(root.Kind())}
	for i := range out.where {
		out.where[i] = C.uint64_t(root.Pos[i])
	}
	return C.XB_OK
}

//export xb_schema_field_index
func xb_schema_field_index(h C.xb_schema, id C.uint64_t, name *C.char, index *C.int32_t) (rc status) {
	defer guard(&rc, enter())
	if index == nil {
		return invalidf("index is NULL")
	}
	n, st := cName(name, "name")
	if st != C.XB_OK {
		return st
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.s.TypeByID(uint64(id))
	if err != nil {
		return fail(C.XB_ERR_UNKNOWN_TYPE, err.Error())
	}
	f := t.Field(n)
	if f == nil {
		return invalidf("%s %s has no field %q", t.Kind, t.Name, n)
	}
	*index = C.int32_t(f.Index)
	return C.XB_OK
}

//export xb_ref_field
func xb_ref_field(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.xb_ref, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	call, st := openRef(ref)
	if st != C.XB_OK {
		return st
	}
	defer call.done()
	f, st := call.field(name, index)
	if st != C.XB_OK {
		return st
	}
	if f == nil {
		return invalidf("xb_ref_field needs a field (a name, or an index)")
	}
	r, ok, _, st := call.target(name, index)
	if st != C.XB_OK {
		return st
	}
	*out = C.xb_ref{}
	setPresent(present, ok)
	if !call.heldOrNull(r, ok) {
		return C.XB_OK
	}
	return call.toC(r, f, out)
}

// scalarGetter runs get on the Ref a getter names; an absent value with no
// Ref (a Cap'n Proto member not set) reads as zero.
func scalarGetter(ref *C.xb_ref, name *C.char, index C.int32_t, present *C.uint8_t, get func(schema.Ref, *refCall) error) status {
	call, st := openRef(ref)
	if st != C.XB_OK {
		return st
	}
	defer call.done()
	r, ok, where, st := call.target(name, index)
	if st != C.XB_OK {
		return st
	}
	setPresent(present, ok)
	if r.T == nil {
		return C.XB_OK
	}
	if err := get(r, call); err != nil {
		return refFailure(err, where)
	}
	return C.XB_OK
}

//export xb_ref_int
func xb_ref_int(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.int64_t, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = 0
	return scalarGetter(ref, name, index, present, func(r schema.Ref, call *refCall) error {
		v, err := r.Int(call.msg)
		*out = C.int64_t(v)
		return err
	})
}

//export xb_ref_uint
func xb_ref_uint(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.uint64_t, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = 0
	return scalarGetter(ref, name, index, present, func(r schema.Ref, call *refCall) error {
		v, err := r.Uint(call.msg)
		*out = C.uint64_t(v)
		return err
	})
}

//export xb_ref_float
func xb_ref_float(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.double, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = 0
	return scalarGetter(ref, name, index, present, func(r schema.Ref, call *refCall) error {
		v, err := r.Float(call.msg)
		*out = C.double(v)
		return err
	})
}

//export xb_ref_bytes
func xb_ref_bytes(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.xb_str, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	out.ptr, out.len = nil, 0
	return scalarGetter(ref, name, index, present, func(r schema.Ref, call *refCall) error {
		b, err := r.Bytes(call.msg)
		if err == nil && len(b) > 0 {
			out.ptr, out.len = (*C.char)(call.cBytes(b)), C.uint64_t(len(b))
		}
		return err
	})
}

var dtypes = map[schema.Kind]C.int32_t{
	schema.Bool: C.XB_DTYPE_BOOL, schema.Int8: C.XB_DTYPE_I8, schema.Uint8: C.XB_DTYPE_U8,
	schema.Int16: C.XB_DTYPE_I16, schema.Uint16: C.XB_DTYPE_U16, schema.Int32: C.XB_DTYPE_I32,
	schema.Uint32: C.XB_DTYPE_U32, schema.Int64: C.XB_DTYPE_I64, schema.Uint64: C.XB_DTYPE_U64,
	schema.Float32: C.XB_DTYPE_F32, schema.Float64: C.XB_DTYPE_F64,
}

//export xb_ref_array
func xb_ref_array(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.xb_array, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = C.xb_array{}
	return scalarGetter(ref, name, index, present, func(r schema.Ref, call *refCall) error {
		b, n, k, err := r.Scalars(call.msg)
		if err != nil {
			return err
		}
		out.len, out.dtype, out.elem_size = C.uint64_t(n), dtypes[k], C.uint32_t(len(b)/max(n, 1))
		if len(b) > 0 {
			out.ptr = call.cBytes(b)
		} else if n == 0 {
			out.elem_size = 0
		}
		return nil
	})
}

//export xb_ref_len
func xb_ref_len(ref *C.xb_ref, name *C.char, index C.int32_t, out *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = 0
	return scalarGetter(ref, name, index, nil, func(r schema.Ref, call *refCall) error {
		n, err := r.Len(call.msg)
		*out = C.uint64_t(n)
		return err
	})
}

//export xb_ref_elem
func xb_ref_elem(ref *C.xb_ref, i C.uint64_t, out *C.xb_ref, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	call, st := openRef(ref) // before out is cleared: out may be ref itself
	*out = C.xb_ref{}
	if st != C.XB_OK {
		return st
	}
	defer call.done()
	var r schema.Ref
	ok := false
	if uint64(i) <= uint64(^uint32(0)) {
		var err error
		r, ok, err = call.ref.Elem(call.msg, int(i))
		if err != nil {
			return refFailure(err, fmt.Sprintf("element %d of %s", uint64(i), call.ref.T))
		}
	}
	setPresent(present, ok)
	if !call.heldOrNull(r, ok) {
		return C.XB_OK
	}
	return call.toC(r, nil, out)
}

//export xb_ref_union
func xb_ref_union(ref *C.xb_ref, name *C.char, index C.int32_t, tag *C.int64_t, memberField *C.int32_t, member *C.xb_ref, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	call, st := openRef(ref) // before member is cleared: member may be ref itself
	if member != nil {
		*member = C.xb_ref{}
	}
	if memberField != nil {
		*memberField = -1
	}
	if st != C.XB_OK {
		return st
	}
	defer call.done()
	f, st := call.field(name, index)
	if st != C.XB_OK {
		return st
	}
	var (
		t    int64
		m    schema.Ref
		ok   bool
		mf   = -1
		err  error
		from = call
	)
	if call.l.s.Format == schema.FlatBuffers {
		if f == nil {
			return invalidf("name the union field of %s", call.ref.T)
		}
		t, m, ok, err = call.ref.Union(call.msg, f)
	} else {
		m = call.ref
		if f != nil {
			m, _, err = call.ref.Field(call.msg, f)
			if err == nil && m.T == nil { // (a null struct's ref reads its union as capnp does: member 0)
				return invalidf("%s is in a union member that is not set", f.Name)
			}
		}
		if err == nil {
			var d uint16
			var active *schema.Field
			d, active, err = m.Which(call.msg)
			t, ok = int64(d), active != nil
			if ok {
				mf = active.Index
			}
		}
	}
	if err != nil {
		return refFailure(err, call.ref.T.String())
	}
	if tag != nil {
		*tag = C.int64_t(t)
	}
	if memberField != nil {
		*memberField = C.int32_t(mf)
	}
	setPresent(present, ok)
	if member != nil && m.T != nil && (ok || call.l.s.Format == schema.CapnProto) {
		return from.toC(m, f, member)
	}
	return C.XB_OK
}

//export xb_ref_json
func xb_ref_json(ref *C.xb_ref, sh C.xb_scratch, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	call, st := openRef(ref)
	if st != C.XB_OK {
		return st
	}
	defer call.done()
	s, releaseScratch, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer releaseScratch()
	s.out, err = call.ref.AppendJSON(s.out[:0], call.msg)
	if err != nil {
		return fail(C.XB_ERR_MALFORMED, fmt.Sprintf("%s: %v", call.ref.T, err))
	}
	p, err := s.copyBytes(s.out)
	if err != nil {
		return failErr(err)
	}
	*out, *outLen = (*C.uint8_t)(p), C.uint64_t(len(s.out))
	return C.XB_OK
}
