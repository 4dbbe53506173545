/* Tests of libcrossbuf through include/crossbuf.h: the bundled records
 * (LogEntry, Sample, Tensor) through every codec and back, batches,
 * iteration, error paths, threads.
 *
 * The records cross the ABI as MessagePack. Round trips start from the
 * seeded records (xb_generate) and compare what xb_decode gives back, in
 * MessagePack and in JSON, byte for byte with what was generated; fields of
 * FlatBuffers and Cap'n Proto frames are read in place by paths compiled on
 * the bundled schema (crossbuf.bfbs, crossbuf.capnp.bin from
 * $CROSSBUF_SCHEMA_DIR, else XB_SCHEMA_DIR). Records the test writes itself
 * are packed with msgpack-c's packer (the header-only part of <msgpack.h>). */
#define _GNU_SOURCE
#include <crossbuf.h>
#include "../../go/capi/crossbuf_private.h" /* xbp_*: private calls, tested here */

#include <msgpack.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef XB_SCHEMA_DIR
#define XB_SCHEMA_DIR "python/crossbuf" /* run from the top of the tree */
#endif

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

static int zero_copy(int32_t codec) { return codec == XB_CODEC_FLATBUFFERS || codec == XB_CODEC_CAPNP; }

/* ---- bytes ------------------------------------------------------------------ */

typedef struct {
    uint8_t *p;
    uint64_t len;
} bytes;

static bytes copy_out(const uint8_t *p, uint64_t len) {
    bytes b = {malloc(len ? len : 1), len};
    if (len) memcpy(b.p, p, len);
    return b;
}

