//go:build linux

// Command gopeer is the Go side of the channel benchmark (bench/channel):
// a producer or a consumer of one pipeline, crossbuf's channel or a Unix
// socket, or a producer alone (its own encode-and-publish rate). The wire
// protocol shared with the Python and C peers is in bench/channel/proto.py.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/adler32"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/codec/msgpack"
	"github.com/crossbuf/crossbuf/go/codec/protobuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// headSize: u64 sequence, u64 CLOCK_MONOTONIC taken before the record is
// encoded, u64 checksum of the body (see check).
const headSize = 24

// bigBody: bodies from this size on are checksummed with sum64 (a word
// sum), smaller ones with Adler-32; both read every byte.
const bigBody = 4096

type config struct {
	role, transport, addr, rec, ack, wait, stamp, body string
	n, m, reps, pool, cpu                              int
	gap                                                time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.role, "role", "", "pub, sub, or alone (a producer with no consumer: its own rate)")
	flag.StringVar(&c.transport, "transport", "xb", "xb (a crossbuf channel) or unix (a Unix stream socket)")
	flag.StringVar(&c.addr, "addr", "", "channel name or socket path")
	flag.StringVar(&c.rec, "record", "LogEntry", "LogEntry, Sample or Tensor1MB")
	flag.StringVar(&c.ack, "ack", "", "the ack file (/dev/shm path)")
	flag.StringVar(&c.wait, "wait", "spin", "consumer wait: spin or park")
	flag.StringVar(&c.stamp, "stamp", "sent", "producer: stamp the message once encoded (sent) or before (made)")
	flag.StringVar(&c.body, "body", "msgpack", "the record's encoding: msgpack, protobuf, or flatbuffers "+
		"(xb only: the frame is the record alone, a crossbuf_fb.LogEntry its publish time stamps)")
	flag.IntVar(&c.n, "n", 1000, "messages per latency phase")
	flag.IntVar(&c.m, "m", 10000, "messages per throughput phase")
	flag.IntVar(&c.reps, "reps", 3, "repetitions (a latency then a throughput phase each)")
	flag.IntVar(&c.pool, "pool", 64, "records in the pool")
	flag.IntVar(&c.cpu, "cpu", -1, "CPU to pin the timed thread to")
	flag.DurationVar(&c.gap, "gap", 10*time.Microsecond, "latency phase: pause after each ack")
	flag.Parse()
	runtime.LockOSThread()
	if c.cpu >= 0 {
		var set unix.CPUSet
		set.Set(c.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			die(fmt.Errorf("pin to CPU %d: %w", c.cpu, err))
		}
	}
	if c.role == "alone" { // no consumer, no ack file
		if err := produceAlone(c); err != nil {
			die(err)
		}
		return
	}
	ack, err := openAck(c.ack)
	if err != nil {
		die(err)
	}
	switch c.role {
	case "pub":
		err = produce(c, ack)
	case "sub":
		err = consume(c, ack)
	default:
		err = fmt.Errorf("-role must be pub, sub or alone")
	}
	if err != nil {
		die(err)
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "gopeer:", err)
	os.Exit(1)
}

// ack is the shared word pair: [0] messages consumed, [1] consumer ready.
type ack struct{ w *[2]uint64 }

func openAck(path string) (ack, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return ack{}, err
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, 64, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return ack{}, err
	}
	return ack{(*[2]uint64)(unsafe.Pointer(&b[0]))}, nil
}

func (a ack) waitFor(v uint64) {
	for atomic.LoadUint64(&a.w[0]) < v {
	}
}

func pool(name string, n int) ([]record.Record, error) {
	out := make([]record.Record, n)
	for i := range out {
		seed := uint64(i + 1)
		switch name {
		case "LogEntry":
			out[i] = record.NewLogEntry(seed)
		case "Sample":
			out[i] = record.NewSample(seed)
		case "Tensor1MB":
			out[i] = record.NewTensor(seed, 1<<20)
		default:
			return nil, fmt.Errorf("unknown record %q", name)
		}
	}
	return out, nil
}

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

func check(body []byte) uint64 {
	if len(body) >= bigBody {
		return sum64(body)
	}
	return uint64(adler32.Checksum(body))
}

func spinFor(d time.Duration) {
	end := region.Now() + uint64(d)
	for region.Now() < end {
	}
}

// sender sends one message: the header then the record encoded after it.
// made: its stamp is taken before the record is encoded; else once it is
// encoded, right before it is handed to the transport.
type sender interface {
	send(seq uint64, made bool, rec record.Record, sum uint64) error
	close() error
}

// bodyCodec is the codec of -body.
func bodyCodec(body string) (codec.Codec, error) {
	switch body {
	case "msgpack":
		return msgpack.New(), nil
	case "protobuf":
		return protobuf.New(), nil
	case "flatbuffers":
		return flatbuf.New(), nil
	}
	return nil, fmt.Errorf("-body %q: msgpack, protobuf or flatbuffers", body)
}

