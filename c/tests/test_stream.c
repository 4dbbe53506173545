/* Tests of streams through include/crossbuf.h: a region streamed by another
 * process over a socket, callbacks over memory into a channel, the wire
 * header layout, hostile and truncated streams, and misuse. */
#define _GNU_SOURCE
#include <crossbuf.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int passed, failed;

#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, " (last error: %s)\n", xb_last_error());                       \
        }                                                                                  \
    } while (0)

#define EXPECT_OK(call) EXPECT((call) == XB_OK, "%s", #call)
#define EXPECT_STATUS(call, want)                                                          \
    do {                                                                                   \
        int32_t got_ = (call);                                                             \
        EXPECT(got_ == (want), "%s returned %s, want %s", #call, xb_status_name(got_),     \
               xb_status_name(want));                                                      \
    } while (0)

#define N_FRAMES 300

static void fill(uint8_t *p, uint64_t n, uint64_t seed) {
    for (uint64_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 131 + i * 7);
}

static int check_fill(const uint8_t *p, uint64_t n, uint64_t seed) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 131 + i * 7)) return 0;
    return 1;
}

static uint64_t size_of(uint64_t i) { return (i * 37) % 1500; }

static xb_region make_region(void) {
    xb_region r = NULL;
    uint8_t buf[1500];
    xb_frame f;
    if (xb_region_create_anon(1 << 20, &r) != XB_OK) return NULL;
    for (uint64_t i = 0; i < N_FRAMES; i++) {
        fill(buf, size_of(i), i);
        if (xb_frame_append(r, XB_CODEC_MSGPACK, 100 + i, buf, size_of(i), &f) != XB_OK) return NULL;
    }
    return r;
}

/* The child: streams a region of its own to the descriptor fd. */
static int writer_main(int fd) {
    xb_region r = make_region();
    xb_stream w;
    uint64_t cursor = 0, n = 0;
    if (!r || xb_stream_writer(fd, NULL, NULL, &w) != XB_OK ||
        xb_stream_write_region(w, r, &cursor, &n) != XB_OK || n != N_FRAMES || xb_stream_close(w) != XB_OK) {
        fprintf(stderr, "writer: %s\n", xb_last_error());
        return 1;
    }
    close(fd);
    xb_region_close(r);
    return 0;
}

static void check_frames(const xb_frame *f, uint64_t n, uint64_t first, const uint8_t *lo, uint64_t cap) {
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = first + i;
        EXPECT(f[i].codec == XB_CODEC_MSGPACK && f[i].type_id == 100 + k, "frame %llu header",
               (unsigned long long)k);
        EXPECT(f[i].payload_len == size_of(k) && check_fill(f[i].payload, size_of(k), k), "frame %llu payload",
               (unsigned long long)k);
        EXPECT(f[i].payload_len == 0 || (f[i].payload >= lo && f[i].payload + f[i].payload_len <= lo + cap),
               "frame %llu lies in the destination region", (unsigned long long)k);
    }
}

static void test_across_processes(const char *self) {
    int sv[2];
    EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", sv[1]);
    char *argv[] = {(char *)self, "writer", fdarg, NULL};
    pid_t pid;
    EXPECT(posix_spawn(&pid, self, NULL, NULL, argv, environ) == 0, "spawn");
    close(sv[1]);
    xb_region dst;
    EXPECT_OK(xb_region_create_anon(1 << 20, &dst));
    const uint8_t *base;
    uint64_t cap;
    EXPECT_OK(xb_region_base(dst, &base, &cap));
    xb_stream rd = NULL;
    EXPECT_OK(xb_stream_reader(sv[0], NULL, NULL, 0, &rd));
    xb_frame frames[64];
    uint64_t total = 0, n;
    for (;;) {
        int32_t st = xb_stream_read_region(rd, dst, frames, 64, &n);
        EXPECT(st == XB_OK, "read_region: %s", xb_status_name(st));
        if (st != XB_OK || n == 0) break;
        check_frames(frames, n, total, base, cap);
        total += n;
    }
    EXPECT(total == N_FRAMES, "received %llu frames", (unsigned long long)total);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer exit status %d", status);
    EXPECT_OK(xb_stream_close(rd));
    EXPECT_STATUS(xb_stream_close(rd), XB_ERR_CLOSED);
    close(sv[0]);
    xb_region_close(dst);
}

/* An in-memory stream for the callbacks. */
typedef struct membuf {
    uint8_t *data;
    uint64_t len, cap, pos;
    int fail;
} membuf;

static int64_t mem_write(void *ctx, uint8_t *buf, uint64_t len) {
    membuf *m = ctx;
    if (m->fail) return -1;
    if (len > 1000) len = 1000; /* short writes: the library must loop */
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return (int64_t)len;
}

