/* Tests of the schema calls of libcrossbuf through include/crossbuf.h: users'
 * FlatBuffers and Cap'n Proto schemas loaded at run time, type ids and names,
 * verify, JSON and MessagePack of bytes and frames, hostile input, handle
 * kinds, and a schema freed while other threads use it.
 *
 * The reference projects' own schemas and messages are read from
 * $CROSSBUF_CONFORMANCE, else ../shared/conformance; the tests that need them
 * say SKIP when they are absent. */
#define _GNU_SOURCE
#include <crossbuf.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static char conf[4096];

static int have_conformance(void) {
    const char *dir = getenv("CROSSBUF_CONFORMANCE");
    snprintf(conf, sizeof conf, "%s", dir && *dir ? dir : "../shared/conformance");
    return access(conf, R_OK) == 0;
}

static uint8_t *read_file(const char *rel, uint64_t *len) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", conf, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    *len = (uint64_t)n;
    return b;
}

static int tool_installed(const char *name) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* FNV-1a 64, the FlatBuffers type id of a fully-qualified name. */
static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* ---- a minimal MessagePack reader, to check the library's output ---------- */

typedef struct {
    const uint8_t *p, *end;
} mp;

static int mp_need(mp *m, uint64_t n) { return (uint64_t)(m->end - m->p) >= n; }

static uint64_t mp_be(mp *m, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | m->p[i];
    m->p += n;
    return v;
}

/* Reads one header: kind 'i' (integer in *iv), 'u' (unsigned in *uv), 's'
 * str, 'b' bin, 'a' array, 'm' map (length in *n), 'f' float, 'n' nil, 't'
 * bool. Returns 0 on malformed input. */
static int mp_head(mp *m, char *kind, uint64_t *n, int64_t *iv, uint64_t *uv) {
    if (!mp_need(m, 1)) return 0;
    uint8_t c = *m->p++;
    int w = 0;
    *n = 0;
    if (c <= 0x7f) { *kind = 'u'; *uv = c; return 1; }
    if (c >= 0xe0) { *kind = 'i'; *iv = (int8_t)c; return 1; }
    if ((c & 0xf0) == 0x80) { *kind = 'm'; *n = c & 0x0f; return 1; }
    if ((c & 0xf0) == 0x90) { *kind = 'a'; *n = c & 0x0f; return 1; }
    if ((c & 0xe0) == 0xa0) { *kind = 's'; *n = c & 0x1f; return mp_need(m, *n); }
    switch (c) {
    case 0xc0: *kind = 'n'; return 1;
    case 0xc2: case 0xc3: *kind = 't'; *uv = c & 1; return 1;
    case 0xc4: case 0xc5: case 0xc6: w = 1 << (c - 0xc4); *kind = 'b'; break;
    case 0xd9: case 0xda: case 0xdb: w = 1 << (c - 0xd9); *kind = 's'; break;
    case 0xdc: case 0xdd: w = 2 << (c - 0xdc); *kind = 'a'; break;
    case 0xde: case 0xdf: w = 2 << (c - 0xde); *kind = 'm'; break;
    case 0xca: case 0xcb: *kind = 'f'; return mp_need(m, c == 0xca ? 4 : 8) && (m->p += c == 0xca ? 4 : 8, 1);
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        w = 1 << (c - 0xcc);
        if (!mp_need(m, w)) return 0;
        *kind = 'u'; *uv = mp_be(m, w); return 1;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        w = 1 << (c - 0xd0);
        if (!mp_need(m, w)) return 0;
        uint64_t v = mp_be(m, w);
        int sh = 64 - 8 * w;
        *kind = 'i'; *iv = (int64_t)(v << sh) >> sh; return 1;
    }
    default: return 0;
    }
    if (!mp_need(m, w)) return 0;
    *n = mp_be(m, w);
    return (*kind != 's' && *kind != 'b') || mp_need(m, *n);
}

static int mp_skip(mp *m, int depth) {
    char k;
    uint64_t n, u;
    int64_t i;
    if (depth > 100 || !mp_head(m, &k, &n, &i, &u)) return 0;
    if (k == 's' || k == 'b') { m->p += n; return 1; }
    if (k == 'a' || k == 'm') {
        for (uint64_t j = 0; j < (k == 'm' ? 2 * n : n); j++)
            if (!mp_skip(m, depth + 1)) return 0;
    }
    return 1;
}

/* Positions m at the value of key in the map at m; 0 if absent. */
static int mp_find(mp m, const char *key, mp *val) {
    char k;
    uint64_t n, u;
    int64_t i;
    if (!mp_head(&m, &k, &n, &i, &u) || k != 'm') return 0;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t kl;
        if (!mp_head(&m, &k, &kl, &i, &u) || k != 's') return 0;
        int hit = kl == strlen(key) && memcmp(m.p, key, kl) == 0;
        m.p += kl;
        if (hit) { *val = m; return 1; }
        if (!mp_skip(&m, 0)) return 0;
    }
    return 0;
}

