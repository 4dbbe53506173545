/* Tests of libcrossbuf through include/crossbuf.h: round trips for every codec
 * and record, zero-copy views, batches, iteration, error paths, threads. */
#define _GNU_SOURCE
#include <crossbuf.h>
#include "../../go/capi/crossbuf_private.h" /* xbp_*: private calls, tested here */

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static const int32_t codecs[] = {XB_CODEC_FLATBUFFERS, XB_CODEC_CAPNP, XB_CODEC_JSON, XB_CODEC_MSGPACK,
                                 XB_CODEC_PROTOBUF};
enum { NCODECS = sizeof codecs / sizeof codecs[0] };

static int str_eq(xb_str a, xb_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }

static int log_eq(const xb_log_entry *a, const xb_log_entry *b) {
    if (a->timestamp_ns != b->timestamp_ns || a->level != b->level || !str_eq(a->service, b->service) ||
        !str_eq(a->host, b->host) || !str_eq(a->message, b->message) ||
        memcmp(a->trace_id, b->trace_id, XB_TRACE_ID_LEN) != 0 || a->n_tags != b->n_tags ||
        a->n_attributes != b->n_attributes || !str_eq(a->http.method, b->http.method) ||
        !str_eq(a->http.path, b->http.path) || a->http.status != b->http.status ||
        a->http.latency_ns != b->http.latency_ns)
        return 0;
    for (uint64_t i = 0; i < a->n_tags; i++)
        if (!str_eq(a->tags[i], b->tags[i])) return 0;
    for (uint64_t i = 0; i < a->n_attributes; i++)
        if (!str_eq(a->attributes[i].key, b->attributes[i].key) ||
            !str_eq(a->attributes[i].value, b->attributes[i].value))
            return 0;
    return 1;
}

static int sample_eq(const xb_sample *a, const xb_sample *b) {
    return a->timestamp_ns == b->timestamp_ns && a->label == b->label &&
           memcmp(a->features, b->features, sizeof a->features) == 0;
}

