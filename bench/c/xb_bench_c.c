/* xb_bench_c: ns/op of encode, decode-full and read-one-field through the C
 * ABI, for every codec and record.
 *
 *   xb_bench_c [--reps N] [--sizes 1KB,1MB,64MB] [--pool N] [--pin CPU]
 *
 * Every cell cycles through a pool of records from the shared generator
 * (seeds 1..N, N = 1000 or 256 MiB of record data, whichever is smaller; the
 * same pools as Go and Python); LogEntry also runs on seed 1 alone
 * (data=single). Before timing, every frame of the pool is decoded and
 * compared field by field with its generated record, and read-one-field with
 * the generated field. One line per cell:
 *   BENCH context=c format=F record=R op=OP variant=default data=D ns_per_op=MEDIAN
 *         reps=N inner=ITERS bytes=SIZE samples=S1,S2,...
 * Each sample is one timed batch of ITERS calls (about 2 ms) after a warm-up
 * and calibration batch. decode-full materialises every field: it reads and
 * hashes every byte of every string and byte vector, including tensor data. */
#define _GNU_SOURCE
#include <crossbuf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    int32_t id;
    const char *name;
} codecs[] = {{XB_CODEC_FLATBUFFERS, "flatbuffers"}, {XB_CODEC_CAPNP, "capnp"}, {XB_CODEC_JSON, "json"},
              {XB_CODEC_MSGPACK, "msgpack"}, {XB_CODEC_PROTOBUF, "protobuf"}};

enum { POOL_MAX = 1000 };
static const uint64_t POOL_BYTES = 256ull << 20;

static int reps = 10;
static uint64_t pool_cap = 0; /* 0: no cap beyond POOL_MAX / POOL_BYTES */
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

static void fail(const char *what, const char *record, const char *format, uint64_t i) {
    fprintf(stderr, "xb_bench_c: check failed: %s of %s/%s record %llu differs from the generated record\n", what,
            format, record, (unsigned long long)i);
    exit(1);
}

#define MUST(call)                                                                                                \
    do {                                                                                                          \
        if ((call) != XB_OK) die(#call);                                                                          \
    } while (0)

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "xb_bench_c: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* ---- hashing: decode-full reads every byte ------------------------------ */

static uint64_t mix64(uint64_t h, uint64_t x) {
    h ^= x;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const void *p, uint64_t n) {
    const unsigned char *b = p;
    uint64_t i = 0, w;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, b + i, 8);
        h = mix64(h, w);
    }
    for (; i < n; i++) h = mix64(h, b[i]);
    return mix64(h, n);
}

static uint64_t hash_str(uint64_t h, xb_str s) { return hash_bytes(h, s.ptr, s.len); }

/* Materialises every field of a decoded record: scalars, and every byte of
 * every string and byte vector. */
static uint64_t materialise(int32_t type, const void *v) {
    uint64_t h = 1;
    if (type == XB_RECORD_LOG_ENTRY) {
        const xb_log_entry *e = v;
        h = mix64(h, (uint64_t)e->timestamp_ns);
        h = mix64(h, (uint64_t)e->level);
        h = hash_str(h, e->service);
        h = hash_str(h, e->host);
        h = hash_str(h, e->message);
        h = hash_bytes(h, e->trace_id, XB_TRACE_ID_LEN);
        for (uint64_t i = 0; i < e->n_tags; i++) h = hash_str(h, e->tags[i]);
        for (uint64_t i = 0; i < e->n_attributes; i++) {
            h = hash_str(h, e->attributes[i].key);
            h = hash_str(h, e->attributes[i].value);
        }
        h = hash_str(h, e->http.method);
        h = hash_str(h, e->http.path);
        h = mix64(h, e->http.status);
        h = mix64(h, (uint64_t)e->http.latency_ns);
    } else if (type == XB_RECORD_SAMPLE) {
        const xb_sample *x = v;
        h = mix64(h, (uint64_t)x->timestamp_ns);
        h = hash_bytes(h, x->features, sizeof x->features);
        h = mix64(h, (uint64_t)x->label);
    } else {
        const xb_tensor *t = v;
        h = hash_str(h, t->name);
        h = mix64(h, (uint64_t)t->dtype);
        h = hash_bytes(h, t->shape, sizeof(int64_t) * t->ndim);
        h = hash_bytes(h, t->data, t->data_len);
    }
    return h;
}

/* ---- the record pool: generated records, deep-copied out of the scratch -- */

typedef union {
    xb_log_entry log;
    xb_sample sample;
    xb_tensor tensor;
} any_record;

