/* xb_bench_c: ns/op of encode, decode-full and read-one-field through the C
 * ABI, for every codec and bundled record.
 *
 *   xb_bench_c [--quick] [--reps N] [--sizes 1KB,1MB,64MB] [--pool N] [--pin CPU]
 *
 * The bundled records cross the C ABI as MessagePack (include/crossbuf.h,
 * "the bundled records"). Every cell cycles through a pool of records from
 * the shared generator (seeds 1..N, N = 1000 or 256 MiB of record data,
 * whichever is smaller; the same pools as Go and Python), written by
 * xb_generate in MessagePack before timing; LogEntry also runs on seed 1
 * alone (data=single). What each cell times, per op:
 *
 *   encode          xb_encode of one record from its MessagePack (one array
 *                   of one record, built before timing) into a prefaulted
 *                   ring region; the reset when the ring is full is timed.
 *   decode-full     xb_decode of one frame into MessagePack in a scratch,
 *                   then every byte of it read (hashed): the whole record in
 *                   the one form C gets it (Tensor data included, so Tensor
 *                   decode-full scales with the data).
 *   read-one-field  FlatBuffers and Cap'n Proto (variant=default):
 *                   xb_path_read of one frame with a path compiled once on
 *                   the bundled schema (crossbuf.bfbs, crossbuf.capnp.bin):
 *                   LogEntry message, Tensor name (read in place: length and
 *                   first byte touched), Sample label.
 *                   JSON, MessagePack and Protobuf (variant=full-decode):
 *                   these codecs have no in-place read; xb_decode of the
 *                   frame into MessagePack, then msgpack-c unpacks it and
 *                   takes the same field.
 *
 * Before timing, every frame of the pool is decoded and compared byte for
 * byte with its generated record, and read-one-field with the generated
 * field (read from the generated record by msgpack-c). The schema binaries
 * are read from $CROSSBUF_SCHEMA_DIR, else XB_SCHEMA_DIR (build.sh: the
 * tree's python/crossbuf). One line per cell:
 *   BENCH context=c format=F record=R op=OP variant=V data=D ns_per_op=MEDIAN
 *         reps=N inner=ITERS bytes=SIZE samples=S1,S2,...
 * Each sample is one timed batch of ITERS calls (about 2 ms) after a warm-up
 * and calibration batch. */
#define _GNU_SOURCE
#include <crossbuf.h>
#include <msgpack.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef XB_SCHEMA_DIR
#define XB_SCHEMA_DIR "python/crossbuf" /* run from the top of the tree */
#endif

static const struct {
    int32_t id;
    const char *name;
} codecs[] = {{XB_CODEC_FLATBUFFERS, "flatbuffers"}, {XB_CODEC_CAPNP, "capnp"}, {XB_CODEC_JSON, "json"},
              {XB_CODEC_MSGPACK, "msgpack"}, {XB_CODEC_PROTOBUF, "protobuf"}};

enum { POOL_MAX = 1000 };
static const uint64_t POOL_BYTES = 256ull << 20;

static int reps = 10;
static uint64_t pool_cap = 0;  /* 0: no cap beyond POOL_MAX / POOL_BYTES */
static volatile uint64_t sink; /* keeps what was read alive */

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

/* ---- the record pool: generated MessagePack -------------------------------- */

/* One pool entry: an array of one record, as xb_encode takes it and as
 * xb_decode gives a frame back. */
typedef struct {
    uint8_t *p;
    uint64_t len;
} records;

static records one_record_array(const uint8_t *rec, uint64_t len) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_sbuffer_write(&sb, (const char *)rec, len);
    records r = {(uint8_t *)msgpack_sbuffer_release(&sb), 0};
    r.len = len + 1;
    return r;
}

/* A field's value, as read one way or another. */
typedef struct {
    int is_int;
    int64_t i;
    xb_str s;
} field_value;

static int same_value(field_value a, field_value b) {
    if (a.is_int != b.is_int) return 0;
    if (a.is_int) return a.i == b.i;
    return a.s.len == b.s.len && (a.s.len == 0 || memcmp(a.s.ptr, b.s.ptr, a.s.len) == 0);
}

static uint64_t touch(field_value v) {
    return v.is_int ? (uint64_t)v.i : v.s.len + (v.s.len ? (unsigned char)v.s.ptr[0] : 0);
}

/* The field `key` of the one record in the array `msg` (MessagePack), with
 * msgpack-c; res holds the unpacked objects (reused from call to call). */