static int tensor_eq(const xb_tensor *a, const xb_tensor *b) {
    return str_eq(a->name, b->name) && a->dtype == b->dtype && a->ndim == b->ndim &&
           memcmp(a->shape, b->shape, sizeof a->shape) == 0 && a->data_len == b->data_len &&
           (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}

static int inside(const void *p, uint64_t len, const xb_frame *f) {
    const uint8_t *q = p;
    return len == 0 || (q >= f->payload && q + len <= f->payload + f->payload_len);
}

static void test_version(void) {
    EXPECT_OK(xb_check_abi());
    EXPECT(strcmp(xb_version(), "") != 0, "version string");
    EXPECT(strcmp(xb_status_name(XB_ERR_CLOSED), "XB_ERR_CLOSED") == 0, "status name");
}

static void test_round_trips(void) {
    xb_region r;
    xb_scratch want_s, got_s;
    EXPECT_OK(xb_region_create_anon(64 << 20, &r));
    EXPECT_OK(xb_scratch_new(&want_s));
    EXPECT_OK(xb_scratch_new(&got_s));
    for (int c = 0; c < NCODECS; c++) {
        int zero_copy = codecs[c] == XB_CODEC_FLATBUFFERS || codecs[c] == XB_CODEC_CAPNP;
        for (uint64_t seed = 0; seed < 20; seed++) {
            xb_log_entry want, got;
            xb_frame f;
            EXPECT_OK(xb_generate(want_s, XB_RECORD_LOG_ENTRY, seed, 0, &want));
            EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, &want, 1, &f, NULL));
            EXPECT(f.codec == codecs[c] && f.type_id == XB_RECORD_LOG_ENTRY, "frame descriptor");
            EXPECT(((uintptr_t)f.payload & 7) == 0, "payload is 8-byte aligned");
            EXPECT_OK(xb_decode(r, got_s, XB_RECORD_LOG_ENTRY, &f, 1, &got));
            EXPECT(log_eq(&want, &got), "codec %d seed %llu: LogEntry differs", codecs[c], (unsigned long long)seed);
            if (zero_copy) {
                EXPECT(inside(got.message.ptr, got.message.len, &f) && inside(got.service.ptr, got.service.len, &f) &&
                           inside(got.tags[0].ptr, got.tags[0].len, &f) &&
                           inside(got.attributes[0].value.ptr, got.attributes[0].value.len, &f),
                       "codec %d: strings point into the frame", codecs[c]);
            } else {
                EXPECT(!inside(got.message.ptr, got.message.len, &f), "baseline strings are copies");
            }
            xb_str msg;
            EXPECT_OK(xb_read_str(r, got_s, XB_FIELD_LOG_MESSAGE, &f, 1, &msg));
            EXPECT(str_eq(msg, want.message), "read one field");

            xb_sample ws, gs;
            EXPECT_OK(xb_generate(want_s, XB_RECORD_SAMPLE, seed, 0, &ws));
            EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_SAMPLE, &ws, 1, &f, NULL));
            EXPECT_OK(xb_decode(r, got_s, XB_RECORD_SAMPLE, &f, 1, &gs));
            EXPECT(sample_eq(&ws, &gs), "codec %d: Sample differs", codecs[c]);
        }
        static const uint64_t sizes[] = {0, 4, 1024, 1 << 20};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            xb_tensor want, got;
            xb_frame f;
            EXPECT_OK(xb_generate(want_s, XB_RECORD_TENSOR, 7, sizes[i], &want));
            EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_TENSOR, &want, 1, &f, NULL));
            EXPECT_OK(xb_decode(r, got_s, XB_RECORD_TENSOR, &f, 1, &got));
            EXPECT(tensor_eq(&want, &got), "codec %d: Tensor of %llu bytes differs", codecs[c],
                   (unsigned long long)sizes[i]);
            EXPECT(((uintptr_t)got.data & 7) == 0, "codec %d size %llu: tensor data is 8-byte aligned", codecs[c], (unsigned long long)sizes[i]);
            if (zero_copy) EXPECT(inside(got.data, got.data_len, &f), "tensor data points into the frame");
        }
        EXPECT_OK(xb_region_reset(r));
    }
    EXPECT_OK(xb_scratch_free(want_s));
    EXPECT_OK(xb_scratch_free(got_s));
    EXPECT_OK(xb_region_close(r));
}

static void test_batches_and_iteration(void) {
    enum { N = 200 };
    static xb_log_entry in[N], out[N];
    static xb_frame frames[N], listed[N];
    static xb_str msgs[N];
    xb_region r;
    xb_scratch gen[N / 10], s;
    EXPECT_OK(xb_region_create_anon(16 << 20, &r));
    EXPECT_OK(xb_scratch_new(&s));
    /* a scratch holds one generated record at a time; use one per record */
    for (int i = 0; i < N; i++) {
        if (i < N / 10) EXPECT_OK(xb_scratch_new(&gen[i]));
    }
    for (int c = 0; c < NCODECS; c++) {
        for (int i = 0; i < N / 10; i++) EXPECT_OK(xb_generate(gen[i], XB_RECORD_LOG_ENTRY, (uint64_t)i, 0, &in[i]));
        for (int i = N / 10; i < N; i++) in[i] = in[i % (N / 10)];
        uint64_t done = 0;
        EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, in, N, frames, &done));
        EXPECT(done == N, "n_done %llu", (unsigned long long)done);
        EXPECT_OK(xb_decode(r, s, XB_RECORD_LOG_ENTRY, frames, N, out));
        int same = 1;
        for (int i = 0; i < N; i++) same &= log_eq(&in[i], &out[i]);
        EXPECT(same, "codec %d: batch decode equals input", codecs[c]);
        EXPECT_OK(xb_read_str(r, s, XB_FIELD_LOG_HOST, frames, N, msgs));
        same = 1;
        for (int i = 0; i < N; i++) same &= str_eq(msgs[i], in[i].host);
        EXPECT(same, "codec %d: batch read_str", codecs[c]);

        uint64_t cursor = 0, n = 0, total = 0;
        do {
            EXPECT_OK(xb_frame_list(r, &cursor, listed, 64, &n));
            for (uint64_t i = 0; i < n; i++) EXPECT(listed[i].offset == frames[total + i].offset, "iteration order");
            total += n;
        } while (n > 0 && total < N);
        EXPECT(total == N, "listed %llu frames", (unsigned long long)total);
        EXPECT_OK(xb_frame_list(r, &cursor, listed, 64, &n));
        EXPECT(n == 0, "end of frames");

        xb_region_stats st;
        EXPECT_OK(xb_region_get_stats(r, &st));
        EXPECT(st.frame_count == N && st.used > 0 && st.high_water >= st.used, "stats");
        EXPECT_OK(xb_region_reset(r));
        EXPECT_OK(xb_region_get_stats(r, &st));
        EXPECT(st.frame_count == 0 && st.used == 0, "reset empties the region");
        cursor = 0;
        EXPECT_OK(xb_frame_list(r, &cursor, listed, 64, &n));
        EXPECT(n == 0, "reset hides old frames");
    }
    for (int i = 0; i < N / 10; i++) EXPECT_OK(xb_scratch_free(gen[i]));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(r));
}