type xbSender struct {
	ch  *channel.Channel
	enc codec.Codec
	// bare: the frame is the record alone, typed (a FlatBuffers
	// crossbuf_fb.LogEntry a consumer reads in place by path), with no
	// head; the channel's publish time is its stamp.
	bare   bool
	typeID uint64
}

func newXBSender(ch *channel.Channel, enc codec.Codec) *xbSender {
	s := &xbSender{ch: ch, enc: enc}
	if enc.ID() == codec.FlatBuffers {
		s.bare, s.typeID = true, schema.FlatBuffersTypeID("crossbuf_fb.LogEntry")
	}
	return s
}

func (s *xbSender) send(seq uint64, made bool, rec record.Record, sum uint64) error {
	t0 := region.Now()
	max, err := s.enc.MaxSize(rec)
	if err != nil {
		return err
	}
	if s.bare {
		slot, err := s.ch.Reserve(codec.FlatBuffers, s.typeID, max, -1)
		if err != nil {
			return err
		}
		body, err := s.enc.Encode(slot.Buf, rec)
		if err != nil {
			slot.Abort()
			return err
		}
		_, err = slot.Commit(body)
		return err
	}
	slot, err := s.ch.Reserve(s.enc.ID(), 0, headSize+max, -1)
	if err != nil {
		return err
	}
	body, err := s.enc.Encode(slot.Buf[headSize:], rec)
	if err != nil {
		slot.Abort()
		return err
	}
	if !made {
		t0 = region.Now()
	}
	putHead(slot.Buf, seq, t0, sum)
	_, err = slot.Commit(slot.Buf[:headSize+len(body)])
	return err
}

func (s *xbSender) close() error { return s.ch.Close() }

func putHead(b []byte, seq, t0, sum uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	binary.LittleEndian.PutUint64(b[8:], t0)
	binary.LittleEndian.PutUint64(b[16:], sum)
}

// unixSender writes a u32 length prefix, the header and the body in one
// write, from a buffer reused across messages.
type unixSender struct {
	conn *net.UnixConn
	enc  codec.Codec
	buf  []byte
}

func (s *unixSender) send(seq uint64, made bool, rec record.Record, sum uint64) error {
	t0 := region.Now()
	max, err := s.enc.MaxSize(rec)
	if err != nil {
		return err
	}
	if need := 4 + headSize + max; len(s.buf) < need {
		s.buf = make([]byte, need)
	}
	body, err := s.enc.Encode(s.buf[4+headSize:], rec)
	if err != nil {
		return err
	}
	if !made {
		t0 = region.Now()
	}
	binary.LittleEndian.PutUint32(s.buf, uint32(headSize+len(body)))
	putHead(s.buf[4:], seq, t0, sum)
	_, err = s.conn.Write(s.buf[:4+headSize+len(body)])
	return err
}

func (s *unixSender) close() error { return s.conn.Close() }

func produce(c config, a ack) error {
	recs, err := pool(c.rec, c.pool)
	if err != nil {
		return err
	}
	enc, err := bodyCodec(c.body)
	if err != nil {
		return err
	}
	sums := make([]uint64, len(recs))
	for i, r := range recs {
		n, err := enc.MaxSize(r)
		if err != nil {
			return err
		}
		b, err := enc.Encode(make([]byte, n), r)
		if err != nil {
			return err
		}
		sums[i] = check(b)
	}
	for atomic.LoadUint64(&a.w[1]) == 0 {
		time.Sleep(time.Millisecond)
	}
	var s sender
	switch c.transport {
	case "xb":
		ch, err := channel.Open(c.addr, channel.PublishSubscribe)
		if err != nil {
			return err
		}
		s = newXBSender(ch, enc)
	case "unix":
		if enc.ID() == codec.FlatBuffers {
			return fmt.Errorf("-body flatbuffers goes over crossbuf channels only")
		}
		conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: c.addr, Net: "unix"})
		if err != nil {
			return err
		}
		s = &unixSender{conn: conn, enc: enc}
	default:
		return fmt.Errorf("unknown transport %q", c.transport)
	}
	var seq uint64
	made := c.stamp == "made"
	for rep := 0; rep < c.reps; rep++ {
		for i := 0; i < c.n; i++ {
			k := int(seq) % len(recs)
			if err := s.send(seq, made, recs[k], sums[k]); err != nil {
				return err
			}
			seq++
			a.waitFor(seq)
			// A varying pause, so the consumer is waiting (spinning or
			// parked) when the next message comes.
			spinFor(c.gap + c.gap*time.Duration(seq%5)/4)
		}
		for i := 0; i < c.m; i++ {
			k := int(seq) % len(recs)
			if err := s.send(seq, made, recs[k], sums[k]); err != nil {
				return err
			}
			seq++
		}
		a.waitFor(seq)
	}
	return s.close()
}

