// Per-thread error state and static strings of the C ABI. Written in C so the
// message lives in C memory (rule 1: no Go pointer crosses the boundary) and
// is thread-local, which Go cannot express.
#include <stdio.h>
#include <string.h>

#include "crossbuf.h"
#include "capi.h"

static _Thread_local int32_t last_code;
static _Thread_local char last_msg[1024];

void xb_set_error(int32_t code, const char *msg, size_t len) {
    if (len >= sizeof last_msg) len = sizeof last_msg - 1;
    memcpy(last_msg, msg, len);
    last_msg[len] = 0;
    last_code = code;
}

int32_t xb_last_error_code(void) { return last_code; }

const char *xb_last_error(void) { return last_msg; }

const char *xb_version(void) { return XB_VERSION_STRING; }

const char *xb_status_name(int32_t status) {
    switch (status) {
    case XB_OK: return "XB_OK";
    case XB_ERR_INVALID_ARG: return "XB_ERR_INVALID_ARG";
    case XB_ERR_CLOSED: return "XB_ERR_CLOSED";
    case XB_ERR_MALFORMED: return "XB_ERR_MALFORMED";
    case XB_ERR_UNKNOWN_CODEC: return "XB_ERR_UNKNOWN_CODEC";
    case XB_ERR_RECORD_TYPE: return "XB_ERR_RECORD_TYPE";
    case XB_ERR_REGION_FULL: return "XB_ERR_REGION_FULL";
    case XB_ERR_BAD_NAME: return "XB_ERR_BAD_NAME";
    case XB_ERR_VERSION: return "XB_ERR_VERSION";
    case XB_ERR_IO: return "XB_ERR_IO";
    case XB_ERR_EXISTS: return "XB_ERR_EXISTS";
    case XB_ERR_NOT_FOUND: return "XB_ERR_NOT_FOUND";
    case XB_ERR_OUT_OF_RANGE: return "XB_ERR_OUT_OF_RANGE";
    case XB_ERR_NOT_COMMITTED: return "XB_ERR_NOT_COMMITTED";
    case XB_ERR_INVALID_RECORD: return "XB_ERR_INVALID_RECORD";
    case XB_ERR_INTERNAL: return "XB_ERR_INTERNAL";
    case XB_ERR_READ_ONLY: return "XB_ERR_READ_ONLY";
    case XB_ERR_TRUNCATED: return "XB_ERR_TRUNCATED";
    case XB_ERR_STALE: return "XB_ERR_STALE";
    case XB_ERR_NO_SPACE: return "XB_ERR_NO_SPACE";
    case XB_ERR_CORRUPT: return "XB_ERR_CORRUPT";
    case XB_ERR_UNKNOWN_TYPE: return "XB_ERR_UNKNOWN_TYPE";
    case XB_ERR_SCHEMA: return "XB_ERR_SCHEMA";
    case XB_ERR_TIMEOUT: return "XB_ERR_TIMEOUT";
    case XB_ERR_OVERRUN: return "XB_ERR_OVERRUN";
    case XB_ERR_RANGE: return "XB_ERR_RANGE";
    case XB_ERR_ENDED: return "XB_ERR_ENDED";
    case XB_ERR_PUBLISHER_GONE: return "XB_ERR_PUBLISHER_GONE";
    case XB_ERR_HELD: return "XB_ERR_HELD";
    }
    return "XB_ERR_UNKNOWN";
}
