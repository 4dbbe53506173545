//go:build linux

// Package channel implements crossbuf channels: named shared rings of
// frames that run forever, written by any number of publishers and read by
// any number of subscribers, across goroutines and processes.
//
// A channel is one shared-memory file (/dev/shm/<name>, or a sealed memfd)
// laid out as below. Every multi-byte field is little-endian and naturally
// aligned; fields marked atomic are only accessed with atomic operations, in
// every language. Offsets are from the start of the mapping.
//
//	header (HeaderSize = 4096 bytes)
//	  0   magic            u64  "XBUFCHN\0"
//	  8   version          u32  LayoutVersion
//	  12  header_size      u32  4096
//	  16  capacity         u64  bytes of the whole file
//	  24  ring_offset      u64  page-aligned start of the data ring
//	  32  ring_size        u64  power of two, >= 4096
//	  40  policy           u32  0 block, 1 fail, 2 overwrite
//	  44  flags            u32  bit 0: sealed memfd
//	  48  channel_id       u64  random, never 0
//	  56  max_subscribers  u32
//	  60  sub_entry_size   u32  128
//	  64  subs_offset      u64
//	  72  hist_offset      u64
//	  80  hist_lowest      u64  HDR geometry: lowest discernible value (ns)
//	  88  hist_highest     u64  highest trackable value (ns)
//	  96  hist_sigfigs     u32  significant value digits
//	  100 hist_counts      u32  counts per histogram
//	  104 hist_stride      u64  bytes per histogram
//	  112 peer_hint        u64  atomic: spreads peer-id probes
//	  128 tail             u64  atomic: position of the next claim
//	  192 head             u64  atomic: a lower bound of every subscriber position
//	  256 data_seq         u32  atomic futex word: bumped when a frame is published to parked subscribers
//	  260 data_waiters     u32  atomic: subscribers parked on data_seq
//	  320 space_seq        u32  atomic futex word: bumped when space is released to parked publishers
//	  324 space_waiters    u32  atomic: publishers parked on space_seq
//	  384 counters         u64 each, atomic: frames_published, bytes_published, full_waits, full_fails,
//	                       parked_waits, dead_publishers, dead_subscribers, dropped_frames,
//	                       padding_frames, latency_overflow (384, 392, ... 456)
//	  464 ended            u32  atomic: 1 once End was called (no frame is published after)
//	  468 untracked        u32  atomic: open publishers the publisher table had no room for
//	  472 schema_offset    u64  start of the schema area (64-aligned)
//	  480 schema_size      u64  its bytes (a multiple of 64)
//	  512 publishers       64 u32, atomic: 0 free; else the peer id of an open that has
//	                       published, with bit 16 set once that open closed
//	subscriber table at subs_offset: max_subscribers entries of 128 bytes
//	  0   state     u32  atomic: 0 when free; else kind (1 joining, 2 active,
//	                     3 group member) in bits 0-1, epoch & 0x3FFF in bits 2-15,
//	                     and in bits 16-31 the peer id (package internal/peer) of
//	                     the subscriber's open; 0 for a group cursor
//	  4   reserved  u32
//	  8   position  u64  atomic: everything before it is released (a group
//	                     cursor: the next frame to hand out; a member: the first
//	                     frame of the range it holds, or all ones when it holds none)
//	  16  heartbeat u64  atomic: CLOCK_MONOTONIC of the last receive or wait; for
//	                     observation only, never a reason to reclaim
//	  24  frames, 32 bytes received; 40 dropped frames, 48 dropped bytes (overwrite);
//	  56  epoch (+1 per join); 64 parked waits                        u64, atomic
//	  72  group     u64  a group cursor: hash of the group name (FNV-1a 64, | 1);
//	                     a member: 1 + index of its group's cursor entry
//	  80  held_end  u64  a member: end position of the range it holds
//	  88  reserved up to 128
//	histograms at hist_offset: 1 + max_subscribers of hist_stride bytes; the
//	  first is the channel's, then one per subscriber entry. Each is
//	  hist_counts u64 counts (atomic adds) in the bucket layout of
//	  HdrHistogram with the geometry above.
//	schema area at schema_offset: the binary schemas of the channel's types
//	  (StoreSchema), a chain of 8-aligned entries; see schemas.go. Its pages
//	  are not reserved at creation.
//	data ring at ring_offset: ring_size bytes of frames
//
// # Positions and frames
//
// A position is a byte count since the channel was created; it never wraps.
// Position p lives at ring offset p mod ring_size, in lap p / ring_size.
// Each frame is a 64-byte frame header of the same format as a region's
// (include/crossbuf.h xb_frame_header), then its payload; a frame's slot is
// a multiple of 64 bytes and never straddles the end of the ring: a claim
// that would is preceded by a PADDING slot to the end. For channel frames
//
//	seal  = (lap & 0xFFFF) << 48 | writer peer id << 32 | slot size in 8-byte words
//	check = channel_id ^ position
//
// so a seal left from an earlier lap, or copied into a payload, is never
// taken for the seal of the current position.
//
// # Claim protocol
//
// Invariant: the frame header at the tail position T has seal T | 1 (the
// free mark: never a valid seal, and different for every position) and
// state 0. A publisher reads tail T, checks that the slot [T, T+size) plus
// the next 64-byte header fit before (head + ring_size) (see Policies), and
// claims the slot by a CAS of the seal at T from T | 1 to its seal; a
// publisher that read the tail a lap ago cannot succeed. It then sets the
// next header at T+size to seal (T+size) | 1, state 0, and moves the tail
// from T to T+size with a CAS. So every claim publishes its size before anything else
// happens, and the slot of a publisher that dies right after claiming can be
// skipped by everyone. The publisher fills the header (codec, type id,
// payload offset and length, publish time, check) and the payload, and
// publishes it with a CAS of state from WRITING (0) to COMMITTED. A slot
// that is not committed is ABORTED, and a wrap slot is PADDING.
//
// A subscriber at position p reads the seal at p: a seal that is not valid
// for p means no frame yet. It then reads the state: COMMITTED frames are
// returned, ABORTED and PADDING slots skipped, and WRITING waited for. Since
// a publisher marks the next header free before it commits, a subscriber
// that saw a slot's final state also sees the next header's free mark.
//
// # Subscribers and reclaim
//
// Each subscriber owns an entry of the subscriber table with its position:
// frames before it are released. A frame's space is reused once every
// active subscriber's position has passed it; head caches the smallest
// position seen. A subscriber joins at the tail read after its entry became
// active, so it receives frames claimed after Subscribe returns.
//
// # Policies
//
// When the slot does not fit: Block waits (spin, then a futex on space_seq)
// for the slowest subscriber; Fail returns ErrFull at once; Overwrite moves
// every lagging subscriber's position forward itself, walking the slot chain
// and adding the committed frames it skips to the subscriber's dropped
// counters, with a CAS on the position. A subscriber under Overwrite reads
// frames in place; releasing them is a CAS on its position from where it was,
// which fails exactly when a publisher moved it meanwhile: the frames it read
// may have been overwritten (ErrOverrun) and were counted as dropped. A
// slot that is still WRITING is never overwritten.
//
// # Waiting
//
// Parked subscribers sleep on data_seq with FUTEX_WAIT (shared, not
// private, so it works across processes), after incrementing data_waiters;
// a publisher that commits bumps data_seq and calls FUTEX_WAKE only when
// data_waiters is non zero. Publishers blocked on space do the same on
// space_seq, woken by subscribers that release.
//
// # Consumer groups
//
// See group.go: a group is a cursor entry; members take ranges of frames
// from it with a CAS and hold them with their own position until they
// release them; a dead member's range goes to a live member.
//
// # Crash recovery
//
// Every writable open holds a peer id (package internal/peer), an OFD lock
// the kernel drops when the process dies. A slot left WRITING, or a tail
// left behind, by a peer whose lock is gone is aborted (and the tail moved)
// by whoever waits on it, serialised by a recovery lock, so a dead
// publisher never blocks subscribers. A subscriber entry whose peer lock is
// gone is freed by a publisher that is short of space. A live peer is never
// reclaimed, however slow. Peer ids are reused once their holder is gone:
// a new holder first aborts the slots and frees the entries its
// predecessor left under the id (or gives the id up if it cannot), so they
// never pass for a live peer's. A liveness verdict is always taken before
// the state it acts on is read again: death is final, a state read before
// it may not be.
//
// # Truncation
//
// Another process that can write a named channel's file can shrink it;
// calls then fail with ErrTruncated instead of faulting, but payload slices
// the caller reads directly cannot be protected. Memfd channels are sealed
// against shrinking.
//
// # Lifetime
//
// Frame payloads alias the mapping. Under Block and Fail they stay intact
// until the subscriber's Release; under Overwrite see ErrOverrun. Everything is unmapped by Close.
package channel

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/internal/inflight"
	"github.com/crossbuf/crossbuf/go/internal/peer"
	"github.com/crossbuf/crossbuf/go/region"
)

