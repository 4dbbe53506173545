/* Tests of the xb_ref calls of libcrossbuf: walking users' FlatBuffers and
 * Cap'n Proto messages in place (fields by name and by index, defaults,
 * structs, vectors of scalars and of structs, strings, unions, elements,
 * JSON), on the reference projects' own data; range errors; stale frames,
 * closed handles and altered refs; and single-byte corruptions of a message
 * read without verification, which must give status codes, never a crash.
 *
 * The data is read from $CROSSBUF_CONFORMANCE, else ../shared/conformance;
 * the tests that need it say SKIP when it is absent. */
#define _GNU_SOURCE
#include <crossbuf.h>

#include <math.h>
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

static int str_is(xb_str s, const char *want) {
    return s.len == strlen(want) && (s.len == 0 || memcmp(s.ptr, want, s.len) == 0);
}

static int64_t get_int(const xb_ref *r, const char *field) {
    int64_t v = -999;
    EXPECT_OK(xb_ref_int(r, field, XB_SELF, &v, NULL));
    return v;
}

static xb_ref get_ref(const xb_ref *r, const char *field) {
    xb_ref out;
    uint8_t present = 0;
    EXPECT_OK(xb_ref_field(r, field, XB_SELF, &out, &present));
    EXPECT(present, "%s is present", field);
    return out;
}

/* Encoding from JSON: the frame's own JSON gives a frame with the same
 * values; bad input commits nothing. */
static void test_encode_json(xb_schema s, xb_region reg, xb_scratch sc, const xb_frame *fr, uint64_t id,
                             const char *required, const char *int_field, int64_t want) {
    const uint8_t *js;
    uint64_t js_len;
    EXPECT_OK(xb_schema_frame_to_json(s, reg, sc, fr, &js, &js_len));
    char *json = strndup((const char *)js, js_len);
    xb_frame again;
    EXPECT_OK(xb_schema_encode_json(s, reg, id, (const uint8_t *)json, strlen(json), &again));
    EXPECT(again.type_id == id, "the frame holds the type");
    xb_ref root;
    EXPECT_OK(xb_ref_root(s, reg, &again, id, 0, &root));
    EXPECT(get_int(&root, int_field) == want, "%s read back", int_field);
    EXPECT_OK(xb_schema_frame_to_json(s, reg, sc, &again, &js, &js_len));
    EXPECT(js_len == strlen(json) && memcmp(js, json, js_len) == 0, "the same JSON: %.*s", (int)js_len, js);
    free(json);

    xb_region_stats before, after;
    EXPECT_OK(xb_region_get_stats(reg, &before));
    char bad[128];
    snprintf(bad, sizeof bad, "{%s\"%s\": 99999999999999999999}", required, int_field);
    EXPECT_STATUS(xb_schema_encode_json(s, reg, id, (const uint8_t *)bad, strlen(bad), &again), XB_ERR_INVALID_RECORD);
    EXPECT(strstr(xb_last_error(), int_field) != NULL, "names the field: %s", xb_last_error());
    static const char *not_json[] = {"{", "[1]", "{\"a\":1} x", "{\"x\":\"\xff\"}", "{\"x\":\"\\ud800\"}"};
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
        EXPECT_STATUS(xb_schema_encode_json(s, reg, id, (const uint8_t *)not_json[i], strlen(not_json[i]), &again),
                      XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_encode_json(s, reg, id, NULL, 5, &again), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_encode_json(s, reg, 12345, (const uint8_t *)"{}", 2, &again), XB_ERR_UNKNOWN_TYPE);
    EXPECT_OK(xb_region_get_stats(reg, &after));
    EXPECT(after.frame_count == before.frame_count && after.used == before.used, "nothing committed");
    /* A frame that holds no message of the schema's format is refused as such. */
    xb_frame schema_frame;
    EXPECT_OK(xb_region_store_schema(reg, s, &schema_frame));
    EXPECT_STATUS(xb_schema_frame_to_json(s, reg, sc, &schema_frame, &js, &js_len), XB_ERR_INVALID_ARG);
}