static int mp_is_int(mp m, int64_t want) {
    char k;
    uint64_t n, u;
    int64_t i;
    if (!mp_head(&m, &k, &n, &i, &u)) return 0;
    return (k == 'i' && i == want) || (k == 'u' && want >= 0 && u == (uint64_t)want);
}

static int mp_is_str(mp m, const char *want) {
    char k;
    uint64_t n, u;
    int64_t i;
    return mp_head(&m, &k, &n, &i, &u) && k == 's' && n == strlen(want) && memcmp(m.p, want, n) == 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_without_data(void) {
    xb_schema s = NULL;
    static const uint8_t junk[64] = {1, 2, 3, 4, 'B', 'F', 'B', 'S', 9, 9, 9};
    EXPECT_STATUS(xb_schema_load(junk, sizeof junk, XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA);
    EXPECT_STATUS(xb_schema_load(junk, sizeof junk, XB_SCHEMA_CAPNP_REQUEST, &s), XB_ERR_SCHEMA);
    EXPECT_STATUS(xb_schema_load(NULL, 0, XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA);
    EXPECT_STATUS(xb_schema_load(NULL, 5, XB_SCHEMA_BFBS, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_load(junk, sizeof junk, 7, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_load(junk, sizeof junk, XB_SCHEMA_BFBS, NULL), XB_ERR_INVALID_ARG);
    EXPECT(s == NULL, "no handle after failures");
    EXPECT_STATUS(xb_schema_compile("/nonexistent/x.fbs", NULL, 0, &s), XB_ERR_NOT_FOUND);
    EXPECT_STATUS(xb_schema_compile("/dev/null", NULL, 0, &s), XB_ERR_SCHEMA);
    EXPECT(strstr(xb_last_error(), ".fbs or .capnp") != NULL, "names the extensions: %s", xb_last_error());
    EXPECT(strcmp(xb_status_name(XB_ERR_UNKNOWN_TYPE), "XB_ERR_UNKNOWN_TYPE") == 0, "status name");
    EXPECT(strcmp(xb_status_name(XB_ERR_SCHEMA), "XB_ERR_SCHEMA") == 0, "status name");

    /* NULL, and handles of another kind, are errors, not crashes. */
    uint64_t id;
    EXPECT_STATUS(xb_schema_type_id(NULL, "x", &id), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_schema_free(NULL), XB_ERR_CLOSED);
    xb_region r;
    xb_scratch sc;
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    EXPECT_OK(xb_scratch_new(&sc));
    EXPECT_STATUS(xb_schema_type_id((xb_schema)(void *)r, "x", &id), XB_ERR_INVALID_ARG);
    EXPECT(strstr(xb_last_error(), "schema") != NULL, "names the kind: %s", xb_last_error());
    EXPECT_STATUS(xb_schema_free((xb_schema)(void *)sc), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_verify((xb_schema)(void *)sc, 1, junk, sizeof junk, 0), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_scratch_free(sc));
    EXPECT_OK(xb_region_close(r));
}

static uint8_t *mon, *bfbs;
static uint64_t mon_len, bfbs_len;

static void test_monster(void) {
    xb_schema s;
    EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
    uint64_t id = 0, root = 0, color = 0;
    EXPECT_OK(xb_schema_type_id(s, "MyGame.Example.Monster", &id));
    EXPECT(id == fnv1a64("MyGame.Example.Monster"), "type id %#llx is FNV-1a 64 of the name", (unsigned long long)id);
    EXPECT_OK(xb_schema_root_type(s, &root));
    EXPECT(root == id, "root_type is Monster");
    const char *name = NULL;
    uint64_t name_len = 0;
    EXPECT_OK(xb_schema_type_name(s, id, &name, &name_len));
    EXPECT(name && name_len == 22 && memcmp(name, "MyGame.Example.Monster", 22) == 0 && name[22] == 0,
           "name %.*s", (int)name_len, name ? name : "");

    EXPECT_STATUS(xb_schema_type_id(s, "MyGame.Example.NoSuchType", &id), XB_ERR_UNKNOWN_TYPE);
    EXPECT(strstr(xb_last_error(), "MyGame.Example.NoSuchType") != NULL, "names it: %s", xb_last_error());
    EXPECT_STATUS(xb_schema_type_name(s, 0x1234, &name, &name_len), XB_ERR_UNKNOWN_TYPE);
    EXPECT(strstr(xb_last_error(), "0x0000000000001234") != NULL, "names the id: %s", xb_last_error());

    EXPECT_OK(xb_schema_verify(s, id, mon, mon_len, 0));
    EXPECT_OK(xb_schema_type_id(s, "MyGame.Example.Color", &color));
    EXPECT_STATUS(xb_schema_verify(s, color, mon, mon_len, 0), XB_ERR_RECORD_TYPE);
    EXPECT_STATUS(xb_schema_verify(s, id, mon, mon_len, XB_MSG_PACKED), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_verify(s, id, mon, mon_len, 64), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_verify(s, id, mon, 40, 0), XB_ERR_MALFORMED);
    EXPECT(strstr(xb_last_error(), "MyGame.Example.Monster") != NULL, "names the type: %s", xb_last_error());

    xb_scratch sc;
    EXPECT_OK(xb_scratch_new(&sc));
    const uint8_t *js = NULL, *mp_out = NULL;
    uint64_t js_len = 0, mp_len = 0;
    EXPECT_OK(xb_schema_to_json(s, sc, id, mon, mon_len, 0, &js, &js_len));
    char *json = strndup((const char *)js, js_len);
    EXPECT(strstr(json, "\"name\":\"MyMonster\"") && strstr(json, "\"hp\":80") && strstr(json, "\"test_type\":\"Monster\""),
           "JSON: %s", json);
    EXPECT_OK(xb_schema_to_msgpack(s, sc, id, mon, mon_len, 0, &mp_out, &mp_len));
    mp m = {mp_out, mp_out + mp_len}, v;
    mp whole = m;
    EXPECT(mp_skip(&whole, 0) && whole.p == whole.end, "one MessagePack value, nothing after it");
    EXPECT(mp_find(m, "hp", &v) && mp_is_int(v, 80), "hp is 80");
    EXPECT(mp_find(m, "name", &v) && mp_is_str(v, "MyMonster"), "name");
    EXPECT(mp_find(m, "test_type", &v) && mp_is_int(v, 1), "union type as its value");
    EXPECT(mp_find(m, "testhashs32_fnv1", &v) && mp_is_int(v, -579221183), "negative int keeps its sign");
    EXPECT(!mp_find(m, "mana", &v), "absent fields are left out");

    /* Frames decode as the type their header names. */
    xb_region r;
    xb_frame f, bad, wrong_codec;
    EXPECT_OK(xb_region_create_anon(1 << 20, &r));
    EXPECT_OK(xb_frame_append(r, XB_CODEC_FLATBUFFERS, id, mon, mon_len, &f));
    EXPECT_OK(xb_frame_append(r, XB_CODEC_FLATBUFFERS, 0x3039, mon, mon_len, &bad));
    EXPECT_OK(xb_frame_append(r, XB_CODEC_CAPNP, id, mon, mon_len, &wrong_codec));
    const uint8_t *fj = NULL;
    uint64_t fj_len = 0;
    EXPECT_OK(xb_schema_frame_to_json(s, r, sc, &f, &fj, &fj_len));
    EXPECT(fj_len == strlen(json) && memcmp(fj, json, fj_len) == 0, "frame JSON equals bytes JSON");
    EXPECT(fj < f.payload || fj >= f.payload + f.payload_len, "output lies in the scratch");
    EXPECT_OK(xb_schema_frame_to_msgpack(s, r, sc, &f, &fj, &fj_len));
    EXPECT(fj_len == mp_len, "frame MessagePack has the bytes' length");
    EXPECT_STATUS(xb_schema_frame_to_msgpack(s, r, sc, &bad, &fj, &fj_len), XB_ERR_UNKNOWN_TYPE);
    EXPECT(strstr(xb_last_error(), "0x0000000000003039") != NULL, "names the frame's id: %s", xb_last_error());
    EXPECT_STATUS(xb_schema_frame_to_json(s, r, sc, &wrong_codec, &fj, &fj_len), XB_ERR_INVALID_ARG);
    /* Many frames in one call: an array of what each alone gives. */
    xb_frame batch[3] = {f, f, bad};
    const uint8_t *one = NULL, *many = NULL;
    uint64_t one_len = 0, many_len = 0;
    EXPECT_OK(xb_schema_frame_to_msgpack(s, r, sc, &f, &one, &one_len));
    uint8_t *one_copy = malloc(one_len);
    memcpy(one_copy, one, one_len);
    EXPECT_OK(xb_schema_frames_to_msgpack(s, r, sc, batch, 2, &many, &many_len));
    EXPECT(many_len == 1 + 2 * one_len && many[0] == 0x92 && memcmp(many + 1, one_copy, one_len) == 0 &&
               memcmp(many + 1 + one_len, one_copy, one_len) == 0,
           "array of two values, each as alone");
    free(one_copy);
    EXPECT_OK(xb_schema_frames_to_msgpack(s, r, sc, batch, 0, &many, &many_len));
    EXPECT(many_len == 1 && many[0] == 0x90, "no frames: an empty array");
    EXPECT_STATUS(xb_schema_frames_to_msgpack(s, r, sc, batch, 3, &many, &many_len), XB_ERR_UNKNOWN_TYPE);
    EXPECT(strstr(xb_last_error(), "frame 2") != NULL, "names the frame: %s", xb_last_error());
    EXPECT_STATUS(xb_schema_frames_to_msgpack(s, r, sc, NULL, 2, &many, &many_len), XB_ERR_INVALID_ARG);
    xb_frame stale = f;
    stale.generation += 1;
    EXPECT_STATUS(xb_schema_frame_to_json(s, r, sc, &stale, &fj, &fj_len), XB_ERR_STALE);
    EXPECT_STATUS(xb_schema_frame_to_json(s, (xb_region)(void *)sc, sc, &f, &fj, &fj_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_frame_to_json(s, r, (xb_scratch)(void *)r, &f, &fj, &fj_len), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_to_json((xb_schema)(void *)r, sc, id, mon, mon_len, 0, &js, &js_len), XB_ERR_INVALID_ARG);
    free(json);

    /* Hostile bytes: every truncation and many corruptions verify or fail
     * with XB_ERR_MALFORMED, and decoding agrees with verify. */
    uint8_t *buf = malloc(mon_len);
    int bad_status = 0, disagree = 0, ok_count = 0;
    for (uint64_t n = 0; n < mon_len; n++) {
        int32_t st = xb_schema_verify(s, id, mon, n, 0);
        if (st != XB_ERR_MALFORMED && st != XB_OK) bad_status++;
        int padding = 1; /* the buffer ends in alignment padding nothing points into */
        for (uint64_t k = n; k < mon_len; k++) padding &= mon[k] == 0;
        if (st == XB_OK && !padding) ok_count++;
    }
    uint32_t seed = 12345;
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, mon, mon_len);
        for (int k = 0; k < 1 + i % 3; k++) {
            seed = seed * 1103515245 + 12345;
            buf[(seed >> 8) % mon_len] ^= (uint8_t)(1 + (seed >> 24) % 255);
        }
        int32_t st = xb_schema_verify(s, id, buf, mon_len, 0);
        int32_t st2 = xb_schema_to_msgpack(s, sc, id, buf, mon_len, 0, &mp_out, &mp_len);
        if ((st != XB_OK && st != XB_ERR_MALFORMED) || (st2 != XB_OK && st2 != XB_ERR_MALFORMED)) bad_status++;
        if (st == XB_ERR_MALFORMED && st2 == XB_OK) disagree++;
        if (st2 == XB_OK) {
            mp w = {mp_out, mp_out + mp_len};
            if (!mp_skip(&w, 0) || w.p != w.end) disagree++;
        }
    }
    free(buf);
    EXPECT(bad_status == 0, "%d hostile inputs gave a status other than OK or MALFORMED", bad_status);
    EXPECT(disagree == 0, "%d hostile inputs decoded after verify refused them, or to bad MessagePack", disagree);
    EXPECT(ok_count == 0, "a Monster truncated into its data verified (%d lengths)", ok_count);

    EXPECT_OK(xb_region_close(r));
    EXPECT_OK(xb_scratch_free(sc));
    EXPECT_OK(xb_schema_free(s));
    EXPECT_STATUS(xb_schema_free(s), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_schema_type_id(s, "MyGame.Example.Monster", &id), XB_ERR_CLOSED);
}

/* Corrupted schema bytes load or fail with XB_ERR_SCHEMA. */
/* xb_schema_load_file reads the same binary schema xb_schema_load takes. */
static void test_load_file(void) {
    char path[8192];
    snprintf(path, sizeof path, "%s/flatbuffers/monster_test.bfbs", conf);
    xb_schema s = NULL;
    EXPECT_OK(xb_schema_load_file(path, XB_SCHEMA_BFBS, &s));
    uint64_t id = 0;
    EXPECT_OK(xb_schema_type_id(s, "MyGame.Example.Monster", &id));
    EXPECT(id == fnv1a64("MyGame.Example.Monster"), "type id %llx", (unsigned long long)id);
    EXPECT_OK(xb_schema_verify(s, id, mon, mon_len, 0));
    EXPECT_OK(xb_schema_free(s));

    /* the wrong format, a file that is no schema, a directory, no file */
    s = NULL;
    EXPECT_STATUS(xb_schema_load_file(path, XB_SCHEMA_CAPNP_REQUEST, &s), XB_ERR_SCHEMA);
    EXPECT(strstr(xb_last_error(), "monster_test.bfbs") != NULL, "names the file: %s", xb_last_error());
    snprintf(path, sizeof path, "%s/flatbuffers/monsterdata_test.mon", conf);
    EXPECT_STATUS(xb_schema_load_file(path, XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA);
    snprintf(path, sizeof path, "%s/flatbuffers/monster_test.bfbs", conf);
    EXPECT_STATUS(xb_schema_load_file(path, 9, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_load_file(path, XB_SCHEMA_BFBS, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_load_file(NULL, XB_SCHEMA_BFBS, &s), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_load_file("/nonexistent/x.bfbs", XB_SCHEMA_BFBS, &s), XB_ERR_NOT_FOUND);
    EXPECT_STATUS(xb_schema_load_file(conf, XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA); /* a directory */
    EXPECT_STATUS(xb_schema_load_file("/dev/zero", XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA); /* not read forever */
    EXPECT(strstr(xb_last_error(), "not a regular file") != NULL, "says why: %s", xb_last_error());
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/tmp/xb_test_schema_fifo_%d", (int)getpid());
    if (mkfifo(fifo, 0600) == 0) { /* opening it would block until a writer came */
        EXPECT_STATUS(xb_schema_load_file(fifo, XB_SCHEMA_BFBS, &s), XB_ERR_SCHEMA);
        unlink(fifo);
    }
    EXPECT(s == NULL, "no handle after failures");
}

static void test_hostile_schema(void) {
    uint8_t *buf = malloc(bfbs_len);
    uint32_t seed = 777;
    int bad_status = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(buf, bfbs, bfbs_len);
        seed = seed * 1103515245 + 12345;
        buf[(seed >> 8) % bfbs_len] ^= (uint8_t)(1 + (seed >> 24) % 255);
        uint64_t n = i % 5 == 0 ? (seed >> 3) % bfbs_len : bfbs_len;
        xb_schema s;
        int32_t st = xb_schema_load(buf, n, XB_SCHEMA_BFBS, &s);
        if (st == XB_OK) {
            uint64_t id;
            if (xb_schema_type_id(s, "MyGame.Example.Monster", &id) == XB_OK) {
                int32_t v = xb_schema_verify(s, id, mon, mon_len, 0);
                if (v != XB_OK && v != XB_ERR_MALFORMED && v != XB_ERR_RECORD_TYPE) bad_status++;
            }
            xb_schema_free(s);
        } else if (st != XB_ERR_SCHEMA) {
            bad_status++;
            fprintf(stderr, "load: %s: %s\n", xb_status_name(st), xb_last_error());
        }
    }
    free(buf);
    EXPECT(bad_status == 0, "%d corrupted schemas gave an unexpected status", bad_status);
}

static void test_capnp(void) {
    if (!tool_installed("capnp")) {
        printf("SKIP test_schema capnp: the capnp tool is not installed (./build.sh test installs it)\n");
        return;
    }
    char path[8192], dir[8192];
    snprintf(path, sizeof path, "%s/capnp/capnp/test.capnp", conf);
    snprintf(dir, sizeof dir, "%s/capnp", conf);
    const char *dirs[] = {dir};
    xb_schema s, s2;
    EXPECT_OK(xb_schema_compile(path, dirs, 1, &s));
    uint64_t id = 0, id2 = 0, root;
    EXPECT_OK(xb_schema_type_id(s, "TestAllTypes", &id));
    EXPECT(id >> 63 == 1, "Cap'n Proto node ids have the top bit set: %#llx", (unsigned long long)id);
    EXPECT_STATUS(xb_schema_root_type(s, &root), XB_ERR_UNKNOWN_TYPE);

    /* The CodeGeneratorRequest capnp writes loads to the same ids. */
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s/capnp' && capnp compile --no-standard-import -I . -o- capnp/test.capnp", conf);
    FILE *p = popen(cmd, "r");
    uint8_t *req = malloc(1 << 22);
    size_t req_len = p ? fread(req, 1, 1 << 22, p) : 0;
    EXPECT(p && pclose(p) == 0 && req_len > 0, "capnp compile -o-");
    EXPECT_OK(xb_schema_load(req, req_len, XB_SCHEMA_CAPNP_REQUEST, &s2));
    EXPECT_OK(xb_schema_type_id(s2, "capnp/test.capnp:TestAllTypes", &id2));
    EXPECT(id == id2, "node ids do not depend on how the schema was loaded");
    free(req);

    xb_scratch sc;
    EXPECT_OK(xb_scratch_new(&sc));
    static const struct {
        const char *file;
        uint32_t flags;
    } forms[] = {{"binary", 0}, {"segmented", 0}, {"flat", XB_MSG_FLAT}, {"packed", XB_MSG_PACKED}};
    char *first = NULL;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "capnp/capnp/testdata/%s", forms[i].file);
        uint64_t n;
        uint8_t *msg = read_file(rel, &n);
        EXPECT(msg != NULL, "read %s", rel);
        if (!msg) continue;
        EXPECT_OK(xb_schema_verify(s2, id, msg, n, forms[i].flags));
        const uint8_t *js;
        uint64_t js_len;
        EXPECT_OK(xb_schema_to_json(s2, sc, id, msg, n, forms[i].flags, &js, &js_len));
        if (i == 0) {
            first = strndup((const char *)js, js_len);
            EXPECT(strstr(first, "\"uInt64Field\":\"12345678901234567890\"") && strstr(first, "\"enumField\":\"corge\""),
                   "JSON: %.200s", first);
        } else if (first) {
            EXPECT(js_len == strlen(first) && memcmp(js, first, js_len) == 0, "%s decodes like binary", forms[i].file);
        }
        if (i == 0) {
            const uint8_t *out;
            uint64_t out_len;
            EXPECT_OK(xb_schema_to_msgpack(s2, sc, id, msg, n, 0, &out, &out_len));
            mp m = {out, out + out_len}, v;
            EXPECT(mp_find(m, "int64Field", &v) && mp_is_int(v, -123456789012345LL), "int64 exact");
            EXPECT(mp_find(m, "enumField", &v) && mp_is_int(v, 5), "enum as its value (corge)");
            xb_region r;
            xb_frame f;
            EXPECT_OK(xb_region_create_anon(1 << 20, &r));
            EXPECT_OK(xb_frame_append(r, XB_CODEC_CAPNP, id, msg, n, &f));
            EXPECT_OK(xb_schema_frame_to_json(s, r, sc, &f, &out, &out_len));
            EXPECT(out_len == strlen(first) && memcmp(out, first, out_len) == 0, "frame decodes like bytes");
            EXPECT_OK(xb_region_close(r));
            /* Truncations fail cleanly. */
            int bad_status = 0;
            for (uint64_t k = 0; k < n; k += 3) {
                int32_t st = xb_schema_verify(s2, id, msg, k, 0);
                if (st != XB_ERR_MALFORMED) bad_status++;
            }
            EXPECT(bad_status == 0, "%d truncations did not fail as MALFORMED", bad_status);
        }
        free(msg);
    }
    free(first);
    EXPECT_OK(xb_scratch_free(sc));
    EXPECT_OK(xb_schema_free(s));
    EXPECT_OK(xb_schema_free(s2));
}

/* A schema freed while other threads use it: every call returns OK or
 * XB_ERR_CLOSED, never crashes, and CLOSED stays CLOSED. */
typedef struct {
    xb_schema s;
    uint64_t id;
    int ok, closed, other, reopened;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    xb_scratch sc;
    if (xb_scratch_new(&sc) != XB_OK) {
        r->other++;
        return NULL;
    }
    int seen_closed = 0;
    for (int i = 0; i < 100000; i++) {
        const uint8_t *out;
        uint64_t n;
        const char *name;
        int32_t st = i % 2 ? xb_schema_to_msgpack(r->s, sc, r->id, mon, mon_len, 0, &out, &n)
                           : xb_schema_type_name(r->s, r->id, &name, &n);
        if (st == XB_OK) {
            r->ok++;
            if (seen_closed) r->reopened++;
        } else if (st == XB_ERR_CLOSED) {
            r->closed++;
            seen_closed = 1;
            if (r->closed > 50) break;
        } else {
            r->other++;
        }
    }
    xb_scratch_free(sc);
    return NULL;
}

static void test_free_while_in_use(void) {
    enum { N = 4 };
    for (int round = 0; round < 3; round++) {
        xb_schema s;
        uint64_t id;
        EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
        EXPECT_OK(xb_schema_type_id(s, "MyGame.Example.Monster", &id));
        racer rs[N];
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
            rs[i] = (racer){.s = s, .id = id};
            pthread_create(&th[i], NULL, race, &rs[i]);
        }
        struct timespec ts = {0, 5000000 * (round + 1)};
        nanosleep(&ts, NULL);
        EXPECT_OK(xb_schema_free(s));
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            EXPECT(rs[i].other == 0 && rs[i].reopened == 0, "racer %d: %d unexpected statuses, %d OK after CLOSED",
                   i, rs[i].other, rs[i].reopened);
            EXPECT(rs[i].closed > 0, "racer %d saw the free (%d OK)", i, rs[i].ok);
        }
    }
}

/* Paths read one field of many frames: scalars, defaults, strings in place. */
static void test_paths(void) {
    xb_schema s;
    xb_region r;
    EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
    EXPECT_OK(xb_region_create_anon(1 << 20, &r));
    uint64_t root = 0;
    EXPECT_OK(xb_schema_root_type(s, &root));
    xb_frame f[3];
    for (int i = 0; i < 3; i++) EXPECT_OK(xb_frame_append(r, XB_CODEC_FLATBUFFERS, root, mon, mon_len, &f[i]));
    xb_path name, hp, mana, enemy;
    int32_t kind = 0;
    EXPECT_OK(xb_path_compile(s, root, "name", &name, &kind));
    EXPECT(kind == XB_VALUE_STRING, "name reads a string (%d)", kind);
    EXPECT_OK(xb_path_compile(s, root, "hp", &hp, &kind));
    EXPECT(kind == XB_VALUE_INT, "hp reads an int (%d)", kind);
    xb_path flag;
    EXPECT_OK(xb_path_compile(s, root, "testbool", &flag, &kind));
    EXPECT(kind == XB_VALUE_BOOL, "testbool reads a bool (%d)", kind);
    EXPECT_OK(xb_path_compile(s, root, "mana", &mana, NULL));
    EXPECT_OK(xb_path_compile(s, root, "test.Monster.name", &enemy, NULL));
    xb_str names[3];
    uint8_t present[3];
    EXPECT_OK(xb_path_read(name, r, f, 3, names, present));
    for (int i = 0; i < 3; i++)
        EXPECT(present[i] && names[i].len == 9 && memcmp(names[i].ptr, "MyMonster", 9) == 0, "name %d", i);
    int64_t v[3];
    EXPECT_OK(xb_path_read(hp, r, f, 3, v, NULL));
    EXPECT(v[0] == 80 && v[2] == 80, "hp");
    EXPECT_OK(xb_path_read(flag, r, f, 3, v, present));
    EXPECT(v[0] == 1 && v[2] == 1 && present[0], "a bool reads as the int64 1");
    EXPECT_OK(xb_path_free(flag));
    EXPECT_OK(xb_path_read(mana, r, f, 1, v, present));
    EXPECT(v[0] == 150 && present[0], "absent mana reads as the default");
    EXPECT_OK(xb_path_read(enemy, r, f, 1, names, present));
    EXPECT(present[0] && names[0].len == 4 && memcmp(names[0].ptr, "Fred", 4) == 0, "through the union member");
    /* Programs: a string of the root table is one table-field step; hp, a
     * short with default 100, reads the default where it is absent. */
    const uint8_t *prog = NULL;
    uint64_t prog_len = 0, also = 1;
    EXPECT_OK(xb_path_program(name, &prog, &prog_len, &also));
    EXPECT(prog_len == 32 && prog[0] == 1 && prog[1] == 1 && prog[2] == 4 && prog[5] == 1 && prog[16] == 1,
           "name's program (%llu bytes)", (unsigned long long)prog_len);
    EXPECT(also == 0, "a user schema's path reads one type id");
    EXPECT_OK(xb_path_program(hp, &prog, &prog_len, NULL));
    EXPECT(prog_len == 32 && prog[2] == 1 && prog[3] == 2 && prog[4] == 3 && prog[8] == 100,
           "hp's program: a signed 2-byte integer, default 100");
    xb_path bools;
    EXPECT_OK(xb_path_compile(s, root, "testarrayofbools", &bools, NULL));
    EXPECT_OK(xb_path_program(bools, &prog, &prog_len, NULL));
    EXPECT(prog_len == 32 && prog[2] == 6 && prog[3] == 1 && prog[6] == 3,
           "a vector of bools: an array leaf of 1-byte bool elements");
    EXPECT_STATUS(xb_path_program(bools, NULL, &prog_len, NULL), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_path_free(bools));
    EXPECT_STATUS(xb_path_program(bools, &prog, &prog_len, NULL), XB_ERR_CLOSED);
    xb_path flags64;
    EXPECT_OK(xb_path_compile(s, root, "long_enum_normal_default", &flags64, NULL));
    EXPECT_OK(xb_path_program(flags64, &prog, &prog_len, NULL));
    EXPECT(prog_len == 0, "an enum over ulong has no program: its range check is the library's (xb_path_read)");
    EXPECT_OK(xb_path_free(flags64));
    xb_path bad;
    EXPECT_STATUS(xb_path_compile(s, root, "no.such", &bad, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_path_compile(s, root, "name[", &bad, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_path_compile(s, root, "inventory[+1]", &bad, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_path_compile(s, 12345, "name", &bad, NULL), XB_ERR_UNKNOWN_TYPE);
    EXPECT_STATUS(xb_path_read((xb_path)(void *)r, r, f, 1, v, NULL), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_path_free(name));
    EXPECT_STATUS(xb_path_free(name), XB_ERR_CLOSED);
    EXPECT_OK(xb_path_free(hp));
    EXPECT_OK(xb_path_free(mana));
    EXPECT_OK(xb_path_free(enemy));
    EXPECT_OK(xb_region_close(r));
    EXPECT_OK(xb_schema_free(s));
}

/* Frames a subscriber received read by path like a region's, and a frame
 * whose payload lies outside the subscriber's channel is refused. */
static void test_paths_received(void) {
    xb_schema s;
    EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
    uint64_t root = 0;
    EXPECT_OK(xb_schema_root_type(s, &root));
    char name[64];
    snprintf(name, sizeof name, "xb-test-schema-%d", (int)getpid());
    xb_channel ch;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 1 << 16, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_SPIN_THEN_PARK, NULL, &sub));
    for (int i = 0; i < 3; i++) EXPECT_OK(xb_channel_publish(ch, XB_CODEC_FLATBUFFERS, root, mon, mon_len, 0, NULL));
    xb_frame f[3];
    uint64_t n = 0;
    EXPECT_OK(xb_subscriber_receive_batch(sub, f, 3, 1000000000, &n));
    EXPECT(n == 3, "3 frames received (%llu)", (unsigned long long)n);
    xb_path pname, php;
    EXPECT_OK(xb_path_compile(s, root, "name", &pname, NULL));
    EXPECT_OK(xb_path_compile(s, root, "hp", &php, NULL));
    xb_str names[3];
    uint8_t present[3] = {0};
    EXPECT_OK(xb_path_read_received(pname, sub, f, 3, names, present));
    for (int i = 0; i < 3; i++)
        EXPECT(present[i] && names[i].len == 9 && memcmp(names[i].ptr, "MyMonster", 9) == 0 &&
                   (const uint8_t *)names[i].ptr >= f[i].payload &&
                   (const uint8_t *)names[i].ptr < f[i].payload + f[i].payload_len,
               "name %d, in the frame's payload", i);
    int64_t hp[3];
    EXPECT_OK(xb_path_read_received(php, sub, f, 3, hp, NULL));
    EXPECT(hp[0] == 80 && hp[2] == 80, "hp");

    xb_frame forged = f[0];
    forged.payload = mon; /* a copy outside the channel */
    EXPECT_STATUS(xb_path_read_received(pname, sub, &forged, 1, names, NULL), XB_ERR_OUT_OF_RANGE);
    forged = f[0];
    forged.payload_len = 1 << 20; /* runs past the mapping */
    EXPECT_STATUS(xb_path_read_received(pname, sub, &forged, 1, names, NULL), XB_ERR_OUT_OF_RANGE);
    forged = f[0];
    forged.type_id = root + 1;
    EXPECT_STATUS(xb_path_read_received(pname, sub, &forged, 1, names, NULL), XB_ERR_RECORD_TYPE);
    forged = f[0];
    forged.payload_len = 8; /* a truncated message */
    EXPECT_STATUS(xb_path_read_received(pname, sub, &forged, 1, names, NULL), XB_ERR_MALFORMED);
    EXPECT_STATUS(xb_path_read_received(pname, sub, f, 1, NULL, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_path_read_received(pname, (xb_subscriber)(void *)ch, f, 1, names, NULL), XB_ERR_INVALID_ARG);

    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_STATUS(xb_path_read_received(pname, sub, f, 1, names, NULL), XB_ERR_CLOSED);
    EXPECT_OK(xb_path_free(pname));
    EXPECT_OK(xb_path_free(php));
    EXPECT_OK(xb_channel_close(ch));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_schema_free(s));
}

/* A schema stored in a channel is loaded back by another open of it (once,
 * however often stored) and names the frames' type; a read-only open cannot
 * store. */
static void test_channel_schemas(void) {
    xb_schema s, got = NULL;
    EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
    char name[64];
    snprintf(name, sizeof name, "xb-test-chschema-%d", (int)getpid());
    xb_channel_unlink(name);
    xb_channel ch, ro;
    EXPECT_OK(xb_channel_create(name, 1 << 16, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_store_schema(ch, s));
    EXPECT_OK(xb_channel_store_schema(ch, s));
    EXPECT_OK(xb_channel_open(name, XB_OPEN_READ_ONLY, &ro));
    EXPECT_STATUS(xb_channel_store_schema(ro, s), XB_ERR_READ_ONLY);
    uint64_t n = 9, total = 9;
    EXPECT_OK(xb_channel_schemas(ro, NULL, 0, &n, &total));
    EXPECT(n == 0 && total == 1, "counted: n %llu, total %llu", (unsigned long long)n, (unsigned long long)total);
    xb_schema two[2] = {NULL, NULL};
    EXPECT_OK(xb_channel_schemas(ro, two, 2, &n, NULL));
    EXPECT(n == 1 && two[1] == NULL, "one schema, stored once (n %llu)", (unsigned long long)n);
    got = two[0];
    EXPECT_STATUS(xb_channel_schemas(ro, NULL, 1, &n, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_schemas(ro, two, 1, NULL, NULL), XB_ERR_INVALID_ARG);
    uint64_t root = 0, id = 0;
    EXPECT_OK(xb_schema_root_type(s, &root));
    EXPECT_OK(xb_schema_type_id(got, "MyGame.Example.Monster", &id));
    EXPECT(id == root, "the stored schema names the root type");
    xb_scratch sc;
    EXPECT_OK(xb_scratch_new(&sc));
    const uint8_t *a = NULL;
    uint64_t alen = 0;
    EXPECT_OK(xb_schema_binary(got, sc, &a, &alen));
    EXPECT(alen == bfbs_len && memcmp(a, bfbs, alen) == 0, "the same bytes");
    EXPECT_OK(xb_scratch_free(sc));
    EXPECT_OK(xb_schema_free(got));
    /* Another process corrupts the entry after the stored one: the schema
     * before it still loads, and the call says the area is corrupt. */
    const uint8_t *base = NULL;
    uint64_t size = 0;
    EXPECT_OK(xb_channel_base(ch, &base, &size));
    uint64_t area;
    memcpy(&area, base + 472, 8); /* schema_offset (go/channel layout) */
    uint32_t first;
    memcpy(&first, base + area, 4);
    uint8_t *next = (uint8_t *)base + area + 16 + ((first + 7) & ~7u);
    uint32_t bad = 0xFFFFFFF0u;
    memcpy(next, &bad, 4);
    EXPECT_STATUS(xb_channel_schemas(ro, two, 2, &n, NULL), XB_ERR_CORRUPT);
    EXPECT(n == 1 && strstr(xb_last_error(), "schema area") != NULL, "n %llu: %s", (unsigned long long)n,
           xb_last_error());
    if (n == 1) EXPECT_OK(xb_schema_free(two[0]));
    memset(next, 0, 4);
    EXPECT_OK(xb_channel_close(ro));
    EXPECT_STATUS(xb_channel_schemas(ro, two, 2, &n, NULL), XB_ERR_CLOSED);
    EXPECT_OK(xb_channel_close(ch));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_schema_free(s));
}

int main(void) {
    if (xb_check_abi() != XB_OK) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    test_without_data();
    if (!have_conformance()) {
        printf("SKIP test_schema conformance tests: no conformance data at %s (set CROSSBUF_CONFORMANCE)\n", conf);
    } else if (!(mon = read_file("flatbuffers/monsterdata_test.mon", &mon_len)) ||
               !(bfbs = read_file("flatbuffers/monster_test.bfbs", &bfbs_len))) {
        EXPECT(0, "conformance data at %s lacks flatbuffers/monster_test.bfbs or monsterdata_test.mon", conf);
    } else {
        test_monster();
        test_load_file();
        test_paths();
        test_paths_received();
        test_channel_schemas();
        test_hostile_schema();
        test_capnp();
        test_free_while_in_use();
    }
    free(mon);
    free(bfbs);
    printf("test_schema: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