// Layout constants.
const (
	LayoutVersion          = 2
	HeaderSize             = 4096
	FrameHeaderSize        = region.FrameHeaderSize
	SubEntrySize           = 128
	Magic           uint64 = 0x004E484346554258 // "XBUFCHN\0"

	// MinRing and MaxRing bound the data ring size.
	MinRing = 4096
	MaxRing = 1 << 40
	// MaxSubscribersLimit bounds Options.MaxSubscribers.
	MaxSubscribersLimit = 1024
	// DefaultMaxSubscribers is the subscriber table size when Options leaves it 0.
	DefaultMaxSubscribers = 64
	slotAlign             = 64
)

// Header field offsets.
const (
	hMagic       = 0
	hVersion     = 8
	hHeaderSize  = 12
	hCapacity    = 16
	hRingOffset  = 24
	hRingSize    = 32
	hPolicy      = 40
	hFlags       = 44
	hChannelID   = 48
	hMaxSubs     = 56
	hSubEntry    = 60
	hSubsOffset  = 64
	hHistOffset  = 72
	hHistLowest  = 80
	hHistHighest = 88
	hHistSigfigs = 96
	hHistCounts  = 100
	hHistStride  = 104
	hPeerHint    = 112
	hTail        = 128
	hHead        = 192
	hDataSeq     = 256
	hDataWaiters = 260
	hSpaceSeq    = 320
	hSpaceWait   = 324
	hCounters    = 384
	hEnded       = 464
	hUntracked   = 468
	hSchemaOff   = 472
	hSchemaSize  = 480
	hPublishers  = 512

	maxPublishers = 64      // entries of the publisher table
	pubClosed     = 1 << 16 // a publisher entry's open has closed
)

