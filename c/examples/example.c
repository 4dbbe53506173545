/* Encode log entries into a region with FlatBuffers, read one field of each
 * in place, and print one as JSON.
 *
 * The bundled records cross the C ABI as MessagePack (any MessagePack
 * library writes them; here the library's own seeded test records). Fields
 * of FlatBuffers and Cap'n Proto frames are read where they lie through
 * paths compiled on the bundled schema, which is installed with the library
 * in `pkg-config --variable=schemadir crossbuf`.
 *
 * Build:
 *   cc example.c $(pkg-config --cflags --libs crossbuf) \
 *      -DXB_SCHEMA_DIR="\"$(pkg-config --variable=schemadir crossbuf)\""
 * Run: ./example [SCHEMA_DIR]   (else $CROSSBUF_SCHEMA_DIR, else XB_SCHEMA_DIR) */
#include <crossbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef XB_SCHEMA_DIR
#define XB_SCHEMA_DIR "/usr/local/share/crossbuf"
#endif

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != XB_OK) {                                                        \
            fprintf(stderr, "%s: %s\n", #call, xb_last_error());                      \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

enum { N = 3 };

int main(int argc, char **argv) {
    CHECK(xb_check_abi());

    /* The bundled schema, for paths into the bundled records. */
    const char *dir = argc > 1 ? argv[1] : getenv("CROSSBUF_SCHEMA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/crossbuf.bfbs", dir && *dir ? dir : XB_SCHEMA_DIR);
    xb_schema schema;
    CHECK(xb_schema_load_file(path, XB_SCHEMA_BFBS, &schema));

    /* N seeded LogEntry records as one MessagePack array: 0x90 | N is the
     * header of an array of N < 16 elements, then the records one after
     * another. Each xb_generate call reuses the scratch, so copy them out. */
    xb_scratch scratch;
    CHECK(xb_scratch_new(&scratch));
    static uint8_t records[N * 4096];
    uint64_t len = 0;
    records[len++] = 0x90 | N;
    for (uint64_t seed = 1; seed <= N; seed++) {
        const uint8_t *rec;
        uint64_t rec_len;
        CHECK(xb_generate(scratch, XB_RECORD_LOG_ENTRY, seed, 0, XB_CODEC_MSGPACK, &rec, &rec_len));
        if (len + rec_len > sizeof records) {
            fprintf(stderr, "record %llu is too large for this example\n", (unsigned long long)seed);
            return 1;
        }
        memcpy(records + len, rec, rec_len);
        len += rec_len;
    }

    /* One call encodes them all, FlatBuffers built in place in the region. */
    xb_region region;
    xb_frame frames[N];
    CHECK(xb_region_create_anon(1 << 20, &region));
    CHECK(xb_encode(region, XB_CODEC_FLATBUFFERS, XB_RECORD_LOG_ENTRY, records, len, N, frames, NULL));

    /* Paths are compiled once, then read in any number of frames: the
     * strings point into the region, nothing is copied or decoded. */
    uint64_t type_id;
    xb_path service, status;
    CHECK(xb_schema_type_id(schema, "crossbuf_fb.LogEntry", &type_id));
    CHECK(xb_path_compile(schema, type_id, "service", &service, NULL));
    CHECK(xb_path_compile(schema, type_id, "http.status", &status, NULL));
    xb_str services[N];
    uint64_t statuses[N];
    CHECK(xb_path_read(service, region, frames, N, services, NULL));
    CHECK(xb_path_read(status, region, frames, N, statuses, NULL));
    for (int i = 0; i < N; i++)
        printf("frame at %llu: %.*s, HTTP %llu\n", (unsigned long long)frames[i].offset, (int)services[i].len,
               services[i].ptr, (unsigned long long)statuses[i]);

    /* The whole record, decoded into the scratch as JSON (an array of one). */
    const uint8_t *json;
    uint64_t json_len;
    CHECK(xb_decode(region, scratch, &frames[0], 1, XB_CODEC_JSON, &json, &json_len));
    printf("%.*s\n", (int)json_len, (const char *)json);

    CHECK(xb_path_free(service));
    CHECK(xb_path_free(status));
    CHECK(xb_schema_free(schema));
    CHECK(xb_scratch_free(scratch));
    CHECK(xb_region_close(region));
    return 0;
}
