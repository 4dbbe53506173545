/*
 * crossbuf.h — the C interface of libcrossbuf.
 *
 * crossbuf encodes records with FlatBuffers or Cap'n Proto directly into
 * mmap'd regions and lets C read their fields in place. JSON, MessagePack and
 * Protobuf sit behind the same calls as baselines.
 *
 * Conventions
 *  - Every function returns an int32_t status: XB_OK (0) or a negative
 *    XB_ERR_* code. On failure, xb_last_error() describes it. The message is
 *    per thread and stays valid until the next failing call on that thread.
 *  - Handles (xb_region, xb_scratch, xb_schema, xb_channel, xb_subscriber, xb_stream) are opaque, distinct pointer types that
 *    are never dereferenced: the compiler rejects one kind where another is
 *    expected, and the library rejects it too (XB_ERR_INVALID_ARG). NULL is
 *    never valid: a NULL handle is XB_ERR_CLOSED, like a closed one (a NULL
 *    pointer argument that is not a handle is XB_ERR_INVALID_ARG). Using a
 *    closed handle is XB_ERR_CLOSED, never a crash, and a closed handle
 *    never comes back as another object; a value no call returned is
 *    XB_ERR_INVALID_ARG (its bits name no kind) or XB_ERR_CLOSED.
 *  - No pointer returned by this library points into the Go heap. Pointers
 *    into a region stay valid until that region is closed or reset (by any
 *    process, for shared regions: see xb_region_reset). Pointers into a
 *    scratch stay valid until the next call that uses that scratch, or
 *    xb_scratch_free. The caller never frees any returned pointer.
 *  - All calls are thread-safe, and xb_region_reset needs exclusive use of
 *    the region. Calls on one xb_scratch from several threads are serialised;
 *    the pointers one returns into the scratch are only valid until the next
 *    call that uses it, so give each thread its own.
 *  - Close racing other calls: xb_region_close waits until the calls in
 *    flight on that region (in any thread) have returned, and later calls
 *    return XB_ERR_CLOSED. Memory a call touches is never unmapped under it.
 *    xb_scratch_free likewise waits for a call using the scratch. Pointers the
 *    caller still holds into a closed region or freed scratch are invalid.
 *  - Truncation by another process: a named or file region can be shrunk by
 *    anyone who can write its file. Library calls then return
 *    XB_ERR_TRUNCATED; the caller's own reads through pointers into the lost
 *    pages raise SIGBUS, which the library cannot catch. Regions made by
 *    xb_region_create_memfd are sealed against shrinking and cannot fault.
 *  - Dead writers: a writer that dies between reserving a frame and
 *    committing it never hides later frames; readers skip its slot, and the
 *    next writable open (or xb_region_recover) marks it aborted once the
 *    kernel has released the dead process's lock. A slow writer that is
 *    alive is never reclaimed.
 *  - Do not call into the library from a child process forked after the
 *    first call: the Go runtime does not survive fork. Use fork+exec.
 *  - This header is the whole public API, exported under the symbol
 *    version CROSSBUF_2. The library also exports a few calls prefixed xbp_
 *    (version CROSSBUF_PRIVATE_2) for its Python package and test suites:
 *    they are private, declared in no installed header, and may change in
 *    any release.
 *
 * Link with `pkg-config --cflags --libs crossbuf`.
 */
#ifndef CROSSBUF_H
#define CROSSBUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define XB_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define XB_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Library version. This is the one place the project's version is written:
 * build.sh, the pkg-config file, the Python wheel and xb_version() read it
 * from here. XB_VERSION_NUMBER is MAJOR*1000000 + MINOR*1000 + PATCH.
 * The SONAME is libcrossbuf.so.<XB_ABI_VERSION> (README, "Versions"). */
#define XB_VERSION_MAJOR 0
#define XB_VERSION_MINOR 1
#define XB_VERSION_PATCH 0
#define XB_VERSION_NUMBER (XB_VERSION_MAJOR * 1000000 + XB_VERSION_MINOR * 1000 + XB_VERSION_PATCH)
#define XB_VERSION_STR_(x) #x
#define XB_VERSION_STR(x) XB_VERSION_STR_(x)
#define XB_VERSION_STRING \
    XB_VERSION_STR(XB_VERSION_MAJOR) "." XB_VERSION_STR(XB_VERSION_MINOR) "." XB_VERSION_STR(XB_VERSION_PATCH)

/* ABI version of this header. xb_abi_version() must return the same value;
 * check it once at start-up (xb_check_abi below does). */
#define XB_ABI_VERSION 2

/* Version of the region and frame layout written into every region header.
 * Opening a region of another layout version is XB_ERR_VERSION. */
#define XB_LAYOUT_VERSION 2

/* ---- status codes ------------------------------------------------------ */
enum {
    XB_OK = 0,
    XB_ERR_INVALID_ARG = -1,    /* null pointer, bad size, bad enum value */
    XB_ERR_CLOSED = -2,         /* handle closed, freed or never valid */
    XB_ERR_MALFORMED = -3,      /* encoded bytes failed validation */
    XB_ERR_UNKNOWN_CODEC = -4,  /* codec id not a message codec (XB_CODEC_*) */
    XB_ERR_RECORD_TYPE = -5,    /* unknown record type, or frame holds another */
    XB_ERR_REGION_FULL = -6,    /* not enough free space in the region; a full channel (XB_ERR_FULL) */
    XB_ERR_BAD_NAME = -7,       /* shared-memory name not allowed */
    XB_ERR_VERSION = -8,        /* not a crossbuf region, or another layout version */
    XB_ERR_IO = -9,             /* operating-system error (open, mmap, ...) */
    XB_ERR_EXISTS = -10,        /* region name or file already exists */
    XB_ERR_NOT_FOUND = -11,     /* region name or file does not exist */
    XB_ERR_OUT_OF_RANGE = -12,  /* offset is not a frame inside the region */
    XB_ERR_NOT_COMMITTED = -13, /* frame is still being written, or was aborted */
    XB_ERR_INVALID_RECORD = -14,/* record breaks an invariant (tensor shape vs data) */
    XB_ERR_INTERNAL = -15,      /* a bug: a recovered Go panic or memory fault */
    XB_ERR_READ_ONLY = -16,     /* a write to a region opened XB_OPEN_READ_ONLY */
    XB_ERR_TRUNCATED = -17,     /* another process shrank the region's file under it */
    XB_ERR_STALE = -18,         /* frame of another region, or from before a reset */
    XB_ERR_NO_SPACE = -19,      /* the file system cannot hold the region's capacity */
    XB_ERR_CORRUPT = -20,       /* a frame header in the region breaks the layout */
    XB_ERR_UNKNOWN_TYPE = -21,  /* no type of that name or id in the schema (the message names it) */
    XB_ERR_SCHEMA = -22,        /* schema bytes or text rejected, or its compiler missing or failing */
    XB_ERR_TIMEOUT = -23,       /* a channel wait ended: nothing arrived, or no space came free, in time */
    XB_ERR_OVERRUN = -24,       /* XB_POLICY_OVERWRITE: frames held since the last release were overwritten */
    XB_ERR_RANGE = -25,         /* a value read does not fit the type asked for (xb_ref_int of a large uint64) */
    XB_ERR_ENDED = -26,         /* the channel's stream was ended (xb_channel_end): nothing more comes */
    XB_ERR_PUBLISHER_GONE = -27,/* everything was received and every open that published has closed or died */
    XB_ERR_HELD = -28           /* a consumer-group member holding frames reached the end while frames
                                   another member handed back wait: release, then receive them */
};

/* A channel with no room for a frame under XB_POLICY_FAIL, or a subscriber
 * table with no free entry: the same code as a full region. */
#define XB_ERR_FULL XB_ERR_REGION_FULL

/* ---- codecs and records ------------------------------------------------ */
enum {
    XB_CODEC_FLATBUFFERS = 1, /* zero-copy */
    XB_CODEC_CAPNP = 2,       /* zero-copy */
    XB_CODEC_JSON = 3,
    XB_CODEC_MSGPACK = 4,
    XB_CODEC_PROTOBUF = 5,
    /* Not a codec of messages: a frame holding a binary schema (.bfbs or a
     * Cap'n Proto CodeGeneratorRequest) that describes the region's other
     * frames; its type_id is the FNV-1a 64 of the bytes. See
     * xb_region_store_schema. */
    XB_CODEC_SCHEMA = 0x5343
};

/* The bundled records (schemas/crossbuf.{fbs,capnp,proto}), in the frame
 * type ids of frames that hold them. No C struct mirrors them: they cross
 * this boundary as MessagePack (xb_encode, xb_decode), or are read in place
 * through the bundled schema like any schema's messages (xb_path_*). */
enum {
    XB_RECORD_LOG_ENTRY = 1,
    XB_RECORD_SAMPLE = 2,
    XB_RECORD_TENSOR = 3
};

enum { XB_LEVEL_TRACE, XB_LEVEL_DEBUG, XB_LEVEL_INFO, XB_LEVEL_WARN, XB_LEVEL_ERROR, XB_LEVEL_FATAL };

enum {
    XB_DTYPE_U8, XB_DTYPE_I8, XB_DTYPE_U16, XB_DTYPE_I16, XB_DTYPE_U32, XB_DTYPE_I32,
    XB_DTYPE_U64, XB_DTYPE_I64, XB_DTYPE_F16, XB_DTYPE_F32, XB_DTYPE_F64
};

/* A span of bytes: UTF-8 text (not NUL-terminated) or raw bytes. */
typedef struct xb_str {
    const char *ptr; /* may be NULL when len == 0 */
    uint64_t len;
} xb_str;