// Counter indexes (hCounters + 8*i).
const (
	cFramesPublished = iota
	cBytesPublished
	cFullWaits
	cFullFails
	cParkedWaits
	cDeadPublishers
	cDeadSubscribers
	cDroppedFrames
	cPaddingFrames
	cLatencyOverflow
)

// Subscriber entry field offsets.
const (
	sState     = 0
	sPosition  = 8
	sHeartbeat = 16
	sFrames    = 24
	sBytes     = 32
	sDropped   = 40
	sDropBytes = 48
	sEpoch     = 56
	sParked    = 64

	subFree    = 0
	subJoining = 1
	subActive  = 2
)

// Frame header offsets and states: those of a region frame.
const (
	fSeal    = 0
	fState   = 8
	fCodec   = 12
	fFlags   = 14
	fPayOff  = 16
	fPayLen  = 24
	fTypeID  = 32
	fPublish = 40
	fCheck   = 48

	stateWriting   uint32 = 0
	stateCommitted uint32 = 0x32465258 // "XRF2", as regions
	stateAborted   uint32 = 0x41465258 // "XRFA", as regions
	statePadding   uint32 = 0x50465258 // "XRFP": the rest of the lap is unused
)

const flagSealed = 1

// Policy is what a publisher does when the ring has no room for its frame.
type Policy uint32

const (
	// Block waits until the slowest subscriber releases enough space.
	Block Policy = iota
	// Fail returns ErrFull at once.
	Fail
	// Overwrite reclaims the space of the oldest frames even if subscribers
	// have not read them; they learn how many frames they lost.
	Overwrite
)

func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case Fail:
		return "fail"
	case Overwrite:
		return "overwrite"
	}
	return fmt.Sprintf("policy(%d)", uint32(p))
}

