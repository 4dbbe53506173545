//go:build linux

package channel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
)

func crossbufCodec() (codec.Codec, error) { return codec.Lookup(codec.FlatBuffers) }

// A test payload: 8-byte value (publisher id << 32 | sequence), filler,
// CRC-32 of everything before it.
func makePayload(buf []byte, v uint64, rng *rand.Rand) []byte {
	n := 12 + rng.IntN(len(buf)-12)
	p := buf[:n]
	binary.LittleEndian.PutUint64(p, v)
	for i := 8; i < n-4; i++ {
		p[i] = byte(v) + byte(i)
	}
	binary.LittleEndian.PutUint32(p[n-4:], crc32.ChecksumIEEE(p[:n-4]))
	return p
}

func atomicLoad32(p *uint32) uint32 { return atomic.LoadUint32(p) }

func checkPayload(p []byte) bool {
	return len(p) >= 12 && crc32.ChecksumIEEE(p[:len(p)-4]) == binary.LittleEndian.Uint32(p[len(p)-4:])
}

func TestMain(m *testing.M) {
	name := os.Getenv("XB_CHANNEL_NAME")
	switch os.Getenv("XB_CHANNEL_ROLE") {
	case "publisher":
		n, _ := strconv.Atoi(os.Getenv("XB_CHANNEL_COUNT"))
		childPublisher(name, n)
		return
	case "subscriber":
		childSubscriber(name)
		return
	case "waiter":
		childWaiter(name)
		return
	case "member":
		childMember(name)
		return
	case "worker":
		childGroupWorker(name)
		return
	case "echo", "echo-park", "sink":
		childBench(os.Getenv("XB_CHANNEL_ROLE"), name, os.Getenv("XB_CHANNEL_REPLY"))
		return
	}
	os.Exit(m.Run())
}

func child(role, name string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"XB_CHANNEL_ROLE=" + role, "XB_CHANNEL_NAME=" + name}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func die(role string, err error) {
	fmt.Fprintln(os.Stderr, role+":", err)
	os.Exit(2)
}

// childPublisher publishes n checksummed frames (n < 0: until killed) and
// reports each value on stdout after its Commit returned.
func childPublisher(name string, n int) {
	c, err := Open(name, PublishSubscribe)
	if err != nil {
		die("publisher", err)
	}
	out := bufio.NewWriter(os.Stdout)
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	id := uint64(os.Getpid())
	_, _ = out.WriteString("ready\n")
	_ = out.Flush()
	buf := make([]byte, 1024)
	for i := 0; n < 0 || i < n; i++ {
		v := id<<32 | uint64(i)
		s, err := c.Reserve(1, 1, len(buf), -1)
		for errors.Is(err, ErrFull) && c.Policy() == Fail {
			time.Sleep(20 * time.Microsecond)
			s, err = c.Reserve(1, 1, len(buf), -1)
		}
		if err != nil {
			die("publisher", err)
		}
		p := makePayload(s.Buf[:len(buf)], v, rng)
		if n < 0 {
			// Killed at random: spend as long inside the claim as outside
			// it (a large message takes time to encode).
			for end := time.Now().Add(20 * time.Microsecond); time.Now().Before(end); {
			}
		}
		if _, err := s.Commit(p); err != nil {
			die("publisher", err)
		}
		_, _ = out.WriteString(strconv.FormatUint(v, 16) + "\n")
		if n < 0 {
			_ = out.Flush() // a killed publisher must have reported what it committed
		}
	}
	_ = out.Flush()
}

// childSubscriber receives until its stdin closes and nothing came for a
// while, checking every payload, and prints the values it received and how
// many it lost (Overwrite).
func childSubscriber(name string) {
	access := SubscribeOnly
	if os.Getenv("XB_CHANNEL_ACCESS") == "rw" {
		access = PublishSubscribe // can abort dead publishers' slots
	}
	c, err := Open(name, access)
	if err != nil {
		die("subscriber", err)
	}
	sub, err := c.Subscribe(Wait{Mode: SpinThenPark})
	if err != nil {
		die("subscriber", err)
	}
	stop := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stop) }()
	out := bufio.NewWriter(os.Stdout)
	_, _ = out.WriteString("ready\n")
	_ = out.Flush()
	batch := make([]Frame, 16)
	vals := make([]uint64, 0, 16)
	for {
		n, err := sub.ReceiveBatch(batch, 20*time.Millisecond)
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrPublisherGone) { // nothing now
			select {
			case <-stop:
				d, _, _ := sub.Dropped()
				fmt.Fprintf(out, "dropped %d\n", d)
				_ = out.Flush()
				return
			default:
				continue
			}
		}
		if errors.Is(err, ErrOverrun) {
			continue // discard the batch; intact frames come again
		}
		if err != nil {
			die("subscriber", err)
		}
		vals = vals[:0]
		torn := false
		for _, f := range batch[:n] {
			if !checkPayload(f.Payload) {
				torn = true
			}
			vals = append(vals, binary.LittleEndian.Uint64(f.Payload))
		}
		if err := sub.Release(); errors.Is(err, ErrOverrun) {
			continue // what we read may be torn: discard it; it is counted as dropped
		} else if err != nil {
			die("subscriber", err)
		}
		if torn {
			die("subscriber", errors.New("torn payload passed Release"))
		}
		for _, v := range vals {
			_, _ = out.WriteString(strconv.FormatUint(v, 16) + "\n")
		}
	}
}

