//go:build linux

package channel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"1KB", 1024}, {"1MB", 1 << 20}}

// sum64 is the checksum every benchmark consumer computes over the whole
// payload, so no consumer wins by not reading.
func sum64(p []byte) uint64 {
	var s uint64
	n := len(p) / 8
	if n > 0 {
		for _, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), n) {
			s += w
		}
	}
	for _, b := range p[n*8:] {
		s += uint64(b)
	}
	return s
}

func ringFor(size int) int { return max(1<<20, 8*size+1<<16) }

func fillPayload(p []byte, seq uint64) {
	for i := 0; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], seq+uint64(i))
	}
}

// reportLatency adds the channel's one-way publish→receive percentiles
// (from its shared HDR histogram) to the benchmark output.
func reportLatency(b *testing.B, c *Channel) {
	st, err := c.Stats()
	require.NoError(b, err)
	h := st.Latency
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-ns")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-ns")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "p99.9-ns")
}

func benchPublish(b *testing.B, c *Channel, payload []byte, seq uint64) {
	s, err := c.Reserve(1, 1, len(payload), -1)
	if err != nil {
		b.Fatal(err)
	}
	n := copy(s.Buf, payload)
	binary.LittleEndian.PutUint64(s.Buf, seq)
	if _, err := s.Commit(s.Buf[:n]); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLatencyInProcess: one frame in flight between two goroutines,
// both busy-spinning; one-way latency from the frames' publish stamps.
func BenchmarkLatencyInProcess(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c, _ := newChannel(b, Options{Capacity: ringFor(sz.n), Policy: Block})
			sub, err := c.Subscribe(Wait{Mode: BusySpin})
			require.NoError(b, err)
			payload := make([]byte, sz.n)
			fillPayload(payload, 1)
			var done atomic.Uint64
			go func() {
				for {
					f, err := sub.Receive(-1)
					if err != nil {
						return
					}
					_ = sum64(f.Payload)
					seq := binary.LittleEndian.Uint64(f.Payload)
					_ = sub.Release()
					done.Store(seq)
				}
			}()
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := uint64(1); i <= uint64(b.N); i++ {
				benchPublish(b, c, payload, i)
				for done.Load() != i {
					runtime.Gosched()
				}
			}
			b.StopTimer()
			reportLatency(b, c)
		})
	}
}

// BenchmarkThroughputInProcess: a publisher goroutine streams frames as fast
// as the Block policy lets it; a subscriber goroutine checksums each one.
func BenchmarkThroughputInProcess(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c, _ := newChannel(b, Options{Capacity: ringFor(sz.n), Policy: Block})
			sub, err := c.Subscribe(Wait{Mode: SpinThenPark})
			require.NoError(b, err)
			payload := make([]byte, sz.n)
			fillPayload(payload, 1)
			frames := make(chan int, 1)
			go func() {
				batch := make([]Frame, 64)
				got := 0
				for got < b.N {
					n, err := sub.ReceiveBatch(batch, -1)
					if err != nil {
						break
					}
					for _, f := range batch[:n] {
						_ = sum64(f.Payload)
					}
					_ = sub.Release()
					got += n
				}
				frames <- got
			}()
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchPublish(b, c, payload, uint64(i))
			}
			if got := <-frames; got != b.N {
				b.Fatalf("received %d of %d", got, b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			reportLatency(b, c)
		})
	}
}

// childBench is the other process of the cross-process benchmarks. "echo":
// for each frame on the channel, checksum it and publish its sequence on
// the reply channel. "sink": checksum frames until one of type 2, then
// reply with the count.
func childBench(role, name, reply string) {
	c, err := Open(name, SubscribeOnly)
	if err != nil {
		die(role, err)
	}
	r, err := Open(reply, PublishSubscribe)
	if err != nil {
		die(role, err)
	}
	mode := BusySpin
	switch role {
	case "sink":
		mode = SpinThenPark
	case "echo-park":
		mode, role = Park, "echo"
	}
	sub, err := c.Subscribe(Wait{Mode: mode})
	if err != nil {
		die(role, err)
	}
	fmt.Println("ready")
	batch := make([]Frame, 64)
	var count uint64
	var sum uint64
	for {
		n, err := sub.ReceiveBatch(batch, -1)
		if err != nil {
			die(role, err)
		}
		for _, f := range batch[:n] {
			if f.TypeID == 2 {
				var out [16]byte
				binary.LittleEndian.PutUint64(out[:], count)
				binary.LittleEndian.PutUint64(out[8:], sum)
				if err := r.Publish(1, 1, out[:], -1); err != nil {
					die(role, err)
				}
				return
			}
			sum += sum64(f.Payload)
			count++
			if role == "echo" {
				if err := r.Publish(1, 1, f.Payload[:8], -1); err != nil {
					die(role, err)
				}
			}
		}
		if err := sub.Release(); err != nil {
			die(role, err)
		}
	}
}

