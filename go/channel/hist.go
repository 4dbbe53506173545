//go:build linux

package channel

import (
	"math"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histGeometry is the HdrHistogram bucket layout of the shared latency
// histograms. The counts array length comes from hdrhistogram-go itself;
// index computes the same counts index the library's RecordValue uses (a
// test checks them against each other), because the library keeps its
// counts in a Go slice with plain adds and cannot be the shared store.
type histGeometry struct {
	lowest, highest             int64
	sigfigs                     int
	countsLen                   int
	unitMagnitude               uint
	subBucketHalfCountMagnitude uint
	subBucketHalfCount          int64
	subBucketMask               int64
	stride                      uint64 // bytes between histograms in the mapping
}

func newHistGeometry(lowest, highest int64, sigfigs int) histGeometry {
	h := hdrhistogram.New(lowest, highest, sigfigs)
	g := histGeometry{lowest: lowest, highest: highest, sigfigs: sigfigs, countsLen: len(h.Export().Counts)}
	largest := 2 * math.Pow10(sigfigs)
	subBucketCountMagnitude := uint(math.Ceil(math.Log2(largest)))
	g.subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
	g.unitMagnitude = uint(max(0, int(math.Floor(math.Log2(float64(lowest))))))
	subBucketCount := int64(1) << (g.subBucketHalfCountMagnitude + 1)
	g.subBucketHalfCount = subBucketCount / 2
	g.subBucketMask = (subBucketCount - 1) << g.unitMagnitude
	return g
}

// index returns the counts index of v, 0 <= v <= highest.
func (g *histGeometry) index(v int64) int {
	pow2Ceiling := int64(64 - bits.LeadingZeros64(uint64(v|g.subBucketMask)))
	bucket := pow2Ceiling - int64(g.unitMagnitude) - int64(g.subBucketHalfCountMagnitude+1)
	sub := v >> (uint(bucket) + g.unitMagnitude)
	return int((bucket+1)<<g.subBucketHalfCountMagnitude + sub - g.subBucketHalfCount)
}

// histCounts returns the counts of histogram i (0: the channel's, 1+k:
// subscriber entry k's) as pointers into the mapping.
func (c *Channel) histCount(i int, idx int) *uint64 {
	return (*uint64)(unsafe.Pointer(&c.mem[c.histOff+uint64(i)*c.hist.stride+uint64(idx)*8]))
}

// recordLatency adds one publish→receive latency to the channel's and
// subscriber entry k's histograms.
func (c *Channel) recordLatency(k int, publishNs, now uint64) {
	if publishNs == 0 || publishNs > now {
		return // not stamped, or another clock (a frame written by a peer on another machine)
	}
	v := int64(now - publishNs)
	if v > c.hist.highest {
		atomic.AddUint64(c.counter(cLatencyOverflow), 1)
		v = c.hist.highest
	}
	idx := c.hist.index(v)
	atomic.AddUint64(c.histCount(0, idx), 1)
	atomic.AddUint64(c.histCount(1+k, idx), 1)
}

// snapshot copies histogram i into an hdrhistogram-go Histogram.
func (c *Channel) snapshot(i int) *hdrhistogram.Histogram {
	counts := make([]int64, c.hist.countsLen)
	for j := range counts {
		counts[j] = int64(min(atomic.LoadUint64(c.histCount(i, j)), math.MaxInt64/uint64(len(counts))))
	}
	return hdrhistogram.Import(&hdrhistogram.Snapshot{
		LowestTrackableValue:  c.hist.lowest,
		HighestTrackableValue: c.hist.highest,
		SignificantFigures:    int64(c.hist.sigfigs),
		Counts:                counts,
	})
}

// clearHist zeroes histogram i (a subscriber entry being reused).
func (c *Channel) clearHist(i int) {
	for j := 0; j < c.hist.countsLen; j++ {
		atomic.StoreUint64(c.histCount(i, j), 0)
	}
}