// Errors. Returned errors wrap one of them; test with errors.Is.
var (
	ErrClosed = errors.New("channel closed")
	ErrFull   = errors.New("channel full")
	// ErrTimeout: nothing arrived (or no space came free) in time.
	ErrTimeout = errors.New("channel wait timed out")
	// ErrVersion: not a channel (bad magic), another layout version, or an
	// inconsistent header.
	ErrVersion  = errors.New("not a crossbuf channel of this layout version")
	ErrInvalid  = errors.New("invalid argument")
	ErrExists   = fmt.Errorf("channel already exists: %w", fs.ErrExist)
	ErrNotFound = fmt.Errorf("channel not found: %w", fs.ErrNotExist)
	ErrNoSpace  = errors.New("no space to reserve the channel's capacity")
	// ErrReadOnly: publishing on a channel opened for subscribing only.
	ErrReadOnly = errors.New("channel opened for subscribing only")
	// ErrCorrupt: a frame header breaks the layout; the error names where.
	ErrCorrupt = errors.New("corrupt channel frame")
	// ErrTooManySubscribers: every subscriber entry is held by a live peer.
	ErrTooManySubscribers = errors.New("subscriber table full")
	// ErrOverrun (Overwrite policy): frames received since the last release
	// were overwritten meanwhile; what was read from them may be torn. They
	// are counted as dropped.
	ErrOverrun = errors.New("frames overwritten while held")
	// ErrEnded: the stream was ended (End); subscribers get it once they
	// have received every frame committed before.
	ErrEnded = errors.New("channel ended by a publisher")
	// ErrPublisherGone: a subscriber has received everything, and every
	// open that has published on the channel has closed or died. It is not
	// final: a publisher that comes later is received.
	ErrPublisherGone = errors.New("every publisher of the channel has closed or died")
	// ErrHeld: a consumer-group member that holds frames (received, not
	// released) has reached the end of the stream (ErrEnded or
	// ErrPublisherGone) while frames another member handed back (it closed
	// or died holding them) wait: Release, then Receive them.
	ErrHeld = errors.New("frames handed back by another group member wait: Release the frames held, then Receive")
	// ErrTruncated: another process shrank the shared-memory object.
	ErrTruncated = errors.New("channel truncated by another process")
	// ErrNotSealed: a descriptor offered as a channel is not a sealed memfd.
	ErrNotSealed = errors.New("descriptor is not sealed against shrinking")
)

// Options configure a new channel.
type Options struct {
	// Capacity is the data ring size in bytes, rounded up to a power of two
	// (at least MinRing). The largest payload is Capacity - 128.
	Capacity int
	Policy   Policy
	// MaxSubscribers is the subscriber table size (0: DefaultMaxSubscribers).
	MaxSubscribers int
	// Mode is the file mode of a named channel (0: 0600); the umask applies.
	Mode os.FileMode
	// SchemaSpace is the bytes kept for binary schemas (StoreSchema),
	// rounded up to 64 (0: DefaultSchemaSpace). Its pages are allocated
	// only as schemas are stored.
	SchemaSpace int
}

// DefaultSchemaSpace holds the binary schemas of nearly every program (a
// .bfbs is a few KiB to a few hundred; a CodeGeneratorRequest with its
// imports alike) and costs only the pages schemas use. MaxSchemaSpace
// bounds Options.SchemaSpace.
const (
	DefaultSchemaSpace = 16 << 20
	MaxSchemaSpace     = 1 << 30
)

// Access selects what an open may do.
type Access int

const (
	// PublishSubscribe maps the whole channel writable.
	PublishSubscribe Access = iota
	// SubscribeOnly maps the data ring PROT_READ: this open cannot publish,
	// and a stray write into a frame faults instead of corrupting it. The
	// header and subscriber table stay writable (positions live there).
	SubscribeOnly
)

// Histogram geometry of the latency histograms: 1 ns to 100 s, 2
// significant digits.
const (
	histLowest  = 1
	histHighest = 100_000_000_000
	histSigfigs = 2
)

// Channel is an open channel. Its methods are safe for concurrent use.
// Close may race other calls: calls in flight finish on mapped memory,
// later ones return ErrClosed.
type Channel struct {
	inflight inflight.Guard
	mem      []byte
	ring     []byte // mem[ringOff:]
	ringOff  uint64
	ringSize uint64
	mask     uint64
	lapShift uint
	maxSubs  int
	subsOff  uint64
	histOff  uint64
	hist     histGeometry
	schemas  []byte // the schema area
	id       uint64
	policy   Policy
	name     string
	fd       int
	self     peer.ID
	access   Access

	publisherWait atomic.Pointer[Wait]
	pubOnce       sync.Once     // registers this open in the publisher table at its first Reserve
	pubSlot       atomic.Int32  // 1 + its publisher entry; -1: untracked; 0: not a publisher
	pubWaiting    atomic.Uint32 // what a Reserve that timed out had counted (waited* bits)
	lastReap      atomic.Int64  // UnixNano of the last dead-subscriber scan (Fail)
	recoverMu     sync.Mutex    // with the recovery OFD lock: one recoverer per open at a time
	closeOnce     sync.Once
}

// layout computes the offsets of a channel of ring bytes and maxSubs
// entries.
type layout struct {
	subsOff, histOff, histStride, schemaOff, schemaSize, ringOff, total uint64
}