static void test_malformed(void) {
    xb_region r;
    xb_scratch s, gs;
    xb_frame f, good;
    xb_log_entry e;
    EXPECT_OK(xb_region_create_anon(4 << 20, &r));
    EXPECT_OK(xb_scratch_new(&s));
    EXPECT_OK(xb_scratch_new(&gs));
    static uint8_t garbage[512];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 131 + 7);
    for (int c = 0; c < NCODECS; c++) {
        EXPECT_OK(xb_frame_append(r, codecs[c], XB_RECORD_LOG_ENTRY, garbage, sizeof garbage, &f));
        EXPECT_STATUS(xb_decode(r, s, XB_RECORD_LOG_ENTRY, &f, 1, &e), XB_ERR_MALFORMED);
        EXPECT_STATUS(xb_decode_bytes(s, codecs[c], XB_RECORD_LOG_ENTRY, garbage, sizeof garbage, &e), XB_ERR_MALFORMED);

        /* every truncation of a valid frame is an error or a valid record, never a crash */
        xb_log_entry want;
        EXPECT_OK(xb_generate(gs, XB_RECORD_LOG_ENTRY, 3, 0, &want));
        EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, &want, 1, &good, NULL));
        int bad = 0;
        for (uint64_t n = 0; n < good.payload_len; n += 7) {
            int32_t st = xb_frame_append(r, codecs[c], XB_RECORD_LOG_ENTRY, good.payload, n, &f);
            if (st == XB_ERR_REGION_FULL) {
                xb_region_reset(r);
                EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, &want, 1, &good, NULL));
                continue;
            }
            st = xb_decode(r, s, XB_RECORD_LOG_ENTRY, &f, 1, &e);
            bad += st != XB_OK && st != XB_ERR_MALFORMED;
        }
        EXPECT(bad == 0, "codec %d: truncated frames give XB_ERR_MALFORMED", codecs[c]);
    }
    EXPECT_STATUS(xb_frame_append(r, 99, XB_RECORD_LOG_ENTRY, garbage, 8, &f), XB_ERR_UNKNOWN_CODEC);
    /* any type id can be appended; decoding it as a record is the error */
    EXPECT_OK(xb_frame_append(r, XB_CODEC_JSON, 42, garbage, 8, &f));
    EXPECT_STATUS(xb_decode(r, s, XB_RECORD_LOG_ENTRY, &f, 1, &e), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_decode_bytes(s, 0, XB_RECORD_LOG_ENTRY, garbage, 8, &e), XB_ERR_UNKNOWN_CODEC);

    xb_sample smp;
    EXPECT_OK(xb_generate(s, XB_RECORD_SAMPLE, 1, 0, &smp));
    EXPECT_OK(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, &smp, 1, &f, NULL));
    EXPECT_STATUS(xb_decode(r, s, XB_RECORD_LOG_ENTRY, &f, 1, &e), XB_ERR_RECORD_TYPE);
    uint64_t bad_offsets[] = {0, 3, f.offset + 8, f.offset + 4096, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad_offsets / sizeof bad_offsets[0]; i++) {
        xb_frame bad = f;
        bad.offset = bad_offsets[i];
        int32_t st = xb_decode(r, s, XB_RECORD_SAMPLE, &bad, 1, &smp);
        EXPECT(st == XB_ERR_OUT_OF_RANGE || st == XB_ERR_NOT_COMMITTED, "offset %llu: %s",
               (unsigned long long)bad_offsets[i], xb_status_name(st));
    }

    xb_tensor t = {.name = {"t", 1}, .dtype = XB_DTYPE_F32, .ndim = 1, .shape = {3}, .data = garbage, .data_len = 8};
    EXPECT_STATUS(xb_encode(r, XB_CODEC_CAPNP, XB_RECORD_TENSOR, &t, 1, &f, NULL), XB_ERR_INVALID_RECORD);
    xb_log_entry nul = {.message = {NULL, 5}};
    EXPECT_STATUS(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, &nul, 1, &f, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_region_get_stats(r, NULL), XB_ERR_INVALID_ARG);

    EXPECT_OK(xb_scratch_free(gs));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(r));
}