/* One committed frame. payload points into the region. Calls that take
 * frames back (xb_decode, xb_path_read, ...) use only region_id, generation and
 * offset: a frame of another region, or from before a reset, is
 * XB_ERR_STALE, and an offset that is not a frame start XB_ERR_OUT_OF_RANGE.
 * A region_id or generation of 0 is not checked: {.offset = o} looks a frame
 * up by offset in the current generation, like xb_frame_get. */
typedef struct xb_frame {
    uint64_t offset;     /* of the frame header from the region base */
    uint64_t region_id;  /* identity of the region (xb_region_stats.region_id) */
    uint64_t generation; /* region generation the frame belongs to */
    uint64_t type_id;    /* type of the message: XB_RECORD_* or a schema type id */
    uint64_t publish_ns; /* CLOCK_MONOTONIC at commit */
    uint16_t codec;      /* XB_CODEC_* */
    uint16_t _pad0;
    uint32_t _pad1;
    const uint8_t *payload;
    uint64_t payload_len;
} xb_frame;

typedef struct xb_region_stats {
    uint64_t capacity;    /* bytes mapped, header included */
    uint64_t data_offset; /* first frame offset */
    uint64_t used;        /* bytes allocated to frames */
    uint64_t high_water;  /* largest used since creation */
    uint64_t frame_count; /* committed frames in this generation */
    uint64_t generation;  /* starts at 1, +1 per reset */
    uint64_t aborted;     /* slots of dead writers aborted since creation */
    uint64_t region_id;   /* random, fixed at creation, the same in every process */
    uint32_t sealed;      /* 1: a memfd sealed against shrinking */
    uint32_t read_only;   /* 1: this open maps the region read-only */
} xb_region_stats;

/* ---- shared memory layout (XB_LAYOUT_VERSION 2) ------------------------
 * A region starts with xb_region_header; frames follow from data_offset,
 * each an xb_frame_header then its payload, 8-byte aligned. Fields marked
 * atomic are read and written with atomic operations by every process. The
 * library does all of this; the structs are here so other implementations
 * can read regions, and so the layout is checked at compile time.
 *
 * Claim: a writer claims the slot at `cursor` by a compare-and-swap of its
 * seal from 0 to the new seal, then moves `cursor` past it (any writer that
 * finds a sealed slot at `cursor` moves it too). The claim itself publishes
 * the slot's size, so a dead writer's slot can always be skipped. It then
 * fills the header and publishes it by a compare-and-swap of state from
 * WRITING to COMMITTED (release order). Readers walk the seals from
 * data_offset, load state with acquire order and read the other fields only
 * once it is COMMITTED; `check` must equal region_id ^ offset. */

#define XB_REGION_MAGIC UINT64_C(0x004E475246554258) /* "XBUFRGN\0" little-endian */

typedef struct xb_region_header {
    uint64_t magic;
    uint32_t layout_version; /* XB_LAYOUT_VERSION */
    uint32_t header_size;    /* sizeof(xb_region_header) */
    uint64_t capacity;
    uint64_t data_offset;
    uint64_t cursor;      /* atomic: offset of the next free byte */
    uint64_t generation;  /* atomic: starts at 1, +1 per reset, low 16 bits never 0 */
    uint64_t frame_count; /* atomic: committed frames this generation */
    uint64_t high_water;  /* atomic: largest cursor seen */
    uint64_t region_id;   /* random, never 0, fixed at creation */
    uint64_t flags;       /* 1: sealed memfd */
    uint64_t aborted;     /* atomic: dead writers' slots aborted */
    uint64_t peer_hint;   /* atomic: where the next writer looks for a free liveness lock */
    uint64_t _reserved[4];
} xb_region_header;

enum { XB_FRAME_WRITING = 0, XB_FRAME_COMMITTED = 0x32465258 /* "XRF2" */, XB_FRAME_ABORTED = 0x41465258 };

typedef struct xb_frame_header {
    /* atomic, the claim:
     * (generation & 0xFFFF) << 48 | writer peer id << 32 | slot size in 8-byte words.
     * The writer's peer id is the byte 2^62 + id of the region's file that it
     * holds an F_OFD_SETLK write lock on while it lives (0: anonymous). */
    uint64_t seal;
    uint32_t state; /* atomic: XB_FRAME_*; COMMITTED is stored with release order */
    uint16_t codec;
    uint16_t flags;
    uint32_t payload_offset; /* from the start of this header, multiple of 8 */
    uint32_t _reserved0;
    uint64_t payload_len;
    uint64_t type_id;    /* XB_RECORD_* or a schema type id */
    uint64_t publish_ns; /* CLOCK_MONOTONIC at commit */
    uint64_t check;      /* region_id ^ offset of this header */
    uint64_t _reserved1;
} xb_frame_header;

XB_STATIC_ASSERT(sizeof(xb_str) == 16, "xb_str layout");
XB_STATIC_ASSERT(offsetof(xb_frame, codec) == 40 && offsetof(xb_frame, payload) == 48 && sizeof(xb_frame) == 64,
                 "xb_frame layout");
XB_STATIC_ASSERT(offsetof(xb_region_stats, region_id) == 56 && sizeof(xb_region_stats) == 72, "xb_region_stats layout");
XB_STATIC_ASSERT(offsetof(xb_region_header, cursor) == 32 && offsetof(xb_region_header, generation) == 40 &&
                     offsetof(xb_region_header, region_id) == 64 &&
                     sizeof(xb_region_header) == 128,
                 "xb_region_header layout");
XB_STATIC_ASSERT(offsetof(xb_frame_header, payload_offset) == 16 && offsetof(xb_frame_header, type_id) == 32 &&
                     offsetof(xb_frame_header, check) == 48 && sizeof(xb_frame_header) == 64,
                 "xb_frame_header layout");
XB_STATIC_ASSERT(sizeof(void *) == 8, "crossbuf needs a 64-bit platform");

/* ---- stream wire format (version 1) --------------------------------------
 * Frames cross a byte stream (pipe, socket, file; later, machines) in the
 * frame format of regions. All integers are little-endian; offsets count
 * bytes from the start of the stream. A stream is one xb_stream_header, then
 * frames: an xb_frame_header, its payload_len payload bytes, then zero
 * padding up to a multiple of 8 bytes. On the wire a frame header holds
 *   seal           (64 + payload_len rounded up to 8) / 8; the generation and
 *                  writer bits are 0
 *   state          XB_FRAME_COMMITTED (only committed frames are sent)
 *   codec          an XB_CODEC_* id;  flags 0
 *   payload_offset 64 (the payload follows the header); _reserved0 0
 *   payload_len, type_id
 *   publish_ns     the sender's CLOCK_MONOTONIC at commit, informational
 *   check          stream_id ^ the stream offset of this header
 *   _reserved1     0
 * The stream ends cleanly at end of input on a frame boundary. A reader
 * rejects (XB_ERR_MALFORMED, naming the offset) anything else: a bad magic
 * or version, a field out of range, a check word that does not match, a
 * seal that disagrees with payload_len, non-zero padding or reserved bytes,
 * a payload over its limit, or input that ends inside a frame. It checks
 * each header before it reserves space for the payload. */

#define XB_STREAM_MAGIC UINT64_C(0x004D545346554258) /* "XBUFSTM\0" little-endian */
#define XB_STREAM_VERSION 1

typedef struct xb_stream_header {
    uint64_t magic;       /* XB_STREAM_MAGIC */
    uint32_t version;     /* XB_STREAM_VERSION */
    uint32_t header_size; /* sizeof(xb_stream_header) */
    uint64_t stream_id;   /* random, never 0 */
    uint64_t _reserved[5];
} xb_stream_header;

XB_STATIC_ASSERT(offsetof(xb_stream_header, stream_id) == 16 && sizeof(xb_stream_header) == 64,
                 "xb_stream_header layout");

/* A caller's stream I/O: read fills buf with 1..len bytes and returns how
 * many, 0 at the end of input, < 0 on error; write consumes 1..len bytes of
 * buf and returns how many, < 0 on error. buf is C memory: a region's or
 * channel's mapping, the caller's payload, or a buffer of the stream's;
 * valid only during the call. */
typedef int64_t (*xb_io_fn)(void *ctx, uint8_t *buf, uint64_t len);

/* ---- handles -----------------------------------------------------------
 * Opaque, never dereferenced. The Go side of the library sees them as the
 * 64-bit ids they are. */
#ifdef CROSSBUF_TYPES_ONLY
typedef uint64_t xb_region;
typedef uint64_t xb_scratch;
typedef uint64_t xb_schema;
typedef uint64_t xb_path;
typedef uint64_t xb_channel;
typedef uint64_t xb_subscriber;
typedef uint64_t xb_stream;
#else
typedef struct xb_region_handle *xb_region;   /* an open mapping of a region */
typedef struct xb_scratch_handle *xb_scratch; /* decode scratch memory (mmap'd, outside every GC) */
typedef struct xb_schema_handle *xb_schema;   /* a loaded FlatBuffers or Cap'n Proto schema */
typedef struct xb_path_handle *xb_path;       /* a compiled path to one field of a message type */
typedef struct xb_channel_handle *xb_channel; /* an open channel (a shared ring of frames) */
typedef struct xb_subscriber_handle *xb_subscriber; /* a subscriber of a channel */
typedef struct xb_stream_handle *xb_stream;         /* a stream writer or reader (xb_stream_writer) */
#endif

