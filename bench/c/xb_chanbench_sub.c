/* xb_chanbench_sub NAME ACK N M REPS CPU WAIT
 * The C consumer of the channel benchmark (bench/channel/proto.py has the
 * protocol): creates the channel NAME, subscribes (WAIT: spin or park),
 * marks itself ready in the ACK file, then for REPS repetitions receives N
 * messages one at a time and M back to back, checks each one's sequence
 * and body checksum, stores the count consumed in the ACK file, and prints
 * one JSON line per repetition: the latency percentiles of the first N
 * (exact, from the sorted latencies: C has no HDR library here) and the
 * ns per message of the M. CPU >= 0 pins the thread. */
#define _GNU_SOURCE
#include <crossbuf.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HEAD 24
#define BIG_BODY 4096

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t u64le(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* the peers are little-endian (x86-64, arm64) */
    return v;
}

/* The checksum of proto.py: Adler-32 below BIG_BODY, else a word sum. */
static uint64_t check(const uint8_t *p, uint64_t n) {
    if (n >= BIG_BODY) {
        uint64_t s = 0, i = 0;
        for (; i + 8 <= n; i += 8) s += u64le(p + i);
        for (; i < n; i++) s += p[i];
        return s;
    }
    /* zlib's Adler-32, reducing every 5552 bytes (the most before b can overflow) */
    uint32_t a = 1, b = 0;
    while (n > 0) {
        uint64_t k = n < 5552 ? n : 5552;
        n -= k;
        for (; k > 0; k--) {
            a += *p++;
            b += a;
        }
        a %= 65521u;
        b %= 65521u;
    }
    return (uint64_t)b << 16 | a;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int fail(const char *what) {
    fprintf(stderr, "xb_chanbench_sub: %s: %s\n", what, xb_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s NAME ACK N M REPS CPU WAIT\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[3], NULL, 10), m = strtol(argv[4], NULL, 10), reps = strtol(argv[5], NULL, 10);
    long cpu = strtol(argv[6], NULL, 10);
    int32_t wait = strcmp(argv[7], "park") == 0 ? XB_WAIT_PARK : XB_WAIT_BUSY_SPIN;
    if (n < 1 || m < 1 || reps < 1) {
        fprintf(stderr, "xb_chanbench_sub: N, M and REPS must be >= 1\n");
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            perror("xb_chanbench_sub: sched_setaffinity");
            return 1;
        }
    }
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) {
        perror("xb_chanbench_sub: ack file");
        return 1;
    }
    _Atomic uint64_t *ack = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (ack == MAP_FAILED) {
        perror("xb_chanbench_sub: mmap");
        return 1;
    }
    xb_channel ch;
    xb_subscriber sub;
    if (xb_check_abi() != XB_OK) return fail("ABI");
    if (xb_channel_create(argv[1], 16u << 20, XB_POLICY_BLOCK, 0600, &ch) != XB_OK) return fail("create");
    if (xb_channel_subscribe(ch, wait, NULL, &sub) != XB_OK) return fail("subscribe");
    atomic_store(&ack[1], 1);
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)n);
    if (lat == NULL) return 1;
    uint64_t count = 0;
    int rc = 0;
    for (long rep = 0; rep < reps && rc == 0; rep++) {
        uint64_t first = 0;
        size_t body = 0;
        for (long i = 0; i < n + m && rc == 0; i++) {
            xb_frame f;
            if (xb_subscriber_receive(sub, -1, &f) != XB_OK) {
                rc = fail("receive");
                break;
            }
            const uint8_t *p = f.payload;
            if (f.payload_len < HEAD || u64le(p) != count ||
                check(p + HEAD, f.payload_len - HEAD) != u64le(p + 16)) {
                fprintf(stderr, "xb_chanbench_sub: message %llu: bad sequence or checksum\n",
                        (unsigned long long)count);
                rc = 1;
                break;
            }
            uint64_t t0 = u64le(p + 8);
            if (i < n) {
                lat[i] = now_ns() - t0;
            } else if (i == n) {
                first = t0;
            }
            body = (size_t)(f.payload_len - HEAD);
            if (xb_subscriber_release(sub) != XB_OK) {
                rc = fail("release");
                break;
            }
            atomic_store(&ack[0], ++count);
        }
        if (rc) break;
        double tput = (double)(now_ns() - first) / (double)m;
        qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
        printf("{\"rep\": %ld, \"p50\": %llu, \"p99\": %llu, \"p999\": %llu, \"tput_ns\": %.1f, \"bytes\": %zu}\n", rep,
               (unsigned long long)lat[(size_t)(0.5 * (double)(n - 1))],
               (unsigned long long)lat[(size_t)(0.99 * (double)(n - 1))],
               (unsigned long long)lat[(size_t)(0.999 * (double)(n - 1))], tput, body);
        fflush(stdout);
    }
    free(lat);
    xb_subscriber_close(sub);
    xb_channel_close(ch);
    xb_channel_unlink(argv[1]);
    return rc;
}