static int same(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The seeded record in format, copied out of the scratch. */
static bytes generate(xb_scratch s, int32_t type, uint64_t seed, uint64_t size, int32_t format) {
    const uint8_t *p = NULL;
    uint64_t len = 0;
    EXPECT_OK(xb_generate(s, type, seed, size, format, &p, &len));
    return copy_out(p, len);
}

/* ---- MessagePack, written with msgpack-c ---------------------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} packer;

static void packer_init(packer *w) {
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

static void packer_reset(packer *w) { msgpack_sbuffer_clear(&w->sb); }
static void packer_free(packer *w) { msgpack_sbuffer_destroy(&w->sb); }
static const uint8_t *packed(const packer *w) { return (const uint8_t *)w->sb.data; }

static void pack_cstr(packer *w, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(&w->pk, n);
    msgpack_pack_str_body(&w->pk, s, n);
}

static void pack_bin(packer *w, const void *p, size_t n) {
    msgpack_pack_bin(&w->pk, n);
    msgpack_pack_bin_body(&w->pk, p, n);
}

/* Appends MessagePack that is already encoded (a generated record). */
static void pack_raw(packer *w, const bytes *b) { msgpack_sbuffer_write(&w->sb, (const char *)b->p, b->len); }

/* w = one MessagePack array holding rec: what xb_encode takes for n = 1. */
static void array_of(packer *w, const bytes *rec) {
    packer_reset(w);
    msgpack_pack_array(&w->pk, 1);
    pack_raw(w, rec);
}

/* Whether the MessagePack map rec has key with the string value v: the
 * pair, packed, occurs in it (keys are unique in the records' maps). */
static int has_str(const bytes *rec, const char *key, xb_str v) {
    packer w;
    packer_init(&w);
    pack_cstr(&w, key);
    msgpack_pack_str(&w.pk, v.len);
    msgpack_pack_str_body(&w.pk, v.len ? v.ptr : "", v.len);
    int found = memmem(rec->p, rec->len, w.sb.data, w.sb.size) != NULL;
    packer_free(&w);
    return found;
}

static int has_bin(const bytes *rec, const char *key, xb_str v) {
    packer w;
    packer_init(&w);
    pack_cstr(&w, key);
    pack_bin(&w, v.len ? v.ptr : "", v.len);
    int found = memmem(rec->p, rec->len, w.sb.data, w.sb.size) != NULL;
    packer_free(&w);
    return found;
}

/* ---- the bundled schema and paths on it -------------------------------------- */

static xb_schema fb_schema, capnp_schema;

static xb_schema load_schema(const char *file, int32_t format) {
    const char *dir = getenv("CROSSBUF_SCHEMA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : XB_SCHEMA_DIR, file);
    xb_schema s = NULL;
    if (xb_schema_load_file(path, format, &s) != XB_OK) {
        fprintf(stderr, "test_capi: the bundled schema (set CROSSBUF_SCHEMA_DIR): %s\n", xb_last_error());
        exit(1);
    }
    return s;
}

static const char *record_name(int32_t type) {
    return type == XB_RECORD_LOG_ENTRY ? "LogEntry" : type == XB_RECORD_SAMPLE ? "Sample" : "Tensor";
}

/* A path through the bundled record type of codec's schema; fb and capnp
 * name the field in each (they differ where FlatBuffers is snake_case). */
static xb_path compile(int32_t codec, int32_t type, const char *fb, const char *capnp, int32_t want_kind) {
    char name[64];
    xb_schema s = codec == XB_CODEC_FLATBUFFERS ? fb_schema : capnp_schema;
    snprintf(name, sizeof name, codec == XB_CODEC_FLATBUFFERS ? "crossbuf_fb.%s" : "crossbuf.capnp:%s",
             record_name(type));
    uint64_t id = 0;
    xb_path p = NULL;
    int32_t kind = 0;
    EXPECT_OK(xb_schema_type_id(s, name, &id));
    EXPECT_OK(xb_path_compile(s, id, codec == XB_CODEC_FLATBUFFERS ? fb : capnp, &p, &kind));
    EXPECT(kind == want_kind, "%s.%s reads kind %d, want %d", name, fb, kind, want_kind);
    return p;
}

static int inside(const void *p, uint64_t len, const xb_frame *f) {
    const uint8_t *q = p;
    return len == 0 || (q >= f->payload && q + len <= f->payload + f->payload_len);
}

/* One string (or bytes) field of frame f by path p; it must be present. */
static xb_str read_str(xb_path p, xb_region r, const xb_frame *f) {
    xb_str v = {NULL, 0};
    uint8_t present = 0;
    EXPECT_OK(xb_path_read(p, r, f, 1, &v, &present));
    EXPECT(present, "field present");
    return v;
}

static int str_is(xb_str s, const char *want) {
    return same((const uint8_t *)s.ptr, s.len, (const uint8_t *)want, strlen(want));
}

/* Decodes frame f in format and compares it with the array of rec. */
static int decodes_to(xb_region r, xb_scratch s, const xb_frame *f, int32_t format, const bytes *rec) {
    const uint8_t *out = NULL;
    uint64_t len = 0;
    if (xb_decode(r, s, f, 1, format, &out, &len) != XB_OK) return 0;
    if (format == XB_CODEC_JSON)
        return len == rec->len + 2 && out[0] == '[' && memcmp(out + 1, rec->p, rec->len) == 0 && out[len - 1] == ']';
    return len == rec->len + 1 && out[0] == 0x91 && memcmp(out + 1, rec->p, rec->len) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_version(void) {
    EXPECT_OK(xb_check_abi());
    EXPECT(strcmp(xb_version(), "") != 0, "version string");
    EXPECT(strcmp(xb_status_name(XB_ERR_CLOSED), "XB_ERR_CLOSED") == 0, "status name");
}

/* generate -> encode -> decode in MessagePack and JSON, for every codec and
 * record; decode_bytes of the payload; fields read in place. */
static void round_trip(xb_region r, xb_scratch gen, xb_scratch s, packer *w, int32_t codec, int32_t type,
                       uint64_t seed, uint64_t size) {
    bytes mp = generate(gen, type, seed, size, XB_CODEC_MSGPACK);
    bytes js = generate(gen, type, seed, size, XB_CODEC_JSON);
    xb_frame f;
    array_of(w, &mp);
    EXPECT_OK(xb_encode(r, codec, type, packed(w), w->sb.size, 1, &f, NULL));
    EXPECT(f.codec == codec && f.type_id == (uint64_t)type, "frame descriptor");
    EXPECT(((uintptr_t)f.payload & 7) == 0, "payload is 8-byte aligned");
    EXPECT(decodes_to(r, s, &f, XB_CODEC_MSGPACK, &mp), "codec %d: %s seed %llu size %llu differs in MessagePack",
           codec, record_name(type), (unsigned long long)seed, (unsigned long long)size);
    EXPECT(decodes_to(r, s, &f, XB_CODEC_JSON, &js), "codec %d: %s seed %llu size %llu differs in JSON", codec,
           record_name(type), (unsigned long long)seed, (unsigned long long)size);
    const uint8_t *out = NULL;
    uint64_t len = 0;
    EXPECT_OK(xb_decode_bytes(s, codec, type, f.payload, f.payload_len, XB_CODEC_MSGPACK, &out, &len));
    EXPECT(same(out, len, mp.p, mp.len), "codec %d: decode_bytes of the payload", codec);
    free(mp.p);
    free(js.p);
}

static void test_round_trips(void) {
    xb_region r;
    xb_scratch gen, s;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_region_create_anon(64 << 20, &r));
    EXPECT_OK(xb_scratch_new(&gen));
    EXPECT_OK(xb_scratch_new(&s));
    static const uint64_t sizes[] = {0, 4, 1024, 1 << 20};
    for (int c = 0; c < NCODECS; c++) {
        for (uint64_t seed = 0; seed < 20; seed++) {
            round_trip(r, gen, s, &w, codecs[c], XB_RECORD_LOG_ENTRY, seed, 0);
            round_trip(r, gen, s, &w, codecs[c], XB_RECORD_SAMPLE, seed, 0);
        }
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            round_trip(r, gen, s, &w, codecs[c], XB_RECORD_TENSOR, 7, sizes[i]);
        EXPECT_OK(xb_region_reset(r));
    }
    /* a JSON record from xb_generate is what xb_decode_bytes writes of a JSON frame */
    bytes js = generate(gen, XB_RECORD_SAMPLE, 3, 0, XB_CODEC_JSON);
    const uint8_t *out;
    uint64_t len;
    EXPECT_OK(xb_decode_bytes(s, XB_CODEC_JSON, XB_RECORD_SAMPLE, js.p, js.len, XB_CODEC_JSON, &out, &len));
    EXPECT(same(out, len, js.p, js.len), "JSON bytes decode to themselves");
    free(js.p);
    EXPECT_OK(xb_scratch_free(gen));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(r));
    packer_free(&w);
}

/* Fields of the seeded records read in place: the value is the generated
 * one, and strings and bytes point into the frame. */
static void test_paths(void) {
    xb_region r;
    xb_scratch gen;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_region_create_anon(16 << 20, &r));
    EXPECT_OK(xb_scratch_new(&gen));
    for (int c = 0; c < 2; c++) {
        int32_t codec = codecs[c];
        xb_path msg = compile(codec, XB_RECORD_LOG_ENTRY, "message", "message", XB_VALUE_STRING);
        xb_path http_path = compile(codec, XB_RECORD_LOG_ENTRY, "http.path", "http.path", XB_VALUE_STRING);
        xb_path trace = compile(codec, XB_RECORD_LOG_ENTRY, "trace_id", "traceId", XB_VALUE_BYTES);
        xb_path tname = compile(codec, XB_RECORD_TENSOR, "name", "name", XB_VALUE_STRING);
        xb_path tdata = compile(codec, XB_RECORD_TENSOR, "data", "data", XB_VALUE_BYTES);
        for (uint64_t seed = 0; seed < 20; seed++) {
            bytes rec = generate(gen, XB_RECORD_LOG_ENTRY, seed, 0, XB_CODEC_MSGPACK);
            xb_frame f;
            array_of(&w, &rec);
            EXPECT_OK(xb_encode(r, codec, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &f, NULL));
            xb_str m = read_str(msg, r, &f), p = read_str(http_path, r, &f), t = read_str(trace, r, &f);
            EXPECT(has_str(&rec, "message", m) && has_str(&rec, "path", p) && has_bin(&rec, "trace_id", t) &&
                       t.len == 16,
                   "codec %d seed %llu: fields read by path are the generated ones", codec, (unsigned long long)seed);
            EXPECT(inside(m.ptr, m.len, &f) && inside(p.ptr, p.len, &f) && inside(t.ptr, t.len, &f),
                   "codec %d: strings point into the frame", codec);
            free(rec.p);
        }
        static const uint64_t sizes[] = {0, 4, 1024, 1 << 20};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            bytes rec = generate(gen, XB_RECORD_TENSOR, 7, sizes[i], XB_CODEC_MSGPACK);
            xb_frame f;
            array_of(&w, &rec);
            EXPECT_OK(xb_encode(r, codec, XB_RECORD_TENSOR, packed(&w), w.sb.size, 1, &f, NULL));
            xb_str name = read_str(tname, r, &f), data = {NULL, 0};
            uint8_t present = 0;
            EXPECT_OK(xb_path_read(tdata, r, &f, 1, &data, &present));
            EXPECT(has_str(&rec, "name", name) && has_bin(&rec, "data", data) && data.len == sizes[i],
                   "codec %d: Tensor of %llu bytes read by path", codec, (unsigned long long)sizes[i]);
            EXPECT(inside(data.ptr, data.len, &f), "tensor data points into the frame");
            EXPECT(data.len == 0 || ((uintptr_t)data.ptr & 7) == 0, "codec %d size %llu: tensor data is 8-byte aligned",
                   codec, (unsigned long long)sizes[i]);
            free(rec.p);
        }
        /* vectors of scalars, in place: a Sample's 16 float32 features, a Tensor's int64 shape */
        xb_path feats = compile(codec, XB_RECORD_SAMPLE, "features", "features", XB_VALUE_ARRAY);
        xb_path shape = compile(codec, XB_RECORD_TENSOR, "shape", "shape", XB_VALUE_ARRAY);
        {
            bytes rec = generate(gen, XB_RECORD_SAMPLE, 3, 0, XB_CODEC_MSGPACK);
            xb_frame f[2];
            array_of(&w, &rec);
            EXPECT_OK(xb_encode(r, codec, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &f[0], NULL));
            bytes t = generate(gen, XB_RECORD_TENSOR, 3, 4096, XB_CODEC_MSGPACK);
            array_of(&w, &t);
            EXPECT_OK(xb_encode(r, codec, XB_RECORD_TENSOR, packed(&w), w.sb.size, 1, &f[1], NULL));
            xb_array a = {0}, sh = {0};
            uint8_t present = 0;
            EXPECT_OK(xb_path_read(feats, r, &f[0], 1, &a, &present));
            EXPECT(present && a.len == 16 && a.dtype == XB_DTYPE_F32 && a.elem_size == 4 && inside(a.ptr, 64, &f[0]),
                   "codec %d: features are 16 float32 in the frame (len %llu, dtype %d)", codec,
                   (unsigned long long)a.len, a.dtype);
            EXPECT_OK(xb_path_read(shape, r, &f[1], 1, &sh, &present));
            int64_t d0 = 0, d1 = 0;
            if (sh.len == 2) memcpy(&d0, sh.ptr, 8), memcpy(&d1, (const uint8_t *)sh.ptr + 8, 8);
            EXPECT(present && sh.dtype == XB_DTYPE_I64 && sh.len == 2 && d0 * d1 * 4 == 4096,
                   "codec %d: the shape of a 4096-byte float32 tensor, in place", codec);
            EXPECT_STATUS(xb_path_read(feats, r, &f[1], 1, &a, NULL), XB_ERR_RECORD_TYPE);
            free(rec.p);
            free(t.p);
        }
        /* scalars: the same value through both zero-copy codecs is checked in test_hand_built */
        xb_path paths[] = {msg, http_path, trace, tname, tdata, feats, shape};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) EXPECT_OK(xb_path_free(paths[i]));
        EXPECT_OK(xb_region_reset(r));
    }
    EXPECT_OK(xb_scratch_free(gen));
    EXPECT_OK(xb_region_close(r));
    packer_free(&w);
}