/* What a path (xb_path_compile) reads: out of xb_path_read is an array of
 * int64_t (INT, and BOOL as 0 or 1), uint64_t, double, xb_str (bytes, or
 * UTF-8 text for STRING), or xb_array (a vector, list or fixed array of
 * scalars, in place). */
enum {
    XB_VALUE_INT = 1,
    XB_VALUE_UINT = 2,
    XB_VALUE_FLOAT = 3,
    XB_VALUE_BYTES = 4,
    XB_VALUE_STRING = 5,
    XB_VALUE_ARRAY = 6,
    XB_VALUE_BOOL = 7
};

/* Channel gauges and counters, read from the shared mapping: the same
 * numbers in every process (xb_channel_get_stats). */
typedef struct xb_channel_stats {
    uint64_t capacity;         /* data ring bytes */
    uint64_t used;             /* ring bytes between the slowest subscriber and the tail */
    uint64_t tail;             /* stream position (bytes since creation) of the next frame */
    uint64_t frames_published;
    uint64_t bytes_published;  /* payload bytes */
    uint64_t full_waits;       /* claims that found the ring full and waited (block) or overwrote (overwrite) */
    uint64_t full_fails;       /* claims refused with XB_ERR_FULL (fail) */
    uint64_t parked_waits;     /* waits that slept on the futex, publishers and subscribers (a call
                                  that goes on with the wait of one that timed out does not count again) */
    uint64_t dead_publishers;  /* slots of dead publishers aborted */
    uint64_t dead_subscribers; /* entries of dead subscribers freed */
    uint64_t dropped_frames;   /* frames subscribers lost to the overwrite policy */
    uint64_t latency_count;    /* publish->receive latencies recorded, every subscriber */
    uint64_t latency_overflow; /* latencies above 100 s (recorded as 100 s) */
    uint32_t policy;           /* XB_POLICY_* */
    uint32_t subscribers;      /* active subscriber entries (a consumer group's cursor counts as one) */
} xb_channel_stats;

XB_STATIC_ASSERT(offsetof(xb_channel_stats, frames_published) == 24 && offsetof(xb_channel_stats, dropped_frames) == 80 &&
                     offsetof(xb_channel_stats, policy) == 104 && sizeof(xb_channel_stats) == 112,
                 "xb_channel_stats layout");

/* One active entry of a channel's subscriber table (xb_channel_subscribers). */
typedef struct xb_subscriber_stats {
    int32_t index;         /* entry in the table (xb_subscriber_index) */
    int32_t group;         /* a group member: the index of its group's cursor entry; else -1 */
    uint32_t peer;         /* peer id of the open that joined (0: a group cursor;
                              65535: frames a closed member handed back) */
    uint32_t group_cursor; /* 1: the cursor entry of a consumer group */
    uint64_t position;     /* stream position: everything before it is released
                              (a group member holding no frames: UINT64_MAX) */
    uint64_t lag_bytes;    /* tail - position */
    uint64_t lag_frames;   /* committed frames between position and tail */
    uint64_t frames;       /* received */
    uint64_t bytes;        /* payload bytes received */
    uint64_t dropped;      /* frames lost to XB_POLICY_OVERWRITE */
    uint64_t dropped_bytes;
    uint64_t parked_waits; /* waits that slept on the futex */
    uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of its last receive or wait */
} xb_subscriber_stats;

XB_STATIC_ASSERT(offsetof(xb_subscriber_stats, position) == 16 && offsetof(xb_subscriber_stats, heartbeat_ns) == 80 &&
                     sizeof(xb_subscriber_stats) == 88,
                 "xb_subscriber_stats layout");

/* What a publisher does when the ring has no room for its frame. */
enum {
    XB_POLICY_BLOCK = 0,    /* wait for the slowest subscriber (up to the call's timeout) */
    XB_POLICY_FAIL = 1,     /* XB_ERR_FULL at once */
    XB_POLICY_OVERWRITE = 2 /* reclaim the oldest frames; lagging subscribers learn how many they lost */
};

/* How a subscriber waits for frames. */
enum {
    XB_WAIT_SPIN_THEN_PARK = 0, /* poll about 20 us, then sleep on the futex */
    XB_WAIT_BUSY_SPIN = 1,      /* poll without sleeping: lowest latency, burns a core */
    XB_WAIT_PARK = 2            /* sleep on the futex at once */
};

/* Binary schema formats of xb_schema_load. */
enum {
    XB_SCHEMA_BFBS = 1,         /* FlatBuffers reflection schema: flatc -b --schema --bfbs-builtins
                                   (without --bfbs-builtins flatc leaves out bit_flags and
                                   nested_flatbuffer: such fields read as plain integers and bytes) */
    XB_SCHEMA_CAPNP_REQUEST = 2 /* Cap'n Proto CodeGeneratorRequest: capnp compile -o- */
};

/* How a message given as bytes is laid out (the flags of the xb_schema_*
 * calls that take bytes; 0 is the plain form). Frames always hold the plain
 * form: a FlatBuffers buffer, or a Cap'n Proto message with its segment table. */
enum {
    XB_MSG_SIZE_PREFIXED = 1, /* FlatBuffers: starts with its 32-bit length (FinishSizePrefixed) */
    XB_MSG_FLAT = 2,          /* Cap'n Proto: one segment, no segment table */
    XB_MSG_PACKED = 4         /* Cap'n Proto: packed encoding of the segment-table form */
};

/* Flags of the open calls. */
enum { XB_OPEN_READ_ONLY = 1 /* map PROT_READ; writes are XB_ERR_READ_ONLY; needs only read permission */ };

/* Largest tensor xb_generate makes, in bytes. */
#define XB_MAX_GENERATE_BYTES (UINT64_C(1) << 30)
/* Largest region capacity, in bytes. */
#define XB_MAX_CAPACITY (UINT64_C(1) << 40)
/* The smallest region capacity: its header and one empty frame. */
#define XB_MIN_CAPACITY 192

/* The Go side of the library includes this header for the types only: cgo
 * declares the exported functions itself. */
#ifndef CROSSBUF_TYPES_ONLY

/* ---- library ----------------------------------------------------------- */

/* The library's ABI version (compare with XB_ABI_VERSION). */
int32_t xb_abi_version(void);
/* Library version, e.g. "0.1.0". Static storage; never freed. */
const char *xb_version(void);
/* Code and message of the last failure on the calling thread (XB_OK and ""
 * if none). The string is owned by the library; it stays valid until the
 * next failing call on this thread. */
int32_t xb_last_error_code(void);
const char *xb_last_error(void);
/* Name of a status code, e.g. "XB_ERR_CLOSED". Static storage. */
const char *xb_status_name(int32_t status);

/* Returns XB_OK if the library matches this header, else XB_ERR_VERSION. */
static inline int32_t xb_check_abi(void) { return xb_abi_version() == XB_ABI_VERSION ? XB_OK : XB_ERR_VERSION; }

/* ---- regions ------------------------------------------------------------
 * Capacity is in [XB_MIN_CAPACITY, XB_MAX_CAPACITY] (else
 * XB_ERR_INVALID_ARG), rounded up to whole pages. Shared
 * regions reserve their whole capacity at creation (fallocate), so a full
 * disk or /dev/shm is XB_ERR_NO_SPACE then, not a fault mid-encode.
 * Shared-memory names are "/name" or "name": 1-200 of [A-Za-z0-9._-], not
 * "." or "..", no ".."; they live in /dev/shm like shm_open(3) names. */

int32_t xb_region_create_anon(uint64_t capacity, xb_region *out);
/* Creates a named region exclusively (XB_ERR_EXISTS if the name is taken).
 * mode 0 means 0600. */
int32_t xb_region_create_shm(const char *name, uint64_t capacity, uint32_t mode, xb_region *out);
/* Attaches to a region another process created. flags: 0 or XB_OPEN_READ_ONLY.
 * A writable open aborts the slots of writers proven dead (xb_region_recover). */
int32_t xb_region_open_shm(const char *name, uint32_t flags, xb_region *out);
/* Removes the name; mappings stay valid until closed. */
int32_t xb_region_unlink_shm(const char *name);
int32_t xb_region_create_file(const char *path, uint64_t capacity, uint32_t mode, xb_region *out);
int32_t xb_region_open_file(const char *path, uint32_t flags, xb_region *out);
/* Creates a region in a sealed memfd: shared memory without a name, which
 * other processes receive as a descriptor (SCM_RIGHTS over a Unix socket).
 * It cannot shrink or grow, so no access to it can fault. name (may be NULL)
 * only labels it in /proc. */
int32_t xb_region_create_memfd(const char *name, uint64_t capacity, xb_region *out);
/* Opens the region in a memfd received from another process. The library
 * checks the seals itself and refuses (XB_ERR_INVALID_ARG) a descriptor not
 * sealed against shrinking. fd is duplicated; the caller still owns it. */
int32_t xb_region_open_fd(int32_t fd, uint32_t flags, xb_region *out);
/* The descriptor behind a memfd, file or shm region, for passing to another
 * process. Owned by the region: valid until xb_region_close; do not close it. */
int32_t xb_region_fd(xb_region r, int32_t *out);
/* Aborts the slots left by writers whose process is proven dead, and
 * reports how many (n_aborted may be NULL). Never touches a live writer's. */
int32_t xb_region_recover(xb_region r, uint64_t *n_aborted);
/* Unmaps the region. Every pointer into it becomes invalid. A second close
 * is XB_ERR_CLOSED. */
int32_t xb_region_close(xb_region r);
/* Drops every frame (generation + 1). Needs exclusive use: pointers into the
 * region then point to data that new frames overwrite. */
