package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/schema"
)

var (
	channels    = newHandles[channel.Channel](tagChannel)
	subscribers = newHandles[openSubscriber](tagSubscriber)
)

// openSubscriber is a subscriber handle. A channel.Subscriber is used by one
// goroutine at a time, and C threads may race a close against a receive, so
// calls take mu. A receive waits in slices of waitSlice and gives up between
// two once closing is set, so a close never waits long for the lock.
type openSubscriber struct {
	mu      sync.Mutex
	closing atomic.Bool
	sub     *channel.Subscriber
	batch   []channel.Frame // ReceiveBatch's buffer, reused under mu
}

const waitSlice = 50 * time.Millisecond

// channelCode maps the channel package's sentinel errors to status codes.
func channelCode(err error) (status, bool) {
	switch {
	case errors.Is(err, channel.ErrOverrun):
		return C.XB_ERR_OVERRUN, true
	case errors.Is(err, channel.ErrEnded):
		return C.XB_ERR_ENDED, true
	case errors.Is(err, channel.ErrPublisherGone):
		return C.XB_ERR_PUBLISHER_GONE, true
	case errors.Is(err, channel.ErrHeld):
		return C.XB_ERR_HELD, true
	case errors.Is(err, channel.ErrTimeout): // before ErrFull: a Block publish that timed out matches both
		return C.XB_ERR_TIMEOUT, true
	case errors.Is(err, channel.ErrFull), errors.Is(err, channel.ErrTooManySubscribers):
		return C.XB_ERR_REGION_FULL, true
	case errors.Is(err, channel.ErrClosed):
		return C.XB_ERR_CLOSED, true
	case errors.Is(err, channel.ErrVersion):
		return C.XB_ERR_VERSION, true
	case errors.Is(err, channel.ErrInvalid), errors.Is(err, channel.ErrNotSealed):
		return C.XB_ERR_INVALID_ARG, true
	case errors.Is(err, channel.ErrNoSpace):
		return C.XB_ERR_NO_SPACE, true
	case errors.Is(err, channel.ErrReadOnly):
		return C.XB_ERR_READ_ONLY, true
	case errors.Is(err, channel.ErrCorrupt):
		return C.XB_ERR_CORRUPT, true
	case errors.Is(err, channel.ErrTruncated):
		return C.XB_ERR_TRUNCATED, true
	}
	return 0, false
}

// timeoutOf converts a C timeout (ns; < 0: for ever) to the channel
// package's (< 0: for ever, 0: do not wait).
func timeoutOf(ns C.int64_t) time.Duration {
	if ns < 0 {
		return -1
	}
	return time.Duration(ns)
}

//export xb_channel_create
func xb_channel_create(name *C.char, capacity C.uint64_t, policy C.int32_t, mode C.uint32_t, out *C.xb_channel) (rc status) {
	defer guard(&rc, enter())
	n, rc := cName(name, "name")
	if rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
	}
	if capacity > channel.MaxRing {
		return invalidf("capacity %d is more than %d", uint64(capacity), uint64(channel.MaxRing))
	}
	if policy < C.XB_POLICY_BLOCK || policy > C.XB_POLICY_OVERWRITE {
		return invalidf("policy %d is not an XB_POLICY_*", int32(policy))
	}
	c, err := channel.Create(n, channel.Options{Capacity: int(capacity), Policy: channel.Policy(policy), Mode: fileMode(mode)})
	if err != nil {
		return failErr(err)
	}
	return registerChannel(c, out)
}

func registerChannel(c *channel.Channel, out *C.xb_channel) status {
	id, err := channels.add(c)
	if err != nil {
		_ = c.Close()
		return failErr(err)
	}
	*out = C.xb_channel(id)
	return C.XB_OK
}

//export xb_channel_open
func xb_channel_open(name *C.char, flags C.uint32_t, out *C.xb_channel) (rc status) {
	defer guard(&rc, enter())
	n, rc := cName(name, "name")
	if rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
	}
	a := channel.PublishSubscribe
	switch flags {
	case 0:
	case C.XB_OPEN_READ_ONLY:
		a = channel.SubscribeOnly
	default:
		return invalidf("open flags %#x: only XB_OPEN_READ_ONLY is defined", uint32(flags))
	}
	c, err := channel.Open(n, a)
	if err != nil {
		return failErr(err)
	}
	return registerChannel(c, out)
}

