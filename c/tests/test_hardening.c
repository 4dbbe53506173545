/* The C ABI against races, wrong handles, stale frames and read-only maps:
 * encode, decode and path reads racing xb_region_close, handles of the wrong
 * kind or closed, frames of another region or generation, read-only and
 * memfd mappings. Records are MessagePack (xb_generate), wrapped into
 * xb_encode's array with msgpack-c's packer.
 * Built with -fsanitize=address,undefined by ./build.sh test as well. */
#define _GNU_SOURCE
#include <crossbuf.h>
#include "../../go/capi/crossbuf_private.h" /* xbp_*: private calls, tested here */

#include <msgpack.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef XB_SCHEMA_DIR
#define XB_SCHEMA_DIR "python/crossbuf" /* run from the top of the tree */
#endif

static int failures, passes;

#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            passes++;                                                                      \
        } else {                                                                           \
            failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, " (last error: %s)\n", xb_last_error());                       \
        }                                                                                  \
    } while (0)
#define EXPECT_STATUS(call, want)                                                          \
    do {                                                                                   \
        int32_t st_ = (call);                                                              \
        EXPECT(st_ == (want), "%s returned %s, want %s", #call, xb_status_name(st_),      \
               xb_status_name(want));                                                      \
    } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(call, XB_OK)

/* ---- close racing 8 threads ------------------------------------------------ */

/* One MessagePack array of one record, packed with msgpack-c (xb_encode's input). */
typedef struct {
    msgpack_sbuffer sb;
} records;

