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

	"github.com/crossbuf/crossbuf/go/schema"
)

// compiledPath is a schema.Path with what a read needs to check frames.
type compiledPath struct {
	p      *schema.Path
	typeID uint64
	value  C.int32_t // XB_VALUE_*
}

var paths = newHandles[compiledPath](tagPath)

func valueKind(leaf *schema.TypeRef) (C.int32_t, bool) {
	k := leaf.Kind
	switch {
	case k == schema.String:
		return C.XB_VALUE_STRING, true
	case k == schema.Bytes || (k == schema.Vector && (leaf.Elem.Kind == schema.Uint8 || leaf.Elem.Kind == schema.Int8)):
		return C.XB_VALUE_BYTES, true
	case k == schema.Float32 || k == schema.Float64:
		return C.XB_VALUE_FLOAT, true
	case k == schema.Uint8 || k == schema.Uint16 || k == schema.Uint32 || k == schema.Uint64:
		return C.XB_VALUE_UINT, true
	case k == schema.Vector:
		return 0, false
	case k.IsInteger() || k == schema.Bool || k == schema.Enum || k == schema.UnionType:
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
	vk, ok := valueKind(p.Leaf())
	if !ok || (p.Kind() == schema.Vector && vk != C.XB_VALUE_BYTES) {
		return invalidf("path %q ends at a %s; paths read scalars, strings and bytes", text, p.Kind())
	}
	hid, err := paths.add(&compiledPath{p: p, typeID: uint64(id), value: vk})
	if err != nil {
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
	if _, err := paths.remove(uint64(h)); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_path_read
func xb_path_read(h C.xb_path, rh C.xb_region, frames *C.xb_frame, n C.uint64_t, out unsafe.Pointer, present *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	cp, err := paths.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	if n > 0 && out == nil {
		return invalidf("out is NULL")
	}
	var pres []C.uint8_t
	if present != nil {
		pres = unsafe.Slice(present, int(n))
	}
	r, release, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	for i := range refs {
		f, err := r.Get(refOf(&refs[i]))
		if err == nil && f.TypeID != cp.typeID {
			return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("frame %d at offset %d holds type %#016x; the path reads %#016x",
				i, uint64(refs[i].offset), f.TypeID, cp.typeID))
		}
		absent := false
		if err == nil {
			switch cp.value {
			case C.XB_VALUE_BYTES, C.XB_VALUE_STRING:
				var b []byte
				b, err = cp.p.Bytes(f.Payload)
				s := &unsafe.Slice((*C.xb_str)(out), int(n))[i]
				s.ptr, s.len = nil, 0
				if err == nil && len(b) > 0 {
					s.ptr, s.len = (*C.char)(unsafe.Pointer(&b[0])), C.uint64_t(len(b))
				}
			case C.XB_VALUE_FLOAT:
				var v float64
				v, err = cp.p.Float(f.Payload)
				unsafe.Slice((*C.double)(out), int(n))[i] = C.double(v)
			case C.XB_VALUE_UINT:
				var v uint64
				v, err = cp.p.Uint(f.Payload)
				unsafe.Slice((*C.uint64_t)(out), int(n))[i] = C.uint64_t(v)
			default:
				var v int64
				v, err = cp.p.Int(f.Payload)
				unsafe.Slice((*C.int64_t)(out), int(n))[i] = C.int64_t(v)
			}
			if errors.Is(err, schema.ErrAbsent) {
				absent, err = true, nil
			}
		}
		if err != nil {
			if errors.Is(err, schema.ErrMalformedPath) {
				return fail(C.XB_ERR_MALFORMED, fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
			}
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
		if pres != nil {
			pres[i] = 1
			if absent {
				pres[i] = 0
			}
		}
	}
	return C.XB_OK
}