/* A LogEntry, a Sample and a Tensor the test packs itself: known values,
 * read back by path from FlatBuffers and Cap'n Proto frames; every codec
 * decodes to the same MessagePack; keys in another order, unknown keys and
 * float64 features are accepted. */
enum { LOG_CANONICAL, LOG_SHUFFLED };

static void pack_log(packer *w, int variant) {
    static const uint8_t trace[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    packer_reset(w);
    msgpack_packer *pk = &w->pk;
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, variant == LOG_SHUFFLED ? 10 : 9);
    if (variant == LOG_SHUFFLED) {
        pack_cstr(w, "http");
        msgpack_pack_map(pk, 4);
        pack_cstr(w, "latency_ns"), msgpack_pack_int64(pk, 1500000);
        pack_cstr(w, "status"), msgpack_pack_uint32(pk, 201);
        pack_cstr(w, "path"), pack_cstr(w, "/api/v1/orders");
        pack_cstr(w, "method"), pack_cstr(w, "POST");
        pack_cstr(w, "not_a_field"), msgpack_pack_nil(pk);
    }
    pack_cstr(w, "timestamp_ns"), msgpack_pack_int64(pk, INT64_C(1700000000000000000));
    pack_cstr(w, "level"), msgpack_pack_int(pk, XB_LEVEL_INFO);
    pack_cstr(w, "service"), pack_cstr(w, "checkout");
    pack_cstr(w, "host"), pack_cstr(w, "host-1");
    pack_cstr(w, "message"), pack_cstr(w, "order placed: caf\xc3\xa9 \xe5\xa4\x84\xe7\x90\x86");
    pack_cstr(w, "trace_id"), pack_bin(w, trace, sizeof trace);
    pack_cstr(w, "tags"), msgpack_pack_array(pk, 2), pack_cstr(w, "prod"), pack_cstr(w, "eu-west-1");
    /* attribute keys need not be unique: a map in record order */
    pack_cstr(w, "attributes"), msgpack_pack_map(pk, 3);
    pack_cstr(w, "user"), pack_cstr(w, "42");
    pack_cstr(w, "cart"), pack_cstr(w, "");
    pack_cstr(w, "user"), pack_cstr(w, "43");
    if (variant == LOG_CANONICAL) {
        pack_cstr(w, "http");
        msgpack_pack_map(pk, 4);
        pack_cstr(w, "method"), pack_cstr(w, "POST");
        pack_cstr(w, "path"), pack_cstr(w, "/api/v1/orders");
        pack_cstr(w, "status"), msgpack_pack_uint32(pk, 201);
        pack_cstr(w, "latency_ns"), msgpack_pack_int64(pk, 1500000);
    }
}

static void pack_sample(packer *w, int as_double) {
    packer_reset(w);
    msgpack_pack_array(&w->pk, 1);
    msgpack_pack_map(&w->pk, 3);
    pack_cstr(w, "timestamp_ns"), msgpack_pack_int64(&w->pk, -5);
    pack_cstr(w, "features"), msgpack_pack_array(&w->pk, 16);
    for (int i = 0; i < 16; i++) {
        float v = (float)i * 0.25f - 1.0f;
        if (as_double)
            msgpack_pack_double(&w->pk, v);
        else
            msgpack_pack_float(&w->pk, v);
    }
    pack_cstr(w, "label"), msgpack_pack_int32(&w->pk, -3);
}

