//go:build linux

package channel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Each frame goes to exactly one member of a group; a plain subscriber
// still sees every frame.
func TestGroupDeliversEachFrameOnce(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14, Policy: Block})
	all, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	const members, frames = 3, 3000
	var mu sync.Mutex
	got := map[uint64]int{}
	perMember := make([]int, members)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for m := 0; m < members; m++ {
		ch, err := Open(name, SubscribeOnly)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ch.Close() })
		sub, err := ch.SubscribeGroup("workers", Wait{})
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]Frame, 8)
			for {
				n, err := sub.ReceiveBatch(batch, 20*time.Millisecond)
				if errors.Is(err, ErrTimeout) {
					select {
					case <-stop:
						return
					default:
						continue
					}
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, f := range batch[:n] {
					got[leU64(f.Payload)]++
				}
				perMember[m] += n
				mu.Unlock()
				if !assert.NoError(t, sub.Release()) {
					return
				}
			}
		}()
	}
	go func() {
		for i := 0; i < frames; i++ {
			var b [64]byte
			binary.LittleEndian.PutUint64(b[:], uint64(i))
			if !assert.NoError(t, c.Publish(1, 1, b[:], 5*time.Second)) {
				return
			}
		}
	}()
	for i := 0; i < frames; i++ {
		f, err := all.Receive(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(i), leU64(f.Payload))
		require.NoError(t, all.Release())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == frames || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	require.Len(t, got, frames)
	for v, n := range got {
		require.Equal(t, 1, n, "frame %d delivered %d times", v, n)
	}
	t.Logf("frames per member: %v", perMember)
	st, err := c.Stats()
	require.NoError(t, err)
	cursors := 0
	for _, s := range st.Subscribers {
		if s.GroupCursor {
			cursors++
		}
	}
	assert.Equal(t, 1, cursors)
}

// A member's frames stay intact until it releases them, however many
// receives it makes in between, also when other members take frames between
// its receives: a full ring refuses publishers instead of reclaiming them.
func TestGroupMemberHoldsUntilRelease(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 12, Policy: Fail})
	member := func() *Subscriber {
		ch, err := Open(name, SubscribeOnly)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ch.Close() })
		sub, err := ch.SubscribeGroup("workers", Wait{})
		require.NoError(t, err)
		return sub
	}
	a, b := member(), member()
	for i := 0; i < 6; i++ {
		binaryPublish(t, c, uint64(i))
	}
	var held []Frame
	for _, sub := range []*Subscriber{a, a, b, a, b} { // a: 0, 1, 3; b: 2, 4
		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		if sub == a {
			held = append(held, f)
		}
	}
	require.NoError(t, b.Release())
	var b64 [64]byte
	filled := 0
	for ; ; filled++ {
		err := c.Publish(1, 1, b64[:], 0)
		if errors.Is(err, ErrFull) {
			break
		}
		require.NoError(t, err)
		require.Less(t, filled, 1<<12, "a full ring refuses publishers")
	}
	for i, want := range []uint64{0, 1, 3} {
		assert.Equal(t, want, leU64(held[i].Payload), "a's frame %d is intact", i)
	}
	require.NoError(t, a.Release())
	f, err := b.Receive(time.Second) // frame 5, then the zero-filled ones
	require.NoError(t, err)
	assert.Equal(t, uint64(5), leU64(f.Payload))
	require.NoError(t, b.Release())
	require.NoError(t, c.Publish(1, 1, b64[:], 0), "released frames are reclaimed")
}

// A member that closes (or whose channel closes) hands the frames it did
// not release back to the group; released frames stay acknowledged.
func TestGroupCloseHandsBackUnreleased(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14, Policy: Block})
	join := func() (*Channel, *Subscriber) {
		ch, err := Open(name, SubscribeOnly)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ch.Close() })
		sub, err := ch.SubscribeGroup("workers", Wait{})
		require.NoError(t, err)
		return ch, sub
	}
	_, stay := join()
	receive := func(sub *Subscriber) uint64 {
		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		return leU64(f.Payload)
	}
	for _, how := range []string{"release then close", "close", "channel close"} {
		ch, leave := join()
		base := uint64(len(how)) * 100
		for i := uint64(0); i < 3; i++ {
			binaryPublish(t, c, base+i)
		}
		got := []uint64{receive(leave), receive(leave)}
		require.Equal(t, []uint64{base, base + 1}, got, how)
		switch how {
		case "release then close":
			require.NoError(t, leave.Release())
			require.NoError(t, leave.Close())
		case "close":
			require.NoError(t, leave.Close())
		default:
			require.NoError(t, ch.Close())
		}
		var want []uint64
		if how != "release then close" {
			want = got // handed back
		}
		want = append(want, base+2)
		var again []uint64
		for len(again) < len(want) {
			again = append(again, receive(stay))
			require.NoError(t, stay.Release())
		}
		assert.ElementsMatch(t, want, again, how)
		_, err := stay.Receive(0)
		require.ErrorIs(t, err, ErrTimeout, "%s: nothing more", how)
	}
}

