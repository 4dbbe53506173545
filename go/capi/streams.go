package main

/*
#include <stdlib.h>
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"

int64_t xb_call_io(xb_io_fn fn, void *ctx, uint8_t *buf, uint64_t len);
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/stream"
)

var streams = newHandles[openStream](tagStream)

// openStream is a stream handle: a Writer or a Reader over a descriptor or
// a caller's callback. Calls on one take mu, so a close waits for a call in
// flight.
type openStream struct {
	mu     sync.Mutex
	closed bool
	w      *stream.Writer
	r      *stream.Reader
	io     *streamIO
}

// streamIO is the io.Reader and io.Writer over a descriptor or a callback.
// A callback is only ever given C memory (rule 1): the destination mapping
// when the bytes go straight there or come straight from it (the window
// [lo, hi)), else a C bounce buffer.
type streamIO struct {
	fd     int
	fn     C.xb_io_fn
	ctx    unsafe.Pointer
	bounce *C.uint8_t
	lo, hi uintptr
}

const bounceSize = 64 << 10

var (
	errCallback = errors.New("stream callback failed")
	errShort    = errors.New("stream callback wrote nothing")
)

func (s *streamIO) window(b []byte) { // b: memory outside the Go heap
	s.lo, s.hi = 0, 0
	if len(b) > 0 {
		s.lo = uintptr(unsafe.Pointer(&b[0]))
		s.hi = s.lo + uintptr(len(b))
	}
}

// target returns where the callback may read or write p[:n] directly.
func (s *streamIO) target(p []byte) (*C.uint8_t, int, bool) {
	a := uintptr(unsafe.Pointer(&p[0]))
	if a >= s.lo && a+uintptr(len(p)) <= s.hi {
		return (*C.uint8_t)(unsafe.Pointer(&p[0])), len(p), true
	}
	return s.bounce, min(len(p), bounceSize), false
}

func (s *streamIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.fn == nil {
		for {
			n, err := unix.Read(s.fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("read fd %d: %w", s.fd, err)
			}
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	buf, want, direct := s.target(p)
	n := int64(C.xb_call_io(s.fn, s.ctx, buf, C.uint64_t(want)))
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: read returned %d", errCallback, n)
	case n == 0:
		return 0, io.EOF
	case n > int64(want):
		return 0, fmt.Errorf("%w: read returned %d for %d bytes", errCallback, n, want)
	}
	if !direct {
		copy(p, unsafe.Slice((*byte)(unsafe.Pointer(buf)), n))
	}
	return int(n), nil
}

func (s *streamIO) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		q := p[done:]
		var n int64
		if s.fn == nil {
			k, err := unix.Write(s.fd, q)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return done, fmt.Errorf("write fd %d: %w", s.fd, err)
			}
			n = int64(k)
		} else {
			buf, want, direct := s.target(q)
			if !direct {
				copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), want), q)
			}
			n = int64(C.xb_call_io(s.fn, s.ctx, buf, C.uint64_t(want)))
			if n < 0 || n > int64(want) {
				return done, fmt.Errorf("%w: write returned %d for %d bytes", errCallback, n, want)
			}
		}
		if n == 0 {
			return done, errShort
		}
		done += int(n)
	}
	return done, nil
}

func newStreamIO(fd C.int32_t, fn C.xb_io_fn, ctx unsafe.Pointer) (*streamIO, status) {
	if (fd >= 0) == (fn != nil) {
		return nil, invalidf("give either a descriptor (fd >= 0) or a callback, not both or neither (fd %d)", int32(fd))
	}
	s := &streamIO{fd: int(fd), fn: fn, ctx: ctx}
	if fn != nil {
		s.bounce = (*C.uint8_t)(C.malloc(bounceSize))
		if s.bounce == nil {
			return nil, fail(C.XB_ERR_INTERNAL, "out of memory")
		}
	}
	return s, C.XB_OK
}

func (s *streamIO) free() {
	if s.bounce != nil {
		C.free(unsafe.Pointer(s.bounce))
		s.bounce = nil
	}
}

func registerStream(o *openStream, out *C.xb_stream) status {
	id, err := streams.add(o)
	if err != nil {
		o.io.free()
		return failErr(err)
	}
	*out = C.xb_stream(id)
	return C.XB_OK
}

//export xb_stream_writer
func xb_stream_writer(fd C.int32_t, fn C.xb_io_fn, ctx unsafe.Pointer, out *C.xb_stream) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	sio, rc := newStreamIO(fd, fn, ctx)
	if rc != C.XB_OK {
		return rc
	}
	w, err := stream.NewWriter(sio)
	if err != nil {
		sio.free()
		return failErr(err)
	}
	return registerStream(&openStream{w: w, io: sio}, out)
}

//export xb_stream_reader
func xb_stream_reader(fd C.int32_t, fn C.xb_io_fn, ctx unsafe.Pointer, maxPayload C.uint64_t, out *C.xb_stream) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	sio, rc := newStreamIO(fd, fn, ctx)
	if rc != C.XB_OK {
		return rc
	}
	r, err := stream.NewReader(sio)
	if err != nil {
		sio.free()
		return failErr(err)
	}
	r.MaxPayload = uint64(maxPayload)
	return registerStream(&openStream{r: r, io: sio}, out)
}

// useStream resolves a handle of the wanted direction and locks it.
func useStream(h C.xb_stream, writer bool) (*openStream, error) {
	s, err := streams.get(uint64(h))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (stream %#x)", errClosedHandle, uint64(h))
	}
	if (s.w != nil) != writer {
		s.mu.Unlock()
		if writer {
			return nil, fmt.Errorf("%w: stream %#x is a reader", errInvalidArg, uint64(h))
		}
		return nil, fmt.Errorf("%w: stream %#x is a writer", errInvalidArg, uint64(h))
	}
	return s, nil
}

//export xb_stream_write
func xb_stream_write(h C.xb_stream, frames *C.xb_frame, n C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	fs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	s, err := useStream(h, true)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	for i := range fs {
		f := &fs[i]
		p, err := goBytes(f.payload, f.payload_len, fmt.Sprintf("frames[%d].payload", i))
		if err != nil {
			return failErr(err)
		}
		s.io.window(p)
		err = s.w.WriteFrame(codec.ID(f.codec), uint64(f.type_id), uint64(f.publish_ns), p)
		s.io.window(nil)
		if err != nil {
			return failErr(fmt.Errorf("frame %d: %w", i, err))
		}
	}
	return C.XB_OK
}

//export xb_stream_write_region
func xb_stream_write_region(h C.xb_stream, rh C.xb_region, cursor *C.uint64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if cursor == nil || nOut == nil {
		return invalidf("cursor or n is NULL")
	}
	*nOut = 0
	s, err := useStream(h, true)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	r, release, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	mem, err := r.Bytes()
	if err != nil {
		return failErr(err)
	}
	s.io.window(mem)
	defer s.io.window(nil)
	n, next, err := s.w.WriteRegion(r.Region, uint64(*cursor))
	*nOut, *cursor = C.uint64_t(n), C.uint64_t(next)
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

// readFrames lands up to cap frames with land; it stops early at the clean
// end of the stream.
func readFrames(h C.xb_stream, capacity C.uint64_t, nOut *C.uint64_t, window []byte, land func(*stream.Reader, int) error) status {
	if nOut == nil {
		return invalidf("n is NULL")
	}
	*nOut = 0
	if capacity == 0 {
		return invalidf("cap is 0")
	}
	s, err := useStream(h, false)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	s.io.window(window)
	defer s.io.window(nil)
	for i := 0; i < int(min(capacity, maxInputLen)); i++ {
		err := land(s.r, i)
		if err == io.EOF {
			return C.XB_OK
		}
		if err != nil {
			return failErr(err)
		}
		*nOut++
	}
	return C.XB_OK
}

//export xb_stream_read_region
func xb_stream_read_region(h C.xb_stream, rh C.xb_region, out *C.xb_frame, capacity C.uint64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	var frames []C.xb_frame
	if out != nil {
		var err error
		if frames, err = cArray(out, capacity, "out"); err != nil {
			return failErr(err)
		}
	}
	r, release, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	mem, err := r.Bytes()
	if err != nil {
		return failErr(err)
	}
	return readFrames(h, capacity, nOut, mem, func(rd *stream.Reader, i int) error {
		f, err := rd.ToRegion(r.Region)
		if err == nil && frames != nil {
			frameToC(f, &frames[i])
		}
		return err
	})
}

//export xb_stream_read_channel
func xb_stream_read_channel(h C.xb_stream, ch C.xb_channel, timeoutNs C.int64_t, capacity C.uint64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	c, err := channels.get(uint64(ch))
	if err != nil {
		return failErr(err)
	}
	if err := c.Acquire(); err != nil {
		return failErr(err)
	}
	defer c.Release()
	mem, err := c.Mapping()
	if err != nil {
		return failErr(err)
	}
	return readFrames(h, capacity, nOut, mem, func(rd *stream.Reader, _ int) error {
		_, err := rd.ToChannel(c, timeoutOf(timeoutNs))
		return err
	})
}

//export xb_stream_skip
func xb_stream_skip(h C.xb_stream) (rc status) {
	defer guard(&rc, enter())
	s, err := useStream(h, false)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	if err := s.r.Skip(); err != nil {
		if err == io.EOF {
			return invalidf("the stream has ended: no frame to skip")
		}
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_stream_close
func xb_stream_close(h C.xb_stream) (rc status) {
	defer guard(&rc, enter())
	s, err := streams.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.io.free()
	return C.XB_OK
}
