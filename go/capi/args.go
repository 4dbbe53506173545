package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// maxInputLen bounds any length a C caller passes, so a garbage length is an
// error rather than a fault or a huge allocation.
const maxInputLen = 1 << 40

// goBytes is the caller's buffer p[0..n) as a slice that aliases it for the
// duration of the call: nothing keeps it.
func goBytes(p *C.uint8_t, n C.uint64_t, what string) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil || n > maxInputLen {
		return nil, fmt.Errorf("%w: %s has ptr %p and len %d", errInvalidArg, what, p, uint64(n))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)), nil
}

// cArray is the caller's array p[0..n) as a slice that aliases it.
func cArray[T any](p *T, n C.uint64_t, what string) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil || n > maxInputLen {
		return nil, fmt.Errorf("%w: %s has ptr %p and count %d", errInvalidArg, what, p, uint64(n))
	}
	return unsafe.Slice(p, int(n)), nil
}