/* The builder: a Monster field by field, read back through refs. */
static void test_builder(xb_schema s, xb_region reg, uint64_t id) {
    xb_builder b;
    EXPECT_OK(xb_builder_new(s, id, &b));
    xb_region_stats before, after;
    EXPECT_OK(xb_region_get_stats(reg, &before));
    xb_frame fr;
    EXPECT_STATUS(xb_builder_finish(b, reg, &fr), XB_ERR_INVALID_RECORD); /* name is required */
    EXPECT(strstr(xb_last_error(), "name") != NULL, "names it: %s", xb_last_error());
    EXPECT_OK(xb_builder_set_string(b, "name", XB_SELF, (const uint8_t *)"built", 5));
    EXPECT_OK(xb_builder_set_int(b, "hp", XB_SELF, -7));
    EXPECT_STATUS(xb_builder_set_int(b, "hp", XB_SELF, 40000), XB_ERR_INVALID_RECORD);
    EXPECT(strstr(xb_last_error(), "hp") != NULL, "names the field: %s", xb_last_error());
    EXPECT_STATUS(xb_builder_set_string(b, "name", XB_SELF, (const uint8_t *)"\xff", 1), XB_ERR_INVALID_RECORD);
    EXPECT_STATUS(xb_builder_set_int(b, "pos", XB_SELF, 1), XB_ERR_INVALID_RECORD);
    EXPECT_STATUS(xb_builder_set_int(b, NULL, XB_SELF, 1), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_builder_set_int(b, "nope", XB_SELF, 1), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_builder_end(b), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_builder_begin(b, "pos", XB_SELF));
    EXPECT_OK(xb_builder_set_float(b, "x", XB_SELF, 1.5));
    EXPECT_STATUS(xb_builder_set_float(b, "y", XB_SELF, 1e39), XB_ERR_INVALID_RECORD);
    EXPECT(strstr(xb_last_error(), "pos.y") != NULL, "names the path: %s", xb_last_error());
    /* A struct takes every field, as flatc's JSON does. */
    EXPECT_OK(xb_builder_set_float(b, "y", XB_SELF, 0));
    EXPECT_OK(xb_builder_set_float(b, "z", XB_SELF, 0));
    EXPECT_OK(xb_builder_set_float(b, "test1", XB_SELF, 0));
    EXPECT_OK(xb_builder_set_int(b, "test2", XB_SELF, 0));
    EXPECT_OK(xb_builder_begin(b, "test3", XB_SELF));
    EXPECT_OK(xb_builder_set_int(b, "a", XB_SELF, 5));
    EXPECT_OK(xb_builder_set_int(b, "b", XB_SELF, 6));
    EXPECT_OK(xb_builder_end(b));
    EXPECT_OK(xb_builder_end(b));
    EXPECT_OK(xb_builder_set_bytes(b, "inventory", XB_SELF, (const uint8_t *)"\x01\x02\x03", 3));
    EXPECT_OK(xb_builder_begin(b, "vector_of_longs", XB_SELF));
    EXPECT_OK(xb_builder_set_int(b, NULL, XB_SELF, 1));
    EXPECT_OK(xb_builder_set_int(b, NULL, XB_SELF, -2));
    EXPECT_STATUS(xb_builder_set_int(b, "x", XB_SELF, 1), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_builder_finish(b, reg, &fr), XB_ERR_INVALID_ARG); /* still open */
    EXPECT_OK(xb_builder_end(b));
    EXPECT_OK(xb_builder_begin(b, "testarrayoftables", XB_SELF));
    EXPECT_OK(xb_builder_begin(b, NULL, XB_SELF));
    EXPECT_OK(xb_builder_set_string(b, "name", XB_SELF, (const uint8_t *)"child", 5));
    EXPECT_OK(xb_builder_end(b));
    EXPECT_OK(xb_builder_end(b));
    EXPECT_STATUS(xb_builder_begin(b, "test", XB_SELF), XB_ERR_INVALID_RECORD); /* its tag first */
    EXPECT_OK(xb_builder_set_string(b, "test_type", XB_SELF, (const uint8_t *)"Monster", 7));
    EXPECT_OK(xb_builder_begin(b, "test", XB_SELF));
    EXPECT_OK(xb_builder_set_string(b, "name", XB_SELF, (const uint8_t *)"member", 6));
    EXPECT_OK(xb_builder_end(b));
    EXPECT_OK(xb_region_get_stats(reg, &after));
    EXPECT(after.frame_count == before.frame_count, "nothing committed before finish");
    EXPECT_OK(xb_builder_finish(b, reg, &fr));

    xb_ref root, el;
    EXPECT_OK(xb_ref_root(s, reg, &fr, id, 0, &root));
    xb_str sv;
    EXPECT_OK(xb_ref_bytes(&root, "name", XB_SELF, &sv, NULL));
    EXPECT(str_is(sv, "built") && get_int(&root, "hp") == -7, "name and hp");
    xb_ref pos = get_ref(&root, "pos");
    double x = 0;
    EXPECT_OK(xb_ref_float(&pos, "x", XB_SELF, &x, NULL));
    xb_ref test3 = get_ref(&pos, "test3");
    EXPECT(x == 1.5 && get_int(&test3, "a") == 5, "pos");
    xb_array a;
    EXPECT_OK(xb_ref_array(&root, "vector_of_longs", XB_SELF, &a, NULL));
    int64_t longs[2] = {0, 0};
    if (a.len == 2) memcpy(longs, a.ptr, sizeof longs);
    EXPECT(longs[0] == 1 && longs[1] == -2, "vector_of_longs");
    EXPECT_OK(xb_ref_array(&root, "inventory", XB_SELF, &a, NULL));
    EXPECT(a.len == 3 && memcmp(a.ptr, "\x01\x02\x03", 3) == 0, "inventory");
    xb_ref tables = get_ref(&root, "testarrayoftables");
    EXPECT_OK(xb_ref_elem(&tables, 0, &el, NULL));
    EXPECT_OK(xb_ref_bytes(&el, "name", XB_SELF, &sv, NULL));
    EXPECT(str_is(sv, "child"), "testarrayoftables[0].name");
    int64_t tag = 0;
    xb_ref member;
    EXPECT_OK(xb_ref_union(&root, "test", XB_SELF, &tag, NULL, &member, NULL));
    EXPECT_OK(xb_ref_bytes(&member, "name", XB_SELF, &sv, NULL));
    EXPECT(tag == 1 && str_is(sv, "member"), "the union member");
    /* out may be the ref itself: walking down in place */
    xb_ref walk = get_ref(&root, "testarrayoftables");
    EXPECT_OK(xb_ref_elem(&walk, 0, &walk, NULL));
    EXPECT_OK(xb_ref_bytes(&walk, "name", XB_SELF, &sv, NULL));
    EXPECT(str_is(sv, "child"), "xb_ref_elem into its own ref");
    walk = root;
    EXPECT_OK(xb_ref_union(&walk, "test", XB_SELF, &tag, NULL, &walk, NULL));
    EXPECT_OK(xb_ref_bytes(&walk, "name", XB_SELF, &sv, NULL));
    EXPECT(str_is(sv, "member"), "xb_ref_union into its own ref");

    /* finish reset the builder: the next message starts empty. */
    EXPECT_STATUS(xb_builder_finish(b, reg, &fr), XB_ERR_INVALID_RECORD);
    EXPECT_OK(xb_builder_free(b));
    EXPECT_STATUS(xb_builder_free(b), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_builder_set_int(b, "hp", XB_SELF, 1), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_builder_free((xb_builder)(void *)reg), XB_ERR_INVALID_ARG);
}

static uint8_t *mon, *bfbs;
static uint64_t mon_len, bfbs_len;

