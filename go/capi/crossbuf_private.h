/*
 * crossbuf_private.h — the private calls of libcrossbuf.
 *
 * Not part of the public API and never installed: these calls exist for the
 * Python package (python/crossbuf) and the project's own test suites. Their
 * names start with xbp_ ("private"), and the library exports them under a
 * version node of their own (CROSSBUF_PRIVATE_2, go/capi/crossbuf.map). They
 * may change or go away in any release, without a SONAME bump; a binding
 * that uses them must ship with the library it was built against, as the
 * Python wheel does.
 *
 * The conventions of crossbuf.h (status codes, xb_last_error, lifetimes of
 * pointers into regions and scratches) hold here too.
 */
#ifndef CROSSBUF_PRIVATE_H
#define CROSSBUF_PRIVATE_H

#include "crossbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Python fast path --------------------------------------------------
 * Like xb_decode and xb_read_str, but the result is one buffer in CPython's
 * marshal format, so Python builds every object with a single marshal.loads
 * instead of one foreign call per field:
 *  - xbp_decode_pymarshal: a list of n tuples; a LogEntry is (timestamp_ns,
 *    level, service, host, message, trace_id: bytes, [tags], {attributes},
 *    (method, path, status, latency_ns)); a Sample is (timestamp_ns,
 *    [features], label). Tensors: use xb_decode (their data is not copied).
 *  - xbp_read_str_pymarshal: a list of n str.
 * Only the marshal types stable since Python 3.4 are used (int, long,
 * float, str, bytes, tuple, list, dict). *out points into s.
 * xbp_pymarshal_probe writes a fixed sample that the package compares with
 * its own marshal.dumps at import. */
#ifndef CROSSBUF_TYPES_ONLY
int32_t xbp_decode_pymarshal(xb_region r, xb_scratch s, int32_t record_type, const xb_frame *frames, uint64_t n,
                             const uint8_t **out, uint64_t *out_len);
int32_t xbp_read_str_pymarshal(xb_region r, xb_scratch s, int32_t field, const xb_frame *frames, uint64_t n,
                               const uint8_t **out, uint64_t *out_len);
int32_t xbp_pymarshal_probe(xb_scratch s, const uint8_t **out, uint64_t *out_len);
#endif

/* ---- argument-block calls ------------------------------------------------
 * Foreign-function layers such as Python's ctypes pay for every argument
 * (about 0.2 us each), more than the work of a one-field read. xbp_fast takes
 * a block the caller fills once and reuses: set the per-call fields, call,
 * read the results. A block must not be used by two threads at once.
 *  - XBP_FAST_READ_STR: arg is an XB_FIELD_*, offset the frame; out/out_len
 *    is the string, in the region (zero-copy codecs) or in scratch; with
 *    buf, it is written to buf as a marshal str instead.
 *  - XBP_FAST_DECODE_PYMARSHAL: arg is the record type, offset the frame;
 *    out/out_len is a marshal list of one record (see xbp_decode_pymarshal).
 *  - XBP_FAST_ENCODE_PYMARSHAL: arg is the record type, codec the codec; in
 *    (in_len bytes) is a marshal list of one record in the shape that
 *    xbp_decode_pymarshal writes (marshal version 2, as marshal.dumps(x, 2)
 *    writes it). The new frame's offset is written to offset, its payload
 *    to out/out_len.
 *  - XBP_FAST_DECODE: arg is the record type, offset the frame; the view (an
 *    xb_log_entry, xb_sample or xb_tensor, as xb_decode writes it) goes to
 *    buf, which must be large enough; out == buf.
 * buf/buf_cap (optional) is caller memory for marshal results: when the
 * result fits, it is written there (out == buf), which saves the caller a
 * copy out of scratch. */
enum { XBP_FAST_READ_STR = 1, XBP_FAST_DECODE_PYMARSHAL = 2, XBP_FAST_ENCODE_PYMARSHAL = 3, XBP_FAST_DECODE = 4 };

typedef struct xbp_fast_call {
    xb_region region;
    xb_scratch scratch;
    int32_t op;  /* XBP_FAST_* */
    int32_t arg; /* XB_FIELD_* or XB_RECORD_* */
    int32_t codec;
    uint32_t _pad0;
    uint64_t offset; /* of the frame: input, or output of ENCODE */
    uint64_t in_len;
    const uint8_t *out; /* result */
    uint64_t out_len;
    uint8_t *buf; /* optional caller memory for marshal results */
    uint64_t buf_cap;
    uint64_t generation; /* in: of the frame at offset (0: current, unchecked); out of ENCODE: the frame's */
    uint64_t publish_ns; /* out of ENCODE */
} xbp_fast_call;

XB_STATIC_ASSERT(offsetof(xbp_fast_call, offset) == 32 && offsetof(xbp_fast_call, out) == 48 &&
                     offsetof(xbp_fast_call, buf) == 64 && offsetof(xbp_fast_call, generation) == 80 &&
                     sizeof(xbp_fast_call) == 96,
                 "xbp_fast_call layout");

#ifndef CROSSBUF_TYPES_ONLY
int32_t xbp_fast(xbp_fast_call *call, const uint8_t *in);

/* Encodes the records of a marshal list (see XBP_FAST_ENCODE_PYMARSHAL) with
 * codec into r, one frame each, like xb_encode. frames_out has room for cap
 * frames: a list of more records is XB_ERR_INVALID_ARG and commits nothing.
 * *n_done (if not NULL) counts the frames written. LogEntry and
 * Sample only (a Tensor's data is passed by pointer with xb_encode). */
int32_t xbp_encode_pymarshal(xb_region r, int32_t codec, int32_t record_type, const uint8_t *in, uint64_t in_len,
                             xb_frame *frames_out, uint64_t cap, uint64_t *n_done);

/* ---- test hooks ---------------------------------------------------------- */

/* Kind 1 raises a Go panic, kind 2 a memory fault, inside the library; both
 * come back as XB_ERR_INTERNAL. The test suites use it to prove that no
 * panic crosses the boundary. */
int32_t xbp_debug_fault(int32_t kind);
#endif /* CROSSBUF_TYPES_ONLY */

#ifdef __cplusplus
}
#endif
#endif /* CROSSBUF_PRIVATE_H */