func computeLayout(ring uint64, maxSubs int, g histGeometry, schemaSpace uint64) layout {
	page := uint64(os.Getpagesize())
	var l layout
	l.subsOff = HeaderSize
	l.histOff = l.subsOff + uint64(maxSubs)*SubEntrySize
	l.histStride = (uint64(g.countsLen)*8 + 63) &^ 63
	l.schemaOff = l.histOff + uint64(maxSubs+1)*l.histStride
	l.schemaSize = (schemaSpace + 63) &^ 63
	end := l.schemaOff + l.schemaSize
	l.ringOff = (end + page - 1) &^ (page - 1)
	l.total = l.ringOff + ring
	return l
}

func ringSizeFor(capacity int) (uint64, error) {
	if capacity < 0 || capacity > MaxRing {
		return 0, fmt.Errorf("%w: capacity %d is not in [0, %d]", ErrInvalid, capacity, uint64(MaxRing))
	}
	c := max(uint64(capacity), MinRing)
	if c&(c-1) != 0 {
		c = 1 << bits.Len64(c)
	}
	return c, nil
}

// Create creates the named channel exclusively (ErrExists if the name is
// taken). The name rules are those of region.ValidShmName. The file is
// reserved now but for its schema area, so a full /dev/shm is ErrNoSpace
// here, not a fault later (StoreSchema reports it for the schema area).
func Create(name string, opts Options) (*Channel, error) {
	if err := region.ValidShmName(name); err != nil {
		return nil, err
	}
	path := shmPath(name)
	mode := opts.Mode
	if mode == 0 {
		mode = 0o600
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, uint32(mode.Perm()))
	if err != nil {
		return nil, osError("open", path, err)
	}
	c, err := createOnFd(fd, path, name, opts, 0)
	if err != nil {
		_ = unix.Unlink(path)
		return nil, err
	}
	return c, nil
}

func checkOptions(opts Options) error {
	if opts.Policy > Overwrite {
		return fmt.Errorf("%w: %v", ErrInvalid, opts.Policy)
	}
	if opts.MaxSubscribers < 0 || opts.MaxSubscribers > MaxSubscribersLimit {
		return fmt.Errorf("%w: MaxSubscribers %d is not in [0, %d]", ErrInvalid, opts.MaxSubscribers, MaxSubscribersLimit)
	}
	if opts.SchemaSpace < 0 || opts.SchemaSpace > MaxSchemaSpace {
		return fmt.Errorf("%w: SchemaSpace %d is not in [0, %d]", ErrInvalid, opts.SchemaSpace, MaxSchemaSpace)
	}
	_, err := ringSizeFor(opts.Capacity)
	return err
}

// layoutFor is the layout of a channel created with opts (checked).
func layoutFor(opts Options) (l layout, ring uint64, maxSubs int) {
	ring, _ = ringSizeFor(opts.Capacity)
	maxSubs = opts.MaxSubscribers
	if maxSubs == 0 {
		maxSubs = DefaultMaxSubscribers
	}
	space := uint64(opts.SchemaSpace)
	if space == 0 {
		space = DefaultSchemaSpace
	}
	return computeLayout(ring, maxSubs, newHistGeometry(histLowest, histHighest, histSigfigs), space), ring, maxSubs
}