static void test_lifecycle_errors(void) {
    xb_region r;
    xb_scratch s;
    xb_region_stats st;
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    EXPECT_OK(xb_region_close(r));
    EXPECT_STATUS(xb_region_close(r), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_region_get_stats(r, &st), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_region_get_stats(0, &st), XB_ERR_CLOSED);
    EXPECT_OK(xb_scratch_new(&s));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_STATUS(xb_scratch_free(s), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_region_create_anon(0, &r), XB_ERR_INVALID_ARG);

    static const char *bad_names[] = {"/a/b", "..", "/..", "a..b", "", "/", "sp ace", "x/"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        EXPECT_STATUS(xb_region_create_shm(bad_names[i], 1 << 16, 0, &r), XB_ERR_BAD_NAME);
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    EXPECT_STATUS(xb_region_create_shm(long_name, 1 << 16, 0, &r), XB_ERR_BAD_NAME);

    char name[64];
    snprintf(name, sizeof name, "/xb-ctest-%d", (int)getpid());
    xb_region a, b;
    EXPECT_STATUS(xb_region_open_shm(name, 0, &a), XB_ERR_NOT_FOUND);
    EXPECT_OK(xb_region_create_shm(name, 1 << 20, 0, &a));
    EXPECT_STATUS(xb_region_create_shm(name, 1 << 20, 0, &b), XB_ERR_EXISTS);
    EXPECT_OK(xb_region_open_shm(name, 0, &b));
    xb_scratch gs;
    xb_sample smp, got;
    xb_frame f;
    EXPECT_OK(xb_scratch_new(&gs));
    EXPECT_OK(xb_generate(gs, XB_RECORD_SAMPLE, 5, 0, &smp));
    EXPECT_OK(xb_encode(a, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, &smp, 1, &f, NULL));
    EXPECT_OK(xb_decode(b, gs, XB_RECORD_SAMPLE, &f, 1, &got));
    EXPECT(sample_eq(&smp, &got), "second mapping sees the frame");
    EXPECT_OK(xb_region_unlink_shm(name));
    EXPECT_STATUS(xb_region_unlink_shm(name), XB_ERR_NOT_FOUND);
    EXPECT_OK(xb_region_prefault(b));
    EXPECT_OK(xb_decode(b, gs, XB_RECORD_SAMPLE, &f, 1, &got));
    EXPECT(sample_eq(&smp, &got), "prefault keeps frames");
    EXPECT_OK(xb_region_close(a));
    EXPECT_OK(xb_region_close(b));
    EXPECT_STATUS(xb_region_prefault(b), XB_ERR_CLOSED);

    /* full region: the error says so and earlier frames are intact */
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    int32_t status = XB_OK;
    int n = 0;
    while ((status = xb_encode(r, XB_CODEC_PROTOBUF, XB_RECORD_SAMPLE, &smp, 1, &f, NULL)) == XB_OK) n++;
    EXPECT(status == XB_ERR_REGION_FULL && n > 100, "full after %d frames: %s", n, xb_status_name(status));
    uint64_t cursor = 0, listed = 0, k;
    xb_frame fs[64];
    do {
        EXPECT_OK(xb_frame_list(r, &cursor, fs, 64, &k));
        for (uint64_t i = 0; i < k; i++) {
            EXPECT_OK(xb_decode(r, gs, XB_RECORD_SAMPLE, &fs[i], 1, &got));
        }
        listed += k;
    } while (k > 0);
    EXPECT((int)listed == n, "all %d frames survive a full region (%llu)", n, (unsigned long long)listed);
    EXPECT_OK(xb_region_close(r));

    /* another layout version */
    char path[] = "/tmp/xb-ctest-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    EXPECT_OK(xb_region_create_file(path, 1 << 16, 0, &r));
    EXPECT_OK(xb_region_close(r));
    fd = open(path, O_RDWR);
    uint32_t v99 = 99;
    EXPECT(pwrite(fd, &v99, sizeof v99, offsetof(xb_region_header, layout_version)) == 4, "patch version");
    close(fd);
    EXPECT_STATUS(xb_region_open_file(path, 0, &r), XB_ERR_VERSION);
    fd = open(path, O_RDWR);
    EXPECT(pwrite(fd, "garbage!", 8, 0) == 8, "patch magic");
    close(fd);
    EXPECT_STATUS(xb_region_open_file(path, 0, &r), XB_ERR_VERSION);
    unlink(path);
    EXPECT_OK(xb_scratch_free(gs));
}

static void test_faults(void) {
    EXPECT_STATUS(xbp_debug_fault(1), XB_ERR_INTERNAL);
    EXPECT(strstr(xb_last_error(), "panic") != NULL, "message names the panic: %s", xb_last_error());
    EXPECT_STATUS(xbp_debug_fault(2), XB_ERR_INTERNAL);
    EXPECT_STATUS(xbp_debug_fault(0), XB_ERR_INVALID_ARG);
}

struct worker {
    xb_region r;
    int codec;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    xb_scratch gen, s;
    w->ok = xb_scratch_new(&gen) == XB_OK && xb_scratch_new(&s) == XB_OK;
    for (uint64_t seed = 0; seed < 300 && w->ok; seed++) {
        xb_log_entry want, got;
        xb_frame f;
        w->ok = xb_generate(gen, XB_RECORD_LOG_ENTRY, seed, 0, &want) == XB_OK &&
                xb_encode(w->r, w->codec, XB_RECORD_LOG_ENTRY, &want, 1, &f, NULL) == XB_OK &&
                xb_decode(w->r, s, XB_RECORD_LOG_ENTRY, &f, 1, &got) == XB_OK && log_eq(&want, &got);
    }
    xb_scratch_free(gen);
    xb_scratch_free(s);
    return NULL;
}

static void test_threads(void) {
    xb_region r;
    EXPECT_OK(xb_region_create_anon(64 << 20, &r));
    pthread_t th[NCODECS];
    struct worker w[NCODECS];
    for (int i = 0; i < NCODECS; i++) {
        w[i] = (struct worker){.r = r, .codec = codecs[i]};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < NCODECS; i++) {
        pthread_join(th[i], NULL);
        EXPECT(w[i].ok, "thread of codec %d", codecs[i]);
    }
    xb_region_stats st;
    EXPECT_OK(xb_region_get_stats(r, &st));
    EXPECT(st.frame_count == 300 * NCODECS, "frames from all threads: %llu", (unsigned long long)st.frame_count);
    EXPECT_OK(xb_region_close(r));
}

int main(void) {
    test_version();
    test_round_trips();
    test_batches_and_iteration();
    test_malformed();
    test_lifecycle_errors();
    test_faults();
    test_threads();
    printf("C: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
