/* Tests of channels through include/crossbuf.h: round trips, batches, the
 * three full-ring policies, timeouts, close racing a blocked receive, latency
 * quantiles and handles of the wrong kind. */
#define _GNU_SOURCE
#include <crossbuf.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define MS INT64_C(1000000)

static char name_buf[64];

/* A fresh channel name of this process; any leftover of an earlier run is removed. */
static const char *chan_name(const char *what) {
    snprintf(name_buf, sizeof name_buf, "xb-test-chan-%s-%d", what, (int)getpid());
    xb_channel_unlink(name_buf);
    return name_buf;
}

static void fill(uint8_t *p, uint64_t n, uint64_t seed) {
    for (uint64_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 131 + i * 7);
}

static int check_fill(const uint8_t *p, uint64_t n, uint64_t seed) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 131 + i * 7)) return 0;
    return 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_round_trip(void) {
    char name[sizeof name_buf];
    snprintf(name, sizeof name, "%s", chan_name("rt"));
    xb_channel ch, reader;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 1 << 16, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_STATUS(xb_channel_create(name, 1 << 16, XB_POLICY_BLOCK, 0, &reader), XB_ERR_EXISTS);
    EXPECT_OK(xb_channel_open(name, XB_OPEN_READ_ONLY, &reader));
    EXPECT_OK(xb_channel_subscribe(reader, XB_WAIT_SPIN_THEN_PARK, NULL, &sub));
    uint8_t buf[1000];
    for (uint64_t i = 0; i < 5; i++) {
        fill(buf, 100 + i, i);
        xb_frame pub;
        EXPECT_OK(xb_channel_publish(ch, XB_CODEC_MSGPACK, 40 + i, buf, 100 + i, 0, &pub));
        EXPECT(pub.type_id == 40 + i && pub.codec == XB_CODEC_MSGPACK && pub.publish_ns > 0, "published frame %d",
               (int)i);
    }
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 9, NULL, 0, 0, NULL)); /* empty frame */
    for (uint64_t i = 0; i < 5; i++) {
        xb_frame f;
        EXPECT_OK(xb_subscriber_receive(sub, 1000 * MS, &f));
        EXPECT(f.payload_len == 100 + i && f.type_id == 40 + i && f.codec == XB_CODEC_MSGPACK &&
                   check_fill(f.payload, f.payload_len, i),
               "frame %d: len %llu type %llu", (int)i, (unsigned long long)f.payload_len,
               (unsigned long long)f.type_id);
    }
    xb_frame f;
    EXPECT_OK(xb_subscriber_receive(sub, 0, &f));
    EXPECT(f.payload_len == 0 && f.type_id == 9 && f.codec == XB_CODEC_JSON, "empty frame");
    EXPECT_OK(xb_subscriber_release(sub));
    EXPECT_STATUS(xb_subscriber_receive(sub, 0, &f), XB_ERR_TIMEOUT);
    double t0 = now_s();
    EXPECT_STATUS(xb_subscriber_receive(sub, 20 * MS, &f), XB_ERR_TIMEOUT);
    EXPECT(now_s() - t0 >= 0.019, "a 20 ms timeout returned after %.3f s", now_s() - t0);

    /* A subscribe-only open cannot publish. */
    EXPECT_STATUS(xb_channel_publish(reader, XB_CODEC_JSON, 1, buf, 10, 0, NULL), XB_ERR_READ_ONLY);
    /* Bad arguments. */
    EXPECT_STATUS(xb_channel_publish(ch, 99, 1, buf, 10, 0, NULL), XB_ERR_UNKNOWN_CODEC);
    EXPECT_STATUS(xb_channel_publish(ch, XB_CODEC_JSON, 1, NULL, 10, 0, NULL), XB_ERR_INVALID_ARG);
    static uint8_t big[1 << 16];
    EXPECT_STATUS(xb_channel_publish(ch, XB_CODEC_JSON, 1, big, sizeof big, 0, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_subscribe(ch, 7, NULL, &sub), XB_ERR_INVALID_ARG);
    xb_channel bad;
    EXPECT_STATUS(xb_channel_create("a/b", 4096, XB_POLICY_BLOCK, 0, &bad), XB_ERR_BAD_NAME);
    EXPECT_STATUS(xb_channel_create(chan_name("x"), 4096, 3, 0, &bad), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_open(chan_name("missing"), 0, &bad), XB_ERR_NOT_FOUND);

    /* Stats and latency. */
    xb_channel_stats st;
    EXPECT_OK(xb_channel_get_stats(ch, &st));
    EXPECT(st.capacity == 1 << 16 && st.frames_published == 6 && st.bytes_published == 5 * 100 + 10 &&
               st.policy == XB_POLICY_BLOCK && st.subscribers == 1 && st.latency_count == 6 && st.used == 0,
           "stats: cap %llu frames %llu bytes %llu subs %u lat %llu used %llu", (unsigned long long)st.capacity,
           (unsigned long long)st.frames_published, (unsigned long long)st.bytes_published, st.subscribers,
           (unsigned long long)st.latency_count, (unsigned long long)st.used);
    double q[3] = {0.5, 0.99, 0.999};
    uint64_t lat[3], count = 0;
    EXPECT_OK(xb_channel_latency(ch, -1, q, lat, 3, &count));
    EXPECT(count == 6 && lat[0] > 0 && lat[0] <= lat[1] && lat[1] <= lat[2], "latency %llu %llu %llu (%llu)",
           (unsigned long long)lat[0], (unsigned long long)lat[1], (unsigned long long)lat[2],
           (unsigned long long)count);
    int32_t idx = -5;
    EXPECT_OK(xb_subscriber_index(sub, &idx));
    EXPECT_OK(xb_channel_latency(reader, idx, q, lat, 3, &count));
    EXPECT(count == 6, "subscriber %d count %llu", idx, (unsigned long long)count);
    EXPECT_STATUS(xb_channel_latency(ch, idx + 1, q, lat, 3, &count), XB_ERR_OUT_OF_RANGE);
    double badq = 1.5;
    EXPECT_STATUS(xb_channel_latency(ch, -1, &badq, lat, 1, NULL), XB_ERR_INVALID_ARG);

    /* The subscriber table: one entry, nothing left to read. */
    xb_subscriber_stats subs[4];
    uint64_t nsubs = 0;
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 1, buf, 100, 0, NULL));
    EXPECT_OK(xb_channel_subscribers(ch, subs, 4, &nsubs));
    EXPECT(nsubs == 1 && subs[0].index == idx && subs[0].group == -1 && subs[0].frames == 6 && subs[0].lag_frames == 1 &&
               subs[0].lag_bytes == 192 && subs[0].bytes == 510,
           "subscribers: n %llu index %d frames %llu lag %llu/%llu bytes %llu", (unsigned long long)nsubs,
           subs[0].index, (unsigned long long)subs[0].frames, (unsigned long long)subs[0].lag_frames,
           (unsigned long long)subs[0].lag_bytes, (unsigned long long)subs[0].bytes);
    EXPECT_OK(xb_channel_subscribers(ch, NULL, 0, &nsubs));
    EXPECT(nsubs == 1, "count only: %llu", (unsigned long long)nsubs);

    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_STATUS(xb_subscriber_close(sub), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_subscriber_receive(sub, 0, &f), XB_ERR_CLOSED);
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(reader));
    EXPECT_OK(xb_channel_close(ch));
    EXPECT_STATUS(xb_channel_close(ch), XB_ERR_CLOSED);
}

