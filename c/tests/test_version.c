/* The version macros of include/crossbuf.h agree with each other and with the
 * library: xb_version() is built from the same macros, so a library and a
 * header from different releases show up here. */
#include <crossbuf.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    int failed = 0;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", XB_VERSION_MAJOR, XB_VERSION_MINOR, XB_VERSION_PATCH);
    if (strcmp(XB_VERSION_STRING, want) != 0) {
        fprintf(stderr, "FAIL: XB_VERSION_STRING is %s, the parts say %s\n", XB_VERSION_STRING, want);
        failed = 1;
    }
    if (XB_VERSION_NUMBER != XB_VERSION_MAJOR * 1000000 + XB_VERSION_MINOR * 1000 + XB_VERSION_PATCH ||
        XB_VERSION_MINOR > 999 || XB_VERSION_PATCH > 999) {
        fprintf(stderr, "FAIL: XB_VERSION_NUMBER %d does not encode %s\n", XB_VERSION_NUMBER, want);
        failed = 1;
    }
    if (strcmp(xb_version(), XB_VERSION_STRING) != 0) {
        fprintf(stderr, "FAIL: xb_version() is %s, the header says %s\n", xb_version(), XB_VERSION_STRING);
        failed = 1;
    }
    if (xb_abi_version() != XB_ABI_VERSION) {
        fprintf(stderr, "FAIL: xb_abi_version() is %d, the header says %d\n", xb_abi_version(), XB_ABI_VERSION);
        failed = 1;
    }
    printf("test_version: %s (library %s, ABI %d)\n", failed ? "FAILED" : "ok", xb_version(), xb_abi_version());
    return failed;
}