int32_t xb_region_reset(xb_region r);
int32_t xb_region_get_stats(xb_region r, xb_region_stats *out);
/* Maps every page in now, so later frames do not each pay a first-touch page
 * fault; for producers that want steady encode latency. A read-only mapping
 * is XB_ERR_READ_ONLY. */
int32_t xb_region_prefault(xb_region r);
/* Base address and capacity of the mapping, valid until xb_region_close. */
int32_t xb_region_base(xb_region r, const uint8_t **base, uint64_t *capacity);

/* ---- frames ------------------------------------------------------------ */

/* The committed frame whose header is at offset, in the current generation.
 * An offset that is not the start of a frame (a header copied into another
 * frame's payload, say) is XB_ERR_OUT_OF_RANGE. */
int32_t xb_frame_get(xb_region r, uint64_t offset, xb_frame *out);
/* Lists up to cap committed frames from *cursor (0: the first frame) in
 * region order, skipping frames still being written or aborted, and advances
 * *cursor past them. *n_out is 0 at the end; call again later to see new
 * frames. A corrupt frame header stops the list before it; when it is the
 * first, the call returns XB_ERR_CORRUPT naming its offset and moves *cursor
 * past it if the slot chain allows, so the next call goes on. In a region
 * file truncated by another process, a frame not whole in the file stops
 * the list the same way with XB_ERR_TRUNCATED, *cursor left on it: every
 * frame listed was whole in the file when it was listed. */
int32_t xb_frame_list(xb_region r, uint64_t *cursor, xb_frame *out, uint64_t cap, uint64_t *n_out);

/* Copies len bytes, already encoded with codec by any implementation (the
 * official runtimes, another process), into a new committed frame of type
 * type_id. The bytes are not validated here; decoding them is. codec is a
 * message codec (XB_CODEC_FLATBUFFERS .. XB_CODEC_PROTOBUF): schema frames
 * are written by xb_region_store_schema, which checks them, and
 * XB_CODEC_SCHEMA here is XB_ERR_UNKNOWN_CODEC. */
int32_t xb_frame_append(xb_region r, int32_t codec, uint64_t type_id, const uint8_t *bytes, uint64_t len,
                        xb_frame *out);

/* ---- the bundled records ------------------------------------------------
 * LogEntry, Sample and Tensor (XB_RECORD_*), the records every codec,
 * language and benchmark shares, in all five codecs. They cross the boundary
 * in one form: MessagePack in the wire shape of XB_CODEC_MSGPACK frames, a
 * map per record with the snake_case keys of schemas/crossbuf.fbs in schema
 * order (attributes as a map in record order, trace_id and Tensor.data as
 * bin; the full shape is in go/codec/msgpack). Any MessagePack library
 * reads and writes it, so no C struct mirrors a record's layout. To read
 * FlatBuffers and Cap'n Proto frames of these records in place instead,
 * compile paths on the bundled schema (crossbuf.bfbs, crossbuf.capnp.bin,
 * installed in `pkg-config --variable=schemadir crossbuf`) with
 * xb_path_compile: a path on "crossbuf_fb.LogEntry" or
 * "crossbuf.capnp:LogEntry" also reads frames of type XB_RECORD_LOG_ENTRY,
 * and so on. */

/* Encodes n records of record_type with codec into r, one frame each, and
 * writes their descriptors to frames_out[0..n). records[0..len) is one
 * MessagePack array of exactly n records (n == 0 may pass len == 0); the
 * strings in it are read as given, not copied first. FlatBuffers and Cap'n
 * Proto build in place in the region.
 * Errors: an array of another length is XB_ERR_INVALID_ARG; bytes that are
 * not such an array (or bytes after it) are XB_ERR_INVALID_RECORD, and so
 * is a record whose value its field cannot hold (an integer out of range, a
 * trace_id that is not 16 bytes, a float that does not fit a float32, a
 * string that is not UTF-8), naming the record and the field. The array is
 * checked before anything is committed; a record that fails later (a full
 * region) leaves the frames before it committed, and *n_done (if not NULL)
 * says how many. */
int32_t xb_encode(xb_region r, int32_t codec, int32_t record_type, const uint8_t *records, uint64_t len, uint64_t n,
                  xb_frame *frames_out, uint64_t *n_done);

int32_t xb_scratch_new(xb_scratch *out);
int32_t xb_scratch_free(xb_scratch s);

/* Decodes the n frames[0..n) of r, bundled records of any codec and type,
 * into one array of n records written in format (XB_CODEC_MSGPACK: the
 * shape above; XB_CODEC_JSON: the shape of XB_CODEC_JSON frames) into s:
 * *out points at it and *out_len is its length, valid until the next call
 * on s. Every decoder validates its bytes: a malformed frame, or one with
 * a string that is not UTF-8, is XB_ERR_MALFORMED naming the frame and the
 * field; a frame that does not hold a bundled record is XB_ERR_RECORD_TYPE. */
int32_t xb_decode(xb_region r, xb_scratch s, const xb_frame *frames, uint64_t n, int32_t format,
                  const uint8_t **out, uint64_t *out_len);

/* Decodes one record of record_type encoded with codec in bytes[0..len)
 * that is not in a region (a channel frame's payload, bytes read from a
 * socket) into s, written in format as one record (not an array).
 * bytes must be 8-byte aligned for Cap'n Proto. */
int32_t xb_decode_bytes(xb_scratch s, int32_t codec, int32_t record_type, const uint8_t *bytes, uint64_t len,
                        int32_t format, const uint8_t **out, uint64_t *out_len);

/* The seeded record that tests and benchmarks of every language share,
 * written in format (XB_CODEC_MSGPACK or XB_CODEC_JSON) into s. size is the
 * tensor data size in bytes, at most XB_MAX_GENERATE_BYTES (ignored for
 * other records). */
int32_t xb_generate(xb_scratch s, int32_t record_type, uint64_t seed, uint64_t size, int32_t format,
                    const uint8_t **out, uint64_t *out_len);

/* ---- schemas -------------------------------------------------------------
 * A user's FlatBuffers or Cap'n Proto schema, loaded at run time. A schema is
 * immutable and may be used by any number of threads at once. Each type has
 * a stable 64-bit type id (Cap'n Proto: the node id; FlatBuffers: FNV-1a 64
 * of the fully-qualified name, e.g. "MyGame.Example.Monster"); frames record
 * it (xb_frame.type_id), so a reader decodes the type that was written.
 *
 * Free racing other calls: xb_schema_free waits until the calls in flight on
 * that schema have returned; later calls return XB_ERR_CLOSED. Name pointers
 * (xb_schema_type_name) stay valid until xb_schema_free, and no longer.
 *
 * Decoding calls verify the whole message first: bounds, offsets and
 * pointers, vtables, alignment, UTF-8 of strings written out, nesting depth
 * and traversal limits. A malformed message is XB_ERR_MALFORMED with the
 * type, the field path and the reason in xb_last_error(). */

/* Loads a binary schema of format XB_SCHEMA_*. Needs no compiler. The bytes
 * are copied: the caller may free them when the call returns. Bytes that are
 * not a schema of that format are XB_ERR_SCHEMA. */
int32_t xb_schema_load(const uint8_t *bytes, uint64_t len, int32_t format, xb_schema *out);
/* Loads the binary schema of format XB_SCHEMA_* in the regular file at path (a
 * .bfbs from `flatc -b --schema`, or a CodeGeneratorRequest from
 * `capnp compile -o-`; the bundled ones are in the pkg-config variable
 * schemadir). A missing file is XB_ERR_NOT_FOUND; a path that is not a
 * regular file (a directory, FIFO or device) is XB_ERR_SCHEMA, and is not
 * opened; otherwise as xb_schema_load. */
int32_t xb_schema_load_file(const char *path, int32_t format, xb_schema *out);
/* Compiles a text schema (path ending in .fbs or .capnp) with the reference
 * compiler (flatc, or capnp) found on PATH, searching import_dirs[0..n_dirs)
 * for includes and imports (may be NULL when n_dirs is 0). A missing file is
 * XB_ERR_NOT_FOUND; a missing compiler, or one that rejects the schema, is
 * XB_ERR_SCHEMA, whose message says what to install or what the compiler
 * reported. */
int32_t xb_schema_compile(const char *path, const char *const *import_dirs, uint64_t n_dirs, xb_schema *out);
/* The binary form of the schema (what xb_schema_load takes; for a compiled
 * text schema, what the compiler wrote), copied into s: valid until the next
 * call that uses s. */
int32_t xb_schema_binary(xb_schema schema, xb_scratch s, const uint8_t **out, uint64_t *out_len);
/* The schema's types as JSON (format, root, and per type its name, id as a
 * decimal string, kind, fields with type references and defaults, enum
 * values), for bindings that build their own classes; copied into s, valid
 * until the next call that uses s. */
int32_t xb_schema_describe(xb_schema schema, xb_scratch s, const uint8_t **out, uint64_t *out_len);
/* Encodes a message of type type_id into a new frame of r, from a
 * MessagePack map of the message's fields by name (nested maps for tables
 * and structs, arrays for vectors and lists; enums as numbers or names;
 * strings as str and Data or byte vectors as bin or arrays of numbers: a
 * str for bytes, or a bin for a string, is XB_ERR_INVALID_RECORD).
 * A value its field cannot hold exactly (an integer out of range, a float
 * beyond float32, an unknown field or enum name, a missing required field)
 * is XB_ERR_INVALID_RECORD naming the field path; input that is not one
 * MessagePack map of supported types (truncated, trailing bytes, extension
 * types, non-string keys, nesting past 64 levels) is XB_ERR_INVALID_ARG.
 * Nothing is committed on an error. */