static void test_batch(void) {
    const char *name = chan_name("batch");
    xb_channel ch;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 1 << 16, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_BUSY_SPIN, NULL, &sub));
    enum { N = 40 };
    uint64_t lens[N], total = 0;
    for (int i = 0; i < N; i++) total += lens[i] = (uint64_t)(i * 13 % 200);
    uint8_t *data = malloc(total), *p = data;
    for (int i = 0; i < N; i++) {
        fill(p, lens[i], (uint64_t)i);
        p += lens[i];
    }
    uint64_t done = 99;
    EXPECT_OK(xb_channel_publish_batch(ch, XB_CODEC_FLATBUFFERS, 7, data, lens, N, 0, &done));
    EXPECT(done == N, "n_done %llu", (unsigned long long)done);
    xb_frame frames[64];
    uint64_t got = 0, n;
    while (got < N) {
        EXPECT_OK(xb_subscriber_receive_batch(sub, frames + got, 64 - got, 1000 * MS, &n));
        if (n == 0) break;
        got += n;
    }
    EXPECT(got == N, "received %llu of %d", (unsigned long long)got, N);
    for (uint64_t i = 0; i < got; i++)
        EXPECT(frames[i].payload_len == lens[i] && frames[i].type_id == 7 &&
                   check_fill(frames[i].payload, lens[i], i),
               "batch frame %d", (int)i);
    EXPECT_OK(xb_subscriber_release(sub));
    EXPECT_STATUS(xb_subscriber_receive_batch(sub, frames, 0, 0, &n), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_subscriber_receive_batch(sub, frames, 64, 0, &n), XB_ERR_TIMEOUT);
    EXPECT(n == 0, "n %llu after a timeout", (unsigned long long)n);
    free(data);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

