//go:build linux

package channel

import (
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Stats is a snapshot of a channel's gauges and counters, read from the
// shared mapping: the same numbers in every process.
type Stats struct {
	RingSize uint64
	Policy   Policy
	// Used is the ring space between the slowest subscriber and the tail.
	Used            uint64
	Tail            uint64 // stream position of the next claim
	FramesPublished uint64
	BytesPublished  uint64 // payload bytes
	FullWaits       uint64 // claims that found the ring full and waited (Block) or overwrote (Overwrite)
	FullFails       uint64 // claims refused with ErrFull (Fail)
	ParkedWaits     uint64 // waits that slept on a futex, publishers and subscribers
	DeadPublishers  uint64 // slots of dead publishers aborted
	DeadSubscribers uint64 // entries of dead subscribers freed
	DroppedFrames   uint64 // frames subscribers lost to Overwrite
	PaddingFrames   uint64
	LatencyOverflow uint64 // latencies above the histogram's range (recorded at its top)
	// Latency is publish→receive latency in ns over every subscriber.
	Latency     *hdrhistogram.Histogram
	Subscribers []SubscriberStats
}

// SubscriberStats describes one active subscriber entry.
type SubscriberStats struct {
	Index int
	Peer  uint16 // 0 for a group cursor
	// Group is the Index of the cursor entry of a group member's group, -1
	// otherwise; GroupCursor marks a group's cursor entry.
	Group       int
	GroupCursor bool
	Position    uint64
	LagBytes    uint64 // tail - position
	LagFrames   uint64 // committed frames between position and tail
	Frames      uint64 // received
	Bytes       uint64
	Dropped     uint64 // lost to Overwrite
	DropBytes   uint64
	ParkedWaits uint64
	HeartbeatNs uint64 // CLOCK_MONOTONIC of its last receive or wait
	Latency     *hdrhistogram.Histogram
}

// Stats reads the channel's counters, gauges and latency histograms.
func (c *Channel) Stats() (st Stats, err error) {
	ok, old := c.enter()
	if !ok {
		return Stats{}, ErrClosed
	}
	defer c.leave(&err, old)
	ld := func(i int) uint64 { return atomic.LoadUint64(c.counter(i)) }
	tail := atomic.LoadUint64(c.tail())
	st = Stats{
		RingSize: c.ringSize, Policy: c.policy, Tail: tail,
		FramesPublished: ld(cFramesPublished), BytesPublished: ld(cBytesPublished),
		FullWaits: ld(cFullWaits), FullFails: ld(cFullFails), ParkedWaits: ld(cParkedWaits),
		DeadPublishers: ld(cDeadPublishers), DeadSubscribers: ld(cDeadSubscribers),
		DroppedFrames: ld(cDroppedFrames), PaddingFrames: ld(cPaddingFrames), LatencyOverflow: ld(cLatencyOverflow),
		Latency: c.snapshot(0),
	}
	low := tail
	for i := 0; i < c.maxSubs; i++ {
		state := atomic.LoadUint32(c.sub32(i, sState))
		k := kind(state)
		if k != subActive && k != subMember {
			continue
		}
		pos := atomic.LoadUint64(c.sub64(i, sPosition))
		s := SubscriberStats{
			Index: i, Peer: uint16(subPeer(state)), Position: pos, Group: -1,
			Frames: atomic.LoadUint64(c.sub64(i, sFrames)), Bytes: atomic.LoadUint64(c.sub64(i, sBytes)),
			Dropped: atomic.LoadUint64(c.sub64(i, sDropped)), DropBytes: atomic.LoadUint64(c.sub64(i, sDropBytes)),
			ParkedWaits: atomic.LoadUint64(c.sub64(i, sParked)), HeartbeatNs: atomic.LoadUint64(c.sub64(i, sHeartbeat)),
			Latency: c.snapshot(1 + i),
		}
		if k == subMember {
			s.Group = int(atomic.LoadUint64(c.sub64(i, sGroup))) - 1
		} else if subPeer(state) == 0 && atomic.LoadUint64(c.sub64(i, sGroup)) != 0 {
			s.GroupCursor = true
		}
		if pos <= tail {
			s.LagBytes = tail - pos
			s.LagFrames = c.countCommitted(pos, tail)
			low = min(low, pos)
		}
		st.Subscribers = append(st.Subscribers, s)
	}
	st.Used = tail - low
	return st, nil
}

// countCommitted counts the committed frames in [from, to) by walking the
// slot chain; it stops early where the chain is being rewritten.
func (c *Channel) countCommitted(from, to uint64) uint64 {
	var n uint64
	for p := from; p < to && to-p <= c.ringSize; {
		off := p & c.mask
		w := atomic.LoadUint64(c.r64(off + fSeal))
		if !c.validSeal(w, p) {
			break
		}
		if atomic.LoadUint32(c.r32(off+fState)) == stateCommitted {
			n++
		}
		p += sealSize(w)
	}
	return n
}