int32_t xb_schema_encode(xb_schema schema, xb_region r, uint64_t type_id, const uint8_t *msgpack, uint64_t len,
                         xb_frame *out);
/* The same from JSON (UTF-8, len bytes, no NUL needed): an object of the
 * message's fields in the form xb_schema_to_json writes (enums by name or
 * number, FlatBuffers union members after their `_type` field, Cap'n Proto
 * 64-bit integers as numbers or strings, Data as an array of byte values or
 * base64, "nan"/"inf"/"-inf" for non-finite floats). Input that is not JSON,
 * not valid UTF-8 or has a lone surrogate escape is XB_ERR_INVALID_ARG; a
 * value its field cannot hold is XB_ERR_INVALID_RECORD naming the field
 * path, and nothing is committed. Of duplicate keys the last wins, as in
 * xb_schema_encode. */
int32_t xb_schema_encode_json(xb_schema schema, xb_region r, uint64_t type_id, const uint8_t *json, uint64_t len,
                              xb_frame *out);
/* ---- paths: one field of many frames ------------------------------------
 * A path names one field of a message type: field names joined by dots,
 * [i] for an element of a vector or list, and after a FlatBuffers union the
 * member's name ("http.path", "attributes[3].key", "test.Monster.name").
 * It is compiled once; each read walks only to the field, bounds-checked,
 * without verifying the rest of the message. Free a path with
 * xb_path_free; it does not need its schema to stay open. */
/* Compiles path through the message type type_id; *kind (may be NULL) says
 * which XB_VALUE_* it reads. A bad path is XB_ERR_INVALID_ARG naming it. */
int32_t xb_path_compile(xb_schema schema, uint64_t type_id, const char *path, xb_path *out, int32_t *kind);
int32_t xb_path_free(xb_path p);
/* Reads the path in n frames of r (each must hold the path's type). out is
 * an array of n values of the path's XB_VALUE_* kind; strings, bytes and
 * arrays point into the region, valid until it is closed or reset (an
 * xb_array's elements are not aligned to their size in general; an empty
 * one has ptr NULL). A scalar field the message leaves out reads as its
 * default with present 1, as generated code reads it (xb_ref_* tell an
 * absent field apart). present (may be NULL) gets 0 where there is no
 * value (scalars then read 0, strings and arrays NULL, 0):
 *  - FlatBuffers, as flatc's accessors: a table or struct on the way is
 *    absent, an index is past the end, a union holds another member, an
 *    optional scalar (`= null`) or a string or vector is absent.
 *  - Cap'n Proto, as capnp's getters: only a union on the way holding
 *    another member, or an index past a list's end. A null pointer is
 *    present 1 and reads as capnp reads it: a Text, Data or List its schema
 *    default, else empty (NULL, 0); a field inside a null struct as that
 *    struct's schema default holds it, else as its own default. Default
 *    bytes belong to the path, valid until xb_path_free.
 * A frame the path cannot be read in is XB_ERR_MALFORMED naming it; on an
 * error, out and present may hold the values of the frames before it. */
int32_t xb_path_read(xb_path p, xb_region r, const xb_frame *frames, uint64_t n, void *out, uint8_t *present);
/* The same for n frames subscriber s received (xb_subscriber_receive,
 * xb_subscriber_receive_batch) and has not released: each frame's type_id,
 * payload and payload_len as received. A payload outside s's channel mapping
 * is XB_ERR_OUT_OF_RANGE. Strings and bytes point into the ring, valid until
 * s releases the frame (xb_subscriber_release or close). Under the
 * overwrite policy a publisher may overwrite a held frame: use what was read
 * only when the following xb_subscriber_release (or xb_subscriber_check)
 * returns XB_OK, not XB_ERR_OVERRUN; a frame overwritten while this call
 * read it, so that it no longer parses, is XB_ERR_OVERRUN here too, not
 * XB_ERR_MALFORMED. */
int32_t xb_path_read_received(xb_path p, xb_subscriber s, const xb_frame *frames, uint64_t n, void *out,
                              uint8_t *present);
/* The path's program: its compiled steps as bytes, for bindings that read
 * the field of a frame themselves, in the frame's payload, instead of one
 * library call per read (the Python package reads region frames this way).
 * *program points to *len bytes the path owns, valid until xb_path_free; *len
 * is 0 when the path has no program (vectors of scalars, Cap'n Proto paths
 * below the root struct or to a Bool, ...): read it with xb_path_read.
 * *also_type_id (may be NULL) gets the second type id the path reads (the
 * XB_RECORD_* of a bundled schema's type) or 0; frames of other types, and
 * of another codec than the format's, are not the program's to read.
 *
 * A program reads well-formed messages only: wherever a reader finds
 * anything else (an offset or a length outside the payload, a string
 * without its NUL, a null or far pointer, several segments, a union
 * holding another member), it must read with xb_path_read, which gives
 * the value or the error. Little-endian bytes:
 *   0  u8  version (1)            1  u8  format: 1 FlatBuffers, 2 Cap'n Proto
 *   2  u8  leaf: 1 integer, 2 float, 3 bool, 4 string, 5 bytes, 6 array
 *          (a vector, list or fixed array of scalars: an xb_array)
 *   3  u8  leaf size in bytes (scalars; an array's elements)
 *   4  u8  flags: 1 signed integer (or array of them); 2 an absent
 *          FlatBuffers leaf reads as the default bits (without it, an
 *          absent leaf has no value); 4 the array is a FlatBuffers fixed
 *          array, inline in its struct, of the length at byte 8
 *   5  u8  steps
 *   6  u8  an array's elements: 1 integer, 2 float, 3 bool; else 0
 *   7  u8  0
 *   8  u64 default bits (Cap'n Proto: XORed with the stored value); a
 *          fixed array's length
 *   16 steps, 16 bytes each.
 * A FlatBuffers step (from the root table; pos starts at the root offset's
 * target): u8 op, u8 flags (1: follow the uoffset at the new pos unless it
 * is the last step), u8 union tag, u8 0, u16 slot, u16 tag slot, u32 size,
 * u32 index. op 1 table field: the field at vtable offset slot (absent: 0
 * in the vtable); 2 struct field: pos += slot; 3 element: the vector at pos,
 * element index of size bytes (past the end: absent); 4 union member: a
 * table field whose type field (vtable offset tag slot) must hold tag. A
 * scalar leaf or fixed array is at the final pos; a string, bytes or
 * array leaf is otherwise the vector whose uoffset is there.
 * A Cap'n Proto program has one step, a field of the root struct of a
 * one-segment message: u8 op (5 data field, 6 pointer field), u8 flags
 * (1: a union discriminant must match), u16 the discriminant's offset in
 * 16-bit units, u16 its value, u16 0, u32 the field's byte offset in the
 * data section, or its pointer index, u32 0, u32 0. A data field past the
 * struct's data section reads as its default; a pointer field is a list of
 * bytes (Text, with its NUL; Data) or, for an array leaf, of elements of
 * the leaf size (its element-size code must match: 2 for 1 byte, 3, 4, 5
 * for 2, 4, 8 bytes). */
int32_t xb_path_program(xb_path p, const uint8_t **program, uint64_t *len, uint64_t *also_type_id);

/* Appends the schema's binary form to r as an XB_CODEC_SCHEMA frame, so a
 * reader in another process can decode r's frames without a schema of its
 * own (load each XB_CODEC_SCHEMA frame's payload with xb_schema_load). */
int32_t xb_region_store_schema(xb_region r, xb_schema schema, xb_frame *out);
/* Frees the schema (XB_ERR_CLOSED the second time). */
int32_t xb_schema_free(xb_schema s);

/* The type id of the type with a fully-qualified name ("MyGame.Example.Monster";
 * Cap'n Proto: "file.capnp:Outer.Inner", or "Outer.Inner" when unambiguous).
 * XB_ERR_UNKNOWN_TYPE names it when there is none. */
int32_t xb_schema_type_id(xb_schema s, const char *name, uint64_t *out);
/* The type id of the FlatBuffers root_type; XB_ERR_UNKNOWN_TYPE when the
 * schema declares none (Cap'n Proto schemas never do). */
int32_t xb_schema_root_type(xb_schema s, uint64_t *out);
/* The fully-qualified name of a type: *name points to *len bytes of UTF-8,
 * followed by a NUL, owned by the schema (not Go memory): valid until
 * xb_schema_free. XB_ERR_UNKNOWN_TYPE names an id the schema lacks. */
int32_t xb_schema_type_name(xb_schema s, uint64_t type_id, const char **name, uint64_t *len);

/* Checks that bytes hold a well-formed message whose root is the type
 * type_id (a FlatBuffers table, or a Cap'n Proto struct; another kind is
 * XB_ERR_RECORD_TYPE). flags: XB_MSG_*. XB_OK, or XB_ERR_MALFORMED. */
int32_t xb_schema_verify(xb_schema s, uint64_t type_id, const uint8_t *bytes, uint64_t len, uint32_t flags);

