// Command capi is libcrossbuf: the C ABI of the Go core, built with
// `go build -buildmode=c-shared` (see build.sh). It is the only door into Go
// for C and Python. Its rules (ARCHITECTURE.md): no Go pointer crosses the
// boundary (handles are ids, byte pointers point into mmap'd memory), no
// panic crosses it (every export runs under guard), fixed-width types only.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -std=c11
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
#include "capi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
	"github.com/crossbuf/crossbuf/go/stream"
)

func main() {}

// abiVersion must equal XB_ABI_VERSION in include/crossbuf.h.
const abiVersion = C.XB_ABI_VERSION

//export xb_abi_version
func xb_abi_version() C.int32_t { return abiVersion }

// status is an XB_* code.
type status = C.int32_t

// fail records err as the calling thread's last error and returns its code.
func fail(code status, msg string) status {
	if msg == "" {
		msg = "error"
	}
	b := unsafe.StringData(msg)
	C.xb_set_error(code, (*C.char)(unsafe.Pointer(b)), C.size_t(len(msg)))
	return code
}

func failErr(err error) status { return fail(codeOf(err), err.Error()) }

// codeOf maps the Go core's sentinel errors to status codes.
func codeOf(err error) status {
	if rc, ok := channelCode(err); ok {
		return rc
	}
	if errors.Is(err, stream.ErrMalformed) {
		return C.XB_ERR_MALFORMED
	}
	switch {
	case errors.Is(err, region.ErrClosed), errors.Is(err, errClosedHandle):
		return C.XB_ERR_CLOSED
	case errors.Is(err, errHandleKind), errors.Is(err, region.ErrNotSealed):
		return C.XB_ERR_INVALID_ARG
	case errors.Is(err, region.ErrReadOnly):
		return C.XB_ERR_READ_ONLY
	case errors.Is(err, region.ErrTruncated):
		return C.XB_ERR_TRUNCATED
	case errors.Is(err, region.ErrStale):
		return C.XB_ERR_STALE
	case errors.Is(err, region.ErrNoSpace):
		return C.XB_ERR_NO_SPACE
	case errors.Is(err, region.ErrCorrupt):
		return C.XB_ERR_CORRUPT
	case errors.Is(err, region.ErrFull):
		return C.XB_ERR_REGION_FULL
	case errors.Is(err, region.ErrBadName):
		return C.XB_ERR_BAD_NAME
	case errors.Is(err, region.ErrVersion):
		return C.XB_ERR_VERSION
	case errors.Is(err, region.ErrExists), errors.Is(err, fs.ErrExist):
		return C.XB_ERR_EXISTS
	case errors.Is(err, region.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return C.XB_ERR_NOT_FOUND
	case errors.Is(err, region.ErrOutOfRange):
		return C.XB_ERR_OUT_OF_RANGE
	case errors.Is(err, region.ErrNotCommitted):
		return C.XB_ERR_NOT_COMMITTED
	case errors.Is(err, codec.ErrMalformed):
		return C.XB_ERR_MALFORMED
	case errors.Is(err, codec.ErrUnknownCodec):
		return C.XB_ERR_UNKNOWN_CODEC
	case errors.Is(err, schema.ErrUnknownType):
		return C.XB_ERR_UNKNOWN_TYPE
	case errors.Is(err, codec.ErrRecordType):
		return C.XB_ERR_RECORD_TYPE
	case errors.Is(err, record.ErrInvalid):
		return C.XB_ERR_INVALID_RECORD
	case errors.Is(err, region.ErrInvalid), errors.Is(err, errInvalidArg):
		return C.XB_ERR_INVALID_ARG
	case errors.Is(err, codec.ErrShortBuffer):
		return C.XB_ERR_INTERNAL // MaxSize under-estimated: a bug, not the caller's fault
	}
	return C.XB_ERR_IO // what is left comes from the operating system
}

var errInvalidArg = errors.New("invalid argument")

func invalidf(format string, args ...any) status {
	return fail(C.XB_ERR_INVALID_ARG, fmt.Sprintf(format, args...))
}

// guard is deferred by every export: it turns a panic, or a memory fault
// (SetPanicOnFault is per goroutine, so it is set per call), into
// XB_ERR_INTERNAL instead of letting it cross into C and kill the process.
func guard(rc *status, oldFault bool) {
	debug.SetPanicOnFault(oldFault)
	if p := recover(); p != nil {
		if f, ok := p.(interface{ Addr() uintptr }); ok {
			if err := truncatedAt(f.Addr()); err != nil {
				*rc = failErr(err)
				return
			}
		}
		*rc = fail(C.XB_ERR_INTERNAL, fmt.Sprintf("internal error (recovered): %v", p))
	}
}

// truncatedAt explains a memory fault at addr when it lies in a region whose
// file another process has shrunk (the payload a decoder was reading, say).
func truncatedAt(addr uintptr) error {
	var err error
	regions.each(func(r *openRegion) {
		if err == nil && addr >= r.lo && addr < r.hi && r.Truncated() {
			err = fmt.Errorf("%w: fault at offset %d of the mapping", region.ErrTruncated, addr-r.lo)
		}
	})
	return err
}

// enter starts guarded execution; use as `defer guard(&rc, enter())`.
func enter() bool { return debug.SetPanicOnFault(true) }

//export xbp_debug_fault
func xbp_debug_fault(kind C.int32_t) (rc status) {
	defer guard(&rc, enter())
	switch kind {
	case 1:
		panic("deliberate panic from xbp_debug_fault")
	case 2:
		provokeFault()
	}
	return invalidf("xbp_debug_fault: kind %d is not 1 or 2", kind)
}
