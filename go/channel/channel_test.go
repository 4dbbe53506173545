//go:build linux

package channel

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

var nameSeq atomic.Int64

func chanName(t testing.TB) string {
	t.Helper()
	base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(base) > 100 {
		base = base[:100]
	}
	name := fmt.Sprintf("/xbchan-%d-%d-%s", os.Getpid(), nameSeq.Add(1), base)
	t.Cleanup(func() {
		if err := Unlink(name); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("unlink %s: %v", name, err)
		}
	})
	return name
}

func newChannel(t testing.TB, opts Options) (*Channel, string) {
	t.Helper()
	name := chanName(t)
	c, err := Create(name, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, name
}

func publish(t testing.TB, c *Channel, payload []byte) Frame {
	t.Helper()
	s, err := c.Reserve(4, 99, len(payload), 0) // MessagePack
	require.NoError(t, err)
	n := copy(s.Buf, payload)
	f, err := s.Commit(s.Buf[:n])
	require.NoError(t, err)
	return f
}

func TestPublishReceive(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 16})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	_, err = sub.Receive(0)
	require.ErrorIs(t, err, ErrTimeout)

	pub := publish(t, c, []byte("hello"))
	f, err := sub.Receive(time.Second)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(f.Payload))
	assert.Equal(t, codec.MsgPack, f.Codec)
	assert.Equal(t, uint64(99), f.TypeID)
	assert.Equal(t, c.ID(), f.RegionID)
	assert.Equal(t, pub.Position, f.Position)
	assert.NotZero(t, f.PublishNs)
	require.NoError(t, sub.Release())

	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.FramesPublished)
	assert.Equal(t, uint64(5), st.BytesPublished)
	require.Len(t, st.Subscribers, 1)
	assert.Equal(t, uint64(1), st.Subscribers[0].Frames)
	assert.Zero(t, st.Subscribers[0].LagBytes)
	assert.Equal(t, int64(1), st.Latency.TotalCount())
	assert.Equal(t, int64(1), st.Subscribers[0].Latency.TotalCount())
}

// A frame encoded in place in a channel decodes with the same call as a
// region frame.
func TestOneFrameProtocol(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 16})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	rec := &record.Sample{TimestampNs: 42, Label: 3}
	rec.Features[1] = 2.5
	cd, err := crossbufCodec()
	require.NoError(t, err)
	size, err := cd.MaxSize(rec)
	require.NoError(t, err)
	s, err := c.Reserve(cd.ID(), uint64(rec.RecordType()), size, 0)
	require.NoError(t, err)
	p, err := cd.Encode(s.Buf, rec)
	require.NoError(t, err)
	_, err = s.Commit(p)
	require.NoError(t, err)
	f, err := sub.Receive(time.Second)
	require.NoError(t, err)
	var got record.Sample
	require.NoError(t, crossbuf.Decode(f.Frame, &got))
	assert.Equal(t, *rec, got)
}

func TestWrapPadsAndReclaims(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 2000; i++ {
		n := rng.IntN(700)
		payload := bytes.Repeat([]byte{byte(i)}, n)
		publish(t, c, payload)
		f, err := sub.Receive(0)
		require.NoError(t, err)
		require.Equal(t, payload, []byte(f.Payload), "frame %d", i)
		require.NoError(t, sub.Release())
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Positive(t, st.PaddingFrames, "frames of random sizes must have padded some lap ends")
	assert.Greater(t, st.Tail, uint64(20*4096), "the ring wrapped many times")
}

func TestFailPolicy(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Fail})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	n := 0
	for {
		s, err := c.Reserve(1, 1, 100, 0)
		if errors.Is(err, ErrFull) {
			break
		}
		require.NoError(t, err)
		_, err = s.Commit(s.Buf[:100])
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, (4096-64)/192, n, "frames of 192 bytes fit, minus the next header")
	// The next frame does not fit before the end of the lap: it needs a
	// 64-byte padding slot there, then 192 bytes at the start.
	for i := 0; i < 2; i++ {
		f, err := sub.Receive(0)
		require.NoError(t, err)
		assert.Len(t, f.Payload, 100)
		require.NoError(t, sub.Release())
		if i == 0 {
			_, err = c.Reserve(1, 1, 100, 0)
			require.ErrorIs(t, err, ErrFull)
		}
	}
	_, err = c.Reserve(1, 1, 100, 0)
	require.NoError(t, err, "two frames released make room for padding and one")
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.FullFails)
}