static void pack_tensor(packer *w, const int64_t *shape, int ndim, int32_t dtype, const void *data, size_t len) {
    packer_reset(w);
    msgpack_pack_array(&w->pk, 1);
    msgpack_pack_map(&w->pk, 4);
    pack_cstr(w, "name"), pack_cstr(w, "weights");
    pack_cstr(w, "dtype"), msgpack_pack_int32(&w->pk, dtype);
    pack_cstr(w, "shape"), msgpack_pack_array(&w->pk, (size_t)ndim);
    for (int i = 0; i < ndim; i++) msgpack_pack_int64(&w->pk, shape[i]);
    pack_cstr(w, "data"), pack_bin(w, data, len);
}

static int64_t read_int(xb_path p, xb_region r, const xb_frame *f) {
    int64_t v = -999;
    EXPECT_OK(xb_path_read(p, r, f, 1, &v, NULL));
    return v;
}

static void test_hand_built(void) {
    xb_region r;
    xb_scratch s;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_region_create_anon(4 << 20, &r));
    EXPECT_OK(xb_scratch_new(&s));
    float tdata[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    for (int type = XB_RECORD_LOG_ENTRY; type <= XB_RECORD_TENSOR; type++) {
        bytes first = {NULL, 0};
        for (int c = 0; c < NCODECS; c++) {
            for (int variant = 0; variant < 2; variant++) {
                if (type == XB_RECORD_LOG_ENTRY) pack_log(&w, variant);
                if (type == XB_RECORD_SAMPLE) pack_sample(&w, variant);
                if (type == XB_RECORD_TENSOR) {
                    if (variant) break;
                    pack_tensor(&w, shape, 2, XB_DTYPE_F32, tdata, sizeof tdata);
                }
                xb_frame f;
                uint64_t done = 0;
                EXPECT_OK(xb_encode(r, codecs[c], type, packed(&w), w.sb.size, 1, &f, &done));
                EXPECT(done == 1, "n_done");
                const uint8_t *out = NULL;
                uint64_t len = 0;
                EXPECT_OK(xb_decode(r, s, &f, 1, XB_CODEC_MSGPACK, &out, &len));
                if (first.p == NULL) {
                    first = copy_out(out, len);
                } else {
                    EXPECT(same(out, len, first.p, first.len),
                           "%s variant %d through codec %d decodes as through FlatBuffers", record_name(type), variant,
                           codecs[c]);
                }
                EXPECT_OK(xb_decode(r, s, &f, 1, XB_CODEC_JSON, &out, &len));
                if (type == XB_RECORD_LOG_ENTRY) {
                    const char *want = "\"message\":\"order placed: caf\xc3\xa9 \xe5\xa4\x84\xe7\x90\x86\"";
                    EXPECT(memmem(out, len, want, strlen(want)) != NULL, "JSON holds the message: %.*s", (int)len,
                           (const char *)out);
                }
                if (!zero_copy(codecs[c])) continue;
                int32_t codec = codecs[c];
                if (type == XB_RECORD_LOG_ENTRY) {
                    xb_path p[] = {
                        compile(codec, type, "service", "service", XB_VALUE_STRING),
                        compile(codec, type, "tags[1]", "tags[1]", XB_VALUE_STRING),
                        compile(codec, type, "attributes[2].key", "attributes[2].key", XB_VALUE_STRING),
                        compile(codec, type, "attributes[2].value", "attributes[2].value", XB_VALUE_STRING),
                        compile(codec, type, "http.method", "http.method", XB_VALUE_STRING),
                        compile(codec, type, "timestamp_ns", "timestampNs", XB_VALUE_INT),
                        compile(codec, type, "level", "level", XB_VALUE_INT),
                        compile(codec, type, "http.status", "http.status", XB_VALUE_UINT),
                        compile(codec, type, "http.latency_ns", "http.latencyNs", XB_VALUE_INT),
                        compile(codec, type, "trace_id", "traceId", XB_VALUE_BYTES),
                    };
                    EXPECT(str_is(read_str(p[0], r, &f), "checkout") && str_is(read_str(p[1], r, &f), "eu-west-1") &&
                               str_is(read_str(p[2], r, &f), "user") && str_is(read_str(p[3], r, &f), "43") &&
                               str_is(read_str(p[4], r, &f), "POST"),
                           "codec %d: LogEntry strings by path", codec);
                    uint64_t status = 0;
                    EXPECT_OK(xb_path_read(p[7], r, &f, 1, &status, NULL));
                    EXPECT(read_int(p[5], r, &f) == INT64_C(1700000000000000000) &&
                               read_int(p[6], r, &f) == XB_LEVEL_INFO && status == 201 &&
                               read_int(p[8], r, &f) == 1500000,
                           "codec %d: LogEntry scalars by path", codec);
                    xb_str t = read_str(p[9], r, &f);
                    EXPECT(t.len == 16 && t.ptr[0] == 0 && t.ptr[15] == 15, "codec %d: trace_id by path", codec);
                    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) EXPECT_OK(xb_path_free(p[i]));
                } else if (type == XB_RECORD_SAMPLE) {
                    xb_path label = compile(codec, type, "label", "label", XB_VALUE_INT);
                    xb_path ts = compile(codec, type, "timestamp_ns", "timestampNs", XB_VALUE_INT);
                    xb_path feat = compile(codec, type, "features[5]", "features[5]", XB_VALUE_FLOAT);
                    double f5 = 0;
                    EXPECT_OK(xb_path_read(feat, r, &f, 1, &f5, NULL));
                    EXPECT(read_int(label, r, &f) == -3 && read_int(ts, r, &f) == -5 && f5 == 0.25,
                           "codec %d: Sample by path (%g)", codec, f5);
                    EXPECT_OK(xb_path_free(label));
                    EXPECT_OK(xb_path_free(ts));
                    EXPECT_OK(xb_path_free(feat));
                } else {
                    xb_path dim = compile(codec, type, "shape[1]", "shape[1]", XB_VALUE_INT);
                    xb_path dt = compile(codec, type, "dtype", "dtype", XB_VALUE_INT);
                    xb_path data = compile(codec, type, "data", "data", XB_VALUE_BYTES);
                    xb_str d = read_str(data, r, &f);
                    EXPECT(read_int(dim, r, &f) == 3 && read_int(dt, r, &f) == XB_DTYPE_F32 &&
                               same((const uint8_t *)d.ptr, d.len, (const uint8_t *)tdata, sizeof tdata),
                           "codec %d: Tensor by path", codec);
                    EXPECT_OK(xb_path_free(dim));
                    EXPECT_OK(xb_path_free(dt));
                    EXPECT_OK(xb_path_free(data));
                }
            }
        }
        free(first.p);
    }
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(r));
    packer_free(&w);
}