/* Fail: a full ring is XB_ERR_FULL at once, and a batch reports exactly how
 * many frames it committed. Block: a full ring times out. */
static void test_full(void) {
    const char *name = chan_name("fail");
    xb_channel ch;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_FAIL, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_SPIN_THEN_PARK, NULL, &sub));
    static uint8_t buf[10 * 1000];
    uint64_t lens[10];
    for (int i = 0; i < 10; i++) {
        lens[i] = 1000;
        fill(buf + i * 1000, 1000, (uint64_t)i);
    }
    uint64_t done = 99;
    EXPECT_STATUS(xb_channel_publish_batch(ch, XB_CODEC_JSON, 1, buf, lens, 10, 0, &done), XB_ERR_FULL);
    EXPECT(done >= 1 && done < 10, "n_done %llu", (unsigned long long)done);
    EXPECT_STATUS(xb_channel_publish(ch, XB_CODEC_JSON, 1, buf, 1000, 0, NULL), XB_ERR_FULL);
    xb_frame frames[16];
    uint64_t n = 0;
    EXPECT_OK(xb_subscriber_receive_batch(sub, frames, 16, 0, &n));
    EXPECT(n == done, "received %llu, published %llu", (unsigned long long)n, (unsigned long long)done);
    for (uint64_t i = 0; i < n; i++) EXPECT(check_fill(frames[i].payload, 1000, i), "frame %d", (int)i);
    EXPECT_OK(xb_subscriber_release(sub));
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 1, buf, 1000, 0, NULL)); /* room again */
    xb_channel_stats st;
    EXPECT_OK(xb_channel_get_stats(ch, &st));
    EXPECT(st.full_fails >= 2, "full_fails %llu", (unsigned long long)st.full_fails);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));

    name = chan_name("block");
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    int32_t rc = XB_OK;
    int i = 0;
    for (; i < 10 && rc == XB_OK; i++) rc = xb_channel_publish(ch, XB_CODEC_JSON, 1, buf, 1000, 10 * MS, NULL);
    EXPECT(rc == XB_ERR_TIMEOUT && i > 1, "block: %s after %d frames", xb_status_name(rc), i);
    EXPECT_OK(xb_channel_get_stats(ch, &st));
    EXPECT(st.full_waits >= 1, "full_waits %llu", (unsigned long long)st.full_waits);
    EXPECT_OK(xb_subscriber_close(sub)); /* no subscriber: nothing holds the ring */
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 1, buf, 1000, 0, NULL));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

/* A group member holds every frame it received until it releases, across
 * single receives: a full FAIL ring refuses publishers instead. */
static void test_group_holds(void) {
    const char *name = chan_name("group");
    xb_channel ch;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_FAIL, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, "workers", &sub));
    uint8_t buf[184];
    xb_frame f[8];
    for (int i = 0; i < 8; i++) {
        fill(buf, sizeof buf, (uint64_t)i);
        EXPECT_OK(xb_channel_publish(ch, XB_CODEC_MSGPACK, 0, buf, sizeof buf, 0, NULL));
    }
    for (int i = 0; i < 8; i++) EXPECT_OK(xb_subscriber_receive(sub, 0, &f[i]));
    memset(buf, 'z', sizeof buf);
    int more = 0;
    while (xb_channel_publish(ch, XB_CODEC_MSGPACK, 0, buf, sizeof buf, 0, NULL) == XB_OK && more < 1000) more++;
    EXPECT(more < 1000, "a full ring refuses publishers");
    for (int i = 0; i < 8; i++) EXPECT(check_fill(f[i].payload, sizeof buf, (uint64_t)i), "held frame %d intact", i);
    EXPECT_OK(xb_subscriber_release(sub));
    xb_frame g;
    EXPECT_OK(xb_subscriber_receive(sub, 0, &g)); /* the next one: a 'z' frame */
    EXPECT(g.payload_len == sizeof buf && g.payload[0] == 'z', "after release, the frames published later");
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

/* xb_channel_end: what came before, then XB_ERR_ENDED, never a hang; a
 * subscriber whose publishers all closed gets XB_ERR_PUBLISHER_GONE. */