func TestBlockPolicyWaitsForSlowestSubscriber(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Block})
	fast, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	slow, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	const frames = 200
	done := make(chan error, 1)
	go func() {
		for i := 0; i < frames; i++ {
			if err := c.Publish(1, 1, bytes.Repeat([]byte{byte(i)}, 300), -1); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < frames; i++ {
		for _, s := range []*Subscriber{fast, slow} {
			f, err := s.Receive(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, bytes.Repeat([]byte{byte(i)}, 300), []byte(f.Payload))
			require.NoError(t, s.Release())
		}
	}
	require.NoError(t, <-done)
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Positive(t, st.FullWaits)

	// A timeout gives up with an error that is both ErrFull and ErrTimeout.
	for {
		if _, err := c.Reserve(1, 1, 1000, 0); err != nil {
			break
		}
	}
	_, err = c.Reserve(1, 1, 1000, 5*time.Millisecond)
	require.ErrorIs(t, err, ErrFull)
	require.ErrorIs(t, err, ErrTimeout)
}

func TestOverwriteCountsDrops(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Overwrite})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	const frames = 500
	for i := 0; i < frames; i++ {
		binaryPublish(t, c, uint64(i))
	}
	got := 0
	last := -1
	for {
		f, err := sub.Receive(0)
		if errors.Is(err, ErrTimeout) {
			break
		}
		require.NoError(t, err)
		seq := int(leU64(f.Payload))
		require.Greater(t, seq, last, "frames come in order, never twice")
		last = seq
		got++
		require.NoError(t, sub.Release())
	}
	dropped, _, err := sub.Dropped()
	require.NoError(t, err)
	assert.Equal(t, uint64(frames), uint64(got)+dropped, "every frame is received or counted as dropped")
	assert.Equal(t, frames-1, last, "the newest frame survives")
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, dropped, st.DroppedFrames)
}

// Frames received but overwritten before Release are reported by Release.
func TestOverwriteOverrunOnRelease(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Overwrite})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	binaryPublish(t, c, 1)
	f, err := sub.Receive(0)
	require.NoError(t, err)
	require.Equal(t, uint64(1), leU64(f.Payload))
	require.NoError(t, sub.Check(), "nothing overwritten yet")
	for i := 0; i < 100; i++ {
		binaryPublish(t, c, uint64(i+2))
	}
	require.ErrorIs(t, sub.Check(), ErrOverrun)
	require.ErrorIs(t, sub.Check(), ErrOverrun, "Check gives nothing back")
	require.ErrorIs(t, sub.Release(), ErrOverrun)
	f, err = sub.Receive(0)
	require.NoError(t, err)
	assert.Greater(t, leU64(f.Payload), uint64(2))
	require.NoError(t, sub.Release())
}

func binaryPublish(t testing.TB, c *Channel, v uint64) {
	t.Helper()
	var b [64]byte
	*(*uint64)(unsafe.Pointer(&b[0])) = v
	require.NoError(t, c.Publish(1, 1, b[:], 0))
}

func leU64(b []byte) uint64 { return *(*uint64)(unsafe.Pointer(&b[0])) }

func TestReceiveBatch(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 16})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		binaryPublish(t, c, uint64(i))
	}
	dst := make([]Frame, 4)
	var seen []uint64
	for len(seen) < 10 {
		n, err := sub.ReceiveBatch(dst, time.Second)
		require.NoError(t, err)
		require.LessOrEqual(t, n, 4)
		for _, f := range dst[:n] {
			seen = append(seen, leU64(f.Payload))
		}
		require.NoError(t, sub.Release())
	}
	assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seen)
}