// produceAlone publishes -m records per repetition into a channel nobody
// subscribes to (so the ring never fills) and prints the ns per message:
// the producer's own encode-and-publish rate, what a consumer that keeps
// up must match.
func produceAlone(c config) error {
	recs, err := pool(c.rec, c.pool)
	if err != nil {
		return err
	}
	enc, err := bodyCodec(c.body)
	if err != nil {
		return err
	}
	ch, err := channel.Create(c.addr, channel.Options{Capacity: 8 << 20, Policy: channel.Block})
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close(); _ = channel.Unlink(c.addr) }()
	s := newXBSender(ch, enc)
	out := json.NewEncoder(os.Stdout)
	var seq uint64
	for rep := 0; rep < c.reps; rep++ {
		t0 := region.Now()
		for i := 0; i < c.m; i++ {
			if err := s.send(seq, false, recs[int(seq)%len(recs)], 0); err != nil {
				return err
			}
			seq++
		}
		res := phaseResult{Rep: rep, Tput: float64(region.Now()-t0) / float64(max(1, c.m))}
		if n, err := enc.MaxSize(recs[0]); err == nil {
			if b, err := enc.Encode(make([]byte, n), recs[0]); err == nil {
				res.Bytes = len(b)
			}
		}
		if err := out.Encode(res); err != nil {
			return err
		}
	}
	return nil
}

// receiver returns the next message (header and body); it stays valid
// until the next call.
type receiver interface {
	next() ([]byte, error)
}

type xbReceiver struct {
	sub  *channel.Subscriber
	held bool
}

func (r *xbReceiver) next() ([]byte, error) {
	if r.held {
		if err := r.sub.Release(); err != nil {
			return nil, err
		}
	}
	f, err := r.sub.Receive(-1)
	if err != nil {
		return nil, err
	}
	r.held = true
	return f.Payload, nil
}

type phaseResult struct {
	Rep   int     `json:"rep"`
	P50   int64   `json:"p50"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	Tput  float64 `json:"tput_ns"`
	Bytes int     `json:"bytes"`
	// ChanP50: crossbuf only, the channel's own histogram (commit→receive).
	ChanP50 int64 `json:"chan_p50,omitempty"`
}

func consume(c config, a ack) error {
	var r receiver
	var ch *channel.Channel
	switch c.transport {
	case "xb":
		var err error
		ch, err = channel.Create(c.addr, channel.Options{Capacity: max(4<<20, 8*(2<<20)), Policy: channel.Block})
		if err != nil {
			return err
		}
		defer func() { _ = ch.Close(); _ = channel.Unlink(c.addr) }()
		mode := channel.BusySpin
		if c.wait == "park" {
			mode = channel.Park
		}
		sub, err := ch.Subscribe(channel.Wait{Mode: mode})
		if err != nil {
			return err
		}
		r = &xbReceiver{sub: sub}
		atomic.StoreUint64(&a.w[1], 1)
	default:
		return fmt.Errorf("transport %q: the Go consumer reads crossbuf channels only", c.transport)
	}
	out := json.NewEncoder(os.Stdout)
	var count uint64
	h := hdrhistogram.New(1, 100_000_000_000, 3)
	for rep := 0; rep < c.reps; rep++ {
		h.Reset()
		res := phaseResult{Rep: rep}
		for i := 0; i < c.n; i++ {
			p, err := r.next()
			if err != nil {
				return err
			}
			if err := verify(p, count); err != nil {
				return err
			}
			_ = h.RecordValue(int64(region.Now() - binary.LittleEndian.Uint64(p[8:])))
			count++
			atomic.StoreUint64(&a.w[0], count)
			res.Bytes = len(p) - headSize
		}
		var first uint64
		for i := 0; i < c.m; i++ {
			p, err := r.next()
			if err != nil {
				return err
			}
			if i == 0 {
				first = binary.LittleEndian.Uint64(p[8:])
			}
			if err := verify(p, count); err != nil {
				return err
			}
			count++
			atomic.StoreUint64(&a.w[0], count)
		}
		res.Tput = float64(region.Now()-first) / float64(max(1, c.m))
		res.P50, res.P99, res.P999 = h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.ValueAtQuantile(99.9)
		if ch != nil {
			st, err := ch.Stats()
			if err != nil {
				return err
			}
			res.ChanP50 = st.Latency.ValueAtQuantile(50)
		}
		if err := out.Encode(res); err != nil {
			return err
		}
	}
	return nil
}

func verify(p []byte, seq uint64) error {
	if len(p) < headSize {
		return fmt.Errorf("message %d: %d bytes, shorter than the header", seq, len(p))
	}
	if got := binary.LittleEndian.Uint64(p); got != seq {
		return fmt.Errorf("message %d: sequence %d", seq, got)
	}
	if check(p[headSize:]) != binary.LittleEndian.Uint64(p[16:]) {
		return fmt.Errorf("message %d: checksum mismatch", seq)
	}
	return nil
}