static int unpack_field(msgpack_unpacked *res, const uint8_t *msg, uint64_t len, const char *key, field_value *out) {
    size_t off = 0;
    if (msgpack_unpack_next(res, (const char *)msg, len, &off) != MSGPACK_UNPACK_SUCCESS) return 0;
    msgpack_object o = res->data;
    if (o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 1) return 0;
    o = o.via.array.ptr[0];
    if (o.type != MSGPACK_OBJECT_MAP) return 0;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        msgpack_object k = o.via.map.ptr[i].key, v = o.via.map.ptr[i].val;
        if (k.type != MSGPACK_OBJECT_STR || k.via.str.size != klen || memcmp(k.via.str.ptr, key, klen) != 0)
            continue;
        switch (v.type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            *out = (field_value){.is_int = 1, .i = (int64_t)v.via.u64};
            return 1;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            *out = (field_value){.is_int = 1, .i = v.via.i64};
            return 1;
        case MSGPACK_OBJECT_STR:
            *out = (field_value){.s = {v.via.str.ptr, v.via.str.size}};
            return 1;
        default:
            return 0;
        }
    }
    return 0;
}

/* ---- timing ---------------------------------------------------------------- */

struct ctx {
    xb_region src, ring;
    xb_scratch scratch;
    int32_t codec, type;
    const records *pool;
    const xb_frame *frames;
    uint64_t n, i;   /* cells cycle through n records */
    xb_path path;    /* read-one-field in place (zero-copy codecs), else NULL */
    const char *key; /* the field read */
    int32_t kind;    /* XB_VALUE_* of path */
    msgpack_unpacked unpacked;
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
        const records *rec = &c->pool[next_index(c)];
        int32_t st = xb_encode(c->ring, c->codec, c->type, rec->p, rec->len, 1, &f, NULL);
        if (st == XB_ERR_REGION_FULL) { /* the reset is part of the steady state of a ring of frames */
            MUST(xb_region_reset(c->ring));
            st = xb_encode(c->ring, c->codec, c->type, rec->p, rec->len, 1, &f, NULL);
        }
        if (st != XB_OK) die("encode");
    }
}

static void op_decode(struct ctx *c, int iters) {
    const uint8_t *out;
    uint64_t len;
    for (int k = 0; k < iters; k++) {
        if (xb_decode(c->src, c->scratch, &c->frames[next_index(c)], 1, XB_CODEC_MSGPACK, &out, &len) != XB_OK)
            die("decode");
        sink += hash_bytes(1, out, len);
    }
}

/* One field of frame f: in place by path, or by decoding and unpacking. */
static field_value read_field(struct ctx *c, const xb_frame *f) {
    field_value v = {0};
    if (c->path) {
        if (c->kind == XB_VALUE_INT) {
            v.is_int = 1;
            if (xb_path_read(c->path, c->src, f, 1, &v.i, NULL) != XB_OK) die("path read");
        } else if (xb_path_read(c->path, c->src, f, 1, &v.s, NULL) != XB_OK) {
            die("path read");
        }
        return v;
    }
    const uint8_t *out;
    uint64_t len;
    if (xb_decode(c->src, c->scratch, f, 1, XB_CODEC_MSGPACK, &out, &len) != XB_OK) die("decode");
    if (!unpack_field(&c->unpacked, out, len, c->key, &v)) die("msgpack-c: unpack the decoded record");
    return v;
}

static void op_read_field(struct ctx *c, int iters) {
    for (int k = 0; k < iters; k++) sink += touch(read_field(c, &c->frames[next_index(c)]));
}