type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

func startProc(t *testing.T, role, name string, env ...string) *proc {
	t.Helper()
	cmd := child(role, name, env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	require.True(t, p.lines.Scan(), "%s did not start", role)
	require.Equal(t, "ready", p.lines.Text())
	return p
}

type collected struct {
	vals    []uint64
	dropped uint64
}

// collectAsync collects in the background, so the child never blocks on a
// full stdout pipe.
func (p *proc) collectAsync(t *testing.T) <-chan collected {
	ch := make(chan collected, 1)
	go func() {
		var r collected
		for p.lines.Scan() {
			line := p.lines.Text()
			if d, ok := strings.CutPrefix(line, "dropped "); ok {
				r.dropped, _ = strconv.ParseUint(d, 10, 64)
				continue
			}
			v, err := strconv.ParseUint(line, 16, 64)
			if err != nil {
				t.Errorf("line %q: %v", line, err)
				continue
			}
			r.vals = append(r.vals, v)
		}
		ch <- r
	}()
	return ch
}

// collect reads hex values (and a final "dropped N") until EOF.
func (p *proc) collect(t *testing.T) (vals []uint64, dropped uint64) {
	for p.lines.Scan() {
		line := p.lines.Text()
		if d, ok := strings.CutPrefix(line, "dropped "); ok {
			n, err := strconv.ParseUint(d, 10, 64)
			require.NoError(t, err)
			dropped = n
			continue
		}
		v, err := strconv.ParseUint(line, 16, 64)
		require.NoError(t, err, "line %q", line)
		vals = append(vals, v)
	}
	return vals, dropped
}

// Two publisher processes, three subscriber processes, each policy: no frame
// lost (but those reported dropped under Overwrite), duplicated, corrupt or
// torn, and each publisher's frames in order.
func TestStressProcesses(t *testing.T) {
	const pubs, subs = 2, 3
	each := 20000
	if raceEnabled || testing.Short() {
		each = 5000
	}
	for _, policy := range []Policy{Block, Fail, Overwrite} {
		t.Run(policy.String(), func(t *testing.T) {
			c, name := newChannel(t, Options{Capacity: 64 << 10, Policy: policy})
			var sp []*proc
			var sres []<-chan collected
			for i := 0; i < subs; i++ {
				p := startProc(t, "subscriber", name)
				sp = append(sp, p)
				sres = append(sres, p.collectAsync(t))
			}
			var pp []*proc
			for i := 0; i < pubs; i++ {
				pp = append(pp, startProc(t, "publisher", name, "XB_CHANNEL_COUNT="+strconv.Itoa(each)))
			}
			published := map[uint64]bool{}
			for _, p := range pp {
				vals, _ := p.collect(t)
				require.NoError(t, p.cmd.Wait())
				for _, v := range vals {
					published[v] = true
				}
			}
			if policy != Fail {
				require.Len(t, published, pubs*each)
			}
			for i, p := range sp {
				require.NoError(t, p.stdin.Close())
				r := <-sres[i]
				vals, dropped := r.vals, r.dropped
				require.NoError(t, p.cmd.Wait(), "subscriber %d", i)
				seen := map[uint64]bool{}
				last := map[uint64]uint64{}
				for _, v := range vals {
					require.False(t, seen[v], "subscriber %d: duplicate %x", i, v)
					seen[v] = true
					require.True(t, published[v], "subscriber %d: %x was never committed", i, v)
					if l, ok := last[v>>32]; ok {
						require.Greater(t, v, l, "subscriber %d: out of order", i)
					}
					last[v>>32] = v
				}
				if policy == Overwrite {
					assert.Equal(t, len(published), len(seen)+int(dropped), "subscriber %d: received + dropped", i)
					t.Logf("subscriber %d: %d received, %d dropped", i, len(seen), dropped)
				} else {
					assert.Len(t, seen, len(published), "subscriber %d lost frames", i)
				}
			}
			st, err := c.Stats()
			require.NoError(t, err)
			t.Logf("%v: %d published, %d full waits, %d full fails, %d parked waits, p50 %d ns, p99 %d ns",
				policy, st.FramesPublished, st.FullWaits, st.FullFails, st.ParkedWaits,
				st.Latency.ValueAtQuantile(50), st.Latency.ValueAtQuantile(99))
		})
	}
}

// Publishers SIGKILLed at random points, over and over, while subscribers
// in two other processes read: nobody hangs, every frame whose Commit
// returned is received intact by both, exactly once.
func TestPublisherKilled(t *testing.T) {
	kills := 200
	if raceEnabled || testing.Short() {
		kills = 50
	}
	c, name := newChannel(t, Options{Capacity: 64 << 10, Policy: Block})
	var sp []*proc
	var sres []<-chan collected
	for _, access := range []string{"ro", "rw"} {
		p := startProc(t, "subscriber", name, "XB_CHANNEL_ACCESS="+access)
		sp = append(sp, p)
		sres = append(sres, p.collectAsync(t))
	}
	committed := map[uint64]bool{}
	rng := rand.New(rand.NewPCG(5, 6))
	for k := 0; k < kills; k++ {
		p := startProc(t, "publisher", name, "XB_CHANNEL_COUNT=-1")
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		vals, _ := p.collect(t)
		_ = p.cmd.Wait()
		require.Equal(t, -1, p.cmd.ProcessState.ExitCode(), "publisher %d must die by the signal", k)
		for _, v := range vals {
			committed[v] = true
		}
	}
	// One more publisher that finishes proves the ring still flows.
	last := startProc(t, "publisher", name, "XB_CHANNEL_COUNT=100")
	vals, _ := last.collect(t)
	require.NoError(t, last.cmd.Wait())
	for _, v := range vals {
		committed[v] = true
	}
	for i, p := range sp {
		require.NoError(t, p.stdin.Close())
		got := (<-sres[i]).vals
		require.NoError(t, p.cmd.Wait(), "subscriber %d saw a torn or corrupt frame", i)
		seen := map[uint64]bool{}
		for _, v := range got {
			require.False(t, seen[v], "duplicate %x", v)
			seen[v] = true
		}
		for v := range committed {
			require.True(t, seen[v], "subscriber %d: committed frame %x lost", i, v)
		}
	}
	st, err := c.Stats()
	require.NoError(t, err)
	t.Logf("%d kills: %d frames committed and received by both subscribers; %d dead claims aborted",
		kills, len(committed), st.DeadPublishers)
}

// A subscriber SIGKILLed while it holds the ring back: a Block publisher
// continues once the kernel drops the dead process's lock; the other
// subscriber loses nothing.
func TestSubscriberKilled(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 16 << 10, Policy: Block})
	victim := startProc(t, "subscriber", name)
	sub, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGSTOP)) // stops reading: the ring fills
	const frames = 2000
	errc := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(7, 8))
		var b [200]byte
		for i := 0; i < frames; i++ {
			if err := c.Publish(1, 1, makePayload(b[:], uint64(i), rng), 10*time.Second); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	time.Sleep(50 * time.Millisecond)
	st, err := c.Stats()
	require.NoError(t, err)
	require.Len(t, st.Subscribers, 2, "the victim is alive and subscribed")
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.cmd.Wait()
	require.Equal(t, -1, victim.cmd.ProcessState.ExitCode(), "the victim dies by the signal")
	for i := 0; i < frames; i++ {
		f, err := sub.Receive(10 * time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(i), binary.LittleEndian.Uint64(f.Payload))
		require.NoError(t, sub.Release())
	}
	require.NoError(t, <-errc)
	st, err = c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.DeadSubscribers)
	assert.Positive(t, st.FullWaits)
}

