package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"os"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// openRegion is a region with the bounds of its mapping, which do not move
// until it is closed; views use them to tell region pointers from others.
type openRegion struct {
	*region.Region
	lo, hi uintptr
}

var regions = newHandles[openRegion](tagRegion)

func register(out *C.xb_region, open func() (*region.Region, error)) status {
	if out == nil {
		return invalidf("out is NULL")
	}
	r, err := open()
	if err != nil {
		return failErr(err)
	}
	b, err := r.Bytes()
	if err != nil {
		return failErr(err)
	}
	lo := uintptr(unsafe.Pointer(&b[0]))
	id, err := regions.add(&openRegion{Region: r, lo: lo, hi: lo + uintptr(len(b))})
	if err != nil {
		_ = r.Close()
		return failErr(err)
	}
	*out = C.xb_region(id)
	return C.XB_OK
}

// useRegion resolves a region handle and keeps its mapping alive until
// release is called: a concurrent xb_region_close waits for it, so nothing
// the call touches (in-place encode, decoding a payload) is unmapped under
// it.
func useRegion(h C.xb_region) (r *openRegion, release func(), err error) {
	r, err = regions.get(uint64(h))
	if err != nil {
		return nil, nil, err
	}
	if err := r.Acquire(); err != nil {
		return nil, nil, err
	}
	return r, r.Release, nil
}

// The header's limits are the region's (a compile error otherwise).
var _ = [1]struct{}{}[C.XB_MIN_CAPACITY-region.MinCapacity]
var _ = [1]struct{}{}[C.XB_MAX_CAPACITY-region.MaxCapacity]

func checkCapacity(capacity C.uint64_t) status {
	if capacity < region.MinCapacity || capacity > region.MaxCapacity {
		return invalidf("capacity %d is not in [%d, %d]", uint64(capacity), region.MinCapacity, uint64(region.MaxCapacity))
	}
	return C.XB_OK
}

func fileMode(mode C.uint32_t) os.FileMode {
	if mode == 0 {
		return 0o600
	}
	return os.FileMode(mode) & os.ModePerm
}

func cName(p *C.char, what string) (string, status) {
	if p == nil {
		return "", invalidf("%s is NULL", what)
	}
	return C.GoString(p), C.XB_OK
}

func access(flags C.uint32_t) (region.Access, status) {
	switch flags {
	case 0:
		return region.ReadWrite, C.XB_OK
	case C.XB_OPEN_READ_ONLY:
		return region.ReadOnly, C.XB_OK
	}
	return 0, invalidf("open flags %#x: only XB_OPEN_READ_ONLY is defined", uint32(flags))
}

// create checks the arguments shared by the named create calls, then
// registers what newRegion creates.
func create(name *C.char, what string, capacity C.uint64_t, out *C.xb_region, newRegion func(string, int) (*region.Region, error)) status {
	n, rc := cName(name, what)
	if rc != C.XB_OK {
		return rc
	}
	if rc := checkCapacity(capacity); rc != C.XB_OK {
		return rc
	}
	return register(out, func() (*region.Region, error) { return newRegion(n, int(capacity)) })
}

// open checks the arguments shared by the open calls.
func open(name *C.char, what string, flags C.uint32_t, out *C.xb_region, openRegion func(string, region.Access) (*region.Region, error)) status {
	n, rc := cName(name, what)
	if rc != C.XB_OK {
		return rc
	}
	a, rc := access(flags)
	if rc != C.XB_OK {
		return rc
	}
	return register(out, func() (*region.Region, error) { return openRegion(n, a) })
}

//export xb_region_create_anon
func xb_region_create_anon(capacity C.uint64_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	if rc := checkCapacity(capacity); rc != C.XB_OK {
		return rc
	}
	return register(out, func() (*region.Region, error) { return region.CreateAnon(int(capacity)) })
}

//export xb_region_create_shm
func xb_region_create_shm(name *C.char, capacity C.uint64_t, mode C.uint32_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	return create(name, "name", capacity, out, func(n string, c int) (*region.Region, error) {
		return region.CreateShm(n, c, fileMode(mode))
	})
}

//export xb_region_open_shm
func xb_region_open_shm(name *C.char, flags C.uint32_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	return open(name, "name", flags, out, region.OpenShm)
}