static void test_batches_and_iteration(void) {
    enum { N = 200, SEEDS = 20 };
    static xb_frame frames[N], listed[N];
    static xb_str hosts[N];
    xb_region r;
    xb_scratch gen, s;
    packer in;
    packer_init(&in);
    EXPECT_OK(xb_region_create_anon(16 << 20, &r));
    EXPECT_OK(xb_scratch_new(&gen));
    EXPECT_OK(xb_scratch_new(&s));
    bytes recs[SEEDS];
    for (int i = 0; i < SEEDS; i++) recs[i] = generate(gen, XB_RECORD_LOG_ENTRY, (uint64_t)i, 0, XB_CODEC_MSGPACK);
    /* one array of N records, each decoded into the same reused record inside
     * the library: what one record sets must not leak into the next */
    msgpack_pack_array(&in.pk, N);
    for (int i = 0; i < N; i++) pack_raw(&in, &recs[i % SEEDS]);
    for (int c = 0; c < NCODECS; c++) {
        uint64_t done = 0;
        EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, packed(&in), in.sb.size, N, frames, &done));
        EXPECT(done == N, "n_done %llu", (unsigned long long)done);
        const uint8_t *out = NULL;
        uint64_t len = 0;
        EXPECT_OK(xb_decode(r, s, frames, N, XB_CODEC_MSGPACK, &out, &len));
        EXPECT(same(out, len, packed(&in), in.sb.size), "codec %d: batch decode equals the input", codecs[c]);
        EXPECT_OK(xb_decode(r, s, frames, N, XB_CODEC_JSON, &out, &len));
        EXPECT(len > 2 && out[0] == '[' && out[len - 1] == ']', "codec %d: a JSON array", codecs[c]);
        if (zero_copy(codecs[c])) {
            xb_path host = compile(codecs[c], XB_RECORD_LOG_ENTRY, "host", "host", XB_VALUE_STRING);
            static uint8_t present[N];
            EXPECT_OK(xb_path_read(host, r, frames, N, hosts, present));
            int ok = 1;
            for (int i = 0; i < N; i++) ok &= present[i] && has_str(&recs[i % SEEDS], "host", hosts[i]);
            EXPECT(ok, "codec %d: batch path read", codecs[c]);
            EXPECT_OK(xb_path_free(host));
        }

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

    /* one decode call over frames of every type and codec */
    packer w, want;
    packer_init(&w);
    packer_init(&want);
    msgpack_pack_array(&want.pk, 3);
    xb_frame mixed[3];
    for (int t = XB_RECORD_LOG_ENTRY; t <= XB_RECORD_TENSOR; t++) {
        bytes rec = generate(gen, t, 11, 512, XB_CODEC_MSGPACK);
        array_of(&w, &rec);
        EXPECT_OK(xb_encode(r, codecs[t - 1], t, packed(&w), w.sb.size, 1, &mixed[t - 1], NULL));
        pack_raw(&want, &rec);
        free(rec.p);
    }
    const uint8_t *out = NULL;
    uint64_t len = 0;
    EXPECT_OK(xb_decode(r, s, mixed, 3, XB_CODEC_MSGPACK, &out, &len));
    EXPECT(same(out, len, packed(&want), want.sb.size), "mixed records and codecs in one decode");

    /* n = 0: an empty array either way */
    uint64_t done = 9;
    const uint8_t empty = 0x90;
    EXPECT_OK(xb_encode(r, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, &empty, 1, 0, NULL, &done));
    EXPECT(done == 0, "n_done of an empty batch");
    EXPECT_OK(xb_decode(r, s, NULL, 0, XB_CODEC_MSGPACK, &out, &len));
    EXPECT(len == 1 && out[0] == 0x90, "no frames: an empty MessagePack array");
    EXPECT_OK(xb_decode(r, s, NULL, 0, XB_CODEC_JSON, &out, &len));
    EXPECT(same(out, len, (const uint8_t *)"[]", 2), "no frames: an empty JSON array");

    for (int i = 0; i < SEEDS; i++) free(recs[i].p);
    packer_free(&w);
    packer_free(&want);
    packer_free(&in);
    EXPECT_OK(xb_scratch_free(gen));
    EXPECT_OK(xb_scratch_free(s));
    EXPECT_OK(xb_region_close(r));
}

/* xb_encode of w must fail with want, naming `names`, and commit nothing. */
static void expect_rejected(xb_region r, int32_t codec, int32_t type, const packer *w, uint64_t n, int32_t want,
                            const char *names, int line) {
    xb_region_stats st0, st1;
    xb_frame f[4];
    uint64_t done = 7;
    EXPECT_OK(xb_region_get_stats(r, &st0));
    int32_t st = xb_encode(r, codec, type, packed(w), w->sb.size, n, f, &done);
    EXPECT(st == want && done == 0, "line %d, codec %d: %s, n_done %llu, want %s", line, codec, xb_status_name(st),
           (unsigned long long)done, xb_status_name(want));
    EXPECT(names == NULL || strstr(xb_last_error(), names) != NULL, "line %d: the message names %s", line, names);
    EXPECT_OK(xb_region_get_stats(r, &st1));
    EXPECT(st0.frame_count == st1.frame_count && st0.used == st1.used, "line %d: nothing committed", line);
}