func TestGroupEndsWithLastMember(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 4096, Policy: Fail})
	a, err := c.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	b, err := c.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	st, err := c.Stats()
	require.NoError(t, err)
	require.Len(t, st.Subscribers, 3, "a cursor and two members")
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	st, err = c.Stats()
	require.NoError(t, err)
	assert.Empty(t, st.Subscribers)
	// With no group left, nothing holds the ring: a full lap fits.
	for i := 0; i < 100; i++ {
		require.NoError(t, c.Publish(1, 1, make([]byte, 500), 0))
	}
	o, err := Open(c.name, PublishSubscribe)
	require.NoError(t, err)
	defer o.Close()
	_, err = o.SubscribeGroup("x", Wait{})
	require.NoError(t, err)
	ow, err := Create(chanName(t), Options{Policy: Overwrite})
	require.NoError(t, err)
	defer ow.Close()
	_, err = ow.SubscribeGroup("g", Wait{})
	require.ErrorIs(t, err, ErrInvalid)
}

// childMember takes a batch as a group member, reports it, and holds it
// unreleased until it is killed.
func childMember(name string) {
	c, err := Open(name, SubscribeOnly)
	if err != nil {
		die("member", err)
	}
	sub, err := c.SubscribeGroup("workers", Wait{})
	if err != nil {
		die("member", err)
	}
	fmt.Println("ready")
	batch := make([]Frame, 3)
	n, err := sub.ReceiveBatch(batch, 10*time.Second)
	if err != nil {
		die("member", err)
	}
	for _, f := range batch[:n] {
		fmt.Println(strconv.FormatUint(binary.LittleEndian.Uint64(f.Payload), 16))
	}
	// More, one at a time, still without releasing: all of them stay held.
	for i := 0; i < 3; i++ {
		f, err := sub.Receive(10 * time.Second)
		if err != nil {
			die("member", err)
		}
		fmt.Println(strconv.FormatUint(binary.LittleEndian.Uint64(f.Payload), 16))
	}
	fmt.Println("held")
	_ = os.Stdout.Sync()
	time.Sleep(time.Hour)
}

// A member killed while holding frames: another member receives them.
func TestGroupMemberKilledFramesRedelivered(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14, Policy: Block})
	victim := startProc(t, "member", name)
	for i := 0; i < 10; i++ {
		binaryPublish(t, c, uint64(i))
	}
	var held []uint64
	for victim.lines.Scan() && victim.lines.Text() != "held" {
		v, err := strconv.ParseUint(victim.lines.Text(), 16, 64)
		require.NoError(t, err)
		held = append(held, v)
	}
	// The batch takes what has been published when it wakes: 1 to 3 frames,
	// then 3 more one by one.
	require.GreaterOrEqual(t, len(held), 4, "the victim took frames in a batch and one by one")
	require.LessOrEqual(t, len(held), 6)
	other, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer other.Close()
	survivor, err := other.SubscribeGroup("workers", Wait{})
	require.NoError(t, err)
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.cmd.Wait()
	for i := 10; i < 20; i++ {
		binaryPublish(t, c, uint64(i))
	}
	got := map[uint64]bool{}
	for len(got) < 20 {
		f, err := survivor.Receive(5 * time.Second)
		require.NoError(t, err, "have %d of 20", len(got))
		v := leU64(f.Payload)
		require.False(t, got[v], "duplicate %d", v)
		got[v] = true
		require.NoError(t, survivor.Release())
	}
	for _, v := range held {
		assert.True(t, got[v], "frame %d held by the dead member was redelivered", v)
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Positive(t, st.DeadSubscribers)
}

// childGroupWorker receives as a group member until stdin closes and
// nothing came for a while, checking payloads, printing each value after
// its Release.
func childGroupWorker(name string) {
	c, err := Open(name, SubscribeOnly)
	if err != nil {
		die("worker", err)
	}
	sub, err := c.SubscribeGroup("workers", Wait{})
	if err != nil {
		die("worker", err)
	}
	stop := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stop) }()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	_ = out.Flush()
	batch := make([]Frame, 8)
	for {
		n, err := sub.ReceiveBatch(batch, 20*time.Millisecond)
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrPublisherGone) { // nothing now
			select {
			case <-stop:
				_ = out.Flush()
				return
			default:
				continue
			}
		}
		if err != nil {
			die("worker", err)
		}
		for _, f := range batch[:n] {
			if !checkPayload(f.Payload) {
				die("worker", errors.New("torn payload"))
			}
			fmt.Fprintln(out, strconv.FormatUint(binary.LittleEndian.Uint64(f.Payload), 16))
		}
		_ = out.Flush() // reported before Release: a killed worker's frames may come again
		if os.Getenv("XB_CHANNEL_HOLD") != "" {
			time.Sleep(200 * time.Microsecond) // a slow worker: killed while holding frames
		}
		if err := sub.Release(); err != nil {
			die("worker", err)
		}
	}
}

