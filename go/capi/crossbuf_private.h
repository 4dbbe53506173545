/*
 * crossbuf_private.h — the private calls of libcrossbuf.
 *
 * Not part of the public API and never installed: these calls exist for the
 * Python package (python/crossbuf) and the project's own test suites. Their
 * names start with xbp_ ("private"), and the library exports them under a
 * version node of their own (CROSSBUF_PRIVATE_2; scripts/symbols.sh writes the version script). They
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

#ifndef CROSSBUF_TYPES_ONLY
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
