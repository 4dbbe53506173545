/* Encode a log entry into a region with FlatBuffers and read it back in place.
 * Build: cc example.c $(pkg-config --cflags --libs crossbuf) */
#include <crossbuf.h>
#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != XB_OK) {                                                        \
            fprintf(stderr, "%s: %s\n", #call, xb_last_error());                      \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static xb_str str(const char *s) { return (xb_str){s, strlen(s)}; }

int main(void) {
    CHECK(xb_check_abi());

    xb_region region;
    CHECK(xb_region_create_anon(1 << 20, &region));

    xb_str tags[] = {str("prod"), str("eu-west-1")};
    xb_kv attrs[] = {{str("user"), str("42")}};
    xb_log_entry entry = {
        .timestamp_ns = 1700000000000000000,
        .level = XB_LEVEL_INFO,
        .service = str("checkout"),
        .host = str("host-1"),
        .message = str("order placed"),
        .tags = tags,
        .n_tags = 2,
        .attributes = attrs,
        .n_attributes = 1,
        .http = {.method = str("POST"), .path = str("/api/v1/orders"), .status = 201, .latency_ns = 1500000},
    };
    xb_frame frame;
    CHECK(xb_encode(region, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, &entry, 1, &frame, NULL));

    /* Decoding fills a view: its strings point into the region, no copy. */
    xb_scratch scratch;
    CHECK(xb_scratch_new(&scratch));
    xb_log_entry view;
    CHECK(xb_decode(region, scratch, XB_RECORD_LOG_ENTRY, &frame, 1, &view));
    printf("%.*s: %.*s (%llu tags, HTTP %u)\n", (int)view.service.len, view.service.ptr, (int)view.message.len,
           view.message.ptr, (unsigned long long)view.n_tags, view.http.status);

    CHECK(xb_scratch_free(scratch));
    CHECK(xb_region_close(region));
    return 0;
}
