package main

/*
#define CROSSBUF_TYPES_ONLY
#include <stdlib.h>
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/schema"
)

// compiledPath is a schema.Path with what a read needs to check frames.
type compiledPath struct {
	p      *schema.Path
	typeID uint64
	value  C.int32_t // XB_VALUE_*
	codec  codec.ID  // of the frames of its type: the schema's format
	// A path on a type of the bundled schemas also reads the frames that
	// the per-record codec of its format writes, of type id record.
	record uint64
	// defaults holds C copies of the Cap'n Proto defaults the path can read
	// (Path.Default, and its null structs' defaults), keyed by the Go
	// slice's first byte: C is handed these, never Go memory. Freed with the
	// path.
	defaults map[*byte]unsafe.Pointer
	// program is the C copy of the path's program (xb_path_program), or nil.
	program    unsafe.Pointer
	programLen int
}

// cBytes is b, or its C copy when b is one of the path's defaults.
func (cp *compiledPath) cBytes(b []byte) unsafe.Pointer {
	p := unsafe.SliceData(b)
	if c, ok := cp.defaults[p]; ok {
		return c
	}
	return unsafe.Pointer(p)
}

func (cp *compiledPath) free() {
	for _, c := range cp.defaults {
		C.free(c)
	}
	cp.defaults = nil
	if cp.program != nil {
		C.free(cp.program)
		cp.program = nil
	}
}

var paths = newHandles[compiledPath](tagPath)

// valueKind is what a path to leaf reads. FlatBuffers [ubyte] and [byte]
// are bytes; a Cap'n Proto List(UInt8) or List(Int8) is a list of numbers
// (its bytes are Data).
func valueKind(format schema.Format, leaf *schema.TypeRef) (C.int32_t, bool) {
	k := leaf.Kind
	fbBytes := format == schema.FlatBuffers && k == schema.Vector && (leaf.Elem.Kind == schema.Uint8 || leaf.Elem.Kind == schema.Int8)
	switch {
	case k == schema.String:
		return C.XB_VALUE_STRING, true
	case k == schema.Bytes || fbBytes:
		return C.XB_VALUE_BYTES, true
	case k == schema.Float32 || k == schema.Float64:
		return C.XB_VALUE_FLOAT, true
	case k == schema.Uint8 || k == schema.Uint16 || k == schema.Uint32 || k == schema.Uint64:
		return C.XB_VALUE_UINT, true
	case (k == schema.Vector || k == schema.Array) && (leaf.Elem.Kind.IsScalar() || leaf.Elem.Kind == schema.Enum || leaf.Elem.Kind == schema.UnionType):
		return C.XB_VALUE_ARRAY, true
	case k == schema.Vector || k == schema.Array:
		return 0, false
	case k == schema.Bool:
		return C.XB_VALUE_BOOL, true // read as an int64 0 or 1
	case k.IsInteger() || k == schema.Enum || k == schema.UnionType:
		return C.XB_VALUE_INT, true
	}
	return 0, false
}

//export xb_path_compile
func xb_path_compile(h C.xb_schema, id C.uint64_t, path *C.char, out *C.xb_path, kind *C.int32_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	text, rc := cName(path, "path")
	if rc != C.XB_OK {
		return rc
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.messageType(uint64(id))
	if err != nil {
		return failErr(err)
	}
	p, err := t.Path(text)
	if err != nil {
		return fail(C.XB_ERR_INVALID_ARG, err.Error())
	}
	vk, ok := valueKind(t.Format, p.Leaf())
	if !ok || vk == C.XB_VALUE_ARRAY && t.Format == schema.CapnProto && p.Leaf().Elem.Kind == schema.Bool {
		return invalidf("path %q ends at a %s; paths read scalars, strings, bytes and vectors of scalars "+
			"(a Cap'n Proto List(Bool) is bit-packed: read its elements, [i])", text, p.Kind())
	}
	cp := &compiledPath{p: p, typeID: uint64(id), value: vk, codec: codecOf(t.Format)}
	for _, d := range p.Defaults() {
		if len(d) > 0 {
			if cp.defaults == nil {
				cp.defaults = map[*byte]unsafe.Pointer{}
			}
			cp.defaults[unsafe.SliceData(d)] = C.CBytes(d)
		}
	}
	if b, ok := bundled[t.ID]; ok && t.Format == b.format {
		cp.record = uint64(b.record) // also reads the frames of the per-record codec
	}
	if prog := p.Program(); prog != nil {
		cp.program, cp.programLen = C.CBytes(prog), len(prog)
	}
	hid, err := paths.add(cp)
	if err != nil {
		cp.free()
		return failErr(err)
	}
	*out = C.xb_path(hid)
	if kind != nil {
		*kind = vk
	}
	return C.XB_OK
}

//export xb_path_free
func xb_path_free(h C.xb_path) (rc status) {
	defer guard(&rc, enter())
	cp, err := paths.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	cp.free()
	return C.XB_OK
}

//export xb_path_program
func xb_path_program(h C.xb_path, program **C.uint8_t, n *C.uint64_t, also *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if program == nil || n == nil {
		return invalidf("program or len is NULL")
	}
	cp, err := paths.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	*program, *n = (*C.uint8_t)(cp.program), C.uint64_t(cp.programLen)
	if also != nil {
		*also = C.uint64_t(cp.record)
	}
	return C.XB_OK
}

//export xb_path_read
func xb_path_read(h C.xb_path, rh C.xb_region, frames *C.xb_frame, n C.uint64_t, out unsafe.Pointer, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	cp, refs, pres, rc := pathReadArgs(h, frames, n, out, present)
	if rc != C.XB_OK {
		return rc
	}
	r, release, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	for i := range refs {
		f, err := r.Get(refOf(&refs[i]))
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
		if rc := cp.readInto(f.TypeID, f.Codec, f.Payload, out, n, i, pres, uint64(refs[i].offset)); rc != C.XB_OK {
			return rc
		}
	}
	return C.XB_OK
}

// xb_path_read_received reads the path in frames a subscriber received
// (xb_subscriber_receive, _batch) and holds: the payload each xb_frame
// points to must lie in the subscriber's channel mapping.
//
//export xb_path_read_received
func xb_path_read_received(h C.xb_path, sh C.xb_subscriber, frames *C.xb_frame, n C.uint64_t, out unsafe.Pointer, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	cp, refs, pres, rc := pathReadArgs(h, frames, n, out, present)
	if rc != C.XB_OK {
		return rc
	}
	s, err := useSubscriber(sh)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	c := s.sub.Channel()
	if err := c.Acquire(); err != nil { // a Close of the channel waits for this read
		return failErr(err)
	}
	defer c.Release()
	mem, err := c.Mapping()
	if err != nil {
		return failErr(err)
	}
	lo, size := uintptr(unsafe.Pointer(unsafe.SliceData(mem))), uintptr(len(mem))
	for i := range refs {
		f := &refs[i]
		p, l := uintptr(unsafe.Pointer(f.payload)), uint64(f.payload_len)
		var payload []byte // empty: the path reports the message malformed
		if l > 0 {
			if p < lo || p-lo > size || l > uint64(size-(p-lo)) {
				return fail(C.XB_ERR_OUT_OF_RANGE, fmt.Sprintf(
					"frame %d: its payload (%d bytes) is not in the subscriber's channel; pass frames as received", i, l))
			}
			payload = mem[p-lo : p-lo+uintptr(l)]
		}
		if rc := cp.readInto(uint64(f.type_id), codec.ID(f.codec), payload, out, n, i, pres, uint64(f.offset)); rc != C.XB_OK {
			if rc == C.XB_ERR_MALFORMED && errors.Is(s.sub.Check(), channel.ErrOverrun) {
				// Overwritten while read: torn, not malformed.
				return fail(C.XB_ERR_OVERRUN, fmt.Sprintf("frame %d was overwritten while it was read", i))
			}
			return rc
		}
	}
	return C.XB_OK
}

// pathReadArgs checks the arguments both path reads share.
func pathReadArgs(h C.xb_path, frames *C.xb_frame, n C.uint64_t, out unsafe.Pointer, present *C.uint8_t) (
	*compiledPath, []C.xb_frame, []C.uint8_t, status) {
	cp, err := paths.get(uint64(h))
	if err != nil {
		return nil, nil, nil, failErr(err)
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return nil, nil, nil, failErr(err)
	}
	if n > 0 && out == nil {
		return nil, nil, nil, invalidf("out is NULL")
	}
	var pres []C.uint8_t
	if present != nil {
		pres = unsafe.Slice(present, int(n))
	}
	return cp, refs, pres, C.XB_OK
}

// readInto reads the path in the payload of frame i (of type typeID) into
// out[i] and present[i].
func (cp *compiledPath) readInto(typeID uint64, codecID codec.ID, payload []byte, out unsafe.Pointer, n C.uint64_t, i int,
	pres []C.uint8_t, offset uint64) status {
	if typeID != cp.typeID && (cp.record == 0 || typeID != cp.record) {
		return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("frame %d at offset %d holds type %#016x; the path reads %#016x",
			i, offset, typeID, cp.typeID))
	}
	if codecID != cp.codec {
		return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("frame %d at offset %d holds a %v message; the path reads %v",
			i, offset, codecID, cp.codec))
	}
	var err error
	switch cp.value {
	case C.XB_VALUE_BYTES, C.XB_VALUE_STRING:
		var b []byte
		b, err = cp.p.Bytes(payload)
		s := &unsafe.Slice((*C.xb_str)(out), int(n))[i]
		s.ptr, s.len = nil, 0
		if err == nil && len(b) > 0 {
			s.ptr, s.len = (*C.char)(cp.cBytes(b)), C.uint64_t(len(b))
		}
	case C.XB_VALUE_ARRAY:
		a := &unsafe.Slice((*C.xb_array)(out), int(n))[i]
		*a = C.xb_array{}
		var b []byte
		var cnt int
		var k schema.Kind
		if b, cnt, k, err = cp.p.Scalars(payload); err == nil {
			a.len, a.dtype = C.uint64_t(cnt), dtypes[k]
			if cnt > 0 {
				a.ptr, a.elem_size = cp.cBytes(b), C.uint32_t(len(b)/cnt)
			}
		}
	case C.XB_VALUE_FLOAT:
		var v float64
		v, err = cp.p.Float(payload)
		unsafe.Slice((*C.double)(out), int(n))[i] = C.double(v)
	case C.XB_VALUE_UINT:
		var v uint64
		v, err = cp.p.Uint(payload)
		unsafe.Slice((*C.uint64_t)(out), int(n))[i] = C.uint64_t(v)
	default:
		var v int64
		v, err = cp.p.Int(payload)
		unsafe.Slice((*C.int64_t)(out), int(n))[i] = C.int64_t(v)
	}
	absent := errors.Is(err, schema.ErrAbsent)
	if absent {
		err = nil
	}
	if err != nil {
		if errors.Is(err, schema.ErrMalformedPath) {
			return fail(C.XB_ERR_MALFORMED, fmt.Sprintf("frame %d at offset %d: %v", i, offset, err))
		}
		return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, offset, err))
	}
	if pres != nil {
		pres[i] = 1
		if absent {
			pres[i] = 0
		}
	}
	return C.XB_OK
}