static xb_str dup_str(xb_str s) {
    char *p = xmalloc(s.len);
    if (s.len) memcpy(p, s.ptr, s.len);
    return (xb_str){p, s.len};
}

static void copy_record(int32_t type, any_record *dst, const any_record *src) {
    *dst = *src;
    if (type == XB_RECORD_LOG_ENTRY) {
        xb_log_entry *d = &dst->log;
        const xb_log_entry *s = &src->log;
        d->service = dup_str(s->service);
        d->host = dup_str(s->host);
        d->message = dup_str(s->message);
        xb_str *tags = xmalloc(sizeof *tags * s->n_tags);
        for (uint64_t i = 0; i < s->n_tags; i++) tags[i] = dup_str(s->tags[i]);
        d->tags = tags;
        xb_kv *kv = xmalloc(sizeof *kv * s->n_attributes);
        for (uint64_t i = 0; i < s->n_attributes; i++)
            kv[i] = (xb_kv){dup_str(s->attributes[i].key), dup_str(s->attributes[i].value)};
        d->attributes = kv;
        d->http.method = dup_str(s->http.method);
        d->http.path = dup_str(s->http.path);
    } else if (type == XB_RECORD_TENSOR) {
        dst->tensor.name = dup_str(src->tensor.name);
        uint8_t *data = xmalloc(src->tensor.data_len);
        memcpy(data, src->tensor.data, src->tensor.data_len);
        dst->tensor.data = data;
    }
}

static void free_record(int32_t type, any_record *r) {
    if (type == XB_RECORD_LOG_ENTRY) {
        xb_log_entry *e = &r->log;
        free((void *)e->service.ptr);
        free((void *)e->host.ptr);
        free((void *)e->message.ptr);
        for (uint64_t i = 0; i < e->n_tags; i++) free((void *)e->tags[i].ptr);
        for (uint64_t i = 0; i < e->n_attributes; i++) {
            free((void *)e->attributes[i].key.ptr);
            free((void *)e->attributes[i].value.ptr);
        }
        free((void *)e->tags);
        free((void *)e->attributes);
        free((void *)e->http.method.ptr);
        free((void *)e->http.path.ptr);
    } else if (type == XB_RECORD_TENSOR) {
        free((void *)r->tensor.name.ptr);
        free((void *)r->tensor.data);
    }
}

static int same_str(xb_str a, xb_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }

/* Field-by-field equality of a decoded record with its generated one. */
static int same_record(int32_t type, const any_record *want, const any_record *got) {
    if (type == XB_RECORD_LOG_ENTRY) {
        const xb_log_entry *w = &want->log, *g = &got->log;
        if (w->timestamp_ns != g->timestamp_ns || w->level != g->level || !same_str(w->service, g->service) ||
            !same_str(w->host, g->host) || !same_str(w->message, g->message) ||
            memcmp(w->trace_id, g->trace_id, XB_TRACE_ID_LEN) != 0 || w->n_tags != g->n_tags ||
            w->n_attributes != g->n_attributes || !same_str(w->http.method, g->http.method) ||
            !same_str(w->http.path, g->http.path) || w->http.status != g->http.status ||
            w->http.latency_ns != g->http.latency_ns)
            return 0;
        for (uint64_t i = 0; i < w->n_tags; i++)
            if (!same_str(w->tags[i], g->tags[i])) return 0;
        for (uint64_t i = 0; i < w->n_attributes; i++)
            if (!same_str(w->attributes[i].key, g->attributes[i].key) ||
                !same_str(w->attributes[i].value, g->attributes[i].value))
                return 0;
        return 1;
    }
    if (type == XB_RECORD_SAMPLE) {
        const xb_sample *w = &want->sample, *g = &got->sample;
        return w->timestamp_ns == g->timestamp_ns && w->label == g->label &&
               memcmp(w->features, g->features, sizeof w->features) == 0;
    }
    const xb_tensor *w = &want->tensor, *g = &got->tensor;
    return same_str(w->name, g->name) && w->dtype == g->dtype && w->ndim == g->ndim &&
           memcmp(w->shape, g->shape, sizeof(int64_t) * w->ndim) == 0 && w->data_len == g->data_len &&
           (w->data_len == 0 || memcmp(w->data, g->data, w->data_len) == 0);
}

/* ---- timing ---------------------------------------------------------------- */

struct ctx {
    xb_region src, ring;
    xb_scratch scratch;
    int32_t codec, type;
    const any_record *pool;
    const xb_frame *frames;
    uint64_t n, i; /* cells cycle through n records */
    any_record out;
};