static void test_invalid_records(void) {
    xb_region r;
    xb_scratch gen;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_region_create_anon(4 << 20, &r));
    EXPECT_OK(xb_scratch_new(&gen));
    bytes log = generate(gen, XB_RECORD_LOG_ENTRY, 1, 0, XB_CODEC_MSGPACK);
    for (int c = 0; c < NCODECS; c++) {
        int32_t codec = codecs[c];
        /* a trace_id of 15 bytes */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 2);
        pack_cstr(&w, "message"), pack_cstr(&w, "m");
        pack_cstr(&w, "trace_id"), pack_bin(&w, "0123456789abcde", 15);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "trace_id", __LINE__);
        /* a LogEntry without trace_id */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 1);
        pack_cstr(&w, "message"), pack_cstr(&w, "m");
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "trace_id", __LINE__);
        /* an integer its field cannot hold: http.status is a uint32 */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 2);
        pack_cstr(&w, "trace_id"), pack_bin(&w, "0123456789abcdef", 16);
        pack_cstr(&w, "http"), msgpack_pack_map(&w.pk, 1), pack_cstr(&w, "status"),
            msgpack_pack_int64(&w.pk, INT64_C(1) << 33);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "status", __LINE__);
        /* a level outside the enum */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 2);
        pack_cstr(&w, "trace_id"), pack_bin(&w, "0123456789abcdef", 16);
        pack_cstr(&w, "level"), msgpack_pack_int(&w.pk, 9);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "level", __LINE__);
        /* a Sample of 15 features */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 1);
        pack_cstr(&w, "features"), msgpack_pack_array(&w.pk, 15);
        for (int i = 0; i < 15; i++) msgpack_pack_float(&w.pk, 1.0f);
        expect_rejected(r, codec, XB_RECORD_SAMPLE, &w, 1, XB_ERR_INVALID_RECORD, "features", __LINE__);
        /* a float64 feature beyond float32 */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 1);
        pack_cstr(&w, "features"), msgpack_pack_array(&w.pk, 16);
        for (int i = 0; i < 16; i++) msgpack_pack_double(&w.pk, i == 3 ? 1e300 : 1.0);
        expect_rejected(r, codec, XB_RECORD_SAMPLE, &w, 1, XB_ERR_INVALID_RECORD, "features[3]", __LINE__);
        /* tensor shape against data: 3 float32 need 12 bytes */
        const int64_t shape[1] = {3};
        pack_tensor(&w, shape, 1, XB_DTYPE_F32, "01234567", 8);
        expect_rejected(r, codec, XB_RECORD_TENSOR, &w, 1, XB_ERR_INVALID_RECORD, "data has 8", __LINE__);
        /* a LogEntry given as a Sample: its keys are unknown there, features missing */
        array_of(&w, &log);
        expect_rejected(r, codec, XB_RECORD_SAMPLE, &w, 1, XB_ERR_INVALID_RECORD, "record 0", __LINE__);
        /* not an array of records, or not MessagePack at all */
        packer_reset(&w);
        pack_raw(&w, &log);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "array", __LINE__);
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_sbuffer_write(&w.sb, (const char *)log.p, log.len / 2);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "record 0", __LINE__);
        /* the array's count is not n */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 2);
        pack_raw(&w, &log);
        pack_raw(&w, &log);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_ARG, "n is 1", __LINE__);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 3, XB_ERR_INVALID_ARG, "n is 3", __LINE__);
        /* bytes after the array */
        array_of(&w, &log);
        msgpack_pack_nil(&w.pk);
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "after the array", __LINE__);
        /* a string that is not UTF-8 */
        packer_reset(&w);
        msgpack_pack_array(&w.pk, 1);
        msgpack_pack_map(&w.pk, 2);
        pack_cstr(&w, "trace_id"), pack_bin(&w, "0123456789abcdef", 16);
        pack_cstr(&w, "tags"), msgpack_pack_array(&w.pk, 2), pack_cstr(&w, "ok"), pack_cstr(&w, "bad \xff");
        expect_rejected(r, codec, XB_RECORD_LOG_ENTRY, &w, 1, XB_ERR_INVALID_RECORD, "tags[1]", __LINE__);
    }
    /* n = 0 needs no bytes */
    EXPECT_OK(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, NULL, 0, 0, NULL, NULL));
    /* a failure mid-batch keeps the frames before it, and says how many */
    packer_reset(&w);
    msgpack_pack_array(&w.pk, 3);
    pack_raw(&w, &log);
    msgpack_pack_map(&w.pk, 1);
    pack_cstr(&w, "trace_id"), pack_bin(&w, "short", 5);
    pack_raw(&w, &log);
    xb_frame f[3];
    uint64_t done = 9;
    xb_region_stats st0, st1;
    EXPECT_OK(xb_region_get_stats(r, &st0));
    EXPECT_STATUS(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 3, f, &done),
                  XB_ERR_INVALID_RECORD);
    EXPECT(done == 1 && strstr(xb_last_error(), "record 1") != NULL, "n_done %llu", (unsigned long long)done);
    EXPECT_OK(xb_region_get_stats(r, &st1));
    EXPECT(st1.frame_count == st0.frame_count + 1, "the first frame stays committed");
    /* NULL with a length, NULL frames_out */
    EXPECT_STATUS(xb_encode(r, XB_CODEC_JSON, XB_RECORD_LOG_ENTRY, NULL, 5, 1, f, NULL), XB_ERR_INVALID_ARG);
    array_of(&w, &log);
    EXPECT_STATUS(xb_encode(r, XB_CODEC_JSON, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, NULL, NULL),
                  XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_encode(r, XB_CODEC_JSON, XB_RECORD_LOG_ENTRY, packed(&w), 0, 1, f, NULL), XB_ERR_INVALID_RECORD);
    free(log.p);
    packer_free(&w);
    EXPECT_OK(xb_scratch_free(gen));
    EXPECT_OK(xb_region_close(r));
}