func TestManyPublishersAndSubscribersInProcess(t *testing.T) {
	for _, p := range []Policy{Block, Overwrite} {
		t.Run(p.String(), func(t *testing.T) {
			c, name := newChannel(t, Options{Capacity: 1 << 14, Policy: p})
			const pubs, subs, each = 3, 3, 3000
			var wg sync.WaitGroup
			results := make([]map[uint64]bool, subs)
			dropped := make([]uint64, subs)
			ready := make(chan struct{}, subs)
			stop := make(chan struct{})
			for k := 0; k < subs; k++ {
				// each subscriber on its own open, as another process would be
				ch, err := Open(name, SubscribeOnly)
				require.NoError(t, err)
				t.Cleanup(func() { _ = ch.Close() })
				sub, err := ch.Subscribe(Wait{Mode: SpinThenPark})
				require.NoError(t, err)
				results[k] = map[uint64]bool{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ready <- struct{}{}
					seen := results[k]
					lastBy := map[uint64]uint64{}
					for {
						f, err := sub.Receive(50 * time.Millisecond)
						if errors.Is(err, ErrOverrun) {
							continue
						}
						if errors.Is(err, ErrTimeout) {
							select {
							case <-stop:
								d, _, _ := sub.Dropped()
								dropped[k] = d
								return
							default:
								continue
							}
						}
						if !assert.NoError(t, err) {
							return
						}
						v := leU64(f.Payload)
						cp := append([]byte(nil), f.Payload...)
						if err := sub.Release(); errors.Is(err, ErrOverrun) {
							continue
						} else if !assert.NoError(t, err) {
							return
						}
						if !assert.True(t, checkPayload(cp), "torn payload") {
							return
						}
						assert.False(t, seen[v], "duplicate %x", v)
						seen[v] = true
						if last, ok := lastBy[v>>32]; ok {
							assert.Greater(t, v, last, "a publisher's frames arrive in order")
						}
						lastBy[v>>32] = v
					}
				}()
			}
			for k := 0; k < subs; k++ {
				<-ready
			}
			var pw sync.WaitGroup
			for j := 0; j < pubs; j++ {
				pw.Add(1)
				go func() {
					defer pw.Done()
					rng := rand.New(rand.NewPCG(uint64(j), 9))
					buf := make([]byte, 2048)
					for i := 0; i < each; i++ {
						v := uint64(j)<<32 | uint64(i)
						p := makePayload(buf, v, rng)
						if !assert.NoError(t, c.Publish(1, 1, p, -1)) {
							return
						}
					}
				}()
			}
			pw.Wait()
			close(stop)
			wg.Wait()
			for k := 0; k < subs; k++ {
				got := uint64(len(results[k]))
				if p == Overwrite {
					assert.LessOrEqual(t, got+dropped[k], uint64(pubs*each), "subscriber %d", k)
					assert.GreaterOrEqual(t, got+dropped[k], uint64(pubs*each), "subscriber %d: received + dropped", k)
				} else {
					assert.Equal(t, uint64(pubs*each), got, "subscriber %d lost frames", k)
				}
			}
		})
	}
}

func TestSubscribeOnlyCannotWriteData(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 16})
	ro, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer ro.Close()
	_, err = ro.Reserve(1, 1, 10, 0)
	require.ErrorIs(t, err, ErrReadOnly)
	sub, err := ro.Subscribe(Wait{})
	require.NoError(t, err)
	publish(t, c, []byte("data"))
	f, err := sub.Receive(time.Second)
	require.NoError(t, err)
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	faulted := func() (ok bool) {
		defer func() { ok = recover() != nil }()
		f.Payload[0] = 'X'
		return false
	}()
	assert.True(t, faulted, "a write into the data ring of a SubscribeOnly open must fault")
	assert.Equal(t, "data", string(f.Payload))
}

func TestCreateValidation(t *testing.T) {
	name := chanName(t)
	_, err := Create(name, Options{Capacity: -1})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Create(name, Options{Policy: 9})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Create(name, Options{MaxSubscribers: MaxSubscribersLimit + 1})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Create("bad/name", Options{})
	require.ErrorIs(t, err, region.ErrBadName)
	_, err = Open(name, PublishSubscribe)
	require.ErrorIs(t, err, ErrNotFound)
	c, err := Create(name, Options{Capacity: 5000})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, 8192, c.RingSize(), "rounded up to a power of two")
	_, err = Create(name, Options{})
	require.ErrorIs(t, err, ErrExists)
	var st = mustStat(t, "/dev/shm"+name)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = c.Reserve(1, 1, c.MaxPayload()+1, 0)
	require.ErrorIs(t, err, ErrInvalid)
}

func mustStat(t *testing.T, path string) os.FileInfo {
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st
}