func startBenchChild(b *testing.B, role, name, reply string) *proc {
	cmd := child(role, name, "XB_CHANNEL_REPLY="+reply)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	p := &proc{cmd: cmd, lines: bufio.NewScanner(stdout)}
	require.True(b, p.lines.Scan(), "%s did not start", role)
	return p
}

func stopFrame(b *testing.B, c *Channel) {
	require.NoError(b, c.Publish(1, 2, nil, -1))
}

// BenchmarkLatencyCrossProcess: ping-pong with a child process, one frame
// in flight; one-way latency is the child's publish→receive histogram.
func BenchmarkLatencyCrossProcess(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c, name := newChannel(b, Options{Capacity: ringFor(sz.n), Policy: Block})
			r, reply := newChannel(b, Options{Capacity: 1 << 16, Policy: Block})
			back, err := r.Subscribe(Wait{Mode: BusySpin})
			require.NoError(b, err)
			p := startBenchChild(b, "echo", name, reply)
			payload := make([]byte, sz.n)
			fillPayload(payload, 1)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := uint64(1); i <= uint64(b.N); i++ {
				benchPublish(b, c, payload, i)
				f, err := back.Receive(10 * time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if binary.LittleEndian.Uint64(f.Payload) != i {
					b.Fatalf("echo of %d is %d", i, binary.LittleEndian.Uint64(f.Payload))
				}
				_ = back.Release()
			}
			b.StopTimer()
			reportLatency(b, c)
			stopFrame(b, c)
			_, err = back.Receive(10 * time.Second)
			require.NoError(b, err)
			require.NoError(b, p.cmd.Wait())
		})
	}
}

// BenchmarkWakeCrossProcess: like BenchmarkLatencyCrossProcess/100B, but
// both sides park on the futex at once instead of spinning: the cost of a
// cross-process wake-up.
func BenchmarkWakeCrossProcess(b *testing.B) {
	c, name := newChannel(b, Options{Capacity: 1 << 20, Policy: Block})
	r, reply := newChannel(b, Options{Capacity: 1 << 16, Policy: Block})
	back, err := r.Subscribe(Wait{Mode: Park})
	require.NoError(b, err)
	p := startBenchChild(b, "echo-park", name, reply)
	payload := make([]byte, 100)
	b.ResetTimer()
	for i := uint64(1); i <= uint64(b.N); i++ {
		benchPublish(b, c, payload, i)
		if _, err := back.Receive(10 * time.Second); err != nil {
			b.Fatal(err)
		}
		_ = back.Release()
	}
	b.StopTimer()
	reportLatency(b, c)
	stopFrame(b, c)
	_, err = back.Receive(10 * time.Second)
	require.NoError(b, err)
	require.NoError(b, p.cmd.Wait())
}

// BenchmarkThroughputCrossProcess: stream to a child process that checksums
// every frame.
func BenchmarkThroughputCrossProcess(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c, name := newChannel(b, Options{Capacity: ringFor(sz.n), Policy: Block})
			r, reply := newChannel(b, Options{Capacity: 1 << 16, Policy: Block})
			back, err := r.Subscribe(Wait{Mode: SpinThenPark})
			require.NoError(b, err)
			p := startBenchChild(b, "sink", name, reply)
			payload := make([]byte, sz.n)
			fillPayload(payload, 1)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchPublish(b, c, payload, uint64(i))
			}
			stopFrame(b, c)
			f, err := back.Receive(60 * time.Second)
			require.NoError(b, err)
			b.StopTimer()
			require.Equal(b, uint64(b.N), binary.LittleEndian.Uint64(f.Payload), "frames the child received")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			reportLatency(b, c)
			require.NoError(b, p.cmd.Wait())
		})
	}
}

// BenchmarkPublishBatchCrossProcess: 100-byte frames published 64 per call
// to a child process that checksums each.
func BenchmarkPublishBatchCrossProcess(b *testing.B) {
	c, name := newChannel(b, Options{Capacity: 1 << 20, Policy: Block})
	r, reply := newChannel(b, Options{Capacity: 1 << 16, Policy: Block})
	back, err := r.Subscribe(Wait{Mode: SpinThenPark})
	require.NoError(b, err)
	p := startBenchChild(b, "sink", name, reply)
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = make([]byte, 100)
		fillPayload(batch[i], uint64(i))
	}
	b.SetBytes(100)
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		k := min(len(batch), b.N-sent)
		n, err := c.PublishBatch(1, 1, batch[:k], -1)
		if err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	stopFrame(b, c)
	f, err := back.Receive(60 * time.Second)
	require.NoError(b, err)
	b.StopTimer()
	require.Equal(b, uint64(b.N), binary.LittleEndian.Uint64(f.Payload))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	require.NoError(b, p.cmd.Wait())
}