typedef void (*op_fn)(struct ctx *c, int iters);

static uint64_t next_index(struct ctx *c) {
    uint64_t i = c->i;
    c->i = i + 1 == c->n ? 0 : i + 1;
    return i;
}

static void op_encode(struct ctx *c, int iters) {
    xb_frame f;
    for (int k = 0; k < iters; k++) {
        const any_record *rec = &c->pool[next_index(c)];
        int32_t st = xb_encode(c->ring, c->codec, c->type, rec, 1, &f, NULL);
        if (st == XB_ERR_REGION_FULL) { /* the reset is part of the steady state of a ring of frames */
            MUST(xb_region_reset(c->ring));
            st = xb_encode(c->ring, c->codec, c->type, rec, 1, &f, NULL);
        }
        if (st != XB_OK) die("encode");
    }
}

static void op_decode(struct ctx *c, int iters) {
    for (int k = 0; k < iters; k++) {
        if (xb_decode(c->src, c->scratch, c->type, &c->frames[next_index(c)], 1, &c->out) != XB_OK) die("decode");
        sink += materialise(c->type, &c->out);
    }
}

static int32_t read_field_of(int32_t type) {
    return type == XB_RECORD_LOG_ENTRY ? XB_FIELD_LOG_MESSAGE : XB_FIELD_TENSOR_NAME;
}

static void op_read_field(struct ctx *c, int iters) {
    int32_t field = read_field_of(c->type);
    xb_str s;
    for (int k = 0; k < iters; k++) {
        if (xb_read_str(c->src, c->scratch, field, &c->frames[next_index(c)], 1, &s) != XB_OK) die("read_str");
        sink += s.len + (s.len ? (unsigned char)s.ptr[0] : 0);
    }
}

/* Sample has no string field: read-one-field there is decoding its label. */
static void op_read_label(struct ctx *c, int iters) {
    for (int k = 0; k < iters; k++) {
        if (xb_decode(c->src, c->scratch, c->type, &c->frames[next_index(c)], 1, &c->out) != XB_OK) die("decode");
        sink += (uint64_t)c->out.sample.label;
    }
}

static void measure(const char *format, const char *record, const char *op, const char *data, op_fn fn,
                    struct ctx *c, uint64_t bytes) {
    int iters = 1;
    for (;;) { /* warm-up and calibration: a batch of about 2 ms */
        double t0 = now_ns();
        fn(c, iters);
        double dt = now_ns() - t0;
        if (dt > 2e6 || iters >= 1 << 24) break;
        iters *= dt < 2e5 ? 10 : 2;
    }
    double *ns = xmalloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        double t0 = now_ns();
        fn(c, iters);
        ns[r] = (now_ns() - t0) / iters;
    }
    printf("BENCH context=c format=%s record=%s op=%s variant=default data=%s", format, record, op, data);
    double *sorted = xmalloc(sizeof(double) * (size_t)reps);
    memcpy(sorted, ns, sizeof(double) * (size_t)reps);
    qsort(sorted, (size_t)reps, sizeof *sorted, cmp_double);
    double med = reps % 2 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2;
    printf(" ns_per_op=%.2f reps=%d inner=%d bytes=%llu samples=", med, reps, iters, (unsigned long long)bytes);
    for (int r = 0; r < reps; r++) printf("%s%.3f", r ? "," : "", ns[r]);
    printf("\n");
    fflush(stdout);
    free(sorted);
    free(ns);
}

/* ---- main ------------------------------------------------------------------- */

struct record_kind {
    const char *name;
    int32_t type;
    uint64_t size;      /* tensor bytes */
    uint64_t rec_bytes; /* about one record's data, for the pool size */
};

static uint64_t pool_size(uint64_t rec_bytes) {
    uint64_t n = POOL_BYTES / (rec_bytes ? rec_bytes : 1);
    if (n > POOL_MAX) n = POOL_MAX;
    if (n < 1) n = 1;
    if (pool_cap && n > pool_cap) n = pool_cap;
    return n;
}

static uint64_t parse_size(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (strncmp(end, "KB", 2) == 0) return v << 10;
    if (strncmp(end, "MB", 2) == 0) return v << 20;
    return v;
}