/* Transcode a message of type type_id in bytes (flags: XB_MSG_*) into s:
 *  - JSON as the reference tools print it (FlatBuffers: flatc --json
 *    --strict-json, non-finite floats as "nan"/"inf"/"-inf"; Cap'n Proto:
 *    its JSON codec, as capnp convert binary:json);
 *  - MessagePack: the message's fields as a map keyed by field name, in
 *    schema order, nested alike. FlatBuffers: the fields present in the
 *    message; Cap'n Proto: every data field and non-null pointer field.
 *    Integers and enums as integers of their exact value and sign (union
 *    `_type` fields too), float32 as float32 and float64 as float64 with the
 *    stored bits, strings as str, Cap'n Proto Data as bin, Void and unknown
 *    union members as nil. AnyPointer fields are verified and left out.
 * Strings must be valid UTF-8 on both paths (else XB_ERR_MALFORMED, naming
 * the field). *out points into scratch: valid until the next call that uses
 * sc, or xb_scratch_free. bytes need no alignment. */
int32_t xb_schema_to_json(xb_schema s, xb_scratch sc, uint64_t type_id, const uint8_t *bytes, uint64_t len,
                          uint32_t flags, const uint8_t **out, uint64_t *out_len);
int32_t xb_schema_to_msgpack(xb_schema s, xb_scratch sc, uint64_t type_id, const uint8_t *bytes, uint64_t len,
                             uint32_t flags, const uint8_t **out, uint64_t *out_len);
/* The same for a frame of region r, decoded as the type its header names
 * (frame->type_id): a type the schema lacks is XB_ERR_UNKNOWN_TYPE naming
 * the id, and a frame whose codec is not the schema's format
 * (XB_CODEC_FLATBUFFERS or XB_CODEC_CAPNP) is XB_ERR_INVALID_ARG. Only the
 * frame's identity (region_id, generation, offset) is read, as in xb_decode. */
int32_t xb_schema_frame_to_json(xb_schema s, xb_region r, xb_scratch sc, const xb_frame *frame, const uint8_t **out,
                                uint64_t *out_len);
int32_t xb_schema_frame_to_msgpack(xb_schema s, xb_region r, xb_scratch sc, const xb_frame *frame,
                                   const uint8_t **out, uint64_t *out_len);
/* The frames[0..n) of r in one call: a MessagePack array of n values, each
 * as xb_schema_frame_to_msgpack writes it (frames may hold different types).
 * A failure names the index and offset of the frame, and writes nothing. */
int32_t xb_schema_frames_to_msgpack(xb_schema s, xb_region r, xb_scratch sc, const xb_frame *frames, uint64_t n,
                                    const uint8_t **out, uint64_t *out_len);

/* ---- refs: walking one message in place -----------------------------------
 * An xb_ref is a cursor into one frame of a region: a FlatBuffers table,
 * struct, vector or value, or a Cap'n Proto struct, group, list or value.
 * It is a plain value the caller owns (copy it, keep it in an array, drop it:
 * nothing to free). It names its region and schema handles, the frame's
 * identity (region_id, generation, offset), the type and a position, so every
 * call checks that the region and schema are open (XB_ERR_CLOSED), that the
 * frame still exists (a reset since is XB_ERR_STALE) and that the position
 * lies inside the message: a ref the library did not make, or one altered,
 * fails (XB_ERR_INVALID_ARG, XB_ERR_MALFORMED) or reads wrong values, but
 * never reads outside the frame. The region and the schema must stay open
 * while refs into them are used.
 *
 * A call's out ref may be its input ref (walking down in place).
 * A field is chosen by name, or (name NULL) by its index in its type
 * (xb_schema_field_index: look it up once, use it for every message); with
 * name NULL and index XB_SELF, the getters read the ref itself (an element
 * from xb_ref_elem, say). Fields absent from the message set *present
 * (may be NULL) to 0: scalars then read as the schema's default (a
 * FlatBuffers field) or 0, bytes as NULL, 0, and child refs are zeroed (kind
 * 0; using one is XB_ERR_INVALID_ARG). A Cap'n Proto union member that is
 * not the active one is absent. A Cap'n Proto null pointer is present 0
 * too (the message does not hold it), but its ref is not zeroed: it reads
 * as capnp's getters read it. A Text, Data or List of numbers reads as its
 * schema default (bytes owned by the schema, valid until xb_schema_free),
 * else empty; a struct as a struct of its fields' defaults. (A struct value
 * or a list of other elements declared as a field's default is not applied
 * by refs; paths apply it.) Asking for another kind of value than the
 * field holds (the length of a table, a string as an integer) is
 * XB_ERR_INVALID_ARG naming the field; an integer the getter's type cannot
 * hold (a uint64 above INT64_MAX through xb_ref_int, a negative number
 * through xb_ref_uint) is XB_ERR_RANGE.
 *
 * Pointers the getters return (strings, bytes, arrays) point into the region:
 * valid until it is closed or reset, like frame payloads. Reading the region
 * is not synchronised with writers in other processes beyond the frame's
 * commit: a frame is never rewritten by crossbuf once committed. */
#endif /* CROSSBUF_TYPES_ONLY: the refs' types are shared with the Go side */

enum { XB_REF_TABLE = 1, XB_REF_STRUCT = 2, XB_REF_LIST = 3, XB_REF_VALUE = 4 };
#define XB_SELF (-1)
/* Flags of xb_ref_root. */
enum { XB_REF_NO_VERIFY = 1 /* skip the whole-message check (each read is still bounds-checked) */ };
/* dtype of an xb_array of booleans: one byte each, as the message stores
 * them (writers store 0 or 1; read any other byte as true, as flatc does). */
enum { XB_DTYPE_BOOL = XB_DTYPE_F64 + 1 };

typedef struct xb_ref {
    xb_region region;    /* the region holding the frame */
    xb_schema schema;    /* the schema the message is read with */
    uint64_t region_id;  /* frame identity, as in xb_frame */
    uint64_t generation;
    uint64_t frame;      /* offset of the frame header */
    uint64_t type_id;    /* the table, struct or group; for lists and values, the type holding `field` */
    int32_t field;       /* -1, or the index in type_id of the field whose value (depth 0) or element is here */
    uint16_t depth;      /* list nesting under `field`: 0 its value, 1 an element, 2 an element's element */
    uint16_t kind;       /* XB_REF_*; 0 for an absent value */
    uint64_t where[4];   /* position in the message; opaque */
} xb_ref;

/* A vector, list or fixed array of scalars, in place: len elements of
 * elem_size bytes, little-endian, of type dtype (XB_DTYPE_*, enums as their
 * integer type). ptr is not aligned to elem_size in general. */
typedef struct xb_array {
    const void *ptr;
    uint64_t len;
    int32_t dtype;
    uint32_t elem_size;
} xb_array;

XB_STATIC_ASSERT(offsetof(xb_ref, type_id) == 40 && offsetof(xb_ref, field) == 48 && offsetof(xb_ref, kind) == 54 &&
                     offsetof(xb_ref, where) == 56 && sizeof(xb_ref) == 88,
                 "xb_ref layout");
XB_STATIC_ASSERT(offsetof(xb_array, dtype) == 16 && sizeof(xb_array) == 24, "xb_array layout");

#ifdef CROSSBUF_TYPES_ONLY
typedef uint64_t xb_builder;
#else
typedef struct xb_builder_handle *xb_builder; /* a message being built field by field (xb_builder_new) */
#endif

#ifndef CROSSBUF_TYPES_ONLY

/* A ref to the root of frame (only its identity is read), a message of type
 * type_id: the frame's header must name that type (else XB_ERR_RECORD_TYPE)
 * and its codec the schema's format. Unless flags has XB_REF_NO_VERIFY, the
 * whole message is verified first (XB_ERR_MALFORMED). */
int32_t xb_ref_root(xb_schema s, xb_region r, const xb_frame *frame, uint64_t type_id, uint32_t flags, xb_ref *out);
/* The index of field name in type type_id (a table, struct or group), for the
 * getters' index argument. XB_ERR_INVALID_ARG names a field the type lacks. */
int32_t xb_schema_field_index(xb_schema s, uint64_t type_id, const char *name, int32_t *index);
/* A ref to a field's value: a table, struct, group, vector, list, string or
 * scalar. For a FlatBuffers union field, the member (see xb_ref_union). */
int32_t xb_ref_field(const xb_ref *ref, const char *name, int32_t index, xb_ref *out, uint8_t *present);
/* Scalars: integers, enums and bools (as 0 or 1) through xb_ref_int and
 * xb_ref_uint; float32 and float64 through xb_ref_float. */
int32_t xb_ref_int(const xb_ref *ref, const char *name, int32_t index, int64_t *out, uint8_t *present);
int32_t xb_ref_uint(const xb_ref *ref, const char *name, int32_t index, uint64_t *out, uint8_t *present);
int32_t xb_ref_float(const xb_ref *ref, const char *name, int32_t index, double *out, uint8_t *present);
/* A string (without its NUL; not checked for UTF-8), Cap'n Proto Data, or a
 * vector of bytes, in place. */
int32_t xb_ref_bytes(const xb_ref *ref, const char *name, int32_t index, xb_str *out, uint8_t *present);
/* A vector, list or fixed array of scalars, in place. A Cap'n Proto
 * List(Bool) is bit-packed: read its elements with xb_ref_elem. */
int32_t xb_ref_array(const xb_ref *ref, const char *name, int32_t index, xb_array *out, uint8_t *present);
/* The element count of a vector, list or fixed array (0 when absent). */
int32_t xb_ref_len(const xb_ref *ref, const char *name, int32_t index, uint64_t *out);
/* A ref to element i of the list ref; *present is 0 past the end (the ref
 * zeroed), and for a Cap'n Proto null pointer element or an element of a
 * null list's default (the ref reads it, as above). An element
 * of a FlatBuffers vector of unions is its member table or struct (*present
 * 0 for NONE or a tag this schema does not know); a string member cannot be
 * held by a ref (XB_ERR_INVALID_ARG): read the vector with xb_ref_json. */
