// Package region manages crossbuf regions: mmap'd, page-aligned blocks of
// memory outside every garbage collector that hold encoded messages (frames).
//
// A region is anonymous (this process only), named POSIX shared memory
// (/dev/shm/<name>, other processes attach by name), backed by a file, or a
// sealed memfd handed to other processes over a Unix socket. Its memory
// layout is the one of include/crossbuf.h (layout version 2): a 128-byte
// xb_region_header, then frames from data_offset, each a 64-byte
// xb_frame_header followed by its payload, 8-byte aligned. Other processes,
// written in any language, may read and write the same memory concurrently,
// so every field the header marks atomic is accessed with sync/atomic, and
// every value read from the mapping is validated before use: a corrupt
// region yields errors, not panics.
//
// # Claim protocol
//
// A slot is claimed by a CAS on the seal word at the current cursor, from
// zero (never used in this generation) to
//
//	seal = generation(16 bits) << 48 | writer peer id(16) << 32 | slot size in 8-byte words(32)
//
// and only then is the cursor moved past it, by the claimant or by any other
// writer that finds a sealed slot at the cursor. So the size of every claim
// is published by the claim itself: a writer that dies right after claiming
// leaves a slot everyone can skip, never a hole that hides later frames.
// Frames are found by walking seals from data_offset, never by scanning
// payload bytes, which may hold exact copies of real frames.
//
// The claimant then fills the header (codec, type id, payload offset and
// length, publish time, and check = region_id ^ offset, which tells a real
// header from a copy at another offset or in another region) and publishes
// it with a CAS of state from WRITING to COMMITTED. Readers load the seal,
// then the state, and read the other fields only after they saw COMMITTED.
//
// # Dead writers
//
// Each writable open of a shared region holds a peer id (package
// internal/peer): an OFD lock the kernel drops when the process dies. A slot
// left WRITING by a peer whose lock is gone is aborted by Recover, which
// every writable Open runs. A late commit of such a slot fails, because
// commit is a CAS from WRITING. Readers, read-only ones included, skip slots
// that are not committed, so they never wait for a dead writer.
//
// # Lifetime
//
// Slices handed out by a Region (Bytes, Slot.Buf, Frame.Payload) alias the
// mapping. They stay valid until Close; using them afterwards faults. Reset
// keeps them mapped but lets new frames overwrite the memory they point to.
// If another process truncates the file behind a named or file region,
// touching the lost pages raises SIGBUS; Region methods turn that fault into
// ErrTruncated, but slices the caller reads directly cannot be protected.
// Sealed memfd regions (CreateMemfd) cannot shrink, so no access faults.
package region

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/internal/inflight"
	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// Layout constants, equal to those of include/crossbuf.h.
const (
	LayoutVersion          = 2   // XB_LAYOUT_VERSION
	HeaderSize             = 128 // sizeof(xb_region_header)
	FrameHeaderSize        = 64  // sizeof(xb_frame_header)
	Magic           uint64 = 0x004E475246554258
)

// Frame states (XB_FRAME_*).
const (
	stateWriting   uint32 = 0
	stateCommitted uint32 = 0x32465258
	stateAborted   uint32 = 0x41465258
)

// Offsets of xb_region_header and xb_frame_header fields.
const (
	offMagic      = 0
	offVersion    = 8
	offHeaderSize = 12
	offCapacity   = 16
	offDataOffset = 24
	offCursor     = 32
	offGeneration = 40
	offFrameCount = 48
	offHighWater  = 56
	offRegionID   = 64
	offFlags      = 72
	offAborted    = 80
	offPeerHint   = 88

	frameSeal    = 0
	frameState   = 8
	frameCodec   = 12
	frameFlags   = 14
	framePayOff  = 16
	framePayLen  = 24
	frameTypeID  = 32
	framePublish = 40
	frameCheck   = 48
)

// Limits.
const (
	// MaxPayload is the largest payload of one frame: a slot's size is a
	// 32-bit count of 8-byte words.
	MaxPayload = math.MaxUint32*8 - FrameHeaderSize
	// MaxCapacity is the largest region (1 TiB).
	MaxCapacity = 1 << 40
	// MinCapacity is the smallest: the header and one empty frame.
	MinCapacity = HeaderSize + FrameHeaderSize
)