static void records_of(records *out, const uint8_t *rec, uint64_t len) {
    msgpack_packer pk;
    msgpack_sbuffer_init(&out->sb);
    msgpack_packer_init(&pk, &out->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_sbuffer_write(&out->sb, (const char *)rec, len);
}

static const uint8_t *data_of(const records *r) { return (const uint8_t *)r->sb.data; }

static int same(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

struct racer {
    xb_region region;
    int id;
    const records *tensor, *entry;
    xb_path capnp_message; /* compiled once, shared by the racers */
    uint64_t message_len;
    atomic_int *ops;
    atomic_int *bad;
};

static void *race(void *arg) {
    struct racer *r = arg;
    xb_scratch s;
    if (xb_scratch_new(&s) != XB_OK) return NULL;
    for (;;) {
        xb_frame f;
        int32_t st;
        if (r->id % 2) {
            st = xb_encode(r->region, XB_CODEC_FLATBUFFERS, XB_RECORD_TENSOR, data_of(r->tensor), r->tensor->sb.size,
                           1, &f, NULL);
        } else {
            int capnp = r->id % 4 == 0;
            st = xb_encode(r->region, capnp ? XB_CODEC_CAPNP : XB_CODEC_JSON, XB_RECORD_LOG_ENTRY, data_of(r->entry),
                           r->entry->sb.size, 1, &f, NULL);
            if (st == XB_OK) {
                /* the decoded record is a copy in this thread's scratch: it
                 * stays readable even when the region is closed by now */
                const uint8_t *out;
                uint64_t len;
                st = xb_decode(r->region, s, &f, 1, XB_CODEC_MSGPACK, &out, &len);
                if (st == XB_OK && !same(out, len, data_of(r->entry), r->entry->sb.size)) atomic_fetch_add(r->bad, 1);
            }
            if (st == XB_OK && capnp) {
                /* a string read in place points into the region, which the
                 * main thread may have closed: only its length is checked */
                xb_str m;
                st = xb_path_read(r->capnp_message, r->region, &f, 1, &m, NULL);
                if (st == XB_OK && m.len != r->message_len) atomic_fetch_add(r->bad, 1);
            }
        }
        if (st == XB_ERR_REGION_FULL) {
            xb_region_stats stats;
            st = xb_region_get_stats(r->region, &stats);
        }
        if (st == XB_ERR_CLOSED) break;
        if (st != XB_OK) {
            atomic_fetch_add(r->bad, 1);
            fprintf(stderr, "racer %d: %s: %s\n", r->id, xb_status_name(st), xb_last_error());
            break;
        }
        atomic_fetch_add(r->ops, 1);
        sched_yield(); /* 8 racers on 2 cores: let the closing thread run */
    }
    xb_scratch_free(s);
    return NULL;
}

static xb_schema load_capnp_schema(void) {
    const char *dir = getenv("CROSSBUF_SCHEMA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/crossbuf.capnp.bin", dir && *dir ? dir : XB_SCHEMA_DIR);
    xb_schema s = NULL;
    int32_t rc = xb_schema_load_file(path, XB_SCHEMA_CAPNP_REQUEST, &s);
    EXPECT(rc == XB_OK, "load the bundled schema (set CROSSBUF_SCHEMA_DIR): %s", xb_last_error());
    return s;
}

static void test_close_races(int rounds) {
    xb_scratch gen;
    EXPECT_OK(xb_scratch_new(&gen));
    const uint8_t *rec;
    uint64_t len;
    records tensor, entry;
    EXPECT_OK(xb_generate(gen, XB_RECORD_TENSOR, 1, 256 << 10, XB_CODEC_MSGPACK, &rec, &len));
    records_of(&tensor, rec, len);
    EXPECT_OK(xb_generate(gen, XB_RECORD_LOG_ENTRY, 1, 0, XB_CODEC_MSGPACK, &rec, &len));
    records_of(&entry, rec, len);

    /* the message's length, read once from a frame of a region no racer uses */
    xb_schema schema = load_capnp_schema();
    uint64_t id = 0;
    xb_path message = NULL;
    EXPECT_OK(xb_schema_type_id(schema, "crossbuf.capnp:LogEntry", &id));
    EXPECT_OK(xb_path_compile(schema, id, "message", &message, NULL));
    xb_region probe;
    xb_frame f;
    xb_str m = {NULL, 0};
    EXPECT_OK(xb_region_create_anon(1 << 20, &probe));
    EXPECT_OK(xb_encode(probe, XB_CODEC_CAPNP, XB_RECORD_LOG_ENTRY, data_of(&entry), entry.sb.size, 1, &f, NULL));
    EXPECT_OK(xb_path_read(message, probe, &f, 1, &m, NULL));
    EXPECT(m.len > 0, "a message");
    EXPECT_OK(xb_region_close(probe));

    atomic_int ops = 0, bad = 0;
    for (int round = 0; round < rounds; round++) {
        xb_region r;
        EXPECT_OK(xb_region_create_anon(4 << 20, &r));
        pthread_t th[8];
        struct racer rs[8];
        for (int i = 0; i < 8; i++) {
            rs[i] = (struct racer){r, i, &tensor, &entry, message, m.len, &ops, &bad};
            pthread_create(&th[i], NULL, race, &rs[i]);
        }
        struct timespec ts = {0, (round % 10) * 20000};
        nanosleep(&ts, NULL);
        EXPECT_OK(xb_region_close(r));
        /* a new region of the same size must not hold the old one's frames */
        xb_region fresh;
        EXPECT_OK(xb_region_create_anon(4 << 20, &fresh));
        const uint8_t *base;
        uint64_t cap;
        EXPECT_OK(xb_region_base(fresh, &base, &cap));
        xb_region_header hdr;
        memcpy(&hdr, base, sizeof hdr);
        int dirty = 0;
        for (uint64_t i = hdr.data_offset; i < cap; i += 4096) dirty |= base[i];
        EXPECT(!dirty, "round %d: a fresh region holds old bytes", round);
        for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
        EXPECT_OK(xb_region_close(fresh));
    }
    EXPECT(atomic_load(&bad) == 0, "%d racing calls failed or decoded wrong data", atomic_load(&bad));
    EXPECT(atomic_load(&ops) > rounds, "racers did work (%d ops)", atomic_load(&ops));
    printf("close races: %d rounds, %d calls completed\n", rounds, atomic_load(&ops));
    EXPECT_OK(xb_path_free(message));
    EXPECT_OK(xb_schema_free(schema));
    msgpack_sbuffer_destroy(&tensor.sb);
    msgpack_sbuffer_destroy(&entry.sb);
    xb_scratch_free(gen);
}

/* ---- handles ---------------------------------------------------------------- */

static void test_handles(void) {
    xb_region r;
    xb_scratch s;
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    EXPECT_OK(xb_scratch_new(&s));
    /* the compiler rejects xb_region_close(s); a cast forces it, and the
     * library still refuses the wrong kind */
    EXPECT_STATUS(xb_region_close((xb_region)(void *)s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_scratch_free((xb_scratch)(void *)r), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_region_close(NULL), XB_ERR_CLOSED);
    xb_region_stats st;
    EXPECT_OK(xb_region_get_stats(r, &st));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_STATUS(xb_scratch_free(s), XB_ERR_CLOSED);
    /* a closed handle never comes back as another object */
    xb_scratch again;
    EXPECT_OK(xb_scratch_new(&again));
    EXPECT(again != s, "a new scratch reuses a closed id");
    EXPECT_STATUS(xb_scratch_free(s), XB_ERR_CLOSED);
    EXPECT_OK(xb_scratch_free(again));
    EXPECT_OK(xb_region_close(r));
    EXPECT_STATUS(xb_region_get_stats(r, &st), XB_ERR_CLOSED);

    enum { N = 100000 };
    static xb_scratch many[N];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= xb_scratch_new(&many[i]) == XB_OK;
    for (int i = 0; i < N; i++) ok &= xb_scratch_free(many[i]) == XB_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    EXPECT(ok, "100000 scratch handles");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("handles: %d scratches opened and closed in %.2f s\n", N, secs);
}

/* ---- frames and read-only ------------------------------------------------------ */

/* Whether frame f of r decodes to the array of rec. */
static int decodes_to(xb_region r, xb_scratch s, const xb_frame *f, const records *rec) {
    const uint8_t *out;
    uint64_t len;
    return xb_decode(r, s, f, 1, XB_CODEC_MSGPACK, &out, &len) == XB_OK &&
           same(out, len, data_of(rec), rec->sb.size);
}

static void test_frames(void) {
    xb_region a, b;
    xb_scratch s;
    EXPECT_OK(xb_region_create_anon(1 << 16, &a));
    EXPECT_OK(xb_region_create_anon(1 << 16, &b));
    EXPECT_OK(xb_scratch_new(&s));
    const uint8_t *rec, *out;
    uint64_t len, out_len;
    records smp;
    EXPECT_OK(xb_generate(s, XB_RECORD_SAMPLE, 3, 0, XB_CODEC_MSGPACK, &rec, &len));
    records_of(&smp, rec, len);
    const uint8_t *in = data_of(&smp);
    uint64_t in_len = smp.sb.size;
    xb_frame fa, fb;
    EXPECT_OK(xb_encode(a, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, in, in_len, 1, &fa, NULL));
    EXPECT_OK(xb_encode(b, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, in, in_len, 1, &fb, NULL));
    EXPECT(fa.region_id != fb.region_id && fa.generation == 1 && fa.type_id == XB_RECORD_SAMPLE, "identity");
    EXPECT(fa.publish_ns > 0, "publish time");
    EXPECT_STATUS(xb_decode(b, s, &fa, 1, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_STALE);
    EXPECT(decodes_to(a, s, &fa, &smp), "decode");
    EXPECT_OK(xb_region_reset(a));
    EXPECT_OK(xb_encode(a, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, in, in_len, 1, &fb, NULL));
    EXPECT_STATUS(xb_decode(a, s, &fa, 1, XB_CODEC_JSON, &out, &out_len), XB_ERR_STALE);
    xb_frame by_offset = {.offset = fb.offset};
    EXPECT(decodes_to(a, s, &by_offset, &smp), "a frame looked up by offset alone");
    /* a stale frame among good ones fails the whole call */
    xb_frame pair[2] = {fb, fa};
    EXPECT_STATUS(xb_decode(a, s, pair, 2, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_STALE);
    EXPECT(strstr(xb_last_error(), "frame 1") != NULL, "names the stale frame: %s", xb_last_error());

    /* a call that fails commits nothing */
    xb_region_stats st0, st1;
    EXPECT_OK(xb_region_get_stats(a, &st0));
    uint64_t done = 7;
    EXPECT_STATUS(xb_encode(a, 99, XB_RECORD_SAMPLE, in, in_len, 1, &fb, &done), XB_ERR_UNKNOWN_CODEC);
    EXPECT(done == 0, "n_done %llu", (unsigned long long)done);
    done = 7;
    EXPECT_STATUS(xb_encode(a, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, in, in_len, 2, &fb, &done), XB_ERR_INVALID_ARG);
    EXPECT(done == 0, "n_done %llu", (unsigned long long)done);
    EXPECT_OK(xb_region_get_stats(a, &st1));
    EXPECT(st0.frame_count == st1.frame_count && st0.used == st1.used, "nothing committed");
    EXPECT_STATUS(xb_generate(s, XB_RECORD_TENSOR, 1, UINT64_C(1) << 34, XB_CODEC_MSGPACK, &out, &out_len),
                  XB_ERR_INVALID_ARG);

    /* read-only attach */
    char name[64];
    snprintf(name, sizeof name, "/xb-chard-%d", (int)getpid());
    xb_region w, ro;
    EXPECT_OK(xb_region_create_shm(name, 1 << 20, 0640, &w));
    EXPECT_OK(xb_encode(w, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, in, in_len, 1, &fa, NULL));
    EXPECT_OK(xb_region_open_shm(name, XB_OPEN_READ_ONLY, &ro));
    EXPECT_OK(xb_region_get_stats(ro, &st0));
    EXPECT(st0.read_only == 1 && st0.region_id == fa.region_id, "read-only stats");
    EXPECT(decodes_to(ro, s, &fa, &smp), "read-only decode");
    EXPECT_STATUS(xb_encode(ro, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, in, in_len, 1, &fb, NULL), XB_ERR_READ_ONLY);
    EXPECT_STATUS(xb_region_reset(ro), XB_ERR_READ_ONLY);
    EXPECT_STATUS(xb_region_open_shm(name, 99, &ro), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_region_close(ro));
    EXPECT_OK(xb_region_close(w));
    EXPECT_OK(xb_region_unlink_shm(name));

    /* sealed memfd handed over as a descriptor */
    xb_region m, m2;
    int32_t fd;
    EXPECT_OK(xb_region_create_memfd("test", 1 << 16, &m));
    EXPECT_OK(xb_region_fd(m, &fd));
    EXPECT(ftruncate(fd, 0) != 0, "a sealed region cannot shrink");
    EXPECT_OK(xb_region_open_fd(fd, 0, &m2));
    EXPECT_OK(xb_encode(m2, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, in, in_len, 1, &fa, NULL));
    EXPECT(decodes_to(m, s, &fa, &smp), "a frame written through the other mapping");
    EXPECT_OK(xb_region_close(m2));
    EXPECT_STATUS(xb_region_open_fd(0, 0, &m2), XB_ERR_INVALID_ARG); /* stdin: not a sealed memfd */
    EXPECT_OK(xb_region_close(m));

    msgpack_sbuffer_destroy(&smp.sb);
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(a));
    EXPECT_OK(xb_region_close(b));
}

int main(int argc, char **argv) {
    if (xb_check_abi() != XB_OK) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    test_handles();
    test_frames();
    test_close_races(rounds);
    printf("C hardening: %d passed, %d failed\n", passes, failures);
    return failures != 0;
}