// createOnFd sizes, reserves, maps and initialises the file behind fd. It
// owns fd.
func createOnFd(fd int, path, name string, opts Options, flags uint32) (*Channel, error) {
	fail := func(err error) (*Channel, error) {
		_ = unix.Close(fd)
		return nil, err
	}
	l, ring, maxSubs := layoutFor(opts)
	g := newHistGeometry(histLowest, histHighest, histSigfigs)
	if err := unix.Ftruncate(fd, int64(l.total)); err != nil {
		return fail(osError("ftruncate", path, err))
	}
	// Everything but the schema area, whose pages come as schemas are stored.
	for _, r := range [][2]uint64{{0, l.schemaOff}, {l.ringOff, l.total}} {
		if err := unix.Fallocate(fd, 0, int64(r[0]), int64(r[1]-r[0])); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
			return fail(osError("fallocate", path, err))
		}
	}
	mem, err := unix.Mmap(fd, 0, int(l.total), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("channel: mmap %d bytes: %w", l.total, err))
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		_ = unix.Munmap(mem)
		return fail(fmt.Errorf("channel: random id: %w", err))
	}
	id := binary.LittleEndian.Uint64(idb[:]) | 1
	h := func(off uintptr) unsafe.Pointer { return unsafe.Pointer(&mem[off]) }
	*(*uint32)(h(hVersion)) = LayoutVersion
	*(*uint32)(h(hHeaderSize)) = HeaderSize
	*(*uint64)(h(hCapacity)) = l.total
	*(*uint64)(h(hRingOffset)) = l.ringOff
	*(*uint64)(h(hRingSize)) = ring
	*(*uint32)(h(hPolicy)) = uint32(opts.Policy)
	*(*uint32)(h(hFlags)) = flags
	*(*uint64)(h(hChannelID)) = id
	*(*uint32)(h(hMaxSubs)) = uint32(maxSubs)
	*(*uint32)(h(hSubEntry)) = SubEntrySize
	*(*uint64)(h(hSubsOffset)) = l.subsOff
	*(*uint64)(h(hHistOffset)) = l.histOff
	*(*uint64)(h(hHistLowest)) = uint64(g.lowest)
	*(*uint64)(h(hHistHighest)) = uint64(g.highest)
	*(*uint32)(h(hHistSigfigs)) = uint32(g.sigfigs)
	*(*uint32)(h(hHistCounts)) = uint32(g.countsLen)
	*(*uint64)(h(hHistStride)) = l.histStride
	*(*uint64)(h(hSchemaOff)) = l.schemaOff
	*(*uint64)(h(hSchemaSize)) = l.schemaSize
	// Position 0 is the tail: its header carries the free mark.
	*(*uint64)(h(uintptr(l.ringOff) + fSeal)) = freeMark(0)
	// The magic goes last: an open racing creation sees no channel rather
	// than a half-written header.
	atomic.StoreUint64((*uint64)(h(hMagic)), Magic)
	c, err := attach(mem, uint64(len(mem)))
	if err != nil {
		_ = unix.Munmap(mem)
		return fail(err)
	}
	c.fd, c.name = fd, name
	if err := c.takePeerID(); err != nil {
		_ = unix.Munmap(mem)
		return fail(err)
	}
	return c, nil
}

// Open attaches to the named channel.
func Open(name string, access Access) (*Channel, error) {
	if err := region.ValidShmName(name); err != nil {
		return nil, err
	}
	path := shmPath(name)
	// O_RDWR even for SubscribeOnly: positions and the peer lock need it.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, osError("open", path, err)
	}
	c, err := openFd(fd, name, access)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