// Header flags (xb_region_header.flags).
const flagSealed = 1 // backed by a memfd sealed against shrinking

// Errors. Returned errors wrap one of them with detail; test with errors.Is.
var (
	ErrClosed  = errors.New("region closed")
	ErrFull    = errors.New("region full")
	ErrBadName = errors.New("bad shared-memory name")
	// ErrVersion: not a crossbuf region (bad magic), another layout version,
	// or a corrupt header.
	ErrVersion = errors.New("not a crossbuf region of this layout version")
	// ErrExists and ErrNotFound also match fs.ErrExist and fs.ErrNotExist.
	ErrExists   = fmt.Errorf("region already exists: %w", fs.ErrExist)
	ErrNotFound = fmt.Errorf("region not found: %w", fs.ErrNotExist)
	// ErrOutOfRange: the offset is not a frame of the region.
	ErrOutOfRange   = errors.New("offset is not a frame of the region")
	ErrNotCommitted = errors.New("frame not committed")
	ErrInvalid      = errors.New("invalid argument")
	// ErrCorrupt: a frame header breaks the layout. The error names its offset.
	ErrCorrupt = errors.New("corrupt frame header")
	// ErrStale: a frame reference of another region, or of a generation the
	// region has been reset past.
	ErrStale = errors.New("stale frame reference")
	// ErrReadOnly: a write to a region opened read-only.
	ErrReadOnly = errors.New("region opened read-only")
	// ErrTruncated: another process shrank the file or shared-memory object
	// behind the region, and the pages an operation needed are gone.
	ErrTruncated = errors.New("region truncated by another process")
	// ErrNoSpace: the file system cannot hold the region's capacity.
	ErrNoSpace = errors.New("no space to reserve the region's capacity")
	// ErrUnsupported: the feature does not exist on this platform.
	ErrUnsupported = errors.New("not supported on this platform")
)

// Access selects how an existing region is mapped.
type Access int

const (
	ReadWrite Access = iota
	// ReadOnly maps the region PROT_READ: frames can be read, every write
	// is ErrReadOnly, and the file only needs read permission.
	ReadOnly
)

// Region is an open mapping of a region. Its methods are safe for concurrent
// use, except Reset, which needs exclusive use of the region by every
// process.
//
// Close may run concurrently with other methods: operations in flight finish
// before the memory is unmapped, later ones return ErrClosed. Callers that
// touch region memory between calls (encoding in place into a Slot, reading
// a Frame's payload) and must survive a concurrent Close bracket that work
// with Acquire and Release.
type Region struct {
	inflight inflight.Guard
	mem      []byte // the region: len == header capacity
	mapping  []byte // what was mapped (may be longer than mem); for munmap
	dataOff  uint64
	id       uint64 // region_id
	name     string
	fd       int     // -1 for anonymous regions; held for peer locks, seals and truncation checks
	self     peer.ID // this open's writer id (0: anonymous or read-only)
	readOnly bool
}

// Stats describes a region. Used and HighWater count bytes given to frames
// (from data_offset); the header stores high_water as a cursor.
type Stats struct {
	Capacity   uint64 // bytes mapped, header included
	DataOffset uint64 // offset of the first frame
	Used       uint64 // bytes allocated to frames
	HighWater  uint64 // largest Used since creation
	FrameCount uint64 // committed frames in this generation
	Generation uint64 // starts at 1, +1 per Reset
	Aborted    uint64 // slots of dead writers aborted by Recover, since creation
	RegionID   uint64 // random, fixed at creation
	Sealed     bool   // a memfd that cannot shrink
}

// pageRound returns capacity rounded up to whole pages, or an error if the
// capacity is not in [MinCapacity, MaxCapacity].
func pageRound(capacity int) (int, error) {
	if capacity < MinCapacity || capacity > MaxCapacity {
		return 0, fmt.Errorf("%w: capacity %d is not in [%d, %d]", ErrInvalid, capacity, MinCapacity, MaxCapacity)
	}
	page := os.Getpagesize()
	return (capacity + page - 1) / page * page, nil
}

