// Calls a caller's stream I/O callback: Go cannot call a C function pointer
// itself.
#include "crossbuf.h"

int64_t xb_call_io(xb_io_fn fn, void *ctx, uint8_t *buf, uint64_t len);

int64_t xb_call_io(xb_io_fn fn, void *ctx, uint8_t *buf, uint64_t len) { return fn(ctx, buf, len); }