static void test_end_of_stream(void) {
    const char *name = chan_name("end");
    xb_channel ch, pub;
    xb_subscriber sub;
    xb_frame f;
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    EXPECT_OK(xb_channel_open(name, 0, &pub));
    EXPECT_OK(xb_channel_publish(pub, XB_CODEC_MSGPACK, 0, (const uint8_t *)"a", 1, 0, NULL));
    EXPECT_OK(xb_channel_close(pub));
    EXPECT_OK(xb_subscriber_receive(sub, -1, &f));
    EXPECT(f.payload_len == 1 && f.payload[0] == 'a', "the frame before the publisher left");
    EXPECT_STATUS(xb_subscriber_receive(sub, -1, &f), XB_ERR_PUBLISHER_GONE);
    EXPECT(strcmp(xb_status_name(XB_ERR_PUBLISHER_GONE), "XB_ERR_PUBLISHER_GONE") == 0, "status name");
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_MSGPACK, 0, (const uint8_t *)"b", 1, 0, NULL));
    EXPECT_OK(xb_channel_end(ch));
    EXPECT_OK(xb_subscriber_receive(sub, -1, &f));
    EXPECT(f.payload_len == 1 && f.payload[0] == 'b', "the frame before the end");
    EXPECT_STATUS(xb_subscriber_receive(sub, -1, &f), XB_ERR_ENDED);
    EXPECT_STATUS(xb_channel_publish(ch, XB_CODEC_MSGPACK, 0, (const uint8_t *)"c", 1, 0, NULL), XB_ERR_ENDED);
    EXPECT(strcmp(xb_status_name(XB_ERR_ENDED), "XB_ERR_ENDED") == 0, "status name");
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

/* Overwrite: a subscriber that falls behind learns how many frames it lost,
 * and a release after its held frames were overwritten is XB_ERR_OVERRUN. */
static void test_overwrite(void) {
    const char *name = chan_name("ow");
    xb_channel ch;
    xb_subscriber sub;
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_OVERWRITE, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_SPIN_THEN_PARK, NULL, &sub));
    uint8_t buf[500];
    for (uint64_t i = 0; i < 30; i++) {
        fill(buf, sizeof buf, i);
        EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, i, buf, sizeof buf, 0, NULL));
    }
    uint64_t got = 0, last = 0;
    xb_frame f;
    while (xb_subscriber_receive(sub, 0, &f) == XB_OK) {
        EXPECT(check_fill(f.payload, f.payload_len, f.type_id) && (got == 0 || f.type_id == last + 1),
               "frame %llu", (unsigned long long)f.type_id);
        last = f.type_id;
        got++;
    }
    EXPECT(xb_last_error_code() == XB_ERR_TIMEOUT, "receive ended with %s", xb_status_name(xb_last_error_code()));
    EXPECT_OK(xb_subscriber_release(sub));
    uint64_t dropped = 0, dropped_bytes = 0;
    EXPECT_OK(xb_subscriber_dropped(sub, &dropped, &dropped_bytes));
    EXPECT(last == 29 && dropped > 0 && got + dropped == 30 && dropped_bytes == dropped * sizeof buf,
           "received %llu (last %llu), dropped %llu", (unsigned long long)got, (unsigned long long)last,
           (unsigned long long)dropped);
    xb_channel_stats st;
    EXPECT_OK(xb_channel_get_stats(ch, &st));
    EXPECT(st.dropped_frames == dropped && st.full_waits > 0, "stats dropped %llu", (unsigned long long)st.dropped_frames);

    /* Hold a frame while publishers lap the ring: the release reports it. */
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 100, buf, sizeof buf, 0, NULL));
    EXPECT_OK(xb_subscriber_receive(sub, 0, &f));
    EXPECT_OK(xb_subscriber_check(sub));
    for (uint64_t i = 0; i < 30; i++) EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, i, buf, sizeof buf, 0, NULL));
    EXPECT_STATUS(xb_subscriber_check(sub), XB_ERR_OVERRUN);
    EXPECT_STATUS(xb_subscriber_release(sub), XB_ERR_OVERRUN);
    EXPECT_OK(xb_subscriber_dropped(sub, &dropped, &dropped_bytes));
    EXPECT(dropped > got, "dropped %llu", (unsigned long long)dropped);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

struct waiter {
    xb_subscriber sub;
    int64_t timeout;
    int32_t rc;
    double took;
};