static int64_t mem_read(void *ctx, uint8_t *buf, uint64_t len) {
    membuf *m = ctx;
    if (m->fail) return -1;
    uint64_t k = m->len - m->pos;
    if (k > len) k = len;
    if (k > 777) k = 777; /* short reads */
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (int64_t)k;
}

static membuf stream_of_region(void) {
    membuf m = {0};
    xb_region src = make_region();
    xb_stream w;
    uint64_t cursor = 0, n = 0;
    EXPECT(src != NULL, "region");
    EXPECT_OK(xb_stream_writer(-1, mem_write, &m, &w));
    EXPECT_OK(xb_stream_write_region(w, src, &cursor, &n));
    EXPECT(n == N_FRAMES, "wrote %llu", (unsigned long long)n);
    /* frames made up by the caller go through xb_stream_write */
    xb_frame extra = {.codec = XB_CODEC_JSON, .type_id = 5, .payload = (const uint8_t *)"{\"a\":1}", .payload_len = 7};
    EXPECT_OK(xb_stream_write(w, &extra, 1));
    uint64_t dummy = 0;
    xb_stream rd_as_w = w;
    EXPECT_STATUS(xb_stream_read_region(rd_as_w, src, NULL, 1, &dummy), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_stream_close(w));
    xb_region_close(src);
    return m;
}

static void test_callbacks_into_channel(void) {
    membuf m = stream_of_region();
    const xb_stream_header *h = (const xb_stream_header *)m.data;
    EXPECT(m.len > sizeof *h && h->magic == XB_STREAM_MAGIC && h->version == XB_STREAM_VERSION &&
               h->header_size == sizeof *h && h->stream_id != 0,
           "stream header");
    const xb_frame_header *fh = (const xb_frame_header *)(m.data + sizeof *h);
    EXPECT(fh->state == XB_FRAME_COMMITTED && fh->payload_offset == 64 && fh->check == (h->stream_id ^ 64) &&
               fh->seal == 8,
           "first frame header");

    char name[64];
    snprintf(name, sizeof name, "xb-test-stream-%d", (int)getpid());
    xb_channel_unlink(name);
    xb_channel ch;
    EXPECT_OK(xb_channel_create(name, 1 << 16, XB_POLICY_FAIL, 0600, &ch));
    xb_subscriber sub;
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_BUSY_SPIN, NULL, &sub));
    xb_stream rd;
    EXPECT_OK(xb_stream_reader(-1, mem_read, &m, 0, &rd));
    uint64_t got = 0, n;
    while (got < N_FRAMES) {
        uint64_t want = N_FRAMES - got < 16 ? N_FRAMES - got : 16;
        int32_t st = xb_stream_read_channel(rd, ch, 0, want, &n);
        EXPECT(st == XB_OK || st == XB_ERR_FULL, "read_channel: %s", xb_status_name(st));
        if (st != XB_OK && st != XB_ERR_FULL) break;
        for (uint64_t i = 0; i < n; i++) {
            xb_frame f;
            EXPECT_OK(xb_subscriber_receive(sub, 0, &f));
            check_frames(&f, 1, got + i, f.payload, f.payload_len);
        }
        got += n;
        EXPECT_OK(xb_subscriber_release(sub));
    }
    EXPECT_OK(xb_stream_read_channel(rd, ch, 0, 16, &n));
    EXPECT(n == 1, "the made-up frame, then the end (%llu)", (unsigned long long)n);
    xb_frame f;
    EXPECT_OK(xb_subscriber_receive(sub, 0, &f));
    EXPECT(f.codec == XB_CODEC_JSON && f.payload_len == 7 && memcmp(f.payload, "{\"a\":1}", 7) == 0, "json frame");
    EXPECT_OK(xb_stream_read_channel(rd, ch, 0, 16, &n));
    EXPECT(n == 0, "end of stream");
    EXPECT_OK(xb_stream_close(rd));
    xb_subscriber_close(sub);
    xb_channel_close(ch);
    xb_channel_unlink(name);
    free(m.data);
}

/* Reads the whole stream in m into a fresh region; returns the status. */
static int32_t land_all(membuf *m, uint64_t *frames) {
    xb_region dst;
    xb_stream rd;
    *frames = 0;
    m->pos = 0;
    if (xb_region_create_anon(1 << 20, &dst) != XB_OK) return XB_ERR_INTERNAL;
    int32_t st = xb_stream_reader(-1, mem_read, m, 0, &rd);
    if (st == XB_OK) {
        uint64_t n;
        while ((st = xb_stream_read_region(rd, dst, NULL, 7, &n)) == XB_OK && n > 0) *frames += n;
        xb_stream_close(rd);
    }
    xb_region_close(dst);
    return st;
}