// childWaiter parks on an empty channel and reports the first frame.
func childWaiter(name string) {
	c, err := Open(name, SubscribeOnly)
	if err != nil {
		die("waiter", err)
	}
	sub, err := c.Subscribe(Wait{Mode: Park})
	if err != nil {
		die("waiter", err)
	}
	fmt.Println("ready")
	f, err := sub.Receive(10 * time.Second)
	if err != nil {
		die("waiter", err)
	}
	st, _ := c.Stats()
	fmt.Printf("%s %d\n", f.Payload, st.Subscribers[0].ParkedWaits)
}

// A subscriber parked on the futex in another process wakes on publish.
func TestParkedSubscriberWakesAcrossProcesses(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	w := startProc(t, "waiter", name)
	// Wait until it is parked: data_waiters counts it.
	deadline := time.Now().Add(5 * time.Second)
	for atomicLoad32(c.hdr32(hDataWaiters)) == 0 {
		require.True(t, time.Now().Before(deadline), "the waiter never parked")
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	publish(t, c, []byte("wake"))
	require.True(t, w.lines.Scan())
	elapsed := time.Since(start)
	require.NoError(t, w.cmd.Wait())
	fields := strings.Fields(w.lines.Text())
	require.Len(t, fields, 2)
	assert.Equal(t, "wake", fields[0])
	assert.NotEqual(t, "0", fields[1], "the subscriber had parked")
	assert.Less(t, elapsed, 5*time.Second)
}
