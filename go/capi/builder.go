package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"

	"github.com/crossbuf/crossbuf/go/crossbuf"
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
	f, err := crossbuf.AppendValue(r.Region, t, v)
	if errors.As(err, &ee) {
		return fail(C.XB_ERR_INVALID_RECORD, err.Error())
	}
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}