int32_t xb_ref_elem(const xb_ref *ref, uint64_t i, xb_ref *out, uint8_t *present);
/* A union.
 *  - FlatBuffers: the union field chosen by name/index; *tag is its `_type`
 *    value (0: NONE), *member a ref to the member table or struct, and
 *    *present 0 for NONE or a tag this schema does not know. A string
 *    member cannot be held by a ref (XB_ERR_INVALID_ARG): read the table
 *    with xb_ref_json.
 *  - Cap'n Proto: the union of ref itself (XB_SELF) or of the group chosen;
 *    *tag is the discriminant, *member a ref to the struct or group that
 *    holds the active field, and *member_field that field's index in it
 *    (read it with the getters; -1 and *present 0 for a discriminant this
 *    schema does not know).
 * tag, member_field, member and present may each be NULL. */
int32_t xb_ref_union(const xb_ref *ref, const char *name, int32_t index, int64_t *tag, int32_t *member_field,
                     xb_ref *member, uint8_t *present);
/* JSON of what ref points at, in the form xb_schema_to_json writes, verified
 * on the way; copied into sc: valid until the next call that uses sc. */
int32_t xb_ref_json(const xb_ref *ref, xb_scratch sc, const uint8_t **out, uint64_t *out_len);

/* ---- builder: a message field by field -------------------------------------
 * A builder assembles one message of a type in library memory, then
 * xb_builder_finish encodes it into a new frame of a region in one step.
 * Fields are named as in the ref getters (name, or name NULL and an index
 * into the type being built); name NULL and XB_SELF appends an element to
 * the list being built. xb_builder_begin opens a table, struct, group or
 * list field (or, in a list, a new element); for a FlatBuffers union field,
 * set its `_type` field first (a name or number) and begin the union field
 * to build the member; xb_builder_end closes it. A Cap'n Proto union member
 * is chosen by setting (or beginning) it, which drops the member set before,
 * as capnp's setters do; a Void member is set with any setter (say
 * xb_builder_set_int(b, "nothing", XB_SELF, 0)), its value unused.
 *
 * Every value is checked when it is set: an integer its field cannot hold,
 * a float64 beyond a float32 field, text that is not UTF-8, an unknown enum
 * name is XB_ERR_INVALID_RECORD naming the field path (e.g. items[2].qty),
 * and nothing is stored. A call that does not fit the builder's state (a
 * field of a list, a scalar through begin, end with nothing open) is
 * XB_ERR_INVALID_ARG. Strings and bytes are copied when set.
 *
 * A builder does not need its schema to stay open. Calls on one builder from
 * several threads are serialised; use one per thread. */
int32_t xb_builder_new(xb_schema s, uint64_t type_id, xb_builder *out);
/* Integers, enums (their number) and bools (0 or 1). */
int32_t xb_builder_set_int(xb_builder b, const char *name, int32_t index, int64_t v);
int32_t xb_builder_set_uint(xb_builder b, const char *name, int32_t index, uint64_t v);
int32_t xb_builder_set_float(xb_builder b, const char *name, int32_t index, double v);
/* Text (UTF-8), or the name of an enum value or union member. */
int32_t xb_builder_set_string(xb_builder b, const char *name, int32_t index, const uint8_t *s, uint64_t len);
/* Cap'n Proto Data, or a FlatBuffers vector of bytes. */
int32_t xb_builder_set_bytes(xb_builder b, const char *name, int32_t index, const uint8_t *p, uint64_t len);
int32_t xb_builder_begin(xb_builder b, const char *name, int32_t index);
int32_t xb_builder_end(xb_builder b);
/* Encodes the message into a new frame of r and resets the builder for the
 * next one. Everything begun must be ended (XB_ERR_INVALID_ARG); what only
 * the whole message shows (a missing required field, say) is
 * XB_ERR_INVALID_RECORD naming it; a FlatBuffers union tag set without its
 * member is written as flatc writes it. On failure nothing is
 * committed and the builder keeps its content. */
int32_t xb_builder_finish(xb_builder b, xb_region r, xb_frame *out);
/* Drops everything set since the last finish. */
int32_t xb_builder_reset(xb_builder b);
/* Frees the builder (XB_ERR_CLOSED the second time). */
int32_t xb_builder_free(xb_builder b);

/* ---- channels ------------------------------------------------------------
 * A channel is a named shared ring of frames (in /dev/shm, like regions)
 * that runs forever: any number of publishers and subscribers, in any
 * processes. Frames have the format of region frames; a frame's space is
 * reused once every subscriber has released it. Layout and protocol: the
 * package doc of go/channel. In an xb_frame of a channel, offset is the
 * header's offset from the base of the channel's mapping (xb_channel_base),
 * region_id the channel's random id and generation the lap of the ring.
 * The region calls that take frames (xb_decode, xb_path_read, ...) do not
 * take channel frames: decode their payload bytes (xb_decode_bytes,
 * xb_schema_to_json, xb_schema_to_msgpack, ...).
 *
 * Timeouts are in nanoseconds: < 0 waits for ever, 0 does not wait. A
 * waiting call (a publish under XB_POLICY_BLOCK, a receive) ends only when
 * its condition holds, its timeout passes (XB_ERR_TIMEOUT), or its channel
 * or subscriber is closed (XB_ERR_CLOSED); signals do not end it. Callers
 * that must react to signals wait in slices (the Python package waits 50 ms
 * at a time).
 *
 * Close racing other calls: xb_channel_close wakes the calls waiting on the
 * channel, waits until every call in flight on it has returned, and then
 * unmaps it; later calls on the channel or its subscribers return
 * XB_ERR_CLOSED. Every pointer into the channel (frame payloads) is invalid
 * after xb_channel_close. xb_subscriber_close waits for a receive in flight
 * on that subscriber (at most about 50 ms, when it is waiting). */

/* Creates the channel name exclusively (XB_ERR_EXISTS if taken). capacity is
 * the data ring size in bytes, rounded up to a power of two, at least 4096,
 * at most XB_MAX_CAPACITY; the largest payload is the ring size - 128.
 * policy: XB_POLICY_*. mode 0 means 0600. The whole file is reserved now:
 * XB_ERR_NO_SPACE if /dev/shm cannot hold it. */
int32_t xb_channel_create(const char *name, uint64_t capacity, int32_t policy, uint32_t mode, xb_channel *out);
/* Attaches to a channel another process created. flags: 0, or
 * XB_OPEN_READ_ONLY to subscribe only (the ring is mapped PROT_READ; a
 * publish is XB_ERR_READ_ONLY). The header is validated before use. */
int32_t xb_channel_open(const char *name, uint32_t flags, xb_channel *out);
/* Removes the name; open channels keep working. */
int32_t xb_channel_unlink(const char *name);
/* Base address and size of the whole mapping (header, tables and ring):
 * every frame payload lies inside it. Valid until xb_channel_close. */
int32_t xb_channel_base(xb_channel ch, const uint8_t **base, uint64_t *size);
/* Ends the stream for good, in every process: publishing is XB_ERR_ENDED
 * from now on (publishers waiting for space wake with it), and subscribers
 * receive the frames committed before, then XB_ERR_ENDED. A channel opened
 * XB_OPEN_READ_ONLY cannot end it (XB_ERR_READ_ONLY). */
int32_t xb_channel_end(xb_channel ch);
/* Closes the channel (see above). Its subscribers' entries are freed (a
 * group member's frames not released go back to the group, as on
 * xb_subscriber_close); their handles still need xb_subscriber_close. A
 * second close is XB_ERR_CLOSED. */
int32_t xb_channel_close(xb_channel ch);

/* Stores the schema's binary form in the channel's schema area (16 MiB,
 * apart from the ring and never reclaimed; its pages are allocated as
 * schemas are stored), unless the same bytes are there already, so a
 * subscriber in another process decodes the channel's frames with no schema
 * file of its own (xb_channel_schemas; `crossbuf cat`). A full schema area
 * is XB_ERR_FULL, no memory left in /dev/shm for it XB_ERR_NO_SPACE; a
 * channel opened XB_OPEN_READ_ONLY is XB_ERR_READ_ONLY. schema stays the
 * caller's. */
int32_t xb_channel_store_schema(xb_channel ch, xb_schema schema);
/* Loads the schemas stored in the channel, newest first, into out[0..*n):
 * new schemas the caller frees with xb_schema_free. Stored bytes that are
 * not a schema are skipped. When two schemas define a type id differently,
 * the newer is a later version of the schema: look types up in it first.
 * At most cap are loaded (out may be NULL when cap is 0); *total (may be
 * NULL) is how many there are, so a caller with *total > cap calls again
 * with a larger array. A schema area another process corrupted is
 * XB_ERR_CORRUPT, with out[0..*n) holding the schemas stored before the
 * corrupt entry (the caller frees them too). */
int32_t xb_channel_schemas(xb_channel ch, xb_schema *out, uint64_t cap, uint64_t *n, uint64_t *total);

/* Copies len bytes (already encoded with codec: XB_CODEC_*) into a new frame
 * of type type_id and commits it. When the ring is full the policy applies:
 * BLOCK waits up to timeout_ns (XB_ERR_TIMEOUT), FAIL returns XB_ERR_FULL,
 * OVERWRITE reclaims the oldest frames. A frame another publisher is still
 * writing is never reclaimed, under any policy and with no subscriber too:
 * when it is the oldest, BLOCK and OVERWRITE wait for its commit up to
 * timeout_ns (XB_ERR_TIMEOUT), FAIL returns XB_ERR_FULL. A payload larger
 * than the ring allows is XB_ERR_INVALID_ARG. out (may be NULL) receives the frame's
 * descriptor: its position (offset, generation = ring lap) and publish_ns;
 * its payload pointer must not be read, as the space may be reused as soon as
 * every subscriber has released the frame (at once when there are none). */