static void bench_codec(const struct record_kind *k, const any_record *pool, uint64_t n, int ci, xb_scratch scratch) {
    const char *format = codecs[ci].name;
    struct ctx c = {.codec = codecs[ci].id, .type = k->type, .pool = pool, .scratch = scratch};
    /* room for every frame of the pool, even base64 JSON of the tensors */
    uint64_t per = k->size * 2 + (64 << 10);
    MUST(xb_region_create_anon(per * n + (1 << 20), &c.src));
    MUST(xb_region_create_anon(per * 4 > (64u << 20) ? per * 4 : (64u << 20), &c.ring));
    MUST(xb_region_prefault(c.ring)); /* a warm ring, as a long-running producer's is */
    xb_frame *frames = xmalloc(sizeof *frames * n);
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        xb_frame f;
        MUST(xb_encode(c.src, c.codec, c.type, &pool[i], 1, &f, NULL));
        frames[i] = f;
        bytes += f.payload_len;
    }
    c.frames = frames;
    /* the check before timing: every frame decodes to its generated record */
    for (uint64_t i = 0; i < n; i++) {
        MUST(xb_decode(c.src, scratch, c.type, &frames[i], 1, &c.out));
        if (!same_record(c.type, &pool[i], &c.out)) fail("decode-full", k->name, format, i);
        if (c.type == XB_RECORD_SAMPLE) continue;
        xb_str s;
        MUST(xb_read_str(c.src, scratch, read_field_of(c.type), &frames[i], 1, &s));
        xb_str want = c.type == XB_RECORD_LOG_ENTRY ? pool[i].log.message : pool[i].tensor.name;
        if (!same_str(s, want)) fail("read-one-field", k->name, format, i);
    }
    int single = k->type == XB_RECORD_LOG_ENTRY;
    for (int d = 0; d <= single; d++) {
        const char *data = d ? "single" : "pool";
        c.n = d ? 1 : n;
        c.i = 0;
        uint64_t size = d ? 0 : bytes / n;
        if (d) {
            xb_frame f;
            MUST(xb_frame_get(c.src, frames[0].offset, &f));
            size = f.payload_len;
        }
        measure(format, k->name, "decode", data, op_decode, &c, size);
        measure(format, k->name, "read_field", data, k->type == XB_RECORD_SAMPLE ? op_read_label : op_read_field,
                &c, size);
        MUST(xb_region_reset(c.ring));
        measure(format, k->name, "encode", data, op_encode, &c, size);
    }
    free(frames);
    MUST(xb_region_close(c.ring));
    MUST(xb_region_close(c.src));
}

int main(int argc, char **argv) {
    const char *sizes = "1KB,1MB,64MB";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            reps = 3;
            pool_cap = 16;
            sizes = "1KB,1MB";
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            sizes = argv[++i];
        } else if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
            pool_cap = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc) {
            /* this thread only: the library's runtime threads stay free */
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(atoi(argv[++i]), &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) perror("xb_bench_c: sched_setaffinity");
        } else {
            fprintf(stderr, "usage: %s [--quick] [--reps N] [--sizes 1KB,1MB,64MB] [--pool N] [--pin CPU]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    MUST(xb_check_abi());
    struct record_kind kinds[8] = {{"Sample", XB_RECORD_SAMPLE, 0, 80}, {"LogEntry", XB_RECORD_LOG_ENTRY, 0, 1024}};
    int nkinds = 2;
    static char names[6][32];
    char buf[256];
    snprintf(buf, sizeof buf, "%s", sizes);
    for (char *tok = strtok(buf, ","); tok && nkinds < 8; tok = strtok(NULL, ",")) {
        char *name = names[nkinds - 2];
        snprintf(name, sizeof names[0], "Tensor-%s", tok);
        uint64_t b = parse_size(tok);
        kinds[nkinds] = (struct record_kind){name, XB_RECORD_TENSOR, b, b};
        nkinds++;
    }
    xb_scratch gen, scratch;
    MUST(xb_scratch_new(&gen));
    MUST(xb_scratch_new(&scratch));
    for (int r = 0; r < nkinds; r++) {
        const struct record_kind *k = &kinds[r];
        uint64_t n = pool_size(k->rec_bytes);
        any_record *pool = xmalloc(sizeof *pool * n);
        for (uint64_t i = 0; i < n; i++) {
            any_record rec;
            MUST(xb_generate(gen, k->type, i + 1, k->size, &rec));
            copy_record(k->type, &pool[i], &rec);
        }
        for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++) bench_codec(k, pool, n, (int)ci, scratch);
        for (uint64_t i = 0; i < n; i++) free_record(k->type, &pool[i]);
        free(pool);
    }
    MUST(xb_scratch_free(scratch));
    MUST(xb_scratch_free(gen));
    return 0;
}