static void measure(const char *format, const char *record, const char *op, const char *variant, const char *data,
                    op_fn fn, struct ctx *c, uint64_t bytes) {
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
    printf("BENCH context=c format=%s record=%s op=%s variant=%s data=%s", format, record, op, variant, data);
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

/* ---- the bundled schema ------------------------------------------------------ */

static xb_schema schemas[2]; /* FlatBuffers, Cap'n Proto */

static xb_schema load_schema(const char *file, int32_t format) {
    const char *dir = getenv("CROSSBUF_SCHEMA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : XB_SCHEMA_DIR, file);
    xb_schema s;
    if (xb_schema_load_file(path, format, &s) != XB_OK) {
        fprintf(stderr, "xb_bench_c: the bundled schema (set CROSSBUF_SCHEMA_DIR): %s\n", xb_last_error());
        exit(1);
    }
    return s;
}

/* The field read-one-field reads: its MessagePack key, which is also its
 * FlatBuffers and Cap'n Proto name. */
static const char *read_key(int32_t type) {
    return type == XB_RECORD_LOG_ENTRY ? "message" : type == XB_RECORD_SAMPLE ? "label" : "name";
}

/* The path of read_key(type) compiled on the bundled schema of codec. */
static xb_path compile_path(int32_t codec, int32_t type, int32_t *kind) {
    static const char *names[] = {"", "LogEntry", "Sample", "Tensor"};
    char name[64];
    xb_schema s = schemas[codec == XB_CODEC_CAPNP];
    snprintf(name, sizeof name, codec == XB_CODEC_CAPNP ? "crossbuf.capnp:%s" : "crossbuf_fb.%s", names[type]);
    uint64_t id;
    xb_path p;
    MUST(xb_schema_type_id(s, name, &id));
    MUST(xb_path_compile(s, id, read_key(type), &p, kind));
    return p;
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

static void bench_codec(const struct record_kind *k, const records *pool, uint64_t n, int ci, xb_scratch scratch) {
    const char *format = codecs[ci].name;
    struct ctx c = {.codec = codecs[ci].id, .type = k->type, .pool = pool, .scratch = scratch, .key = read_key(k->type)};
    msgpack_unpacked_init(&c.unpacked);
    int in_place = c.codec == XB_CODEC_FLATBUFFERS || c.codec == XB_CODEC_CAPNP;
    if (in_place) c.path = compile_path(c.codec, c.type, &c.kind);
    /* room for every frame of the pool, even base64 JSON of the tensors */
    uint64_t per = k->size * 2 + (64 << 10);
    MUST(xb_region_create_anon(per * n + (1 << 20), &c.src));
    MUST(xb_region_create_anon(per * 4 > (64u << 20) ? per * 4 : (64u << 20), &c.ring));
    MUST(xb_region_prefault(c.ring)); /* a warm ring, as a long-running producer's is */
    xb_frame *frames = xmalloc(sizeof *frames * n);
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        xb_frame f;
        MUST(xb_encode(c.src, c.codec, c.type, pool[i].p, pool[i].len, 1, &f, NULL));
        frames[i] = f;
        bytes += f.payload_len;
    }
    c.frames = frames;
    /* the check before timing: every frame decodes to its generated record,
     * and read-one-field reads the generated field */
    msgpack_unpacked gen;
    msgpack_unpacked_init(&gen);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *out;
        uint64_t len;
        MUST(xb_decode(c.src, scratch, &frames[i], 1, XB_CODEC_MSGPACK, &out, &len));
        if (len != pool[i].len || memcmp(out, pool[i].p, len) != 0) fail("decode-full", k->name, format, i);
        field_value want, got = read_field(&c, &frames[i]);
        if (!unpack_field(&gen, pool[i].p, pool[i].len, c.key, &want) || !same_value(want, got))
            fail("read-one-field", k->name, format, i);
    }
    msgpack_unpacked_destroy(&gen);
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
        measure(format, k->name, "decode", "default", data, op_decode, &c, size);
        measure(format, k->name, "read_field", in_place ? "default" : "full-decode", data, op_read_field, &c, size);
        MUST(xb_region_reset(c.ring));
        measure(format, k->name, "encode", "default", data, op_encode, &c, size);
    }
    free(frames);
    msgpack_unpacked_destroy(&c.unpacked);
    if (c.path) MUST(xb_path_free(c.path));
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
    schemas[0] = load_schema("crossbuf.bfbs", XB_SCHEMA_BFBS);
    schemas[1] = load_schema("crossbuf.capnp.bin", XB_SCHEMA_CAPNP_REQUEST);
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
        records *pool = xmalloc(sizeof *pool * n);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *rec;
            uint64_t len;
            MUST(xb_generate(gen, k->type, i + 1, k->size, XB_CODEC_MSGPACK, &rec, &len));
            pool[i] = one_record_array(rec, len); /* a copy: the scratch is reused */
        }
        for (size_t ci = 0; ci < sizeof codecs / sizeof codecs[0]; ci++) bench_codec(k, pool, n, (int)ci, scratch);
        for (uint64_t i = 0; i < n; i++) free(pool[i].p);
        free(pool);
    }
    MUST(xb_scratch_free(scratch));
    MUST(xb_scratch_free(gen));
    MUST(xb_schema_free(schemas[0]));
    MUST(xb_schema_free(schemas[1]));
    return 0;
}