func TestOpenRejectsOtherFiles(t *testing.T) {
	name := chanName(t)
	require.NoError(t, os.WriteFile("/dev/shm"+name, make([]byte, 1<<16), 0o600))
	_, err := Open(name, PublishSubscribe)
	require.ErrorIs(t, err, ErrVersion)
}

// A publisher whose open dies between claim and commit is aborted by the
// subscriber waiting on its slot; one that dies between the seal and the
// tail move is finished and aborted by the next publisher.
func TestDeadPublisherClaims(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)

	dead, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	_, err = dead.Reserve(1, 1, 100, 0) // never committed
	require.NoError(t, err)
	require.NoError(t, dead.Close()) // drops its peer lock: it is dead to everyone
	publish(t, c, []byte("after"))
	f, err := sub.Receive(time.Second)
	require.NoError(t, err)
	assert.Equal(t, "after", string(f.Payload))
	require.NoError(t, sub.Release())

	dead2, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	testHookClaimed = func(uint64) { runtime.Goexit() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = dead2.Reserve(1, 1, 100, 0)
	}()
	<-done
	testHookClaimed = nil
	require.NoError(t, dead2.Close())
	publish(t, c, []byte("after stuck tail"))
	f, err = sub.Receive(time.Second)
	require.NoError(t, err)
	assert.Equal(t, "after stuck tail", string(f.Payload))
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.DeadPublishers)
}

// A live but slow publisher is never reclaimed: its slot holds back
// subscribers until it commits.
func TestSlowPublisherIsWaitedFor(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	slow, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	defer slow.Close()
	s, err := slow.Reserve(1, 1, 8, 0)
	require.NoError(t, err)
	publish(t, c, []byte("second"))
	_, err = sub.Receive(30 * time.Millisecond)
	require.ErrorIs(t, err, ErrTimeout)
	copy(s.Buf, "first")
	_, err = s.Commit(s.Buf[:5])
	require.NoError(t, err)
	for _, want := range []string{"first", "second"} {
		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		assert.Equal(t, want, string(f.Payload))
	}
}

// A subscriber whose open is gone stops holding back a Block channel.
func TestDeadSubscriberReclaimed(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 4096, Policy: Block})
	other, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	_, err = other.Subscribe(Wait{})
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		s, err := c.Reserve(1, 1, 300, 0)
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
		_, err = s.Commit(s.Buf[:300]) // committed: only the subscriber holds the ring
		require.NoError(t, err)
	}
	// Its process dies: the kernel drops the peer lock (Close would free
	// the entry itself).
	// (the mapping holds the open file description, and so the lock, too).
	require.NoError(t, unix.Munmap(other.mem))
	require.NoError(t, unix.Close(other.fd))
	_, err = c.Reserve(1, 1, 300, time.Second)
	require.NoError(t, err, "the dead subscriber's entry is freed")
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.DeadSubscribers)
	assert.Empty(t, st.Subscribers)
}

func TestCloseWakesWaiters(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := sub.Receive(-1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-done, ErrClosed)
	require.ErrorIs(t, c.Close(), ErrClosed)
}

func TestTooManySubscribers(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, MaxSubscribers: 2})
	a, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	_, err = c.Subscribe(Wait{})
	require.NoError(t, err)
	_, err = c.Subscribe(Wait{})
	require.ErrorIs(t, err, ErrTooManySubscribers)
	require.NoError(t, a.Close())
	_, err = c.Subscribe(Wait{})
	require.NoError(t, err)
}

// The shared histograms use hdrhistogram-go's bucket layout exactly.
func TestHistogramIndexMatchesLibrary(t *testing.T) {
	g := newHistGeometry(histLowest, histHighest, histSigfigs)
	h := hdrhistogram.New(histLowest, histHighest, histSigfigs)
	rng := rand.New(rand.NewPCG(3, 4))
	values := []int64{0, 1, 2, 127, 128, 255, 256, 257, 1000, 1 << 20, histHighest}
	for i := 0; i < 300; i++ {
		values = append(values, rng.Int64N(histHighest)>>rng.IntN(36))
	}
	for _, v := range values {
		h.Reset()
		require.NoError(t, h.RecordValue(v))
		counts := h.Export().Counts
		idx := -1
		for i, n := range counts {
			if n != 0 {
				idx = i
			}
		}
		require.Equal(t, idx, g.index(v), "value %d", v)
	}
}