// Two publisher processes, three worker processes in one group, one worker
// SIGKILLed mid-stream: every committed frame reaches a worker, and the
// survivors never see a frame twice.
func TestGroupProcesses(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 64 << 10, Policy: Block})
	var ws []*proc
	var wres []<-chan collected
	for i := 0; i < 3; i++ {
		hold := ""
		if i == 0 {
			hold = "1"
		}
		p := startProc(t, "worker", name, "XB_CHANNEL_HOLD="+hold)
		ws = append(ws, p)
		wres = append(wres, p.collectAsync(t))
	}
	each := 10000
	if raceEnabled || testing.Short() {
		each = 3000
	}
	var pp []*proc
	for i := 0; i < 2; i++ {
		pp = append(pp, startProc(t, "publisher", name, "XB_CHANNEL_COUNT="+strconv.Itoa(each)))
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, ws[0].cmd.Process.Signal(syscall.SIGKILL))
	published := map[uint64]bool{}
	for _, p := range pp {
		vals, _ := p.collect(t)
		require.NoError(t, p.cmd.Wait())
		for _, v := range vals {
			published[v] = true
		}
	}
	require.Len(t, published, 2*each)
	survivors := map[uint64]int{}
	deadGot := map[uint64]bool{}
	for i, w := range ws {
		_ = w.stdin.Close()
		r := <-wres[i]
		err := w.cmd.Wait()
		if i == 0 {
			require.Equal(t, -1, w.cmd.ProcessState.ExitCode(), "worker 0 dies by the signal")
		} else {
			require.NoError(t, err)
		}
		t.Logf("worker %d: %d frames", i, len(r.vals))
		for _, v := range r.vals {
			if i == 0 {
				deadGot[v] = true
			} else {
				survivors[v]++
			}
		}
	}
	redelivered := 0
	for v := range published {
		require.True(t, survivors[v] > 0 || deadGot[v], "frame %x reached no worker", v)
		require.LessOrEqual(t, survivors[v], 1, "survivors got %x twice", v)
		if survivors[v] > 0 && deadGot[v] {
			redelivered++
		}
	}
	require.Len(t, survivors, len(published)-len(deadGot)+redelivered)
	st, err := c.Stats()
	require.NoError(t, err)
	t.Logf("%d published; the dead worker got %d, %d of them redelivered; %d dead entries reclaimed",
		len(published), len(deadGot), redelivered, st.DeadSubscribers)
}

// Joining a group when the table is full of dead members' entries reclaims
// them (under the lock the join already holds).
func TestGroupJoinReapsDeadMembers(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 4096, Policy: Block, MaxSubscribers: 3})
	other, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	m1, err := other.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	_, err = other.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	binaryPublish(t, c, 1)
	_, err = m1.Receive(time.Second) // held when its process dies
	require.NoError(t, err)
	require.NoError(t, unix.Munmap(other.mem))
	require.NoError(t, unix.Close(other.fd)) // dies: the kernel drops its lock
	m, err := c.SubscribeGroup("g2", Wait{})
	require.NoError(t, err, "the dead group ends and frees its entries")
	require.NoError(t, m.Close())
}

// A member that closes holding frames right before End: the other member
// receives them before ErrEnded (its takeover check was rate-limited, and
// the end came first). One that still holds a frame of its own gets ErrHeld
// (not ErrEnded, which would lose them); after Release it receives them.
func TestGroupHandedBackFramesComeBeforeTheEnd(t *testing.T) {
	for i := 0; i < 50; i++ {
		held := i%2 == 1
		c, _ := newChannel(t, Options{Capacity: 1 << 14, Policy: Block})
		a, err := c.SubscribeGroup("g", Wait{Mode: BusySpin})
		require.NoError(t, err)
		b, err := c.SubscribeGroup("g", Wait{Mode: BusySpin})
		require.NoError(t, err)
		for v := uint64(0); v < 5; v++ {
			binaryPublish(t, c, v)
		}
		_, err = b.Receive(time.Second) // b has just looked for handed-back ranges
		require.NoError(t, err)
		if !held {
			require.NoError(t, b.Release())
		}
		batch := make([]Frame, 4)
		n, err := a.ReceiveBatch(batch, time.Second)
		require.NoError(t, err)
		require.NoError(t, a.Close()) // not released: handed back
		require.NoError(t, c.End())
		if held {
			_, err = b.Receive(time.Second)
			require.ErrorIs(t, err, ErrHeld)
			require.NotErrorIs(t, err, ErrEnded)
			require.NoError(t, b.Release())
		}
		got := 0
		for {
			_, err := b.Receive(time.Second)
			if errors.Is(err, ErrEnded) {
				break
			}
			require.NoError(t, err)
			got++
			require.NoError(t, b.Release())
		}
		require.Equal(t, n, got, "iteration %d (held %v): every handed-back frame, then the end", i, held)
		require.NoError(t, c.Close())
	}
}