// openFd maps the channel in the file behind fd. It owns fd.
func openFd(fd int, name string, access Access) (*Channel, error) {
	fail := func(err error) (*Channel, error) {
		_ = unix.Close(fd)
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(fmt.Errorf("channel: fstat: %w", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail(fmt.Errorf("%w: not a regular file", ErrVersion))
	}
	if st.Size < HeaderSize+MinRing || uint64(st.Size) > MaxRing+MaxSchemaSpace+1<<30 {
		return fail(fmt.Errorf("%w: %d bytes is not a channel size", ErrVersion, st.Size))
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("channel: mmap %d bytes: %w", st.Size, err))
	}
	c, err := attachGuarded(mem, uint64(st.Size))
	if err == nil && access == SubscribeOnly {
		c.access = SubscribeOnly
		if e := unix.Mprotect(c.ring, unix.PROT_READ); e != nil {
			err = fmt.Errorf("channel: mprotect: %w", e)
		}
	}
	if err == nil {
		c.fd, c.name = fd, name
		err = c.takePeerID()
	}
	if err != nil {
		_ = unix.Munmap(mem)
		return fail(err)
	}
	return c, nil
}

// attachGuarded is attach with a fault (a peer truncating the file now)
// turned into ErrTruncated.
func attachGuarded(mem []byte, size uint64) (c *Channel, err error) {
	defer func(old bool) {
		if recoverFault(old) {
			c, err = nil, fmt.Errorf("%w: while reading the header", ErrTruncated)
		}
	}(setPanicOnFault())
	return attach(mem, size)
}

// attach validates the header of mem (size bytes, as mapped) and returns a
// Channel over it. Every field is checked before it is used, so any bytes
// give an error, never a panic or an access outside mem.
func attach(mem []byte, size uint64) (*Channel, error) {
	if uint64(len(mem)) < HeaderSize || size != uint64(len(mem)) {
		return nil, fmt.Errorf("%w: %d bytes is too small to be a channel", ErrVersion, len(mem))
	}
	u64 := func(off uintptr) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&mem[off]))) }
	u32 := func(off uintptr) uint32 { return atomic.LoadUint32((*uint32)(unsafe.Pointer(&mem[off]))) }
	if m := u64(hMagic); m != Magic {
		return nil, fmt.Errorf("%w: bad magic %#x", ErrVersion, m)
	}
	if v := u32(hVersion); v != LayoutVersion {
		return nil, fmt.Errorf("%w: channel has layout version %d, this library reads version %d", ErrVersion, v, LayoutVersion)
	}
	if hs := u32(hHeaderSize); hs != HeaderSize {
		return nil, fmt.Errorf("%w: header_size %d, want %d", ErrVersion, hs, HeaderSize)
	}
	if c := u64(hCapacity); c != size {
		return nil, fmt.Errorf("%w: capacity %d, but the file has %d bytes", ErrVersion, c, size)
	}
	ring := u64(hRingSize)
	if ring < MinRing || ring > MaxRing || ring&(ring-1) != 0 {
		return nil, fmt.Errorf("%w: ring_size %d is not a power of two in [%d, %d]", ErrVersion, ring, MinRing, uint64(MaxRing))
	}
	policy := Policy(u32(hPolicy))
	if policy > Overwrite {
		return nil, fmt.Errorf("%w: unknown policy %d", ErrVersion, uint32(policy))
	}
	if f := u32(hFlags); f&^flagSealed != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrVersion, f)
	}
	id := u64(hChannelID)
	if id == 0 {
		return nil, fmt.Errorf("%w: channel id 0", ErrVersion)
	}
	maxSubs := u32(hMaxSubs)
	if maxSubs == 0 || maxSubs > MaxSubscribersLimit {
		return nil, fmt.Errorf("%w: max_subscribers %d is not in [1, %d]", ErrVersion, maxSubs, MaxSubscribersLimit)
	}
	if e := u32(hSubEntry); e != SubEntrySize {
		return nil, fmt.Errorf("%w: sub_entry_size %d, want %d", ErrVersion, e, SubEntrySize)
	}
	g := newHistGeometry(histLowest, histHighest, histSigfigs)
	if u64(hHistLowest) != uint64(g.lowest) || u64(hHistHighest) != uint64(g.highest) ||
		u32(hHistSigfigs) != uint32(g.sigfigs) || u32(hHistCounts) != uint32(g.countsLen) {
		return nil, fmt.Errorf("%w: latency histogram geometry differs from this library's", ErrVersion)
	}
	schemaSize := u64(hSchemaSize)
	if schemaSize > MaxSchemaSpace || schemaSize%64 != 0 {
		return nil, fmt.Errorf("%w: schema_size %d is not a multiple of 64 in [0, %d]", ErrVersion, schemaSize, MaxSchemaSpace)
	}
	// The layout is a function of ring, maxSubs, the geometry and the schema
	// space: the stored offsets must be exactly those.
	l := computeLayout(ring, int(maxSubs), g, schemaSize)
	if u64(hSubsOffset) != l.subsOff || u64(hHistOffset) != l.histOff || u64(hHistStride) != l.histStride ||
		u64(hSchemaOff) != l.schemaOff || u64(hRingOffset) != l.ringOff || l.total != size {
		return nil, fmt.Errorf("%w: section offsets do not match ring_size %d, max_subscribers %d and schema_size %d",
			ErrVersion, ring, maxSubs, schemaSize)
	}
	tail, head := u64(hTail), u64(hHead)
	if tail%slotAlign != 0 || head%slotAlign != 0 || head > tail {
		return nil, fmt.Errorf("%w: tail %d / head %d", ErrVersion, tail, head)
	}
	c := &Channel{
		mem: mem, ring: mem[l.ringOff:l.total:l.total], ringOff: l.ringOff, ringSize: ring, mask: ring - 1,
		lapShift: uint(bits.TrailingZeros64(ring)), maxSubs: int(maxSubs), subsOff: l.subsOff, histOff: l.histOff,
		hist: g, id: id, policy: policy, fd: -1, schemas: mem[l.schemaOff : l.schemaOff+l.schemaSize : l.schemaOff+l.schemaSize],
	}
	c.hist.stride = l.histStride
	return c, nil
}

// takePeerID gives this open its liveness lock. Ids are reused once their
// holder is gone, so the new holder first clears what its predecessor left
// under the same id, which would otherwise look alive: see adoptID.
func (c *Channel) takePeerID() (err error) {
	ok, old := c.enter()
	if !ok {
		return ErrClosed
	}
	defer c.leave(&err, old)
	for tries := 0; tries < 64; tries++ {
		id, err := peer.Acquire(c.fd, atomic.AddUint64(c.hdr64(hPeerHint), 1))
		if err != nil {
			return fmt.Errorf("channel: %w", err)
		}
		c.self = id
		if c.adoptID() {
			return nil
		}
		// What the predecessor left needs the id free (see adoptID): let
		// it go and try another.
		if err := peer.Release(c.fd, id); err != nil {
			return fmt.Errorf("channel: %w", err)
		}
	}
	return fmt.Errorf("channel: %w", peer.ErrNoID)
}