func TestLatencySnapshotIsAHistogram(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 16})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		binaryPublish(t, c, uint64(i))
		_, err := sub.Receive(0)
		require.NoError(t, err)
		require.NoError(t, sub.Release())
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(100), st.Latency.TotalCount())
	assert.Positive(t, st.Latency.ValueAtQuantile(50))
	enc, err := st.Latency.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	require.NoError(t, err)
	dec, err := hdrhistogram.Decode(enc)
	require.NoError(t, err)
	assert.Equal(t, st.Latency.TotalCount(), dec.TotalCount())
}

// A peer that truncates the shared file makes calls fail with
// ErrTruncated, not crash the process.
func TestTruncatedByPeer(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	require.NoError(t, os.Truncate("/dev/shm"+name, 0))
	_, err = c.Stats()
	require.ErrorIs(t, err, ErrTruncated)
	_, err = sub.Receive(0)
	require.ErrorIs(t, err, ErrTruncated)
	_, err = c.Reserve(1, 1, 10, 0)
	require.ErrorIs(t, err, ErrTruncated)
	_, err = Open(name, PublishSubscribe)
	require.ErrorIs(t, err, ErrVersion)
}

func TestPublishBatch(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 4096, Policy: Fail})
	sub, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	var payloads [][]byte
	for i := 0; i < 30; i++ {
		payloads = append(payloads, bytes.Repeat([]byte{byte(i)}, 100))
	}
	n, err := c.PublishBatch(1, 1, payloads, 0)
	require.ErrorIs(t, err, ErrFull)
	require.Equal(t, (4096-64)/192, n, "exactly the frames that fit were committed")
	for i := 0; i < n; i++ {
		f, err := sub.Receive(0)
		require.NoError(t, err)
		require.Equal(t, payloads[i], []byte(f.Payload))
	}
	_, err = sub.Receive(0)
	require.ErrorIs(t, err, ErrTimeout, "nothing after the failed frame")
	require.NoError(t, sub.Release())
	ro, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer ro.Close()
	_, err = ro.PublishBatch(1, 1, payloads[:1], 0)
	require.ErrorIs(t, err, ErrReadOnly)
	_, err = c.PublishBatch(1, 1, [][]byte{make([]byte, c.MaxPayload()+1)}, 0)
	require.ErrorIs(t, err, ErrInvalid)
}

// Bindings hand out payload views from the mapping: payloads lie inside it,
// and a subscriber's Index names its stats entry and histogram.
func TestMappingAndIndex(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 16})
	a, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	b, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	assert.NotEqual(t, a.Index(), b.Index())
	publish(t, c, []byte("payload"))
	f, err := b.Receive(time.Second)
	require.NoError(t, err)
	m, err := c.Mapping()
	require.NoError(t, err)
	lo := uintptr(unsafe.Pointer(&m[0]))
	p := uintptr(unsafe.Pointer(&f.Payload[0]))
	assert.True(t, p >= lo && p+uintptr(len(f.Payload)) <= lo+uintptr(len(m)), "payload outside the mapping")
	assert.Equal(t, uint64(f.Offset)+FrameHeaderSize, uint64(p-lo))
	st, err := c.Stats()
	require.NoError(t, err)
	for _, s := range st.Subscribers {
		want := int64(0)
		if s.Index == b.Index() {
			want = 1
		}
		assert.Equal(t, want, s.Latency.TotalCount(), "entry %d", s.Index)
	}
	require.NoError(t, b.Release())
	require.NoError(t, c.Close())
	_, err = c.Mapping()
	assert.ErrorIs(t, err, ErrClosed)
}