// CreateAnon creates a region in anonymous memory, private to this process.
func CreateAnon(capacity int) (*Region, error) {
	size, err := pageRound(capacity)
	if err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, mmapError(size, err)
	}
	return initRegion(mem, "", -1, 0)
}

// CreateShm creates the named shared-memory region exclusively (ErrExists if
// the name is taken). mode 0 means 0600; the umask applies. The whole
// capacity is reserved now, so a full /dev/shm is ErrNoSpace here rather
// than a fault later. Other processes attach with OpenShm; UnlinkShm removes
// the name.
func CreateShm(name string, capacity int, mode os.FileMode) (*Region, error) {
	if err := checkShm(); err != nil {
		return nil, err
	}
	if err := ValidShmName(name); err != nil {
		return nil, err
	}
	return createPath(shmPath(name), name, capacity, mode, unix.O_NOFOLLOW)
}

// OpenShm attaches to a named shared-memory region. A region whose creator
// has not finished initialising it yet is ErrVersion; retry.
func OpenShm(name string, access Access) (*Region, error) {
	if err := checkShm(); err != nil {
		return nil, err
	}
	if err := ValidShmName(name); err != nil {
		return nil, err
	}
	return openPath(shmPath(name), name, unix.O_NOFOLLOW, access)
}

// UnlinkShm removes the name of a shared-memory region. Mappings stay valid
// until closed.
func UnlinkShm(name string) error {
	if err := checkShm(); err != nil {
		return err
	}
	if err := ValidShmName(name); err != nil {
		return err
	}
	if err := unix.Unlink(shmPath(name)); err != nil {
		return osError("unlink", shmPath(name), err)
	}
	return nil
}

// CreateFile creates a region backed by a new file at path (ErrExists if it
// exists). mode 0 means 0600. The capacity is reserved on disk now.
func CreateFile(path string, capacity int, mode os.FileMode) (*Region, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalid)
	}
	return createPath(path, path, capacity, mode, 0)
}

// OpenFile maps the region stored in the file at path.
func OpenFile(path string, access Access) (*Region, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalid)
	}
	return openPath(path, path, 0, access)
}

// mmapError explains a failed mmap. ENOMEM is usually the per-process limit
// on mappings (vm.max_map_count, 65530 by default), not a lack of memory.
func mmapError(size int, err error) error {
	if errors.Is(err, unix.ENOMEM) {
		return fmt.Errorf("region: mmap %d bytes: %w (out of address space, or this process has reached "+
			"vm.max_map_count mappings: close regions or raise the limit)", size, err)
	}
	return fmt.Errorf("region: mmap %d bytes: %w", size, err)
}

// osError wraps an OS error, adding ErrExists, ErrNotFound or ErrNoSpace
// when it is one.
func osError(op, path string, err error) error {
	pe := &fs.PathError{Op: op, Path: path, Err: err}
	switch {
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("region: %w: %w", ErrExists, pe)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("region: %w: %w", ErrNotFound, pe)
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), errors.Is(err, unix.EFBIG):
		return fmt.Errorf("region: %w: %w", ErrNoSpace, pe)
	}
	return fmt.Errorf("region: %w", pe)
}

func createPath(path, name string, capacity int, mode os.FileMode, flags int) (*Region, error) {
	size, err := pageRound(capacity)
	if err != nil {
		return nil, err
	}
	if mode == 0 {
		mode = 0o600
	}
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC|flags, uint32(mode.Perm()))
	if err != nil {
		return nil, osError("open", path, err)
	}
	r, err := createOnFd(fd, path, name, size, 0)
	if err != nil {
		_ = unix.Unlink(path) // we created it; do not leave a half-made region behind
		return nil, err
	}
	return r, nil
}