int32_t xb_channel_publish(xb_channel ch, int32_t codec, uint64_t type_id, const uint8_t *bytes, uint64_t len,
                           int64_t timeout_ns, xb_frame *out);
/* Publishes n frames in one call, in order: frame i is lens[i] bytes of data,
 * the frames laid end to end (frame i starts at the sum of lens[0..i)). Parked
 * subscribers are woken once. timeout_ns applies to each frame's wait for
 * space. *n_done (may be NULL) is how many were committed: on an error,
 * exactly the first *n_done frames were published and nothing after them. */
int32_t xb_channel_publish_batch(xb_channel ch, int32_t codec, uint64_t type_id, const uint8_t *data,
                                 const uint64_t *lens, uint64_t n, int64_t timeout_ns, uint64_t *n_done);

/* Joins the channel: a broadcast subscriber (group NULL) receives every frame
 * committed after this call returns; a member of the consumer group `group`
 * (a non-empty name; BLOCK and FAIL channels only) receives each frame that
 * no other member of the group receives, and frames a member held (received,
 * not released) when its process died are delivered again to another: at
 * least once, so a member that received several times without releasing may
 * cause frames the group gave other members in between to come again too.
 * A member, like a broadcast subscriber, holds what it received until
 * xb_subscriber_release. wait_mode: XB_WAIT_*. A
 * subscriber is used by one thread at a time. XB_ERR_FULL when the
 * subscriber table (64 entries) is held by live subscribers. */
int32_t xb_channel_subscribe(xb_channel ch, int32_t wait_mode, const char *group, xb_subscriber *out);
/* Receives the next frame, waiting up to timeout_ns (XB_ERR_TIMEOUT). *out
 * points into the ring, zero-copy: under BLOCK and FAIL the frame stays
 * intact until xb_subscriber_release (or close) and its space is not reused
 * before. Under OVERWRITE nothing pins it: a publisher may reclaim it while
 * it is read. Read it like a seqlock: after reading, call
 * xb_subscriber_release; XB_ERR_OVERRUN there (or from the next receive)
 * means frames received since the last successful release were overwritten
 * and what was read from them may be torn; they are counted as dropped. A
 * frame whose header breaks the layout is XB_ERR_CORRUPT (the next call goes
 * on past it). Once everything committed was received: XB_ERR_ENDED after
 * xb_channel_end (final), XB_ERR_PUBLISHER_GONE when every open that
 * published has closed or died (checked while waiting; a later publisher's
 * frames are received by the next call), so a stream that has no future
 * never hangs a receive. A consumer-group member takes the frames another
 * member handed back (it closed or died holding them) only when it holds
 * none: at the end it gets XB_ERR_HELD instead while such frames wait
 * (xb_subscriber_release, then receive). */
int32_t xb_subscriber_receive(xb_subscriber sub, int64_t timeout_ns, xb_frame *out);
/* Receives up to cap frames into out[0..cap): waits up to timeout_ns for the
 * first, then takes those already committed. *n is how many were stored,
 * also when the call fails: an error after some frames (XB_ERR_CORRUPT at a
 * later frame, say) still stores those before it, except that with
 * XB_ERR_OVERRUN every frame received since the last release must be
 * discarded. Their lifetime is that of xb_subscriber_receive's frames. */
int32_t xb_subscriber_receive_batch(xb_subscriber sub, xb_frame *out, uint64_t cap, int64_t timeout_ns, uint64_t *n);
/* Gives back every frame received so far: their payloads must not be read
 * any more. XB_ERR_OVERRUN: see xb_subscriber_receive. */
int32_t xb_subscriber_release(xb_subscriber sub);
/* Checks, without giving anything back, that the frames received since the
 * last release are intact: XB_ERR_OVERRUN once an OVERWRITE publisher has
 * reclaimed any of them (discard what was read from them; the next release
 * reports it too), XB_OK otherwise (always under BLOCK and FAIL, and for
 * a consumer-group member). */
int32_t xb_subscriber_check(xb_subscriber sub);
/* Frames (and payload bytes) this subscriber lost to XB_POLICY_OVERWRITE. */
int32_t xb_subscriber_dropped(xb_subscriber sub, uint64_t *frames, uint64_t *bytes);
/* The subscriber's entry in the channel's subscriber table (for
 * xb_channel_latency). */
int32_t xb_subscriber_index(xb_subscriber sub, int32_t *out);
/* Leaves the channel: the entry stops holding back publishers. A group
 * member's frames that were not released go back to the group, to be
 * delivered to another member (release first to acknowledge them); the
 * group ends with its last member, and frames committed while it has none
 * are not kept for it. Frames received and not released must not be read
 * after. The handle is freed even when its channel was
 * closed first. */
int32_t xb_subscriber_close(xb_subscriber sub);

/* The channel's gauges and counters. */
int32_t xb_channel_get_stats(xb_channel ch, xb_channel_stats *out);
/* The active entries of the subscriber table, every process's: up to cap
 * into out[0..cap), in table order. *n is how many are active (more than cap
 * when out was too small). */
int32_t xb_channel_subscribers(xb_channel ch, xb_subscriber_stats *out, uint64_t cap, uint64_t *n);
/* Publish->receive latency quantiles, in ns, from the channel's shared HDR
 * histograms (2 significant digits, 1 ns to 100 s): out_ns[i] is the value at
 * quantiles[i] (in [0, 1]; 0.999 is p99.9) of subscriber entry `subscriber`
 * (xb_subscriber_index), or of every subscriber together when it is -1.
 * *count (may be NULL) is the number of latencies recorded; all out_ns are 0
 * when it is 0. An index that is not an active subscriber is
 * XB_ERR_OUT_OF_RANGE; one below -1, XB_ERR_INVALID_ARG. */
int32_t xb_channel_latency(xb_channel ch, int32_t subscriber, const double *quantiles, uint64_t *out_ns, uint64_t n,
                           uint64_t *count);

/* ---- streams -------------------------------------------------------------
 * A region's or channel's frames over a byte stream, in the wire format
 * above; a frame read lands in a region or channel and is read in place
 * there. Each stream goes over a descriptor (fd >= 0, fn NULL; blocking
 * reads and writes, retried on EINTR; the caller keeps and closes it) or
 * the caller's callback fn with ctx (fd -1). A stream handle is used by one
 * thread at a time; xb_stream_close waits for a call in flight.
 * A write that fails part-way through a frame (XB_ERR_IO) leaves part of it
 * on the stream: every later write of that writer fails too. A reader that
 * meets a malformed header or a stream cut inside a frame (XB_ERR_MALFORMED)
 * cannot find the next frame: every later read fails the same way. */
/* Writes the stream header now, and returns a writer. */
int32_t xb_stream_writer(int32_t fd, xb_io_fn write, void *ctx, xb_stream *out);
/* Reads and checks the stream header now, and returns a reader. max_payload
 * (0: none) bounds every frame's payload: a larger frame is XB_ERR_MALFORMED
 * and stays pending (xb_stream_skip goes past it); the destination's
 * capacity bounds it too. */
int32_t xb_stream_reader(int32_t fd, xb_io_fn read, void *ctx, uint64_t max_payload, xb_stream *out);
/* Writes n frames (of any region or channel, or made up: codec, type_id,
 * publish_ns and payload/payload_len are used). */
int32_t xb_stream_write(xb_stream w, const xb_frame *frames, uint64_t n);
/* Writes the committed frames of r visible now from *cursor (0: the first),
 * moves *cursor past them and counts them in *n. A region truncated by
 * another process is XB_ERR_TRUNCATED before the first frame that is not
 * whole in the file: the frames before it are written whole. */
int32_t xb_stream_write_region(xb_stream w, xb_region r, uint64_t *cursor, uint64_t *n);
/* Reads up to cap frames into new frames of r; out (may be NULL, else cap
 * entries) receives them. It stops early only at the end of the stream:
 * XB_OK with *n == 0 means the stream has ended. When r is full
 * (XB_ERR_FULL) the frame read last stays pending and lands at the next call
 * (after a reset, or into another region); xb_stream_skip drops it. A frame
 * larger than r can hold even empty is XB_ERR_INVALID_ARG and stays pending. */
int32_t xb_stream_read_region(xb_stream rd, xb_region r, xb_frame *out, uint64_t cap, uint64_t *n);
/* The same into channel ch, publishing each frame (waiting for space up to
 * timeout_ns per frame under XB_POLICY_BLOCK: XB_ERR_TIMEOUT; FAIL:
 * XB_ERR_FULL; the frame stays pending). A frame larger than the channel's
 * largest payload is XB_ERR_INVALID_ARG and stays pending. */
int32_t xb_stream_read_channel(xb_stream rd, xb_channel ch, int64_t timeout_ns, uint64_t cap, uint64_t *n);
/* Reads past the next frame (the pending one, if any) without landing it. */
int32_t xb_stream_skip(xb_stream rd);
/* Frees the handle; the descriptor is not closed. XB_ERR_CLOSED the second time. */
int32_t xb_stream_close(xb_stream s);

#endif /* CROSSBUF_TYPES_ONLY */

#ifdef __cplusplus
}
#endif
#endif /* CROSSBUF_H */
