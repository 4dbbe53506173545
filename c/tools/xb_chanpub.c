/* xb_chanpub NAME COUNT SIZE [BATCH [INTERVAL_US [ID]]]
 * Opens the channel NAME (created, and subscribed to, by the consumer
 * beforehand), publishes COUNT checksummed frames of SIZE bytes (>= 16), BATCH
 * per call (default 1), waiting for space as long as it takes, and prints
 * "done COUNT SECONDS". INTERVAL_US > 0 sleeps that long between calls (to
 * measure the latency of one frame at a time); ID (0 to 65535, default 0)
 * tells concurrent publishers apart.
 * Frame i holds, little-endian: u64 ID << 48 | i, u32 CRC-32 (the zlib one) of
 * bytes [16, SIZE), u32 SIZE, then byte k = (i * 131 + k * 7) & 0xFF. Type id
 * 0; the codec tag is XB_CODEC_MSGPACK (the bytes are opaque to the channel).
 * Consumers check every frame: nothing lost, duplicated, reordered or
 * corrupted. */
#define _POSIX_C_SOURCE 200809L
#include <crossbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32(const uint8_t *p, uint64_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (uint64_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void make_frame(uint8_t *p, uint64_t i, uint32_t size) {
    for (uint32_t k = 16; k < size; k++) p[k] = (uint8_t)(i * 131 + k * 7);
    uint32_t c = crc32(p + 16, size - 16);
    for (int b = 0; b < 8; b++) p[b] = (uint8_t)(i >> (8 * b));
    for (int b = 0; b < 4; b++) p[8 + b] = (uint8_t)(c >> (8 * b)), p[12 + b] = (uint8_t)(size >> (8 * b));
}

static int check(int32_t status, const char *what) {
    if (status != XB_OK) fprintf(stderr, "xb_chanpub: %s: %s\n", what, xb_last_error());
    return status == XB_OK;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s NAME COUNT SIZE [BATCH [INTERVAL_US [ID]]]\n", argv[0]);
        return 2;
    }
    long count = strtol(argv[2], NULL, 10), size = strtol(argv[3], NULL, 10);
    long batch = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    long interval = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
    long id = argc > 6 ? strtol(argv[6], NULL, 10) : 0;
    if (id < 0 || id > 65535 || count >= (1L << 48)) {
        fprintf(stderr, "xb_chanpub: 0 <= ID <= 65535, COUNT < 2^48\n");
        return 2;
    }
    if (count < 0 || size < 16 || size > (1L << 30) || batch < 1 || batch > 4096 || interval < 0 ||
        interval > 10000000) {
        fprintf(stderr, "xb_chanpub: COUNT >= 0, 16 <= SIZE <= 2^30, 1 <= BATCH <= 4096, 0 <= INTERVAL_US <= 10^7\n");
        return 2;
    }
    crc_init();
    xb_channel ch;
    if (!check(xb_check_abi(), "ABI") || !check(xb_channel_open(argv[1], 0, &ch), "open")) return 1;
    uint8_t *buf = malloc((size_t)(size * batch));
    uint64_t *lens = malloc(sizeof(uint64_t) * (size_t)batch);
    if (buf == NULL || lens == NULL) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 1;
    for (long i = 0; i < count && ok; i += batch) {
        if (interval > 0 && i > 0) {
            struct timespec d = {interval / 1000000, (interval % 1000000) * 1000};
            nanosleep(&d, NULL);
        }
        long n = count - i < batch ? count - i : batch;
        for (long j = 0; j < n; j++) {
            make_frame(buf + j * size, (uint64_t)id << 48 | (uint64_t)(i + j), (uint32_t)size);
            lens[j] = (uint64_t)size;
        }
        if (n == 1) {
            ok = check(xb_channel_publish(ch, XB_CODEC_MSGPACK, 0, buf, (uint64_t)size, -1, NULL),
                       "publish");
        } else {
            uint64_t done = 0;
            ok = check(xb_channel_publish_batch(ch, XB_CODEC_MSGPACK, 0, buf, lens, (uint64_t)n, -1, &done),
                       "publish_batch");
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s %ld %.6f\n", ok ? "done" : "failed", count, secs);
    fflush(stdout);
    xb_channel_close(ch);
    free(buf);
    free(lens);
    return ok ? 0 : 1;
}