// With no subscriber, nothing holds the ring but the slots still being
// written: a publisher a lap ahead waits for (Block, Overwrite) or fails
// on (Fail) a slot another publisher has not committed, instead of taking
// it from under its writer.
func TestNoSubscriberKeepsSlotsBeingWritten(t *testing.T) {
	for _, policy := range []Policy{Block, Fail, Overwrite} {
		t.Run(policy.String(), func(t *testing.T) {
			c, _ := newChannel(t, Options{Capacity: 4096, Policy: policy})
			held, err := c.Reserve(4, 1, 8, 0)
			require.NoError(t, err)
			copy(held.Buf, "held 123")
			var stopped error
			for i := 0; i < 200 && stopped == nil; i++ { // 200 x 128 bytes: several laps of the ring
				stopped = c.Publish(4, 2, make([]byte, 40), 10*time.Millisecond)
			}
			require.ErrorIs(t, stopped, ErrFull, "a lap later, the held slot stops the other publisher")
			f, err := held.Commit(held.Buf[:8])
			require.NoError(t, err, "the held slot is still its writer's")
			assert.Equal(t, "held 123", string(f.Payload))
			require.NoError(t, c.Publish(4, 2, make([]byte, 40), 10*time.Millisecond), "committed: the ring moves on")
		})
	}
}

// Close racing a receive on the same open: a frame received before Close
// stays intact while it is read under Acquire (the open's subscriber entry
// protects it until Close has waited for the calls in flight), and the
// receive never sees a corrupt chain.
func TestCloseRacingReceiveKeepsFramesIntact(t *testing.T) {
	for iter := 0; iter < 20; iter++ {
		pub, name := newChannel(t, Options{Capacity: 4096, Policy: Block})
		c, err := Open(name, SubscribeOnly)
		require.NoError(t, err)
		s, err := c.Subscribe(Wait{Mode: BusySpin})
		require.NoError(t, err)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // publishes frames whose bytes all equal their sequence byte
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = pub.Publish(4, 1, bytes.Repeat([]byte{byte(i)}, 300), time.Millisecond)
			}
		}()
		var bad []string
		go func() {
			defer wg.Done()
			for {
				if c.Acquire() != nil {
					return
				}
				f, err := s.Receive(time.Millisecond)
				if err == nil {
					for _, b := range f.Payload {
						if b != f.Payload[0] {
							bad = append(bad, "a torn payload")
							break
						}
					}
				} else if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTimeout) {
					bad = append(bad, err.Error())
				}
				if err == nil {
					first := f.Payload[0]
					time.Sleep(2 * time.Millisecond) // reading it while Close waits (a publisher laps the ring meanwhile)
					if bytes.Count(f.Payload, []byte{first}) != len(f.Payload) {
						bad = append(bad, "a payload changed while held")
					}
					_ = s.Release()
				}
				c.Release()
			}
		}()
		time.Sleep(time.Duration(iter%5) * time.Millisecond)
		require.NoError(t, c.Close())
		close(stop)
		wg.Wait()
		require.Empty(t, bad, "iteration %d", iter)
	}
}

// Under Overwrite too, a subscriber whose open is gone is freed by a
// publisher short of space, instead of being overwritten past for ever.
func TestDeadSubscriberReclaimedUnderOverwrite(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 4096, Policy: Overwrite})
	other, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	_, err = other.Subscribe(Wait{})
	require.NoError(t, err)
	require.NoError(t, unix.Munmap(other.mem)) // its process dies (see TestDeadSubscriberReclaimed)
	require.NoError(t, unix.Close(other.fd))
	for i := 0; i < 200; i++ { // laps of the ring, over more than a millisecond
		require.NoError(t, c.Publish(1, 1, make([]byte, 300), time.Second))
		if i%20 == 0 {
			time.Sleep(200 * time.Microsecond)
		}
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.DeadSubscribers)
	assert.Empty(t, st.Subscribers)
}

// The Frame a commit returns describes that frame, even when the slot is
// reused at once (no subscriber holds it) by another publisher.
func TestCommittedFrameIsItsOwn(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Overwrite})
	var wg sync.WaitGroup
	bad := make([]int, 2)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				s, err := c.Reserve(codec.MsgPack, uint64(g+1), 40, time.Second)
				if err != nil {
					continue
				}
				f, err := s.Commit(s.Buf[:40])
				if err == nil && (f.TypeID != uint64(g+1) || f.Codec != codec.MsgPack) {
					bad[g]++
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, []int{0, 0}, bad)
}

func TestSubscriberActive(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 4096})
	o, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	s, err := o.Subscribe(Wait{})
	require.NoError(t, err)
	assert.True(t, s.Active())
	require.NoError(t, o.Close())
	assert.False(t, s.Active(), "its channel is closed")
	s2, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	require.NoError(t, s2.Close())
	assert.False(t, s2.Active(), "closed")
}
