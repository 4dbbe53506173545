/* Your own schema from C: compile a FlatBuffers schema at run time, encode a
 * message from JSON into a region, and read it back in place through refs.
 * Needs flatc on PATH (or load a .bfbs with xb_schema_load instead).
 * Build: cc schema_example.c $(pkg-config --cflags --libs crossbuf) */
#define _GNU_SOURCE /* mkdtemp */
#include <crossbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != XB_OK) {                                                        \
            fprintf(stderr, "%s: %s\n", #call, xb_last_error());                      \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static const char schema_text[] =
    "namespace shop;\n"
    "struct Point { x: float; y: float; }\n"
    "table Item { sku: string; qty: uint16 = 1; }\n"
    "table Order { id: uint64; customer: string; where: Point; items: [Item]; weights: [float]; }\n"
    "root_type Order;\n";

static const char order_json[] =
    "{\"id\": 18000000000000000000, \"customer\": \"Ada\", \"where\": {\"x\": 1.5, \"y\": -2},"
    " \"items\": [{\"sku\": \"tea\", \"qty\": 3}, {\"sku\": \"cup\"}], \"weights\": [0.25, 0.5]}";

int main(void) {
    CHECK(xb_check_abi());

    char dir[] = "/tmp/xb-schema-example-XXXXXX", path[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/shop.fbs", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(schema_text, f) < 0 || fclose(f) != 0) return 1;
    xb_schema schema;
    int32_t st = xb_schema_compile(path, NULL, 0, &schema);
    unlink(path);
    rmdir(dir);
    CHECK(st);
    uint64_t order;
    CHECK(xb_schema_type_id(schema, "shop.Order", &order));

    xb_region region;
    xb_frame frame;
    CHECK(xb_region_create_anon(1 << 20, &region));
    CHECK(xb_schema_encode_json(schema, region, order, (const uint8_t *)order_json, strlen(order_json), &frame));

    /* Refs are plain values: no allocation, nothing to free. Strings point
     * into the region. Look a field's index up once to skip the name. */
    xb_ref root, where, items, item;
    CHECK(xb_ref_root(schema, region, &frame, order, 0, &root));
    uint64_t id;
    xb_str customer;
    CHECK(xb_ref_uint(&root, "id", XB_SELF, &id, NULL));
    CHECK(xb_ref_bytes(&root, "customer", XB_SELF, &customer, NULL));
    CHECK(xb_ref_field(&root, "where", XB_SELF, &where, NULL));
    double x, y;
    CHECK(xb_ref_float(&where, "x", XB_SELF, &x, NULL));
    CHECK(xb_ref_float(&where, "y", XB_SELF, &y, NULL));
    printf("order %llu for %.*s at (%g, %g)\n", (unsigned long long)id, (int)customer.len, customer.ptr, x, y);

    uint64_t item_type;
    int32_t qty_index;
    CHECK(xb_schema_type_id(schema, "shop.Item", &item_type));
    CHECK(xb_schema_field_index(schema, item_type, "qty", &qty_index));
    CHECK(xb_ref_field(&root, "items", XB_SELF, &items, NULL));
    uint64_t n;
    CHECK(xb_ref_len(&items, NULL, XB_SELF, &n));
    for (uint64_t i = 0; i < n; i++) {
        xb_str sku;
        uint64_t qty;
        uint8_t present;
        CHECK(xb_ref_elem(&items, i, &item, NULL));
        CHECK(xb_ref_bytes(&item, "sku", XB_SELF, &sku, NULL));
        CHECK(xb_ref_uint(&item, NULL, qty_index, &qty, &present)); /* absent: the default, 1 */
        printf("  %llu x %.*s%s\n", (unsigned long long)qty, (int)sku.len, sku.ptr, present ? "" : " (default)");
    }
    xb_array weights;
    CHECK(xb_ref_array(&root, "weights", XB_SELF, &weights, NULL));
    for (uint64_t i = 0; i < weights.len && weights.dtype == XB_DTYPE_F32; i++) {
        float w;
        memcpy(&w, (const uint8_t *)weights.ptr + 4 * i, 4); /* in place; not necessarily aligned */
        printf("  weight %g\n", w);
    }

    /* A value its field cannot hold is refused, naming the field. */
    const char *bad = "{\"customer\": \"Bob\", \"items\": [{\"qty\": 70000}]}";
    if (xb_schema_encode_json(schema, region, order, (const uint8_t *)bad, strlen(bad), &frame) == XB_ERR_INVALID_RECORD)
        printf("refused: %s\n", xb_last_error());

    CHECK(xb_region_close(region));
    CHECK(xb_schema_free(schema));
    return 0;
}