/* A reader's max_payload: each larger frame is XB_ERR_MALFORMED and stays
 * pending; xb_stream_skip goes past it, and the frames after it land. */
static void test_max_payload_skips(void) {
    membuf m = stream_of_region();
    xb_region dst;
    xb_stream rd;
    EXPECT_OK(xb_region_create_anon(1 << 20, &dst));
    EXPECT_OK(xb_stream_reader(-1, mem_read, &m, 1000, &rd));
    uint64_t landed = 0, skipped = 0, want_skipped = 0, n;
    for (uint64_t i = 0; i < N_FRAMES; i++) want_skipped += size_of(i) > 1000;
    for (;;) {
        xb_frame f;
        int32_t st = xb_stream_read_region(rd, dst, &f, 1, &n);
        if (st == XB_ERR_MALFORMED) {
            EXPECT(strstr(xb_last_error(), "reader's limit 1000") != NULL, "error: %s", xb_last_error());
            EXPECT_STATUS(xb_stream_read_region(rd, dst, &f, 1, &n), XB_ERR_MALFORMED); /* still pending */
            EXPECT_OK(xb_stream_skip(rd));
            skipped++;
            continue;
        }
        EXPECT_OK(st);
        if (st != XB_OK || n == 0) break;
        EXPECT(f.payload_len <= 1000, "landed %llu bytes", (unsigned long long)f.payload_len);
        landed++;
    }
    EXPECT(skipped == want_skipped && landed == N_FRAMES - want_skipped + 1, "skipped %llu, landed %llu",
           (unsigned long long)skipped, (unsigned long long)landed);
    EXPECT_STATUS(xb_stream_skip(rd), XB_ERR_INVALID_ARG); /* the end: nothing to skip */
    EXPECT_OK(xb_stream_close(rd));
    xb_region_close(dst);
    free(m.data);
}

static void test_hostile(void) {
    membuf m = stream_of_region();
    uint64_t frames;
    EXPECT_OK(land_all(&m, &frames));
    EXPECT(frames == N_FRAMES + 1, "%llu frames", (unsigned long long)frames);
    /* every truncation inside a frame is malformed; the library never crashes */
    uint64_t full = m.len, bad = 0;
    for (uint64_t cut = 0; cut < full; cut += 61) {
        m.len = cut;
        if (land_all(&m, &frames) == XB_ERR_MALFORMED) bad++;
    }
    m.len = full;
    EXPECT(bad > 0, "truncated streams rejected");
    m.len = 64 + 64 + 1; /* the header, the empty frame, one byte of the next */
    EXPECT_STATUS(land_all(&m, &frames), XB_ERR_MALFORMED);
    m.len = full;
    /* every single-byte change of the headers is rejected or lands a frame; never a crash */
    for (uint64_t off = 0; off < 256; off++) {
        m.data[off] ^= 0x5a;
        int32_t st = land_all(&m, &frames);
        EXPECT(st == XB_OK || st == XB_ERR_MALFORMED || st == XB_ERR_FULL, "byte %llu: %s",
               (unsigned long long)off, xb_status_name(st));
        m.data[off] ^= 0x5a;
    }
    m.data[64 + 48] ^= 1; /* the first frame's check word */
    EXPECT_STATUS(land_all(&m, &frames), XB_ERR_MALFORMED);
    m.data[64 + 48] ^= 1;
    m.data[0] = 'Y'; /* magic */
    EXPECT_STATUS(land_all(&m, &frames), XB_ERR_MALFORMED);
    m.data[0] = 0x58;
    m.fail = 1;
    EXPECT_STATUS(land_all(&m, &frames), XB_ERR_IO);
    free(m.data);
}

static void test_misuse(void) {
    xb_stream s;
    EXPECT_STATUS(xb_stream_writer(-1, NULL, NULL, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_stream_writer(1, mem_write, NULL, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_stream_writer(1, NULL, NULL, NULL), XB_ERR_INVALID_ARG);
    int p[2];
    EXPECT(pipe(p) == 0, "pipe");
    close(p[1]);
    EXPECT_STATUS(xb_stream_reader(p[0], NULL, NULL, 0, &s), XB_ERR_MALFORMED); /* empty input */
    close(p[0]);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "writer") == 0) return writer_main(atoi(argv[2]));
    if (xb_check_abi() != XB_OK) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    test_across_processes("/proc/self/exe");
    test_callbacks_into_channel();
    test_max_payload_skips();
    test_hostile();
    test_misuse();
    printf("test_stream: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