// Unlink removes the name of a channel. Open channels keep working.
func Unlink(name string) error {
	if err := region.ValidShmName(name); err != nil {
		return err
	}
	if err := unix.Unlink(shmPath(name)); err != nil {
		return osError("unlink", shmPath(name), err)
	}
	return nil
}

func shmPath(name string) string {
	if name[0] == '/' {
		name = name[1:]
	}
	return "/dev/shm/" + name
}

func osError(op, path string, err error) error {
	pe := &fs.PathError{Op: op, Path: path, Err: err}
	switch {
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("channel: %w: %w", ErrExists, pe)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("channel: %w: %w", ErrNotFound, pe)
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), errors.Is(err, unix.EFBIG):
		return fmt.Errorf("channel: %w: %w", ErrNoSpace, pe)
	}
	return fmt.Errorf("channel: %w", pe)
}

// Close unmaps the channel after the calls in flight have finished and
// releases this open's peer id: its subscribers stop holding back the ring
// (their entries are freed by the next publisher short of space), and a
// slot it left reserved is aborted by the next peer that waits on it.
func (c *Channel) Close() error {
	// Calls in flight (a receive reading frames its entry protects, an
	// Acquire) finish first; only then are the entries let go, or
	// publishers could reuse the ring under them.
	if !c.inflight.Close() {
		return ErrClosed
	}
	var err error
	c.closeOnce.Do(func() {
		func() {
			old := setPanicOnFault()
			defer recoverFault(old) // a truncated file: nothing to free
			c.leaveGroups()
			c.freeEntries(c.self)
			c.leavePublishers()
		}()
		if e := unix.Munmap(c.mem); e != nil {
			err = fmt.Errorf("channel: munmap: %w", e)
		}
		_ = unix.Close(c.fd)
	})
	return err
}

// ID returns the channel's random identity (Frame.RegionID of its frames).
func (c *Channel) ID() uint64 { return c.id }

// Policy returns the full-ring policy chosen at creation.
func (c *Channel) Policy() Policy { return c.policy }

// RingSize returns the data ring size in bytes.
func (c *Channel) RingSize() int { return int(c.ringSize) }

// MaxPayload returns the largest payload one frame can carry.
func (c *Channel) MaxPayload() int { return int(c.ringSize) - 2*FrameHeaderSize }

// Name returns the name the channel was created or opened with.
func (c *Channel) Name() string { return c.name }

func (c *Channel) hdr64(off uintptr) *uint64 { return (*uint64)(unsafe.Pointer(&c.mem[off])) }
func (c *Channel) hdr32(off uintptr) *uint32 { return (*uint32)(unsafe.Pointer(&c.mem[off])) }
func (c *Channel) counter(i int) *uint64     { return c.hdr64(hCounters + uintptr(i)*8) }
func (c *Channel) tail() *uint64             { return c.hdr64(hTail) }
func (c *Channel) head() *uint64             { return c.hdr64(hHead) }

// ring field accessors; off is a ring offset.
func (c *Channel) r64(off uint64) *uint64 { return (*uint64)(unsafe.Pointer(&c.ring[off])) }
func (c *Channel) r32(off uint64) *uint32 { return (*uint32)(unsafe.Pointer(&c.ring[off])) }

// sub returns a pointer to field f of subscriber entry i.
func (c *Channel) sub64(i int, f uintptr) *uint64 {
	return (*uint64)(unsafe.Pointer(&c.mem[c.subsOff+uint64(i)*SubEntrySize+uint64(f)]))
}
func (c *Channel) sub32(i int, f uintptr) *uint32 {
	return (*uint32)(unsafe.Pointer(&c.mem[c.subsOff+uint64(i)*SubEntrySize+uint64(f)]))
}

// Mapping returns the whole shared mapping (header, tables and ring), for
// bindings that hand out views of frame payloads: Frame.Payload lies inside
// it. It is valid until Close.
func (c *Channel) Mapping() ([]byte, error) {
	if c.inflight.Closing() {
		return nil, ErrClosed
	}
	return c.mem, nil
}