//export xb_region_unlink_shm
func xb_region_unlink_shm(name *C.char) (rc status) {
	defer guard(&rc, enter())
	n, rc := cName(name, "name")
	if rc != C.XB_OK {
		return rc
	}
	if err := region.UnlinkShm(n); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_region_create_file
func xb_region_create_file(path *C.char, capacity C.uint64_t, mode C.uint32_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	return create(path, "path", capacity, out, func(p string, c int) (*region.Region, error) {
		return region.CreateFile(p, c, fileMode(mode))
	})
}

//export xb_region_open_file
func xb_region_open_file(path *C.char, flags C.uint32_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	return open(path, "path", flags, out, region.OpenFile)
}

//export xb_region_create_memfd
func xb_region_create_memfd(name *C.char, capacity C.uint64_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	n := ""
	if name != nil {
		n = C.GoString(name)
	}
	if rc := checkCapacity(capacity); rc != C.XB_OK {
		return rc
	}
	return register(out, func() (*region.Region, error) { return region.CreateMemfd(n, int(capacity)) })
}

//export xb_region_open_fd
func xb_region_open_fd(fd C.int32_t, flags C.uint32_t, out *C.xb_region) (rc status) {
	defer guard(&rc, enter())
	a, rc := access(flags)
	if rc != C.XB_OK {
		return rc
	}
	if fd < 0 {
		return invalidf("fd %d", int32(fd))
	}
	return register(out, func() (*region.Region, error) { return region.OpenFd(int(fd), a) })
}

//export xb_region_fd
func xb_region_fd(h C.xb_region, out *C.int32_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	fd, err := r.Fd()
	if err != nil {
		return failErr(err)
	}
	*out = C.int32_t(fd)
	return C.XB_OK
}

//export xb_region_recover
func xb_region_recover(h C.xb_region, nAborted *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	r, release, err := useRegion(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	n, err := r.Recover()
	if nAborted != nil {
		*nAborted = C.uint64_t(n)
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_region_close
func xb_region_close(h C.xb_region) (rc status) {
	defer guard(&rc, enter())
	r, err := regions.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	if err := r.Close(); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_region_reset
func xb_region_reset(h C.xb_region) (rc status) {
	defer guard(&rc, enter())
	r, err := regions.get(uint64(h))
	if err == nil {
		err = r.Reset()
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_region_prefault
func xb_region_prefault(h C.xb_region) (rc status) {
	defer guard(&rc, enter())
	r, err := regions.get(uint64(h))
	if err == nil {
		err = r.Prefault()
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_region_get_stats
func xb_region_get_stats(h C.xb_region, out *C.xb_region_stats) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	st, err := r.Stats()
	if err != nil {
		return failErr(err)
	}
	sealed := C.uint32_t(0)
	if st.Sealed {
		sealed = 1
	}
	readOnly := C.uint32_t(0)
	if r.ReadOnly() {
		readOnly = 1
	}
	*out = C.xb_region_stats{
		capacity: C.uint64_t(st.Capacity), data_offset: C.uint64_t(st.DataOffset), used: C.uint64_t(st.Used),
		high_water: C.uint64_t(st.HighWater), frame_count: C.uint64_t(st.FrameCount), generation: C.uint64_t(st.Generation),
		aborted: C.uint64_t(st.Aborted), region_id: C.uint64_t(st.RegionID), sealed: sealed, read_only: readOnly,
	}
	return C.XB_OK
}

//export xb_region_base
func xb_region_base(h C.xb_region, base **C.uint8_t, capacity *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if base == nil || capacity == nil {
		return invalidf("base or capacity is NULL")
	}
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	b, err := r.Bytes()
	if err != nil {
		return failErr(err)
	}
	*base = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	*capacity = C.uint64_t(len(b))
	return C.XB_OK
}

// ---- frames ----------------------------------------------------------------

func frameToC(f region.Frame, out *C.xb_frame) {
	out.offset = C.uint64_t(f.Offset)
	out.region_id = C.uint64_t(f.RegionID)
	out.generation = C.uint64_t(f.Generation)
	out.type_id = C.uint64_t(f.TypeID)
	out.publish_ns = C.uint64_t(f.PublishNs)
	out.codec = C.uint16_t(f.Codec)
	out._pad0 = 0
	out._pad1 = 0
	out.payload = nil
	if len(f.Payload) > 0 {
		out.payload = (*C.uint8_t)(unsafe.Pointer(&f.Payload[0]))
	}
	out.payload_len = C.uint64_t(len(f.Payload))
}

//export xb_frame_get
func xb_frame_get(h C.xb_region, offset C.uint64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	f, err := r.Frame(uint64(offset))
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}

//export xb_frame_list
func xb_frame_list(h C.xb_region, cursor *C.uint64_t, out *C.xb_frame, capacity C.uint64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if cursor == nil || nOut == nil {
		return invalidf("cursor or n_out is NULL")
	}
	frames, err := cArray(out, capacity, "out")
	if err != nil {
		return failErr(err)
	}
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	n, cur := 0, uint64(*cursor)
	for n < len(frames) {
		f, next, ok, err := r.Next(cur)
		if err != nil {
			// Report the frames listed so far; the error names the offset,
			// and *cursor moves past a corrupt frame when the chain allows
			// (never back: a truncated region or a closed handle leave it).
			if n == 0 {
				if next > cur {
					*cursor = C.uint64_t(next)
				}
				*nOut = 0
				return failErr(err)
			}
			break
		}
		if !ok {
			break
		}
		frameToC(f, &frames[n])
		n, cur = n+1, next
	}
	*cursor, *nOut = C.uint64_t(cur), C.uint64_t(n)
	return C.XB_OK
}

//export xb_frame_append
func xb_frame_append(h C.xb_region, codecID C.int32_t, typeID C.uint64_t, bytes *C.uint8_t, n C.uint64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	if _, err := codecByID(codecID); err != nil {
		return failErr(err)
	}
	src, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	r, release, err := useRegion(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	slot, err := r.Reserve(codec.ID(codecID), uint64(typeID), len(src))
	if err != nil {
		return failErr(err)
	}
	copy(slot.Buf, src)
	f, err := slot.Commit(slot.Buf[:len(src)])
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}