static void *wait_receive(void *arg) {
    struct waiter *w = arg;
    xb_frame f;
    double t0 = now_s();
    w->rc = xb_subscriber_receive(w->sub, w->timeout, &f);
    w->took = now_s() - t0;
    return NULL;
}

/* A close while another thread is blocked in receive wakes it with
 * XB_ERR_CLOSED; nothing crashes, and later calls are XB_ERR_CLOSED. */
static void test_close_while_waiting(void) {
    const char *name = chan_name("close");
    xb_channel ch;
    xb_subscriber sub, sub2;
    EXPECT_OK(xb_channel_create(name, 1 << 14, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_SPIN_THEN_PARK, "workers", &sub2));

    /* The channel closed under a waiting receive. */
    struct waiter w = {.sub = sub, .timeout = -1};
    pthread_t th;
    pthread_create(&th, NULL, wait_receive, &w);
    usleep(100 * 1000);
    EXPECT_OK(xb_channel_close(ch));
    pthread_join(th, NULL);
    EXPECT(w.rc == XB_ERR_CLOSED && w.took < 2.0, "receive returned %s after %.3f s", xb_status_name(w.rc), w.took);
    xb_frame f;
    EXPECT_STATUS(xb_subscriber_receive(sub, 0, &f), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_subscriber_release(sub), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_channel_publish(ch, XB_CODEC_JSON, 1, NULL, 0, 0, NULL), XB_ERR_CLOSED);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_subscriber_close(sub2));

    /* The subscriber closed under its own waiting receive. */
    EXPECT_OK(xb_channel_open(name, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    w = (struct waiter){.sub = sub, .timeout = -1};
    pthread_create(&th, NULL, wait_receive, &w);
    usleep(100 * 1000);
    EXPECT_OK(xb_subscriber_close(sub));
    pthread_join(th, NULL);
    EXPECT(w.rc == XB_ERR_CLOSED && w.took < 2.0, "receive returned %s after %.3f s", xb_status_name(w.rc), w.took);

    /* A waiting receive wakes on a publish from another thread. */
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    w = (struct waiter){.sub = sub, .timeout = 5000 * MS};
    pthread_create(&th, NULL, wait_receive, &w);
    usleep(50 * 1000);
    EXPECT_OK(xb_channel_publish(ch, XB_CODEC_JSON, 1, (const uint8_t *)"hi", 2, 0, NULL));
    pthread_join(th, NULL);
    EXPECT(w.rc == XB_OK && w.took < 2.0, "receive returned %s after %.3f s", xb_status_name(w.rc), w.took);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_OK(xb_channel_close(ch));
}

/* Handles of another kind, closed handles and NULL are errors, never crashes. */
static void test_handles(void) {
    xb_region r;
    xb_channel ch;
    xb_subscriber sub;
    const char *name = chan_name("kinds");
    EXPECT_OK(xb_region_create_anon(1 << 16, &r));
    EXPECT_OK(xb_channel_create(name, 4096, XB_POLICY_BLOCK, 0, &ch));
    EXPECT_OK(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub));
    xb_frame f;
    xb_channel_stats st;
    EXPECT_STATUS(xb_channel_get_stats((xb_channel)(void *)r, &st), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_close((xb_channel)(void *)sub), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_subscriber_receive((xb_subscriber)(void *)ch, 0, &f), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_region_close((xb_region)(void *)ch), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_subscriber_release((xb_subscriber)(void *)r), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_get_stats(NULL, &st), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_subscriber_receive(NULL, 0, &f), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_subscriber_receive(sub, 0, NULL), XB_ERR_INVALID_ARG);
    EXPECT_STATUS(xb_channel_get_stats(ch, NULL), XB_ERR_INVALID_ARG);
    EXPECT_OK(xb_subscriber_close(sub));
    EXPECT_OK(xb_channel_close(ch));
    EXPECT_STATUS(xb_channel_get_stats(ch, &st), XB_ERR_CLOSED);
    EXPECT_STATUS(xb_channel_subscribe(ch, XB_WAIT_PARK, NULL, &sub), XB_ERR_CLOSED);
    EXPECT_OK(xb_channel_unlink(name));
    EXPECT_STATUS(xb_channel_unlink(name), XB_ERR_NOT_FOUND);
    EXPECT_OK(xb_region_close(r));
}

int main(void) {
    if (xb_check_abi() != XB_OK) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    test_round_trip();
    test_batch();
    test_full();
    test_group_holds();
    test_end_of_stream();
    test_overwrite();
    test_close_while_waiting();
    test_handles();
    printf("test_channel: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
