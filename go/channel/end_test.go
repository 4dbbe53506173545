//go:build linux

package channel

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// End: subscribers receive what was committed before, then ErrEnded, for
// good; publishing is ErrEnded in every open.
func TestEndDrainsThenEnds(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14, Policy: Block})
	reader, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer reader.Close()
	sub, err := reader.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		binaryPublish(t, c, uint64(i))
	}
	require.ErrorIs(t, reader.End(), ErrReadOnly)
	require.NoError(t, c.End())
	assert.True(t, reader.Ended())
	for i := 0; i < 3; i++ {
		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		assert.Equal(t, uint64(i), leU64(f.Payload))
	}
	for i := 0; i < 2; i++ {
		_, err = sub.Receive(-1) // for ever: the end comes instead of a hang
		require.ErrorIs(t, err, ErrEnded)
	}
	require.ErrorIs(t, c.Publish(1, 1, []byte("late"), 0), ErrEnded)
	other, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	defer other.Close()
	require.ErrorIs(t, other.Publish(1, 1, []byte("late"), 0), ErrEnded)
	n, err := sub.ReceiveBatch(make([]Frame, 4), -1)
	require.ErrorIs(t, err, ErrEnded)
	assert.Zero(t, n)
}

// A parked subscriber waiting for ever wakes with ErrEnded when another
// goroutine ends the stream.
func TestEndWakesAParkedReceive(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { _, err := sub.Receive(-1); done <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.End())
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrEnded)
	case <-time.After(5 * time.Second):
		t.Fatal("the receive did not wake")
	}
}

// Once every open that published has closed, a subscriber that received
// everything gets ErrPublisherGone instead of waiting for ever; a publisher
// that comes later is received by the next call.
func TestPublisherGoneAfterClose(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	sub, err := c.Subscribe(Wait{Mode: Park}) // c itself never publishes
	require.NoError(t, err)
	_, err = sub.Receive(30 * time.Millisecond)
	require.ErrorIs(t, err, ErrTimeout, "no publisher yet: wait")
	pub, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	binaryPublish(t, pub, 1)
	binaryPublish(t, pub, 2)
	require.NoError(t, pub.Close())
	for i := uint64(1); i <= 2; i++ {
		f, err := sub.Receive(time.Second)
		require.NoError(t, err)
		assert.Equal(t, i, leU64(f.Payload))
	}
	_, err = sub.Receive(10 * time.Second)
	require.ErrorIs(t, err, ErrPublisherGone)
	for i := 0; i < 20; i++ { // polls say so every time (not ErrTimeout between checks)
		_, err = sub.Receive(0)
		require.ErrorIs(t, err, ErrPublisherGone, "poll %d", i)
	}
	again, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	defer again.Close()
	binaryPublish(t, again, 3)
	f, err := sub.Receive(time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), leU64(f.Payload))
}

// A publisher process killed mid-stream: the subscriber receives every
// frame it committed, then ErrPublisherGone, never a hang.
func TestPublisherGoneAfterKill(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 16, Policy: Block})
	reader, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer reader.Close()
	sub, err := reader.Subscribe(Wait{Mode: SpinThenPark})
	require.NoError(t, err)
	pub := startProc(t, "publisher", name, "XB_CHANNEL_COUNT=-1")
	got := 0
	for got < 50 {
		f, err := sub.Receive(5 * time.Second)
		require.NoError(t, err)
		require.True(t, checkPayload(f.Payload))
		require.NoError(t, sub.Release())
		got++
	}
	require.NoError(t, pub.cmd.Process.Signal(syscall.SIGKILL))
	_ = pub.cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f, err := sub.Receive(time.Until(deadline))
		if errors.Is(err, ErrPublisherGone) {
			break
		}
		require.NoError(t, err, "after %d frames", got)
		require.True(t, checkPayload(f.Payload), "frame %d is intact", got)
		require.NoError(t, sub.Release())
		got++
	}
	st, err := c.Stats()
	require.NoError(t, err)
	t.Logf("%d frames, then ErrPublisherGone; %d dead publishers", got, st.DeadPublishers)
}

// A consumer-group member sees the end too, after the frames before it.
func TestEndReachesGroupMembers(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14, Policy: Fail})
	a, err := c.SubscribeGroup("workers", Wait{Mode: Park})
	require.NoError(t, err)
	b, err := c.SubscribeGroup("workers", Wait{Mode: Park})
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		binaryPublish(t, c, uint64(i))
	}
	require.NoError(t, c.End())
	got := map[uint64]bool{}
	for _, sub := range []*Subscriber{a, b} {
		for {
			f, err := sub.Receive(-1)
			if errors.Is(err, ErrEnded) {
				break
			}
			require.NoError(t, err)
			got[leU64(f.Payload)] = true
			require.NoError(t, sub.Release())
		}
	}
	assert.Len(t, got, 4, "every frame before the end, each once")
}

// A wait a binding makes in slices (receive calls with a short timeout, one
// after another) counts as one parked wait, not one per slice.
func TestParkedWaitCountedOncePerWait(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14})
	binaryPublish(t, c, 0) // c publishes: its subscriber never sees ErrPublisherGone
	sub, err := c.Subscribe(Wait{Mode: Park})
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		_, err := sub.Receive(5 * time.Millisecond)
		require.ErrorIs(t, err, ErrTimeout)
	}
	st, err := c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.ParkedWaits, "five slices of one wait")
	binaryPublish(t, c, 1)
	_, err = sub.Receive(time.Second)
	require.NoError(t, err)
	_, err = sub.Receive(5 * time.Millisecond)
	require.ErrorIs(t, err, ErrTimeout)
	st, err = c.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.ParkedWaits, "a wait after a frame is another")
}

// Calls on a closed subscriber or channel are ErrClosed (or false), and a
// closed group member's Release does not acknowledge frames it handed back.
func TestUseAfterClose(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	a, err := c.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	b, err := c.SubscribeGroup("g", Wait{})
	require.NoError(t, err)
	plain, err := c.Subscribe(Wait{})
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		binaryPublish(t, c, uint64(i))
	}
	n, err := a.ReceiveBatch(make([]Frame, 4), time.Second)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Release(), ErrClosed)
	got := 0
	for {
		_, err := b.Receive(100 * time.Millisecond)
		if err != nil {
			require.ErrorIs(t, err, ErrTimeout)
			break
		}
		require.NoError(t, b.Release())
		got++
	}
	assert.Equal(t, 4, got, "a's frames went to b")
	require.NoError(t, plain.Close())
	require.ErrorIs(t, plain.Release(), ErrClosed)
	other, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	require.NoError(t, other.Close())
	assert.False(t, other.Ended())
	require.ErrorIs(t, other.End(), ErrClosed)
}