//export xb_channel_unlink
func xb_channel_unlink(name *C.char) (rc status) {
	defer guard(&rc, enter())
	n, rc := cName(name, "name")
	if rc != C.XB_OK {
		return rc
	}
	if err := channel.Unlink(n); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

// xb_channel_close takes the handle out of the table first, so new calls
// fail; calls that resolved it before hold the Go Channel, which stays alive
// (and mapped) until they return: Close wakes their waits and waits for them.
//
//export xb_channel_close
func xb_channel_close(h C.xb_channel) (rc status) {
	defer guard(&rc, enter())
	c, err := channels.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	if err := c.Close(); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_channel_end
func xb_channel_end(h C.xb_channel) (rc status) {
	defer guard(&rc, enter())
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	if err := c.End(); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_channel_store_schema
func xb_channel_store_schema(h C.xb_channel, sh C.xb_schema) (rc status) {
	defer guard(&rc, enter())
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	l, release, err := useSchema(sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	if err := dynamic.StoreChannelSchema(c, l.s); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_channel_schemas
func xb_channel_schemas(h C.xb_channel, out *C.xb_schema, capacity C.uint64_t, n, total *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if n == nil || (out == nil && capacity > 0) {
		return invalidf("n is NULL, or out is NULL with a capacity")
	}
	*n = 0
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	loaded, err := dynamic.LoadChannelSchemas(c) // a corrupt area: those before it, then the error
	if errors.Is(err, channel.ErrClosed) || errors.Is(err, channel.ErrTruncated) {
		return failErr(err)
	}
	corrupt := errors.Is(err, channel.ErrCorrupt)
	stored := min(uint64(len(loaded)), uint64(capacity))
	if stored > 0 {
		dst := unsafe.Slice(out, stored)
		for i, s := range loaded[:stored] {
			if rc := registerSchema(&dst[i], func() (*schema.Schema, error) { return s, nil }); rc != C.XB_OK {
				for _, sh := range dst[:i] {
					_ = xb_schema_free(sh)
				}
				return rc
			}
		}
	}
	*n = C.uint64_t(stored)
	if total != nil {
		*total = C.uint64_t(len(loaded))
	}
	if corrupt {
		return failErr(err) // the status of a corrupt area (bytes that are no schema are skipped)
	}
	return C.XB_OK
}

//export xb_channel_publish
func xb_channel_publish(h C.xb_channel, codecID C.int32_t, typeID C.uint64_t, bytes *C.uint8_t, n C.uint64_t, timeoutNs C.int64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if _, err := codecByID(codecID); err != nil {
		return failErr(err)
	}
	src, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	if out == nil {
		if err := c.Publish(codec.ID(codecID), uint64(typeID), src, timeoutOf(timeoutNs)); err != nil {
			return failErr(err)
		}
		return C.XB_OK
	}
	// Reserve, fill and commit under one Acquire: a concurrent close must not
	// unmap the slot between the steps.
	if err := c.Acquire(); err != nil {
		return failErr(err)
	}
	defer c.Release()
	s, err := c.Reserve(codec.ID(codecID), uint64(typeID), len(src), timeoutOf(timeoutNs))
	if err != nil {
		return failErr(err)
	}
	k := copy(s.Buf, src)
	f, err := s.Commit(s.Buf[:k])
	if err != nil {
		return failErr(err)
	}
	frameToC(f.Frame, out)
	return C.XB_OK
}

//export xb_channel_publish_batch
func xb_channel_publish_batch(h C.xb_channel, codecID C.int32_t, typeID C.uint64_t, data *C.uint8_t, lens *C.uint64_t, n C.uint64_t, timeoutNs C.int64_t, nDone *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if nDone != nil {
		*nDone = 0
	}
	if _, err := codecByID(codecID); err != nil {
		return failErr(err)
	}
	ls, err := cArray(lens, n, "lens")
	if err != nil {
		return failErr(err)
	}
	var total uint64
	for i, l := range ls {
		if uint64(l) > maxInputLen-total {
			return invalidf("lens[%d]: the frames add up to more than %d bytes", i, uint64(maxInputLen))
		}
		total += uint64(l)
	}
	src, err := goBytes(data, C.uint64_t(total), "data")
	if err != nil {
		return failErr(err)
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	payloads := make([][]byte, len(ls))
	var off uint64
	for i, l := range ls {
		payloads[i] = src[off : off+uint64(l) : off+uint64(l)]
		off += uint64(l)
	}
	k, err := c.PublishBatch(codec.ID(codecID), uint64(typeID), payloads, timeoutOf(timeoutNs))
	if nDone != nil {
		*nDone = C.uint64_t(k)
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_channel_subscribe
func xb_channel_subscribe(h C.xb_channel, waitMode C.int32_t, group *C.char, out *C.xb_subscriber) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	var w channel.Wait
	switch waitMode {
	case C.XB_WAIT_SPIN_THEN_PARK:
		w.Mode = channel.SpinThenPark
	case C.XB_WAIT_BUSY_SPIN:
		w.Mode = channel.BusySpin
	case C.XB_WAIT_PARK:
		w.Mode = channel.Park
	default:
		return invalidf("wait mode %d is not an XB_WAIT_*", int32(waitMode))
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	var s *channel.Subscriber
	if group == nil {
		s, err = c.Subscribe(w)
	} else {
		s, err = c.SubscribeGroup(C.GoString(group), w)
	}
	if err != nil {
		return failErr(err)
	}
	id, err := subscribers.add(&openSubscriber{sub: s})
	if err != nil {
		_ = s.Close()
		return failErr(err)
	}
	*out = C.xb_subscriber(id)
	return C.XB_OK
}

// useSubscriber resolves a handle and locks it; call unlock when done.
func useSubscriber(h C.xb_subscriber) (*openSubscriber, error) {
	s, err := subscribers.get(uint64(h))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (subscriber %#x)", errClosedHandle, uint64(h))
	}
	return s, nil
}

// sliced runs a receive that waits up to timeout in slices of waitSlice,
// stopping between two when the subscriber is being closed. recv reports
// ErrTimeout when its slice passed with nothing.
func (s *openSubscriber) sliced(timeout time.Duration, recv func(time.Duration) error) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		d := waitSlice
		switch {
		case timeout == 0:
			d = 0
		case timeout > 0:
			d = min(d, time.Until(deadline))
			if d <= 0 {
				return channel.ErrTimeout
			}
		}
		err := recv(d)
		if !errors.Is(err, channel.ErrTimeout) || timeout == 0 {
			return err
		}
		if s.closing.Load() {
			return fmt.Errorf("%w: subscriber closed while waiting", channel.ErrClosed)
		}
	}
}

//export xb_subscriber_receive
func xb_subscriber_receive(h C.xb_subscriber, timeoutNs C.int64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	var f channel.Frame
	err = s.sliced(timeoutOf(timeoutNs), func(d time.Duration) (err error) {
		f, err = s.sub.Receive(d)
		return err
	})
	if err != nil {
		return failErr(err)
	}
	frameToC(f.Frame, out)
	return C.XB_OK
}

//export xb_subscriber_receive_batch
func xb_subscriber_receive_batch(h C.xb_subscriber, out *C.xb_frame, capacity C.uint64_t, timeoutNs C.int64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if nOut == nil {
		return invalidf("n is NULL")
	}
	*nOut = 0
	frames, err := cArray(out, capacity, "out")
	if err != nil {
		return failErr(err)
	}
	if len(frames) == 0 {
		return invalidf("cap is 0")
	}
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	if cap(s.batch) < len(frames) {
		s.batch = make([]channel.Frame, len(frames))
	}
	dst := s.batch[:len(frames)]
	var n int
	err = s.sliced(timeoutOf(timeoutNs), func(d time.Duration) (err error) {
		n, err = s.sub.ReceiveBatch(dst, d)
		return err
	})
	for i := 0; i < n; i++ {
		frameToC(dst[i].Frame, &frames[i])
		dst[i] = channel.Frame{} // no Go reference into the mapping outlives the call
	}
	*nOut = C.uint64_t(n)
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_subscriber_release
func xb_subscriber_release(h C.xb_subscriber) (rc status) {
	defer guard(&rc, enter())
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	if err := s.sub.Release(); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_subscriber_check
func xb_subscriber_check(h C.xb_subscriber) (rc status) {
	defer guard(&rc, enter())
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	if err := s.sub.Check(); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_subscriber_dropped
func xb_subscriber_dropped(h C.xb_subscriber, frames, bytes *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if frames == nil || bytes == nil {
		return invalidf("frames or bytes is NULL")
	}
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	f, b, err := s.sub.Dropped()
	if err != nil {
		return failErr(err)
	}
	*frames, *bytes = C.uint64_t(f), C.uint64_t(b)
	return C.XB_OK
}

//export xb_subscriber_index
func xb_subscriber_index(h C.xb_subscriber, out *C.int32_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	s, err := useSubscriber(h)
	if err != nil {
		return failErr(err)
	}
	defer s.mu.Unlock()
	if !s.sub.Active() {
		return failErr(fmt.Errorf("%w: subscriber closed, or its channel", channel.ErrClosed))
	}
	*out = C.int32_t(s.sub.Index())
	return C.XB_OK
}

// xb_subscriber_close takes the handle out of the table, tells a receive in
// flight to stop at the end of its slice, and closes the subscriber once no
// call uses it.
//
//export xb_subscriber_close
func xb_subscriber_close(h C.xb_subscriber) (rc status) {
	defer guard(&rc, enter())
	s, err := subscribers.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	// A closed channel has freed the entry already.
	if err := s.sub.Close(); err != nil && !errors.Is(err, channel.ErrClosed) {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_channel_get_stats
func xb_channel_get_stats(h C.xb_channel, out *C.xb_channel_stats) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	st, err := c.Stats()
	if err != nil {
		return failErr(err)
	}
	*out = C.xb_channel_stats{
		capacity: C.uint64_t(st.RingSize), used: C.uint64_t(st.Used), tail: C.uint64_t(st.Tail),
		frames_published: C.uint64_t(st.FramesPublished), bytes_published: C.uint64_t(st.BytesPublished),
		full_waits: C.uint64_t(st.FullWaits), full_fails: C.uint64_t(st.FullFails), parked_waits: C.uint64_t(st.ParkedWaits),
		dead_publishers: C.uint64_t(st.DeadPublishers), dead_subscribers: C.uint64_t(st.DeadSubscribers),
		dropped_frames: C.uint64_t(st.DroppedFrames), latency_count: C.uint64_t(st.Latency.TotalCount()),
		latency_overflow: C.uint64_t(st.LatencyOverflow), policy: C.uint32_t(st.Policy),
		subscribers: C.uint32_t(len(st.Subscribers)),
	}
	return C.XB_OK
}

//export xb_channel_subscribers
func xb_channel_subscribers(h C.xb_channel, out *C.xb_subscriber_stats, capacity C.uint64_t, nOut *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if nOut == nil {
		return invalidf("n is NULL")
	}
	dst, err := cArray(out, capacity, "out")
	if err != nil {
		return failErr(err)
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	st, err := c.Stats()
	if err != nil {
		return failErr(err)
	}
	for i, s := range st.Subscribers {
		if i >= len(dst) {
			break
		}
		cursor := C.uint32_t(0)
		if s.GroupCursor {
			cursor = 1
		}
		dst[i] = C.xb_subscriber_stats{
			index: C.int32_t(s.Index), group: C.int32_t(s.Group), peer: C.uint32_t(s.Peer), group_cursor: cursor,
			position: C.uint64_t(s.Position), lag_bytes: C.uint64_t(s.LagBytes), lag_frames: C.uint64_t(s.LagFrames),
			frames: C.uint64_t(s.Frames), bytes: C.uint64_t(s.Bytes), dropped: C.uint64_t(s.Dropped),
			dropped_bytes: C.uint64_t(s.DropBytes), parked_waits: C.uint64_t(s.ParkedWaits),
			heartbeat_ns: C.uint64_t(s.HeartbeatNs),
		}
	}
	*nOut = C.uint64_t(len(st.Subscribers))
	return C.XB_OK
}

//export xb_channel_latency
func xb_channel_latency(h C.xb_channel, subscriber C.int32_t, quantiles *C.double, outNs *C.uint64_t, n C.uint64_t, count *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	qs, err := cArray(quantiles, n, "quantiles")
	if err != nil {
		return failErr(err)
	}
	out, err := cArray(outNs, n, "out_ns")
	if err != nil {
		return failErr(err)
	}
	for i, q := range qs {
		if math.IsNaN(float64(q)) || q < 0 || q > 1 {
			return invalidf("quantiles[%d] = %g is not in [0, 1]", i, float64(q))
		}
	}
	if subscriber < -1 {
		return invalidf("subscriber %d: an index, or -1 for every subscriber", int32(subscriber))
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	st, err := c.Stats()
	if err != nil {
		return failErr(err)
	}
	hist := st.Latency
	if subscriber >= 0 {
		hist = nil
		for _, s := range st.Subscribers {
			if s.Index == int(subscriber) {
				hist = s.Latency
			}
		}
		if hist == nil {
			return fail(C.XB_ERR_OUT_OF_RANGE, fmt.Sprintf("no active subscriber entry %d", int32(subscriber)))
		}
	}
	total := hist.TotalCount()
	for i, q := range qs {
		out[i] = 0
		if total > 0 {
			out[i] = C.uint64_t(hist.ValueAtQuantile(float64(q) * 100))
		}
	}
	if count != nil {
		*count = C.uint64_t(total)
	}
	return C.XB_OK
}

//export xb_channel_base
func xb_channel_base(h C.xb_channel, base **C.uint8_t, size *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if base == nil || size == nil {
		return invalidf("base or size is NULL")
	}
	c, err := channels.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
	m, err := c.Mapping()
	if err != nil {
		return failErr(err)
	}
	*base = (*C.uint8_t)(unsafe.Pointer(&m[0]))
	*size = C.uint64_t(len(m))
	return C.XB_OK
}
