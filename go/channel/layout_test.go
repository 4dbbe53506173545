//go:build linux

package channel

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// channelHeader and subEntry mirror the documented layout, field by field,
// so the offsets the code uses are checked against a declaration (the C
// header will declare the same structs).
type channelHeader struct {
	Magic          uint64
	Version        uint32
	HeaderSize     uint32
	Capacity       uint64
	RingOffset     uint64
	RingSize       uint64
	Policy         uint32
	Flags          uint32
	ChannelID      uint64
	MaxSubscribers uint32
	SubEntrySize   uint32
	SubsOffset     uint64
	HistOffset     uint64
	HistLowest     uint64
	HistHighest    uint64
	HistSigfigs    uint32
	HistCounts     uint32
	HistStride     uint64
	PeerHint       uint64
	_              [8]byte
	Tail           uint64
	_              [56]byte
	Head           uint64
	_              [56]byte
	DataSeq        uint32
	DataWaiters    uint32
	_              [56]byte
	SpaceSeq       uint32
	SpaceWaiters   uint32
	_              [56]byte
	Counters       [10]uint64
	Ended          uint32
	Untracked      uint32
	SchemaOffset   uint64
	SchemaSize     uint64
}

type subEntry struct {
	State     uint32
	_         uint32
	Position  uint64
	Heartbeat uint64
	Frames    uint64
	Bytes     uint64
	Dropped   uint64
	DropBytes uint64
	Epoch     uint64
	Parked    uint64
	Group     uint64
	HeldEnd   uint64
	_         [40]byte
}

func TestLayoutOffsets(t *testing.T) {
	var h channelHeader
	for _, c := range []struct {
		got  uintptr
		want int
	}{
		{unsafe.Offsetof(h.Version), hVersion}, {unsafe.Offsetof(h.HeaderSize), hHeaderSize},
		{unsafe.Offsetof(h.Capacity), hCapacity}, {unsafe.Offsetof(h.RingOffset), hRingOffset},
		{unsafe.Offsetof(h.RingSize), hRingSize}, {unsafe.Offsetof(h.Policy), hPolicy},
		{unsafe.Offsetof(h.Flags), hFlags}, {unsafe.Offsetof(h.ChannelID), hChannelID},
		{unsafe.Offsetof(h.MaxSubscribers), hMaxSubs}, {unsafe.Offsetof(h.SubEntrySize), hSubEntry},
		{unsafe.Offsetof(h.SubsOffset), hSubsOffset}, {unsafe.Offsetof(h.HistOffset), hHistOffset},
		{unsafe.Offsetof(h.HistLowest), hHistLowest}, {unsafe.Offsetof(h.HistHighest), hHistHighest},
		{unsafe.Offsetof(h.HistSigfigs), hHistSigfigs}, {unsafe.Offsetof(h.HistCounts), hHistCounts},
		{unsafe.Offsetof(h.HistStride), hHistStride}, {unsafe.Offsetof(h.PeerHint), hPeerHint},
		{unsafe.Offsetof(h.Tail), hTail}, {unsafe.Offsetof(h.Head), hHead},
		{unsafe.Offsetof(h.DataSeq), hDataSeq}, {unsafe.Offsetof(h.DataWaiters), hDataWaiters},
		{unsafe.Offsetof(h.SpaceSeq), hSpaceSeq}, {unsafe.Offsetof(h.SpaceWaiters), hSpaceWait},
		{unsafe.Offsetof(h.Counters), hCounters}, {unsafe.Offsetof(h.Ended), hEnded},
		{unsafe.Offsetof(h.Untracked), hUntracked}, {unsafe.Offsetof(h.SchemaOffset), hSchemaOff},
		{unsafe.Offsetof(h.SchemaSize), hSchemaSize},
	} {
		assert.Equal(t, c.want, int(c.got))
	}
	assert.LessOrEqual(t, int(unsafe.Sizeof(h)), HeaderSize)
	var e subEntry
	assert.Equal(t, SubEntrySize, int(unsafe.Sizeof(e)))
	assert.Equal(t, sPosition, int(unsafe.Offsetof(e.Position)))
	assert.Equal(t, sHeartbeat, int(unsafe.Offsetof(e.Heartbeat)))
	assert.Equal(t, sFrames, int(unsafe.Offsetof(e.Frames)))
	assert.Equal(t, sDropped, int(unsafe.Offsetof(e.Dropped)))
	assert.Equal(t, sEpoch, int(unsafe.Offsetof(e.Epoch)))
	assert.Equal(t, sParked, int(unsafe.Offsetof(e.Parked)))
	assert.Equal(t, sGroup, int(unsafe.Offsetof(e.Group)))
	assert.Equal(t, sHeldEnd, int(unsafe.Offsetof(e.HeldEnd)))
}

func TestMemfdChannel(t *testing.T) {
	c, err := CreateMemfd("test", Options{Capacity: 1 << 14})
	require.NoError(t, err)
	defer c.Close()
	fd, err := c.Fd()
	require.NoError(t, err)
	other, err := OpenFd(fd, SubscribeOnly)
	require.NoError(t, err)
	defer other.Close()
	sub, err := other.Subscribe(Wait{})
	require.NoError(t, err)
	require.NoError(t, c.Publish(1, 1, []byte("sealed"), 0))
	f, err := sub.Receive(0)
	require.NoError(t, err)
	assert.Equal(t, "sealed", string(f.Payload))

	plain, err := unix.MemfdCreate("plain", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(plain)
	_, err = OpenFd(plain, PublishSubscribe)
	require.ErrorIs(t, err, ErrNotSealed)
}
