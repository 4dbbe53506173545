/* xb_writer NAME COUNT [INTERVAL_US]
 * Creates the shared-memory region NAME, prints "ready", writes COUNT LogEntry
 * frames (frame i is the generator's seed i, as xb_generate writes it in
 * MessagePack and xb_encode takes it; codecs cycle through all five), prints
 * "done", waits for a line on stdin, then unlinks NAME. Other processes (the
 * Python tests) attach by name and read the frames while they arrive. */
#define _DEFAULT_SOURCE /* usleep */
#include <crossbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check(int32_t status, const char *what) {
    if (status != XB_OK) fprintf(stderr, "xb_writer: %s: %s\n", what, xb_last_error());
    return status == XB_OK;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAME COUNT [INTERVAL_US]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    long count = strtol(argv[2], NULL, 10);
    long interval = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    xb_region r;
    xb_scratch s;
    if (!check(xb_check_abi(), "ABI") || !check(xb_region_create_shm(name, 64 << 20, 0, &r), "create") ||
        !check(xb_scratch_new(&s), "scratch"))
        return 1;
    printf("ready\n");
    fflush(stdout);
    static const int32_t codecs[] = {XB_CODEC_FLATBUFFERS, XB_CODEC_CAPNP, XB_CODEC_JSON, XB_CODEC_MSGPACK,
                                     XB_CODEC_PROTOBUF};
    int ok = 1;
    uint8_t *batch = NULL;
    for (long i = 0; i < count && ok; i++) {
        const uint8_t *rec;
        uint64_t len;
        xb_frame f;
        ok = check(xb_generate(s, XB_RECORD_LOG_ENTRY, (uint64_t)i, 0, XB_CODEC_MSGPACK, &rec, &len), "generate");
        if (!ok) break;
        /* xb_encode takes one MessagePack array of n records: here n = 1,
         * the array header 0x91 (fixarray of 1) before the record */
        uint8_t *b = realloc(batch, len + 1);
        if (b == NULL) {
            fprintf(stderr, "xb_writer: out of memory\n");
            ok = 0;
            break;
        }
        batch = b;
        batch[0] = 0x91;
        memcpy(batch + 1, rec, len);
        ok = check(xb_encode(r, codecs[i % 5], XB_RECORD_LOG_ENTRY, batch, len + 1, 1, &f, NULL), "encode");
        if (interval > 0) usleep((useconds_t)interval);
    }
    free(batch);
    printf("%s\n", ok ? "done" : "failed");
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) { /* EOF also means: finish */
    }
    xb_region_unlink_shm(name);
    xb_region_close(r);
    xb_scratch_free(s);
    return ok ? 0 : 1;
}
