// Declarations shared by the Go and C halves of the C ABI (not installed).
#ifndef CROSSBUF_CAPI_H
#define CROSSBUF_CAPI_H
#include <stddef.h>
#include <stdint.h>

void xb_set_error(int32_t code, const char *msg, size_t len);
#endif