static void test_malformed(void) {
    xb_region r;
    xb_scratch s, gs;
    xb_frame f, good;
    const uint8_t *out = NULL;
    uint64_t out_len = 0;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_region_create_anon(4 << 20, &r));
    EXPECT_OK(xb_scratch_new(&s));
    EXPECT_OK(xb_scratch_new(&gs));
    static _Alignas(8) uint8_t garbage[512];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 131 + 7);
    bytes want = generate(gs, XB_RECORD_LOG_ENTRY, 3, 0, XB_CODEC_MSGPACK);
    for (int c = 0; c < NCODECS; c++) {
        EXPECT_OK(xb_frame_append(r, codecs[c], XB_RECORD_LOG_ENTRY, garbage, sizeof garbage, &f));
        EXPECT_STATUS(xb_decode(r, s, &f, 1, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_MALFORMED);
        EXPECT(strstr(xb_last_error(), "frame 0") != NULL, "the message names the frame: %s", xb_last_error());
        EXPECT_STATUS(xb_decode_bytes(s, codecs[c], XB_RECORD_LOG_ENTRY, garbage, sizeof garbage, XB_CODEC_JSON, &out,
                                      &out_len),
                      XB_ERR_MALFORMED);

        /* every truncation of a valid frame is an error or a valid record, never a crash */
        array_of(&w, &want);
        EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &good, NULL));
        int bad = 0;
        for (uint64_t n = 0; n < good.payload_len; n += 7) {
            int32_t st = xb_frame_append(r, codecs[c], XB_RECORD_LOG_ENTRY, good.payload, n, &f);
            if (st == XB_ERR_REGION_FULL) {
                xb_region_reset(r);
                EXPECT_OK(xb_encode(r, codecs[c], XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &good, NULL));
                continue;
            }
            st = xb_decode(r, s, &f, 1, XB_CODEC_MSGPACK, &out, &out_len);
            bad += st != XB_OK && st != XB_ERR_MALFORMED;
        }
        EXPECT(bad == 0, "codec %d: truncated frames give XB_ERR_MALFORMED", codecs[c]);
    }
    /* bad codecs and record types */
    array_of(&w, &want);
    EXPECT_STATUS(xb_frame_append(r, 99, XB_RECORD_LOG_ENTRY, garbage, 8, &f), XB_ERR_UNKNOWN_CODEC);
    EXPECT_STATUS(xb_encode(r, 99, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &f, NULL), XB_ERR_UNKNOWN_CODEC);
    EXPECT_STATUS(xb_encode(r, XB_CODEC_SCHEMA, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &f, NULL),
                  XB_ERR_UNKNOWN_CODEC);
    EXPECT_STATUS(xb_encode(r, XB_CODEC_CAPNP, 9, packed(&w), w.sb.size, 1, &f, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_encode(r, XB_CODEC_CAPNP, 0, packed(&w), w.sb.size, 1, &f, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_decode_bytes(s, 0, XB_RECORD_LOG_ENTRY, garbage, 8, XB_CODEC_MSGPACK, &out, &out_len),
                  XB_ERR_UNKNOWN_CODEC);
    EXPECT_STATUS(xb_decode_bytes(s, XB_CODEC_MSGPACK, 4, want.p, want.len, XB_CODEC_MSGPACK, &out, &out_len),
                  XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_generate(s, 4, 1, 0, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_RECORD_TYPE);
    /* any type id can be appended; decoding it as a record is the error */
    EXPECT_OK(xb_frame_append(r, XB_CODEC_JSON, 42, garbage, 8, &f));
    EXPECT_STATUS(xb_decode(r, s, &f, 1, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_RECORD_TYPE);

    /* formats: only MessagePack and JSON */
    xb_frame smp;
    bytes sample = generate(gs, XB_RECORD_SAMPLE, 1, 0, XB_CODEC_MSGPACK);
    array_of(&w, &sample);
    EXPECT_OK(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &smp, NULL));
    EXPECT_STATUS(xb_decode(r, s, &smp, 1, XB_CODEC_FLATBUFFERS, &out, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode(r, s, &smp, 1, 0, &out, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_generate(s, XB_RECORD_SAMPLE, 1, 0, XB_CODEC_PROTOBUF, &out, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode_bytes(s, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, smp.payload, smp.payload_len, 99, &out,
                                  &out_len),
                  XB_ERR_INVALID_ARG);
    /* NULL out pointers and frames */
    EXPECT_STATUS(xb_decode(r, s, &smp, 1, XB_CODEC_MSGPACK, NULL, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode(r, s, &smp, 1, XB_CODEC_MSGPACK, &out, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode(r, s, NULL, 1, XB_CODEC_MSGPACK, &out, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_generate(s, XB_RECORD_SAMPLE, 1, 0, XB_CODEC_MSGPACK, NULL, &out_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_generate(s, XB_RECORD_SAMPLE, 1, 0, XB_CODEC_JSON, &out, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode_bytes(s, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, smp.payload, smp.payload_len,
                                  XB_CODEC_MSGPACK, NULL, &out_len),
                  XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_decode_bytes(s, XB_CODEC_FLATBUFFERS, XB_RECORD_SAMPLE, NULL, 8, XB_CODEC_MSGPACK, &out,
                                  &out_len),
                  XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_generate(s, XB_RECORD_TENSOR, 1, XB_MAX_GENERATE_BYTES + 1, XB_CODEC_MSGPACK, &out, &out_len),
                  XB_ERR_INVALID_ARG);

    /* offsets that are not frames */
    uint64_t bad_offsets[] = {0, 3, smp.offset + 8, smp.offset + 4096, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad_offsets / sizeof bad_offsets[0]; i++) {
        xb_frame bad = smp;
        bad.offset = bad_offsets[i];
        int32_t st = xb_decode(r, s, &bad, 1, XB_CODEC_MSGPACK, &out, &out_len);
        EXPECT(st == XB_ERR_OUT_OF_RANGE || st == XB_ERR_NOT_COMMITTED, "offset %llu: %s",
               (unsigned long long)bad_offsets[i], xb_status_name(st));
    }

    /* a path reads frames of its own record type and schema format only */
    xb_path fb_msg = compile(XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, "message", "message", XB_VALUE_STRING);
    xb_path capnp_msg = compile(XB_CODEC_CAPNP, XB_RECORD_LOG_ENTRY, "message", "message", XB_VALUE_STRING);
    xb_frame fb_log, capnp_log, json_log;
    xb_str v;
    array_of(&w, &want);
    EXPECT_OK(xb_encode(r, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &fb_log, NULL));
    EXPECT_OK(xb_encode(r, XB_CODEC_CAPNP, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &capnp_log, NULL));
    EXPECT_OK(xb_encode(r, XB_CODEC_JSON, XB_RECORD_LOG_ENTRY, packed(&w), w.sb.size, 1, &json_log, NULL));
    EXPECT_OK(xb_path_read(fb_msg, r, &fb_log, 1, &v, NULL));
    EXPECT_STATUS(xb_path_read(fb_msg, r, &smp, 1, &v, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_path_read(fb_msg, r, &capnp_log, 1, &v, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_path_read(fb_msg, r, &json_log, 1, &v, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_path_read(capnp_msg, r, &fb_log, 1, &v, NULL), XB_ERR_RECORD_TYPE);
    EXPECT_OK(xb_path_read(capnp_msg, r, &capnp_log, 1, &v, NULL));
    EXPECT_OK(xb_path_free(fb_msg));
    EXPECT_OK(xb_path_free(capnp_msg));

    EXPECT_STATUS(xb_region_get_stats(r, NULL), XB_ERR_INVALID_ARG);
    free(want.p);
    free(sample.p);
    packer_free(&w);
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
    xb_scratch gs;
    xb_frame f;
    packer w;
    packer_init(&w);
    EXPECT_OK(xb_scratch_new(&gs));
    bytes smp = generate(gs, XB_RECORD_SAMPLE, 5, 0, XB_CODEC_MSGPACK);
    array_of(&w, &smp);
    EXPECT_STATUS(xb_region_open_shm(name, 0, &a), XB_ERR_NOT_FOUND);
    EXPECT_OK(xb_region_create_shm(name, 1 << 20, 0, &a));
    EXPECT_STATUS(xb_region_create_shm(name, 1 << 20, 0, &b), XB_ERR_EXISTS);
    EXPECT_OK(xb_region_open_shm(name, 0, &b));
    EXPECT_OK(xb_encode(a, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &f, NULL));
    EXPECT(decodes_to(b, gs, &f, XB_CODEC_MSGPACK, &smp), "second mapping sees the frame");
    EXPECT_OK(xb_region_unlink_shm(name));
    EXPECT_STATUS(xb_region_unlink_shm(name), XB_ERR_NOT_FOUND);
    EXPECT_OK(xb_region_prefault(b));
    EXPECT(decodes_to(b, gs, &f, XB_CODEC_MSGPACK, &smp), "prefault keeps frames");
    EXPECT_OK(xb_region_close(a));
    EXPECT_OK(xb_region_close(b));
    EXPECT_STATUS(xb_region_prefault(b), XB_ERR_CLOSED);

    /* closed handles in the record calls */
    const uint8_t *out;
    uint64_t len;
    xb_path p = compile(XB_CODEC_CAPNP, XB_RECORD_SAMPLE, "label", "label", XB_VALUE_INT);
    int64_t label;
    EXPECT_STATUS(xb_encode(b, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &f, NULL), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_decode(b, gs, &f, 1, XB_CODEC_MSGPACK, &out, &len), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_path_read(p, b, &f, 1, &label, NULL), XB_ERR_CLOSED);
    EXPECT_OK(xb_path_free(p));
    EXPECT_STATUS(xb_path_free(p), XB_ERR_CLOSED);
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    EXPECT_OK(xb_encode(r, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &f, NULL));
    EXPECT_STATUS(xb_path_read(p, r, &f, 1, &label, NULL), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_decode(r, s, &f, 1, XB_CODEC_MSGPACK, &out, &len), XB_ERR_CLOSED); /* s was freed */
    EXPECT_STATUS(xb_generate(s, XB_RECORD_SAMPLE, 1, 0, XB_CODEC_MSGPACK, &out, &len), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_decode_bytes(s, XB_CODEC_CAPNP, XB_RECORD_SAMPLE, f.payload, f.payload_len, XB_CODEC_MSGPACK,
                                  &out, &len),
                  XB_ERR_CLOSED);
    EXPECT_OK(xb_region_close(r));

    /* full region: the error says so and earlier frames are intact */
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    int32_t status = XB_OK;
    int n = 0;
    while ((status = xb_encode(r, XB_CODEC_PROTOBUF, XB_RECORD_SAMPLE, packed(&w), w.sb.size, 1, &f, NULL)) == XB_OK)
        n++;
    EXPECT(status == XB_ERR_REGION_FULL && n > 100, "full after %d frames: %s", n, xb_status_name(status));
    uint64_t cursor = 0, listed = 0, k;
    xb_frame fs[64];
    int ok = 1;
    do {
        EXPECT_OK(xb_frame_list(r, &cursor, fs, 64, &k));
        for (uint64_t i = 0; i < k; i++) ok &= decodes_to(r, gs, &fs[i], XB_CODEC_MSGPACK, &smp);
        listed += k;
    } while (k > 0);
    EXPECT(ok, "every frame of a full region decodes");
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
    free(smp.p);
    packer_free(&w);
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
    xb_path msg; /* shared by every thread; NULL for codecs without one */
    int codec;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    xb_scratch gen, s;
    packer in;
    packer_init(&in);
    w->ok = xb_scratch_new(&gen) == XB_OK && xb_scratch_new(&s) == XB_OK;
    for (uint64_t seed = 0; seed < 300 && w->ok; seed++) {
        const uint8_t *rec, *out;
        uint64_t rec_len, out_len;
        xb_frame f;
        w->ok = xb_generate(gen, XB_RECORD_LOG_ENTRY, seed, 0, XB_CODEC_MSGPACK, &rec, &rec_len) == XB_OK;
        if (!w->ok) break;
        bytes want = {(uint8_t *)rec, rec_len}; /* valid until gen's next call */
        array_of(&in, &want);
        w->ok = xb_encode(w->r, w->codec, XB_RECORD_LOG_ENTRY, packed(&in), in.sb.size, 1, &f, NULL) == XB_OK &&
                xb_decode(w->r, s, &f, 1, XB_CODEC_MSGPACK, &out, &out_len) == XB_OK &&
                same(out, out_len, packed(&in), in.sb.size);
        if (w->ok && w->msg) {
            xb_str m;
            w->ok = xb_path_read(w->msg, w->r, &f, 1, &m, NULL) == XB_OK && has_str(&want, "message", m);
        }
    }
    xb_scratch_free(gen);
    xb_scratch_free(s);
    packer_free(&in);
    return NULL;
}

static void test_threads(void) {
    xb_region r;
    EXPECT_OK(xb_region_create_anon(64 << 20, &r));
    pthread_t th[NCODECS];
    struct worker w[NCODECS];
    for (int i = 0; i < NCODECS; i++) {
        xb_path msg = zero_copy(codecs[i])
                          ? compile(codecs[i], XB_RECORD_LOG_ENTRY, "message", "message", XB_VALUE_STRING)
                          : NULL;
        w[i] = (struct worker){.r = r, .msg = msg, .codec = codecs[i]};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < NCODECS; i++) {
        pthread_join(th[i], NULL);
        EXPECT(w[i].ok, "thread of codec %d", codecs[i]);
        if (w[i].msg) EXPECT_OK(xb_path_free(w[i].msg));
    }
    xb_region_stats st;
    EXPECT_OK(xb_region_get_stats(r, &st));
    EXPECT(st.frame_count == 300 * NCODECS, "frames from all threads: %llu", (unsigned long long)st.frame_count);
    EXPECT_OK(xb_region_close(r));
}

int main(void) {
    fb_schema = load_schema("crossbuf.bfbs", XB_SCHEMA_BFBS);
    capnp_schema = load_schema("crossbuf.capnp.bin", XB_SCHEMA_CAPNP_REQUEST);
    test_version();
    test_round_trips();
    test_paths();
    test_hand_built();
    test_batches_and_iteration();
    test_invalid_records();
    test_malformed();
    test_lifecycle_errors();
    test_faults();
    test_threads();
    EXPECT_OK(xb_schema_free(fb_schema));
    EXPECT_OK(xb_schema_free(capnp_schema));
    printf("C: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
