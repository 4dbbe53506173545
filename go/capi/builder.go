package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"sync"

	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/schema"
)

//export xb_schema_encode_json
func xb_schema_encode_json(h C.xb_schema, rh C.xb_region, id C.uint64_t, json *C.uint8_t, n C.uint64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	in, err := goBytes(json, n, "json")
	if err != nil {
		return failErr(err)
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
	// The value is read from a copy: the caller's buffer may be changed by
	// other threads, and nothing of it may be kept.
	v, err := t.ValueFromJSON(append([]byte(nil), in...))
	var ee *schema.EncodeError
	if errors.As(err, &ee) {
		return fail(C.XB_ERR_INVALID_RECORD, err.Error())
	}
	if err != nil {
		return fail(C.XB_ERR_INVALID_ARG, err.Error())
	}
	r, releaseRegion, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer releaseRegion()
	f, err := dynamic.AppendValue(r.Region, t, v)
	if errors.As(err, &ee) {
		return fail(C.XB_ERR_INVALID_RECORD, err.Error())
	}
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}

// cBuilder is a builder handle: a schema.Builder used by one call at a time.
type cBuilder struct {
	mu sync.Mutex
	b  *schema.Builder
}

var builders = newHandles[cBuilder](tagBuilder)

//export xb_builder_new
func xb_builder_new(h C.xb_schema, id C.uint64_t, out *C.xb_builder) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
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
	b, err := t.NewBuilder()
	if err != nil {
		return failErr(err)
	}
	hid, err := builders.add(&cBuilder{b: b})
	if err != nil {
		return failErr(err)
	}
	*out = C.xb_builder(hid)
	return C.XB_OK
}

//export xb_builder_free
func xb_builder_free(h C.xb_builder) (rc status) {
	defer guard(&rc, enter())
	if _, err := builders.remove(uint64(h)); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

// withBuilder runs f on the builder h holds, locked, with the field that
// name or index names in what is being built (nil: an element of a list).
func withBuilder(h C.xb_builder, name *C.char, index C.int32_t, f func(*schema.Builder, *schema.Field) error) status {
	cb, err := builders.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	var field *schema.Field
	if name != nil || index != -1 {
		t := cb.b.Current().Type
		if t == nil || cb.b.Current().Kind == schema.Vector || cb.b.Current().Kind == schema.Array {
			return invalidf("%s is a list: append elements with name NULL and XB_SELF", cb.b.Path())
		}
		if name != nil {
			n, st := cName(name, "name")
			if st != C.XB_OK {
				return st
			}
			if field = t.Field(n); field == nil {
				return invalidf("%s has no field %q", t.Name, n)
			}
		} else {
			if index < 0 || int(index) >= len(t.Fields) {
				return invalidf("%s has no field %d (it has %d)", t.Name, int(index), len(t.Fields))
			}
			field = t.Fields[index]
		}
	}
	return builderStatus(f(cb.b, field))
}

func builderStatus(err error) status {
	var ee *schema.EncodeError
	switch {
	case err == nil:
		return C.XB_OK
	case errors.As(err, &ee):
		return fail(C.XB_ERR_INVALID_RECORD, err.Error())
	case errors.Is(err, schema.ErrBuild):
		return fail(C.XB_ERR_INVALID_ARG, err.Error())
	}
	return failErr(err)
}

//export xb_builder_set_int
func xb_builder_set_int(h C.xb_builder, name *C.char, index C.int32_t, v C.int64_t) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Set(f, int64(v)) })
}

//export xb_builder_set_uint
func xb_builder_set_uint(h C.xb_builder, name *C.char, index C.int32_t, v C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Set(f, uint64(v)) })
}

//export xb_builder_set_float
func xb_builder_set_float(h C.xb_builder, name *C.char, index C.int32_t, v C.double) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Set(f, float64(v)) })
}

//export xb_builder_set_string
func xb_builder_set_string(h C.xb_builder, name *C.char, index C.int32_t, s *C.uint8_t, n C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	in, err := goBytes(s, n, "string")
	if err != nil {
		return failErr(err)
	}
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Set(f, string(in)) })
}

//export xb_builder_set_bytes
func xb_builder_set_bytes(h C.xb_builder, name *C.char, index C.int32_t, p *C.uint8_t, n C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	in, err := goBytes(p, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	if in == nil {
		in = []byte{}
	}
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Set(f, in) })
}

//export xb_builder_begin
func xb_builder_begin(h C.xb_builder, name *C.char, index C.int32_t) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, name, index, func(b *schema.Builder, f *schema.Field) error { return b.Begin(f) })
}

//export xb_builder_end
func xb_builder_end(h C.xb_builder) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, nil, -1, func(b *schema.Builder, _ *schema.Field) error { return b.End() })
}

//export xb_builder_reset
func xb_builder_reset(h C.xb_builder) (rc status) {
	defer guard(&rc, enter())
	return withBuilder(h, nil, -1, func(b *schema.Builder, _ *schema.Field) error { b.Reset(); return nil })
}

//export xb_builder_finish
func xb_builder_finish(h C.xb_builder, rh C.xb_region, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	r, releaseRegion, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer releaseRegion()
	return withBuilder(h, nil, -1, func(b *schema.Builder, _ *schema.Field) error {
		v, err := b.Value()
		if err != nil {
			return err
		}
		f, err := dynamic.AppendValue(r.Region, b.Type(), v)
		if err != nil {
			return err
		}
		frameToC(f, out)
		b.Reset()
		return nil
	})
}