static void test_monster(void) {
    xb_schema s;
    xb_region reg;
    xb_scratch sc;
    EXPECT_OK(xb_schema_load(bfbs, bfbs_len, XB_SCHEMA_BFBS, &s));
    EXPECT_OK(xb_region_create_anon(1 << 20, &reg));
    EXPECT_OK(xb_scratch_new(&sc));
    uint64_t id = 0, vec3 = 0;
    EXPECT_OK(xb_schema_root_type(s, &id));
    EXPECT_OK(xb_schema_type_id(s, "MyGame.Example.Vec3", &vec3));
    xb_frame fr;
    EXPECT_OK(xb_frame_append(reg, XB_CODEC_FLATBUFFERS, id, mon, mon_len, &fr));

    xb_ref root;
    EXPECT_OK(xb_ref_root(s, reg, &fr, id, 0, &root));
    EXPECT(root.kind == XB_REF_TABLE && root.type_id == id, "root is a Monster table");

    /* The values of monsterdata_test.json. */
    xb_str name;
    uint8_t present = 0;
    EXPECT_OK(xb_ref_bytes(&root, "name", XB_SELF, &name, &present));
    EXPECT(present && str_is(name, "MyMonster"), "name %.*s", (int)name.len, name.ptr);
    EXPECT((const uint8_t *)name.ptr > fr.payload && (const uint8_t *)name.ptr < fr.payload + fr.payload_len,
           "the string is read in place, inside the frame");
    EXPECT(get_int(&root, "hp") == 80, "hp");
    int64_t mana = 0;
    EXPECT_OK(xb_ref_int(&root, "mana", XB_SELF, &mana, &present));
    EXPECT(!present && mana == 150, "absent mana reads as its default 150 (present %d, %lld)", present,
           (long long)mana);
    EXPECT(get_int(&root, "testbool") == 1, "testbool");

    /* By index, looked up once. */
    int32_t hp_index = -1;
    EXPECT_OK(xb_schema_field_index(s, id, "hp", &hp_index));
    int64_t hp = 0;
    EXPECT_OK(xb_ref_int(&root, NULL, hp_index, &hp, NULL));
    EXPECT(hp == 80, "hp by index %d: %lld", hp_index, (long long)hp);

    /* A struct in a table, and a struct in it. */
    xb_ref pos = get_ref(&root, "pos");
    EXPECT(pos.kind == XB_REF_STRUCT && pos.type_id == vec3, "pos is a Vec3 struct");
    double x = 0, y = 0, z = 0, test1 = 0;
    EXPECT_OK(xb_ref_float(&pos, "x", XB_SELF, &x, NULL));
    EXPECT_OK(xb_ref_float(&pos, "y", XB_SELF, &y, NULL));
    EXPECT_OK(xb_ref_float(&pos, "z", XB_SELF, &z, NULL));
    EXPECT_OK(xb_ref_float(&pos, "test1", XB_SELF, &test1, NULL));
    EXPECT(x == 1 && y == 2 && z == 3 && test1 == 3, "pos %g %g %g %g", x, y, z, test1);
    EXPECT(get_int(&pos, "test2") == 2, "test2 is Green (2)");
    xb_ref test3 = get_ref(&pos, "test3");
    EXPECT(get_int(&test3, "a") == 5 && get_int(&test3, "b") == 6, "pos.test3");

    /* Vectors of scalars, in place. */
    xb_array inv;
    EXPECT_OK(xb_ref_array(&root, "inventory", XB_SELF, &inv, &present));
    EXPECT(present && inv.len == 5 && inv.dtype == XB_DTYPE_U8 && inv.elem_size == 1, "inventory %llu",
           (unsigned long long)inv.len);
    for (uint64_t i = 0; i < inv.len && i < 5; i++) EXPECT(((const uint8_t *)inv.ptr)[i] == i, "inventory[%llu]", (unsigned long long)i);
    xb_array longs;
    EXPECT_OK(xb_ref_array(&root, "vector_of_longs", XB_SELF, &longs, NULL));
    static const int64_t want_longs[] = {1, 100, 10000, 1000000, 100000000};
    EXPECT(longs.len == 5 && longs.dtype == XB_DTYPE_I64 && longs.elem_size == 8, "vector_of_longs");
    for (uint64_t i = 0; i < longs.len && i < 5; i++) {
        int64_t v;
        memcpy(&v, (const uint8_t *)longs.ptr + 8 * i, 8);
        EXPECT(v == want_longs[i], "vector_of_longs[%llu] = %lld", (unsigned long long)i, (long long)v);
    }
    xb_array doubles;
    EXPECT_OK(xb_ref_array(&root, "vector_of_doubles", XB_SELF, &doubles, NULL));
    EXPECT(doubles.len == 3 && doubles.dtype == XB_DTYPE_F64, "vector_of_doubles");
    if (doubles.len == 3) {
        double d[3];
        memcpy(d, doubles.ptr, sizeof d);
        EXPECT(d[0] == -1.7976931348623157e+308 && d[1] == 0 && d[2] == 1.7976931348623157e+308, "doubles");
    }
    xb_array bools;
    EXPECT_OK(xb_ref_array(&root, "testarrayofbools", XB_SELF, &bools, NULL));
    EXPECT(bools.len == 3 && bools.dtype == XB_DTYPE_BOOL && ((const uint8_t *)bools.ptr)[0] == 1 &&
               ((const uint8_t *)bools.ptr)[1] == 0 && ((const uint8_t *)bools.ptr)[2] == 1,
           "testarrayofbools");
    uint64_t n = 0;
    EXPECT_OK(xb_ref_len(&root, "inventory", XB_SELF, &n));
    EXPECT(n == 5, "len(inventory) %llu", (unsigned long long)n);
    EXPECT_OK(xb_ref_len(&root, "testarrayoftables", XB_SELF, &n));
    EXPECT(n == 0, "an absent vector has length 0");

    /* Elements: strings, and structs in a vector. */
    xb_ref strs = get_ref(&root, "testarrayofstring"), el;
    EXPECT(strs.kind == XB_REF_LIST, "a list ref");
    static const char *want_strs[] = {"test1", "test2"};
    for (uint64_t i = 0; i < 2; i++) {
        EXPECT_OK(xb_ref_elem(&strs, i, &el, &present));
        xb_str sv;
        EXPECT_OK(xb_ref_bytes(&el, NULL, XB_SELF, &sv, NULL));
        EXPECT(present && el.kind == XB_REF_VALUE && str_is(sv, want_strs[i]), "testarrayofstring[%llu]",
               (unsigned long long)i);
    }
    EXPECT_OK(xb_ref_elem(&strs, 2, &el, &present));
    EXPECT(!present && el.kind == 0, "past the end is absent");
    EXPECT_STATUS(xb_ref_int(&el, NULL, XB_SELF, &hp, NULL), XB_ERR_INVALID_ARG);
    xb_ref test4 = get_ref(&root, "test4");
    static const int64_t want_ab[2][2] = {{10, 20}, {30, 40}};
    for (uint64_t i = 0; i < 2; i++) {
        EXPECT_OK(xb_ref_elem(&test4, i, &el, &present));
        EXPECT(el.kind == XB_REF_STRUCT && get_int(&el, "a") == want_ab[i][0] && get_int(&el, "b") == want_ab[i][1],
               "test4[%llu]", (unsigned long long)i);
    }
    /* Tables in a vector (the .mon holds them sorted by key: miss, hit). */
    xb_ref sorted = get_ref(&root, "scalar_key_sorted_tables");
    int found = 0;
    for (uint64_t i = 0; i < 2; i++) {
        EXPECT_OK(xb_ref_elem(&sorted, i, &el, &present));
        xb_str key;
        EXPECT_OK(xb_ref_bytes(&el, "id", XB_SELF, &key, NULL));
        EXPECT(el.kind == XB_REF_TABLE, "a table");
        if (str_is(key, "hit")) found += get_int(&el, "val") == 10 && get_int(&el, "count") == 1;
        if (str_is(key, "miss")) found += get_int(&el, "val") == 0 && get_int(&el, "count") == 0;
    }
    EXPECT(found == 2, "scalar_key_sorted_tables hit and miss");

    /* The union: its tag, and the member table. */
    int64_t tag = -1;
    xb_ref member;
    EXPECT_OK(xb_ref_union(&root, "test", XB_SELF, &tag, NULL, &member, &present));
    EXPECT(present && tag == 1 && member.kind == XB_REF_TABLE && member.type_id == id, "test is a Monster (tag %lld)",
           (long long)tag);
    EXPECT_OK(xb_ref_bytes(&member, "name", XB_SELF, &name, NULL));
    EXPECT(str_is(name, "Fred"), "test.name");
    xb_ref same = get_ref(&root, "test");
    EXPECT(memcmp(&same, &member, sizeof same) == 0, "xb_ref_field of a union gives the member");
    xb_ref enemy = get_ref(&root, "enemy");
    EXPECT_OK(xb_ref_bytes(&enemy, "name", XB_SELF, &name, NULL));
    EXPECT(str_is(name, "Fred"), "enemy.name");

    /* JSON of a ref: the root as the whole frame's JSON, a nested one alone. */
    const uint8_t *js;
    uint64_t js_len;
    EXPECT_OK(xb_schema_frame_to_json(s, reg, sc, &fr, &js, &js_len));
    char *whole = strndup((const char *)js, js_len);
    EXPECT_OK(xb_ref_json(&root, sc, &js, &js_len));
    EXPECT(js_len == strlen(whole) && memcmp(js, whole, js_len) == 0, "root JSON %.*s", (int)js_len, js);
    free(whole);
    EXPECT_OK(xb_ref_json(&test3, sc, &js, &js_len));
    EXPECT(js_len == 13 && memcmp(js, "{\"a\":5,\"b\":6}", 13) == 0, "test3 JSON %.*s", (int)js_len, js);

    test_encode_json(s, reg, sc, &fr, id, "\"name\":\"x\",", "hp", 80);
    test_builder(s, reg, id);

    /* Wrong kinds and names: errors naming the field, never a value. */
    EXPECT_STATUS(xb_ref_int(&root, "name", XB_SELF, &hp, NULL), XB_ERR_INVALID_ARG);
    EXPECT(strstr(xb_last_error(), "name") != NULL, "names the field: %s", xb_last_error());
    EXPECT_STATUS(xb_ref_int(&root, "no_such_field", XB_SELF, &hp, NULL), XB_ERR_INVALID_ARG);
    EXPECT(strstr(xb_last_error(), "no_such_field") != NULL, "names it: %s", xb_last_error());
    EXPECT_STATUS(xb_ref_int(&root, NULL, 100000, &hp, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_float(&root, "hp", XB_SELF, &x, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_len(&root, NULL, XB_SELF, &n), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_elem(&root, 0, &el, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_field(&root, NULL, XB_SELF, &el, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_int(NULL, "hp", XB_SELF, &hp, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_int(&root, "hp", XB_SELF, NULL, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_schema_field_index(s, id, "nope", &hp_index), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_ref_root(s, reg, &fr, vec3, 0, &el), XB_ERR_RECORD_TYPE);

    /* Altered refs: wrong values or errors, never a read outside the frame. */
    xb_ref bad = root;
    bad.where[0] = UINT64_C(0xFFFFFFF0);
    EXPECT_STATUS(xb_ref_int(&bad, "hp", XB_SELF, &hp, NULL), XB_ERR_MALFORMED);
    bad = root;
    bad.kind = XB_REF_LIST;
    EXPECT_STATUS(xb_ref_int(&bad, "hp", XB_SELF, &hp, NULL), XB_ERR_INVALID_ARG);
    bad = root;
    bad.type_id = 42;
    EXPECT_STATUS(xb_ref_int(&bad, "hp", XB_SELF, &hp, NULL), XB_ERR_UNKNOWN_TYPE);
    bad = strs;
    bad.depth = 7;
    EXPECT_STATUS(xb_ref_len(&bad, NULL, XB_SELF, &n), XB_ERR_INVALID_ARG);
    bad = root;
    bad.frame += 8;
    EXPECT_STATUS(xb_ref_int(&bad, "hp", XB_SELF, &hp, NULL), XB_ERR_OUT_OF_RANGE);

    /* Corrupted copies of the message, read without verification: every
     * call returns a status, whatever the byte. Verification rejects some. */
    uint8_t *copy = malloc(mon_len);
    int rejected = 0;
    for (uint64_t i = 0; i < mon_len; i++) {
        memcpy(copy, mon, mon_len);
        copy[i] ^= (uint8_t)(0x80 | i);
        EXPECT_OK(xb_region_reset(reg));
        xb_frame cf;
        EXPECT_OK(xb_frame_append(reg, XB_CODEC_FLATBUFFERS, id, copy, mon_len, &cf));
        xb_ref cr, c2;
        if (xb_ref_root(s, reg, &cf, id, 0, &cr) != XB_OK) rejected++;
        if (xb_ref_root(s, reg, &cf, id, XB_REF_NO_VERIFY, &cr) != XB_OK) continue;
        static const char *fields[] = {"name", "hp", "pos", "inventory", "test", "test4", "testarrayofstring",
                                       "enemy", "vector_of_doubles", "testarrayofbools"};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            int64_t iv;
            xb_str sv;
            xb_array av;
            uint64_t len;
            (void)xb_ref_int(&cr, fields[f], XB_SELF, &iv, NULL);
            (void)xb_ref_bytes(&cr, fields[f], XB_SELF, &sv, NULL);
            (void)xb_ref_array(&cr, fields[f], XB_SELF, &av, NULL);
            (void)xb_ref_len(&cr, fields[f], XB_SELF, &len);
            if (xb_ref_field(&cr, fields[f], XB_SELF, &c2, &present) == XB_OK && present) {
                (void)xb_ref_elem(&c2, 1, &el, NULL);
                (void)xb_ref_json(&c2, sc, &js, &js_len);
                (void)xb_ref_float(&c2, "x", XB_SELF, &x, NULL);
            }
        }
        int32_t st = xb_ref_json(&cr, sc, &js, &js_len);
        EXPECT(st == XB_OK || st == XB_ERR_MALFORMED, "byte %llu: %s", (unsigned long long)i, xb_status_name(st));
    }
    EXPECT(rejected > 0, "verification rejects some corruptions (%d)", rejected);
    free(copy);

    /* A reset makes refs stale; closed handles are errors. */
    EXPECT_STATUS(xb_ref_int(&root, "hp", XB_SELF, &hp, NULL), XB_ERR_STALE);
    EXPECT_OK(xb_frame_append(reg, XB_CODEC_FLATBUFFERS, id, mon, mon_len, &fr));
    EXPECT_OK(xb_ref_root(s, reg, &fr, id, 0, &root));
    EXPECT_OK(xb_scratch_free(sc));
    EXPECT_STATUS(xb_ref_json(&root, sc, &js, &js_len), XB_ERR_CLOSED);
    EXPECT_OK(xb_schema_free(s));
    EXPECT_STATUS(xb_ref_int(&root, "hp", XB_SELF, &hp, NULL), XB_ERR_CLOSED);
    EXPECT_OK(xb_region_close(reg));
    EXPECT_STATUS(xb_ref_root(s, reg, &fr, id, 0, &root), XB_ERR_CLOSED);
}

static void test_capnp(void) {
    if (!tool_installed("capnp")) {
        printf("SKIP test_refs capnp: the capnp tool is not installed (./build.sh test installs it)\n");
        return;
    }
    char path[8192], dir[8192];
    snprintf(path, sizeof path, "%s/capnp/capnp/test.capnp", conf);
    snprintf(dir, sizeof dir, "%s/capnp", conf);
    const char *dirs[] = {dir};
    xb_schema s;
    xb_region reg;
    xb_scratch sc;
    EXPECT_OK(xb_scratch_new(&sc));
    EXPECT_OK(xb_schema_compile(path, dirs, 1, &s));
    EXPECT_OK(xb_region_create_anon(1 << 20, &reg));
    uint64_t id = 0;
    EXPECT_OK(xb_schema_type_id(s, "TestAllTypes", &id));

    /* Null pointers, with and without schema defaults, are not held
     * (present 0), and read as capnp's getters read them: the Text, Data or
     * List default, else empty; a struct of defaults. Never a malformed
     * message. */
    uint64_t defaults_id = 0;
    EXPECT_OK(xb_schema_type_id(s, "TestDefaults", &defaults_id));
    const uint64_t null_ids[] = {id, defaults_id};
    static const char *want_text[] = {"", "foo"}, *want_data[] = {"", "bar"};
    for (size_t i = 0; i < 2; i++) {
        xb_frame empty;
        EXPECT_OK(xb_schema_encode_json(s, reg, null_ids[i], (const uint8_t *)"{}", 2, &empty));
        xb_ref root;
        EXPECT_OK(xb_ref_root(s, reg, &empty, null_ids[i], 0, &root));
        xb_str sv = {(const char *)"x", 1};
        uint8_t present = 1;
        EXPECT_OK(xb_ref_bytes(&root, "textField", XB_SELF, &sv, &present));
        EXPECT(!present && str_is(sv, want_text[i]), "null textField reads %s (%zu)", want_text[i], i);
        present = 1;
        EXPECT_OK(xb_ref_bytes(&root, "dataField", XB_SELF, &sv, &present));
        EXPECT(!present && str_is(sv, want_data[i]), "null dataField reads %s (%zu)", want_data[i], i);
        xb_array a;
        present = 1;
        EXPECT_OK(xb_ref_array(&root, "int16List", XB_SELF, &a, &present));
        int16_t i16[2] = {0, 0};
        if (a.len == 2) memcpy(i16, a.ptr, sizeof i16);
        EXPECT(!present && a.dtype == XB_DTYPE_I16 && (i == 0 ? a.len == 0 && a.ptr == NULL
                                                               : a.len == 2 && i16[0] == 11111 && i16[1] == -11111),
               "null int16List reads its default or nothing (%zu)", i);
        xb_ref child, el;
        present = 1;
        EXPECT_OK(xb_ref_field(&root, "int16List", XB_SELF, &child, &present));
        uint64_t n = 9;
        EXPECT_OK(xb_ref_len(&child, NULL, XB_SELF, &n));
        EXPECT(!present && child.kind == XB_REF_LIST && n == (i == 0 ? 0 : 2), "null int16List ref (%zu)", i);
        if (i == 1) {
            EXPECT_OK(xb_ref_elem(&child, 1, &el, &present));
            EXPECT(!present && get_int(&el, NULL) == -11111, "an element of the default");
        }
        EXPECT_OK(xb_ref_elem(&child, n, &el, &present));
        EXPECT(!present && el.kind == 0, "past the end (%zu)", i);
        present = 1;
        EXPECT_OK(xb_ref_field(&root, "structField", XB_SELF, &child, &present));
        EXPECT(!present && child.kind == XB_REF_STRUCT, "null structField reads as a struct (%zu)", i);
        EXPECT(get_int(&child, "int8Field") == 0 && get_int(&child, "uInt32Field") == 0,
               "of its fields' defaults (%zu)", i);
        EXPECT_OK(xb_ref_bytes(&child, "textField", XB_SELF, &sv, &present));
        EXPECT(!present && sv.len == 0, "a null Text in it (%zu)", i);
    }

    /* One segment, and several with far pointers: the same values. */
    static const char *files[] = {"binary", "segmented"};
    for (size_t i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "capnp/capnp/testdata/%s", files[i]);
        uint64_t len;
        uint8_t *msg = read_file(rel, &len);
        EXPECT(msg != NULL, "read %s", rel);
        if (!msg) continue;
        xb_frame fr;
        EXPECT_OK(xb_frame_append(reg, XB_CODEC_CAPNP, id, msg, len, &fr));
        free(msg);
        xb_ref root, sub, el;
        uint8_t present;
        EXPECT_OK(xb_ref_root(s, reg, &fr, id, 0, &root));
        EXPECT(root.kind == XB_REF_STRUCT, "%s: a struct", files[i]);
        EXPECT(get_int(&root, "int8Field") == -123 && get_int(&root, "int16Field") == -12345 &&
                   get_int(&root, "int32Field") == -12345678 && get_int(&root, "int64Field") == -123456789012345,
               "%s: signed fields", files[i]);
        EXPECT(get_int(&root, "boolField") == 1 && get_int(&root, "enumField") == 5, "%s: bool and enum", files[i]);
        uint64_t u = 0;
        EXPECT_OK(xb_ref_uint(&root, "uInt64Field", XB_SELF, &u, NULL));
        EXPECT(u == UINT64_C(12345678901234567890), "%s: uInt64Field", files[i]);
        int64_t iv;
        EXPECT_STATUS(xb_ref_int(&root, "uInt64Field", XB_SELF, &iv, NULL), XB_ERR_RANGE);
        EXPECT(strstr(xb_last_error(), "uInt64Field") != NULL, "names the field: %s", xb_last_error());
        EXPECT_STATUS(xb_ref_uint(&root, "int8Field", XB_SELF, &u, NULL), XB_ERR_RANGE);
        double f32 = 0, f64 = 0;
        EXPECT_OK(xb_ref_float(&root, "float32Field", XB_SELF, &f32, NULL));
        EXPECT_OK(xb_ref_float(&root, "float64Field", XB_SELF, &f64, NULL));
        EXPECT(f32 == 1234.5 && f64 == -1.23e47, "%s: floats %g %g", files[i], f32, f64);
        xb_str sv;
        EXPECT_OK(xb_ref_bytes(&root, "textField", XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "foo"), "%s: textField", files[i]);
        EXPECT_OK(xb_ref_bytes(&root, "dataField", XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "bar"), "%s: dataField", files[i]);

        sub = get_ref(&root, "structField");
        EXPECT(get_int(&sub, "int8Field") == -12, "%s: structField.int8Field", files[i]);
        xb_ref deeper = get_ref(&sub, "structField");
        xb_ref deepest = get_ref(&deeper, "structField");
        EXPECT_OK(xb_ref_bytes(&deepest, "textField", XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "really nested"), "%s: three structs down", files[i]);

        xb_array a;
        EXPECT_OK(xb_ref_array(&root, "int16List", XB_SELF, &a, &present));
        int16_t i16[2] = {0, 0};
        if (a.len == 2) memcpy(i16, a.ptr, sizeof i16);
        EXPECT(present && a.dtype == XB_DTYPE_I16 && a.len == 2 && i16[0] == 11111 && i16[1] == -11111,
               "%s: int16List", files[i]);
        EXPECT_OK(xb_ref_array(&root, "float64List", XB_SELF, &a, NULL));
        double f[4] = {0, 0, 0, 0};
        if (a.len == 4) memcpy(f, a.ptr, sizeof f);
        EXPECT(a.dtype == XB_DTYPE_F64 && f[0] == 7777.75 && isinf(f[1]) && f[1] > 0 && isinf(f[2]) && f[2] < 0 &&
                   isnan(f[3]),
               "%s: float64List", files[i]);
        EXPECT_STATUS(xb_ref_array(&root, "boolList", XB_SELF, &a, NULL), XB_ERR_INVALID_ARG);
        xb_ref bl = get_ref(&root, "boolList");
        static const int want_bools[] = {1, 0, 0, 1};
        for (uint64_t k = 0; k < 4; k++) {
            EXPECT_OK(xb_ref_elem(&bl, k, &el, &present));
            EXPECT(get_int(&el, NULL) == want_bools[k], "%s: boolList[%llu]", files[i], (unsigned long long)k);
        }
        xb_ref tl = get_ref(&root, "textList");
        EXPECT_OK(xb_ref_elem(&tl, 1, &el, &present));
        EXPECT_OK(xb_ref_bytes(&el, NULL, XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "xyzzy"), "%s: textList[1]", files[i]);
        xb_ref sl = get_ref(&root, "structList");
        uint64_t n = 0;
        EXPECT_OK(xb_ref_len(&sl, NULL, XB_SELF, &n));
        EXPECT(n == 3, "%s: 3 structs", files[i]);
        EXPECT_OK(xb_ref_elem(&sl, 2, &el, &present));
        EXPECT_OK(xb_ref_bytes(&el, "textField", XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "structlist 3"), "%s: structList[2].textField", files[i]);
        xb_ref dl = get_ref(&root, "dataList");
        EXPECT_OK(xb_ref_elem(&dl, 0, &el, &present));
        EXPECT_OK(xb_ref_bytes(&el, NULL, XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "oops"), "%s: dataList[0]", files[i]);
        EXPECT_STATUS(xb_ref_union(&root, NULL, XB_SELF, &iv, NULL, NULL, NULL), XB_ERR_INVALID_ARG);
        if (i == 1) test_encode_json(s, reg, sc, &fr, id, "", "int64Field", -123456789012345);
    }
    {
        xb_builder b;
        xb_frame fr;
        xb_ref root, el;
        EXPECT_OK(xb_builder_new(s, id, &b));
        EXPECT_OK(xb_builder_set_uint(b, "uInt64Field", XB_SELF, UINT64_C(12345678901234567890)));
        EXPECT_STATUS(xb_builder_set_int(b, "uInt8Field", XB_SELF, -1), XB_ERR_INVALID_RECORD);
        EXPECT_OK(xb_builder_set_bytes(b, "dataField", XB_SELF, (const uint8_t *)"raw", 3));
        EXPECT_OK(xb_builder_begin(b, "structList", XB_SELF));
        EXPECT_OK(xb_builder_begin(b, NULL, XB_SELF));
        EXPECT_OK(xb_builder_set_string(b, "textField", XB_SELF, (const uint8_t *)"elem", 4));
        EXPECT_OK(xb_builder_end(b));
        EXPECT_OK(xb_builder_end(b));
        EXPECT_OK(xb_builder_finish(b, reg, &fr));
        EXPECT_OK(xb_builder_free(b));
        EXPECT_OK(xb_ref_root(s, reg, &fr, id, 0, &root));
        uint64_t u = 0;
        xb_str sv;
        EXPECT_OK(xb_ref_uint(&root, "uInt64Field", XB_SELF, &u, NULL));
        EXPECT_OK(xb_ref_bytes(&root, "dataField", XB_SELF, &sv, NULL));
        EXPECT(u == UINT64_C(12345678901234567890) && str_is(sv, "raw"), "built TestAllTypes");
        xb_ref sl = get_ref(&root, "structList");
        EXPECT_OK(xb_ref_elem(&sl, 0, &el, NULL));
        EXPECT_OK(xb_ref_bytes(&el, "textField", XB_SELF, &sv, NULL));
        EXPECT(str_is(sv, "elem"), "built structList[0]");
    }
    EXPECT_OK(xb_region_close(reg));
    EXPECT_OK(xb_schema_free(s));
    EXPECT_OK(xb_scratch_free(sc));
}

/* ---- Cap'n Proto null pointers: paths, refs and the decode agree ---------
 * The schema of go/schema/capnp_null_test.go. The messages are capnp's own
 * (capnp encode), with some list elements and a union member's pointer
 * then set null, which capnp's text format cannot write. */
static const char null_capnp[] =
    "@0xc0ffee1234567891;\n"
    "struct Inner { name @0 :Text; n @1 :Int32 = 7; blob @2 :Data; nums @3 :List(Int16); label @4 :Text = \"dflt\"; }\n"
    "struct Root {\n"
    "  name @0 :Text; blob @1 :Data; nums @2 :List(Int32); inner @3 :Inner; texts @4 :List(Text);\n"
    "  blobs @5 :List(Data); lists @6 :List(List(Int16)); inners @7 :List(Inner);\n"
    "  u :union { none @8 :Void; text @9 :Text; obj @10 :Inner; list @11 :List(UInt8); }\n"
    "}\n";

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The word, in the segment, of pointer ptr of the root struct (capnp writes
 * a one-segment message with near pointers; pointers are numbered in
 * ordinal order: Root's u members share pointer 8). */
static int64_t root_pointer(const uint8_t *seg, unsigned ptr) {
    uint64_t root = rd64(seg);
    return 1 + ((int32_t)(uint32_t)root >> 2) + (uint16_t)(root >> 32) + ptr;
}

/* Sets element i of the list of pointers the pointer at word w leads to null. */
static void null_element(uint8_t *seg, int64_t w, unsigned i) {
    int64_t list = w + 1 + ((int32_t)(uint32_t)rd64(seg + 8 * w) >> 2);
    memset(seg + 8 * (list + (int64_t)i), 0, 8);
}

static uint8_t *capnp_encode(const char *dir, const char *text, uint64_t *len) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && echo '%s' | capnp encode null.capnp Root", dir, text);
    FILE *p = popen(cmd, "r");
    uint8_t *b = malloc(1 << 16);
    *len = p ? fread(b, 1, 1 << 16, p) : 0;
    EXPECT(p && pclose(p) == 0 && *len > 8, "%s", cmd);
    return b;
}

/* What a path reads: its value ('s' text or data, 'i' an integer, 'l' a
 * list's length) and present. */
struct null_want {
    const char *path;
    char kind;
    const char *s;
    int64_t n;
    uint8_t present;
};

static void expect_paths(xb_schema s, xb_region reg, const xb_frame *fr, uint64_t id, const char *what,
                         const struct null_want *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        xb_path p;
        int32_t kind = 0;
        if (xb_path_compile(s, id, w[i].path, &p, &kind) != XB_OK) {
            EXPECT(0, "%s: compile %s", what, w[i].path);
            continue;
        }
        uint8_t present = 9;
        int ok = 0;
        if (w[i].kind == 's') {
            xb_str v = {(const char *)"?", 1};
            EXPECT_OK(xb_path_read(p, reg, fr, 1, &v, &present));
            ok = str_is(v, w[i].s) && (v.len || v.ptr == NULL);
        } else if (w[i].kind == 'l') {
            xb_array v = {(const void *)"?", 9, 0, 0};
            EXPECT_OK(xb_path_read(p, reg, fr, 1, &v, &present));
            ok = v.len == (uint64_t)w[i].n && (v.len || v.ptr == NULL);
        } else {
            int64_t v = -999;
            EXPECT_OK(xb_path_read(p, reg, fr, 1, &v, &present));
            ok = v == (present ? w[i].n : 0);
        }
        EXPECT(ok && present == w[i].present, "%s: %s reads as capnp's getter (present %d)", what, w[i].path,
               present);
        EXPECT_OK(xb_path_free(p));
    }
}

static void test_capnp_null_pointers(void) {
    if (!tool_installed("capnp")) {
        printf("SKIP test_refs capnp null pointers: the capnp tool is not installed\n");
        return;
    }
    char dir[] = "/tmp/xb_test_refs_null_XXXXXX", path[256];
    if (!mkdtemp(dir)) {
        EXPECT(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/null.capnp", dir);
    FILE *f = fopen(path, "w");
    EXPECT(f && fputs(null_capnp, f) >= 0 && fclose(f) == 0, "write %s", path);
    xb_schema s;
    xb_region reg;
    xb_scratch sc;
    uint64_t id = 0, len = 0;
    EXPECT_OK(xb_schema_compile(path, NULL, 0, &s));
    EXPECT_OK(xb_region_create_anon(1 << 20, &reg));
    EXPECT_OK(xb_scratch_new(&sc));
    EXPECT_OK(xb_schema_type_id(s, "Root", &id));

    /* Everything null. */
    uint8_t *msg = capnp_encode(dir, "()", &len);
    xb_frame empty, elems;
    EXPECT_OK(xb_frame_append(reg, XB_CODEC_CAPNP, id, msg, len, &empty));
    free(msg);
    static const struct null_want empty_want[] = {
        {"name", 's', "", 0, 1},         {"blob", 's', "", 0, 1},        {"nums", 'l', NULL, 0, 1},
        {"inner.name", 's', "", 0, 1},   {"inner.n", 'i', NULL, 7, 1},   {"inner.label", 's', "dflt", 0, 1},
        {"inner.nums", 'l', NULL, 0, 1}, {"texts[0]", 's', "", 0, 0},    {"lists[0][0]", 'i', NULL, 0, 0},
        {"u.text", 's', "", 0, 0},       {"u.obj.n", 'i', NULL, 0, 0},   {"u.list", 'l', NULL, 0, 0},
    };
    expect_paths(s, reg, &empty, id, "()", empty_want, sizeof empty_want / sizeof empty_want[0]);

    /* Null list elements and a union member whose pointer is null. */
    msg = capnp_encode(dir, "(inner = (), texts = [\"a\", \"\"], blobs = [\"\", \"x\"], lists = [[1], []], "
                            "inners = [()], u = (text = \"\"))", &len);
    uint8_t *seg = msg + 8;
    if (len > 16 && rd64(msg) == (uint64_t)(len / 8 - 1) << 32) { /* one segment filling the message */
        null_element(seg, root_pointer(seg, 4), 1);
        null_element(seg, root_pointer(seg, 5), 0);
        null_element(seg, root_pointer(seg, 6), 1);
        memset(seg + 8 * root_pointer(seg, 8), 0, 8);
    } else {
        EXPECT(0, "capnp wrote one segment");
    }
    EXPECT_OK(xb_frame_append(reg, XB_CODEC_CAPNP, id, msg, len, &elems));
    free(msg);
    static const struct null_want elems_want[] = {
        {"texts[0]", 's', "a", 0, 1},    {"texts[1]", 's', "", 0, 1},          {"blobs[0]", 's', "", 0, 1},
        {"blobs[1]", 's', "x", 0, 1},    {"lists[0][0]", 'i', NULL, 1, 1},     {"lists[1]", 'l', NULL, 0, 1},
        {"lists[1][0]", 'i', NULL, 0, 0}, {"inners[0].n", 'i', NULL, 7, 1},    {"inners[0].label", 's', "dflt", 0, 1},
        {"inner.label", 's', "dflt", 0, 1}, {"u.text", 's', "", 0, 1},        {"u.obj.n", 'i', NULL, 0, 0},
    };
    expect_paths(s, reg, &elems, id, "elements", elems_want, sizeof elems_want / sizeof elems_want[0]);
    /* The decode gives list elements and the union member as capnp does. */
    const uint8_t *js = NULL;
    uint64_t js_len = 0;
    EXPECT_OK(xb_schema_frame_to_json(s, reg, sc, &elems, &js, &js_len));
    const char *want_js[] = {"\"texts\":[\"a\",\"\"]", "\"blobs\":[[],[120]]", "\"lists\":[[1],[]]", "\"text\":\"\""};
    for (size_t i = 0; i < 4; i++) {
        EXPECT(js && memmem(js, js_len, want_js[i], strlen(want_js[i])) != NULL, "decode holds %s: %.*s", want_js[i],
               (int)js_len, js ? (const char *)js : "");
    }

    /* Refs read the same values; present says whether the message holds it. */
    xb_ref root, r, el;
    xb_str sv;
    uint8_t present = 9;
    EXPECT_OK(xb_ref_root(s, reg, &empty, id, 0, &root));
    EXPECT_OK(xb_ref_field(&root, "inner", XB_SELF, &r, &present));
    EXPECT(!present && r.kind == XB_REF_STRUCT && get_int(&r, "n") == 7, "null inner: a struct of defaults");
    EXPECT_OK(xb_ref_bytes(&r, "label", XB_SELF, &sv, &present));
    EXPECT(!present && str_is(sv, "dflt"), "null inner.label: its default");
    EXPECT_OK(xb_ref_bytes(&root, "name", XB_SELF, &sv, &present));
    EXPECT(!present && sv.len == 0, "null name: empty");
    r = get_ref(&root, "u");
    EXPECT_OK(xb_ref_field(&r, "text", XB_SELF, &el, &present));
    EXPECT(!present && el.kind == 0, "u holds none: u.text has no value");
    EXPECT_OK(xb_ref_root(s, reg, &elems, id, 0, &root));
    r = get_ref(&root, "texts");
    EXPECT_OK(xb_ref_elem(&r, 1, &el, &present));
    EXPECT(!present && el.kind == XB_REF_VALUE, "null texts[1] has a ref");
    sv.len = 9;
    EXPECT_OK(xb_ref_bytes(&el, NULL, XB_SELF, &sv, &present));
    EXPECT(sv.len == 0, "null texts[1] reads empty");
    r = get_ref(&root, "u");
    EXPECT_OK(xb_ref_bytes(&r, "text", XB_SELF, &sv, &present));
    EXPECT(!present && sv.len == 0, "the null union member reads empty");
    r = get_ref(&root, "inners");
    EXPECT_OK(xb_ref_elem(&r, 0, &el, &present));
    EXPECT_OK(xb_ref_bytes(&el, "label", XB_SELF, &sv, &present));
    EXPECT(!present && str_is(sv, "dflt"), "inners[0].label: its default");

    EXPECT_OK(xb_region_close(reg));
    EXPECT_OK(xb_schema_free(s));
    EXPECT_OK(xb_scratch_free(sc));
    unlink(path);
    rmdir(dir);
}

int main(void) {
    if (xb_check_abi() != XB_OK) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    EXPECT(strcmp(xb_status_name(XB_ERR_RANGE), "XB_ERR_RANGE") == 0, "status name");
    if (!have_conformance()) {
        printf("SKIP test_refs: no conformance data at %s (set CROSSBUF_CONFORMANCE)\n", conf);
    } else if (!(mon = read_file("flatbuffers/monsterdata_test.mon", &mon_len)) ||
               !(bfbs = read_file("flatbuffers/monster_test.bfbs", &bfbs_len))) {
        EXPECT(0, "conformance data at %s lacks flatbuffers/monster_test.bfbs or monsterdata_test.mon", conf);
    } else {
        test_monster();
        test_capnp();
        test_capnp_null_pointers();
    }
    free(mon);
    free(bfbs);
    printf("test_refs: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
