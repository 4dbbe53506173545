/* xb_bench_c [--quick]: ns/op of encode, decode-full and read-one-field
 * through the C ABI, for every codec and record. One line per measurement:
 *   BENCH context=c format=F record=R op=OP ns_per_op=MEDIAN spread=IQR reps=N bytes=SIZE
 * Each measurement is the median of REPS timed batches (after a warm-up
 * batch); the batch size is chosen so one batch takes about 2 ms. */
#define _POSIX_C_SOURCE 200809L
#include <crossbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    int32_t id;
    const char *name;
} codecs[] = {{XB_CODEC_FLATBUFFERS, "flatbuffers"}, {XB_CODEC_CAPNP, "capnp"}, {XB_CODEC_JSON, "json"},
              {XB_CODEC_MSGPACK, "msgpack"}, {XB_CODEC_PROTOBUF, "protobuf"}};

struct record {
    const char *name;
    int32_t type;
    uint64_t size; /* tensor bytes */
};

static int reps = 15;
static volatile uint64_t sink; /* keeps decoded fields alive */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what) {
    fprintf(stderr, "xb_bench_c: %s: %s\n", what, xb_last_error());
    exit(1);
}

#define MUST(call)                                                                                                \
    do {                                                                                                          \
        if ((call) != XB_OK) die(#call);                                                                          \
    } while (0)

/* Touches every field of a decoded view: decode-full means materialised. */
static uint64_t touch(int32_t type, const void *v) {
    uint64_t s = 0;
    if (type == XB_RECORD_LOG_ENTRY) {
        const xb_log_entry *e = v;
        s = (uint64_t)e->timestamp_ns + (uint64_t)e->level + e->service.len + e->host.len + e->message.len +
            e->trace_id[0] + e->http.method.len + e->http.path.len + e->http.status + (uint64_t)e->http.latency_ns;
        s += (uint64_t)(e->message.len ? e->message.ptr[e->message.len - 1] : 0);
        for (uint64_t i = 0; i < e->n_tags; i++) s += e->tags[i].len;
        for (uint64_t i = 0; i < e->n_attributes; i++) s += e->attributes[i].key.len + e->attributes[i].value.len;
    } else if (type == XB_RECORD_SAMPLE) {
        const xb_sample *x = v;
        s = (uint64_t)x->timestamp_ns + (uint64_t)x->label;
        for (int i = 0; i < XB_SAMPLE_FEATURES; i++) s += (uint64_t)(x->features[i] * 1000);
    } else {
        const xb_tensor *t = v;
        s = t->name.len + (uint64_t)t->dtype + t->ndim + (uint64_t)t->shape[0] + t->data_len;
        s += (uint64_t)(t->data_len ? t->data[t->data_len - 1] : 0);
    }
    return s;
}

typedef void (*op_fn)(void *ctx, int iters);

struct ctx {
    xb_region region;
    xb_scratch scratch;
    int32_t codec, type;
    const void *rec;
    xb_frame frame;
    union {
        xb_log_entry log;
        xb_sample sample;
        xb_tensor tensor;
    } out;
};

static void op_encode(void *p, int iters) {
    struct ctx *c = p;
    xb_frame f;
    for (int i = 0; i < iters; i++) {
        int32_t st = xb_encode(c->region, c->codec, c->type, c->rec, 1, &f, NULL);
        if (st == XB_ERR_REGION_FULL) { /* the reset is part of the steady state of a ring of frames */
            MUST(xb_region_reset(c->region));
            st = xb_encode(c->region, c->codec, c->type, c->rec, 1, &f, NULL);
        }
        if (st != XB_OK) die("encode");
    }
}

static void op_decode(void *p, int iters) {
    struct ctx *c = p;
    for (int i = 0; i < iters; i++) {
        if (xb_decode(c->region, c->scratch, c->type, &c->frame, 1, &c->out) != XB_OK) die("decode");
        sink += touch(c->type, &c->out);
    }
}

static void op_read_field(void *p, int iters) {
    struct ctx *c = p;
    int32_t field = c->type == XB_RECORD_LOG_ENTRY ? XB_FIELD_LOG_MESSAGE : XB_FIELD_TENSOR_NAME;
    xb_str s;
    for (int i = 0; i < iters; i++) {
        if (xb_read_str(c->region, c->scratch, field, &c->frame, 1, &s) != XB_OK) die("read_str");
        sink += s.len;
    }
}

/* Sample has no string field: read-one-field there is decoding its label. */
static void op_read_label(void *p, int iters) {
    struct ctx *c = p;
    for (int i = 0; i < iters; i++) {
        if (xb_decode(c->region, c->scratch, c->type, &c->frame, 1, &c->out) != XB_OK) die("decode");
        sink += (uint64_t)c->out.sample.label;
    }
}

static void measure(const char *format, const char *record, const char *op, op_fn fn, void *ctx, uint64_t bytes) {
    int iters = 1;
    for (;;) { /* calibrate: a batch of about 2 ms */
        double t0 = now_ns();
        fn(ctx, iters);
        double dt = now_ns() - t0;
        if (dt > 2e6 || iters >= 1 << 24) break;
        iters *= dt < 2e5 ? 10 : 2;
    }
    double *ns = malloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        double t0 = now_ns();
        fn(ctx, iters);
        ns[r] = (now_ns() - t0) / iters;
    }
    qsort(ns, (size_t)reps, sizeof *ns, cmp_double);
    printf("BENCH context=c format=%s record=%s op=%s ns_per_op=%.2f spread=%.2f reps=%d bytes=%llu\n", format,
           record, op, ns[reps / 2], ns[(reps * 3) / 4] - ns[reps / 4], reps, (unsigned long long)bytes);
    fflush(stdout);
    free(ns);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) reps = 3;
    MUST(xb_check_abi());
    struct record records[] = {{"Sample", XB_RECORD_SAMPLE, 0},
                               {"LogEntry", XB_RECORD_LOG_ENTRY, 0},
                               {"Tensor-1KB", XB_RECORD_TENSOR, 1 << 10},
                               {"Tensor-1MB", XB_RECORD_TENSOR, 1 << 20},
                               {"Tensor-64MB", XB_RECORD_TENSOR, 64 << 20}};
    int nrecords = quick ? 4 : 5;
    for (int r = 0; r < nrecords; r++) {
        xb_scratch gen;
        MUST(xb_scratch_new(&gen));
        union {
            xb_log_entry log;
            xb_sample sample;
            xb_tensor tensor;
        } rec;
        MUST(xb_generate(gen, records[r].type, 1, records[r].size, &rec));
        for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
            struct ctx ctx = {.codec = codecs[c].id, .type = records[r].type, .rec = &rec};
            /* room for a few frames even of the 64 MB tensor as base64 JSON */
            MUST(xb_region_create_anon(records[r].size * 3 + (64 << 20), &ctx.region));
            MUST(xb_scratch_new(&ctx.scratch));
            xb_frame f;
            MUST(xb_encode(ctx.region, ctx.codec, ctx.type, &rec, 1, &f, NULL));
            ctx.frame = f;
            measure(codecs[c].name, records[r].name, "decode", op_decode, &ctx, f.payload_len);
            measure(codecs[c].name, records[r].name, "read_field",
                    records[r].type == XB_RECORD_SAMPLE ? op_read_label : op_read_field, &ctx, f.payload_len);
            MUST(xb_region_reset(ctx.region));
            measure(codecs[c].name, records[r].name, "encode", op_encode, &ctx, f.payload_len);
            MUST(xb_scratch_free(ctx.scratch));
            MUST(xb_region_close(ctx.region));
        }
        MUST(xb_scratch_free(gen));
    }
    return 0;
}