// createOnFd sizes the new file behind fd, reserves its blocks, maps and
// initialises it. It owns fd: on error fd is closed.
func createOnFd(fd int, path, name string, size int, flags uint64) (*Region, error) {
	fail := func(op string, err error) (*Region, error) {
		_ = unix.Close(fd)
		return nil, osError(op, path, err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("ftruncate", err)
	}
	if err := reserveBlocks(fd, size); err != nil {
		return fail("fallocate", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		_ = unix.Close(fd)
		return nil, mmapError(size, err)
	}
	r, err := initRegion(mem, name, fd, flags)
	if err != nil {
		_ = unix.Munmap(mem)
		_ = unix.Close(fd)
		return nil, err
	}
	return r, nil
}

// initRegion writes a fresh header into zeroed memory. The magic is stored
// last so that a process attaching meanwhile sees no region rather than a
// half-written header.
func initRegion(mem []byte, name string, fd int, flags uint64) (*Region, error) {
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, fmt.Errorf("region: random id: %w", err)
	}
	id := binary.LittleEndian.Uint64(idb[:]) | 1 // never 0
	r := &Region{mem: mem, mapping: mem, dataOff: HeaderSize, name: name, fd: fd, id: id}
	*(*uint32)(r.ptr(offVersion)) = LayoutVersion
	*(*uint32)(r.ptr(offHeaderSize)) = HeaderSize
	atomic.StoreUint64(r.u64(offCapacity), uint64(len(mem)))
	atomic.StoreUint64(r.u64(offDataOffset), HeaderSize)
	atomic.StoreUint64(r.u64(offCursor), HeaderSize)
	atomic.StoreUint64(r.u64(offGeneration), 1)
	atomic.StoreUint64(r.u64(offHighWater), HeaderSize)
	atomic.StoreUint64(r.u64(offRegionID), id)
	atomic.StoreUint64(r.u64(offFlags), flags)
	if err := r.takePeerID(); err != nil {
		return nil, err
	}
	atomic.StoreUint64(r.u64(offMagic), Magic)
	return r, nil
}

// takePeerID gives a shared, writable open its liveness lock.
func (r *Region) takePeerID() error {
	if r.fd < 0 || r.readOnly {
		return nil
	}
	id, err := peer.Acquire(r.fd, atomic.AddUint64(r.u64(offPeerHint), 1))
	if errors.Is(err, peer.ErrUnsupported) {
		return nil // no liveness here: this writer's claims are never declared dead
	}
	if err != nil {
		return fmt.Errorf("region: %w", err)
	}
	r.self = id
	return nil
}

func openPath(path, name string, flags int, access Access) (*Region, error) {
	oflags := unix.O_RDWR
	if access == ReadOnly {
		oflags = unix.O_RDONLY
	}
	fd, err := unix.Open(path, oflags|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, osError("open", path, err)
	}
	r, err := openFd(fd, name, access)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return r, nil
}

// openFd maps the region in the regular file or memfd behind fd. It owns fd:
// on error fd is closed.
func openFd(fd int, name string, access Access) (*Region, error) {
	fail := func(err error) (*Region, error) {
		_ = unix.Close(fd)
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(fmt.Errorf("region: fstat: %w", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail(fmt.Errorf("%w: not a regular file", ErrVersion))
	}
	if st.Size < HeaderSize+FrameHeaderSize || st.Size > MaxCapacity {
		return fail(fmt.Errorf("%w: %d bytes is not a region size", ErrVersion, st.Size))
	}
	prot := unix.PROT_READ | unix.PROT_WRITE
	if access == ReadOnly {
		prot = unix.PROT_READ
	}
	mapping, err := unix.Mmap(fd, 0, int(st.Size), prot, unix.MAP_SHARED)
	if err != nil {
		return fail(mmapError(int(st.Size), err))
	}
	r, err := attach(mapping, name)
	if err == nil {
		r.fd, r.readOnly = fd, access == ReadOnly
		err = r.takePeerID()
	}
	if err != nil {
		_ = unix.Munmap(mapping)
		return fail(err)
	}
	if !r.readOnly {
		if _, err := r.recover(true); err != nil {
			_ = r.Close()
			return nil, err
		}
	}
	return r, nil
}

// attach validates the header at the start of mapping and returns a Region
// over it. A fault while reading it (a peer truncating the file right now)
// is ErrTruncated.
func attach(mapping []byte, name string) (r *Region, err error) {
	defer func(old bool) {
		if recoverFault(old) {
			r, err = nil, fmt.Errorf("%w: while reading the header", ErrTruncated)
		}
	}(setPanicOnFault())
	if len(mapping) < HeaderSize+FrameHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes is too small to be a region", ErrVersion, len(mapping))
	}
	r = &Region{mem: mapping, mapping: mapping, name: name, fd: -1}
	if m := atomic.LoadUint64(r.u64(offMagic)); m != Magic {
		return nil, fmt.Errorf("%w: bad magic %#x", ErrVersion, m)
	}
	if v := *(*uint32)(r.ptr(offVersion)); v != LayoutVersion {
		return nil, fmt.Errorf("%w: region has layout version %d, this library reads version %d",
			ErrVersion, v, LayoutVersion)
	}
	if hs := *(*uint32)(r.ptr(offHeaderSize)); hs != HeaderSize {
		return nil, fmt.Errorf("%w: header_size %d, want %d", ErrVersion, hs, HeaderSize)
	}
	capacity := atomic.LoadUint64(r.u64(offCapacity))
	if capacity > uint64(len(mapping)) || capacity < HeaderSize+FrameHeaderSize {
		return nil, fmt.Errorf("%w: capacity %d does not fit the %d bytes mapped", ErrVersion, capacity, len(mapping))
	}
	dataOff := atomic.LoadUint64(r.u64(offDataOffset))
	if dataOff < HeaderSize || dataOff%8 != 0 || dataOff > capacity-FrameHeaderSize {
		return nil, fmt.Errorf("%w: data_offset %d invalid for capacity %d", ErrVersion, dataOff, capacity)
	}
	cur := atomic.LoadUint64(r.u64(offCursor))
	if cur < dataOff || cur > capacity || cur%8 != 0 {
		return nil, fmt.Errorf("%w: cursor %d outside [%d, %d]", ErrVersion, cur, dataOff, capacity)
	}
	if gen16(atomic.LoadUint64(r.u64(offGeneration))) == 0 {
		return nil, fmt.Errorf("%w: generation with zero low 16 bits", ErrVersion)
	}
	r.id = atomic.LoadUint64(r.u64(offRegionID))
	if r.id == 0 {
		return nil, fmt.Errorf("%w: region id 0", ErrVersion)
	}
	r.mem = mapping[:capacity:capacity]
	r.dataOff = dataOff
	return r, nil
}

// ptr returns a pointer to the byte at off. Callers check off first; the
// index expression is a last line of defence.
func (r *Region) ptr(off uint64) unsafe.Pointer { return unsafe.Pointer(&r.mem[off]) }

func (r *Region) u64(off uint64) *uint64 { return (*uint64)(r.ptr(off)) }

func (r *Region) u32(off uint64) *uint32 { return (*uint32)(r.ptr(off)) }

// Close unmaps the region after the operations in flight have finished, and
// releases this open's peer id. Every slice into the region becomes invalid.
// A second Close is ErrClosed. Close does not remove a shared-memory name
// (see UnlinkShm) or a file.
func (r *Region) Close() error {
	if !r.inflight.Close() {
		return ErrClosed
	}
	// inflight.Close returns true once only: nothing else can get here.
	if r.fd >= 0 {
		defer unix.Close(r.fd) // drops the peer lock
	}
	if err := unix.Munmap(r.mapping); err != nil {
		return fmt.Errorf("region: munmap: %w", err)
	}
	return nil
}

// Name returns the shared-memory name or file path the region was created
// or opened with, "" for an anonymous or memfd region.
func (r *Region) Name() string { return r.name }

// ID returns the region's identity: a random 64-bit number fixed when the
// region was created, the same in every process that maps it.
func (r *Region) ID() uint64 { return r.id }

// ReadOnly reports whether the region was opened read-only.
func (r *Region) ReadOnly() bool { return r.readOnly }

// Bytes returns the whole mapping, header included: its first byte is the
// region base. It stays valid until Close.
func (r *Region) Bytes() ([]byte, error) {
	if !r.inflight.Enter() {
		return nil, ErrClosed
	}
	defer r.inflight.Leave()
	return r.mem, nil
}

// Stats reads the header counters.
func (r *Region) Stats() (st Stats, err error) {
	if !r.inflight.Enter() {
		return Stats{}, ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	used := func(cursor uint64) uint64 {
		if cursor < r.dataOff {
			return 0
		}
		return cursor - r.dataOff
	}
	return Stats{
		Capacity:   uint64(len(r.mem)),
		DataOffset: r.dataOff,
		Used:       used(atomic.LoadUint64(r.u64(offCursor))),
		HighWater:  used(atomic.LoadUint64(r.u64(offHighWater))),
		FrameCount: atomic.LoadUint64(r.u64(offFrameCount)),
		Generation: atomic.LoadUint64(r.u64(offGeneration)),
		Aborted:    atomic.LoadUint64(r.u64(offAborted)),
		RegionID:   r.id,
		Sealed:     atomic.LoadUint64(r.u64(offFlags))&flagSealed != 0,
	}, nil
}

// Generation returns the current generation (1 at creation, +1 per Reset).
func (r *Region) Generation() (uint64, error) {
	st, err := r.Stats()
	return st.Generation, err
}

// Reset drops every frame: the generation is incremented (readers stop at
// the old seals), the used memory is zeroed, the cursor returns to
// data_offset and frame_count to 0. It needs exclusive use of the region by
// every process that maps it: a writer or reader running meanwhile may see
// frames disappear under it, and slices into old frames then point at
// memory that new frames overwrite. Frame references taken before are
// ErrStale afterwards.
func (r *Region) Reset() (err error) {
	if r.readOnly {
		return fmt.Errorf("%w: reset", ErrReadOnly)
	}
	if !r.inflight.Enter() {
		return ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	old := atomic.LoadUint64(r.u64(offGeneration))
	gen := old + 1
	if gen16(gen) == 0 { // 0 would make zeroed memory look sealed
		gen++
	}
	// The cursor may lag behind a claim whose writer died before moving it:
	// clear the sealed slots at and after it too.
	end := min(atomic.LoadUint64(r.u64(offCursor)), uint64(len(r.mem))) &^ 7
	for end+FrameHeaderSize <= uint64(len(r.mem)) {
		seal := atomic.LoadUint64(r.u64(end + frameSeal))
		size := sealSize(seal)
		if gen16(seal) != gen16(old) || size < FrameHeaderSize || size > uint64(len(r.mem))-end {
			break
		}
		end += size
	}
	atomic.StoreUint64(r.u64(offGeneration), gen)
	if end > r.dataOff {
		clear(r.mem[r.dataOff:end])
	}
	atomic.StoreUint64(r.u64(offCursor), r.dataOff)
	atomic.StoreUint64(r.u64(offFrameCount), 0)
	return nil
}

// ValidShmName reports whether name is an allowed shared-memory name: "/name"
// or "name" where name is 1-200 of [A-Za-z0-9._-], not "." or ".." and
// without "..". Otherwise it returns an error wrapping ErrBadName saying why.
func ValidShmName(name string) error {
	n := name
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	switch {
	case n == "":
		return fmt.Errorf("%w: %q is empty", ErrBadName, name)
	case len(n) > 200:
		return fmt.Errorf("%w: %q is %d characters long, the limit is 200", ErrBadName, truncate(name), len(n))
	case n == "." || n == "..":
		return fmt.Errorf("%w: %q is a directory name", ErrBadName, name)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q has %q at byte %d; allowed are A-Z a-z 0-9 . _ - and one leading /",
				ErrBadName, truncate(name), c, i)
		}
	}
	if containsDotDot(n) {
		return fmt.Errorf("%w: %q contains \"..\"", ErrBadName, name)
	}
	return nil
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Prefault maps every page of the region in now, so that frames written
// later do not pay a page fault each time they reach a page no one has
// touched yet. Producers that want steady encode latency call it once
// after creating a region.
func (r *Region) Prefault() (err error) {
	if r.readOnly {
		return fmt.Errorf("%w: prefault", ErrReadOnly)
	}
	if !r.inflight.Enter() {
		return ErrClosed
	}
	defer r.leave(&err, setPanicOnFault())
	return prefault(r.mem)
}
