package region

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	codecpkg "github.com/crossbuf/crossbuf/go/codec"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var shmSeq atomic.Int64

// shmName returns a name no other test (or test process) uses, and unlinks
// it when the test ends.
func shmName(t testing.TB) string {
	t.Helper()
	base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(base) > 100 {
		base = base[:100]
	}
	name := fmt.Sprintf("/xbtest-%d-%d-%s", os.Getpid(), shmSeq.Add(1), base)
	require.NoError(t, ValidShmName(name))
	t.Cleanup(func() {
		if err := UnlinkShm(name); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("unlink %s: %v", name, err)
		}
	})
	return name
}

func newAnon(t testing.TB, capacity int) *Region {
	t.Helper()
	r, err := CreateAnon(capacity)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// put reserves a frame, fills it with payload and commits it.
func put(t testing.TB, r *Region, codec codecpkg.ID, rt uint64, payload []byte) Frame {
	t.Helper()
	s, err := r.Reserve(codec, rt, len(payload))
	require.NoError(t, err)
	n := copy(s.Buf, payload)
	f, err := s.Commit(s.Buf[:n])
	require.NoError(t, err)
	return f
}

func collect(t testing.TB, r *Region) []Frame {
	t.Helper()
	var out []Frame
	for f, err := range r.Frames() {
		require.NoError(t, err)
		out = append(out, f)
	}
	return out
}

func TestLayoutMatchesHeader(t *testing.T) {
	var m [8]byte
	binary.LittleEndian.PutUint64(m[:], Magic)
	assert.Equal(t, "XBUFRGN\x00", string(m[:]))
	assert.Equal(t, "XRF2", string(binary.LittleEndian.AppendUint32(nil, stateCommitted)))
	assert.Equal(t, "XRFA", string(binary.LittleEndian.AppendUint32(nil, stateAborted)))
	assert.Equal(t, 32, offCursor)
	assert.Equal(t, 64, offRegionID)
	assert.Equal(t, 128, HeaderSize)
	assert.Equal(t, 16, framePayOff)
	assert.Equal(t, 32, frameTypeID)
	assert.Equal(t, 48, frameCheck)
	assert.Equal(t, 64, FrameHeaderSize)
}

func TestAnonCreateClose(t *testing.T) {
	r, err := CreateAnon(1000)
	require.NoError(t, err)
	assert.Equal(t, "", r.Name())
	st, err := r.Stats()
	require.NoError(t, err)
	assert.NotZero(t, st.RegionID)
	assert.Equal(t, r.ID(), st.RegionID)
	assert.Equal(t, Stats{Capacity: uint64(os.Getpagesize()), DataOffset: HeaderSize, Generation: 1, RegionID: r.ID()}, st)
	b, err := r.Bytes()
	require.NoError(t, err)
	assert.Len(t, b, os.Getpagesize())
	assert.Zero(t, uintptr(unsafe.Pointer(&b[0]))%uintptr(os.Getpagesize()), "page aligned")

	f := put(t, r, 1, 2, []byte("hello"))
	s, err := r.Reserve(1, 2, 8)
	require.NoError(t, err)

	require.NoError(t, r.Close())
	require.ErrorIs(t, r.Close(), ErrClosed)
	_, err = r.Bytes()
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.Stats()
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.Reserve(1, 2, 8)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.Frame(f.Offset)
	assert.ErrorIs(t, err, ErrClosed)
	_, _, _, err = r.Next(0)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, r.Reset(), ErrClosed)
	_, err = s.Commit(nil)
	assert.ErrorIs(t, err, ErrClosed)
	s.Abort() // no effect, no fault
	for _, err := range r.Frames() {
		assert.ErrorIs(t, err, ErrClosed)
	}
}

func TestCapacity(t *testing.T) {
	page := os.Getpagesize()
	for _, c := range []int{-1, 0, HeaderSize, HeaderSize + FrameHeaderSize - 1} {
		_, err := CreateAnon(c)
		assert.ErrorIs(t, err, ErrInvalid, "capacity %d", c)
	}
	for _, c := range []int{HeaderSize + FrameHeaderSize, page, page + 1, 3*page - 7} {
		r := newAnon(t, c)
		st, err := r.Stats()
		require.NoError(t, err)
		assert.Equal(t, uint64((c+page-1)/page*page), st.Capacity)
	}
	_, err := CreateShm(shmName(t), 10, 0)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestShm(t *testing.T) {
	name := shmName(t)
	a, err := CreateShm(name, 1<<16, 0)
	require.NoError(t, err)
	defer a.Close()
	assert.Equal(t, name, a.Name())
	fi, err := os.Stat(shmPath(name))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0), fi.Mode().Perm()&0o077, "mode 0 means 0600")

	_, err = CreateShm(name, 1<<16, 0o600)
	require.ErrorIs(t, err, ErrExists)
	require.ErrorIs(t, err, fs.ErrExist)
	// the name with and without the leading slash is the same object
	_, err = CreateShm(strings.TrimPrefix(name, "/"), 1<<16, 0o600)
	require.ErrorIs(t, err, ErrExists)

	b, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	defer b.Close()

	fa := put(t, a, 1, 1, []byte("from a"))
	fb := put(t, b, 2, 3, []byte("from b"))
	got, err := b.Frame(fa.Offset)
	require.NoError(t, err)
	assert.Equal(t, "from a", string(got.Payload))
	got, err = a.Frame(fb.Offset)
	require.NoError(t, err)
	assert.Equal(t, "from b", string(got.Payload))
	assert.Equal(t, codecpkg.CapnProto, got.Codec)
	assert.Equal(t, uint64(3), got.TypeID)
	assert.Len(t, collect(t, a), 2)
	assert.Len(t, collect(t, b), 2)
	sa, err := a.Stats()
	require.NoError(t, err)
	sb, err := b.Stats()
	require.NoError(t, err)
	assert.Equal(t, sa, sb)
	assert.Equal(t, uint64(2), sa.FrameCount)

	require.NoError(t, UnlinkShm(name))
	// mappings outlive the name
	put(t, a, 1, 1, []byte("after unlink"))
	assert.Len(t, collect(t, b), 3)
	_, err = OpenShm(name, ReadWrite)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorIs(t, UnlinkShm(name), ErrNotFound)
}

func TestShmMode(t *testing.T) {
	name := shmName(t)
	r, err := CreateShm(name, 4096, 0o640)
	require.NoError(t, err)
	defer r.Close()
	fi, err := os.Stat(shmPath(name))
	require.NoError(t, err)
	assert.Zero(t, fi.Mode().Perm()&^0o640)
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.xb")
	r, err := CreateFile(path, 8192, 0)
	require.NoError(t, err)
	assert.Equal(t, path, r.Name())
	f := put(t, r, 4, 2, []byte("persisted"))
	_, err = CreateFile(path, 8192, 0)
	require.ErrorIs(t, err, ErrExists)
	require.ErrorIs(t, err, fs.ErrExist)
	require.NoError(t, r.Close())

	r, err = OpenFile(path, ReadWrite)
	require.NoError(t, err)
	defer r.Close()
	got, err := r.Frame(f.Offset)
	require.NoError(t, err)
	assert.Equal(t, "persisted", string(got.Payload))
	assert.Equal(t, codecpkg.MsgPack, got.Codec)

	_, err = OpenFile(filepath.Join(t.TempDir(), "missing"), ReadWrite)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = OpenFile("", ReadWrite)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = OpenFile(t.TempDir(), ReadWrite)
	require.Error(t, err)
}

func TestShmNames(t *testing.T) {
	good := []string{"a", "/a", "A-z_0.9", "/" + strings.Repeat("x", 200), strings.Repeat("x", 200), "a.b", ".hidden"}
	for _, n := range good {
		assert.NoError(t, ValidShmName(n), n)
	}
	bad := []string{"", "/", "//a", "a/b", "/a/b", ".", "..", "/..", "a..b", "..a", strings.Repeat("x", 201),
		"/" + strings.Repeat("x", 201), "a b", "a\x00", "é", "a*", "a\n"}
	for _, n := range bad {
		err := ValidShmName(n)
		require.ErrorIs(t, err, ErrBadName, "%q", n)
		_, err = CreateShm(n, 4096, 0)
		assert.ErrorIs(t, err, ErrBadName, "%q", n)
		_, err = OpenShm(n, ReadWrite)
		assert.ErrorIs(t, err, ErrBadName, "%q", n)
		assert.ErrorIs(t, UnlinkShm(n), ErrBadName, "%q", n)
	}
	assert.Contains(t, ValidShmName("a/b").Error(), `'/'`)
	assert.Contains(t, ValidShmName(strings.Repeat("x", 201)).Error(), "201")
}

// writeRegionFile writes a valid empty region of size bytes to a new file
// after letting edit change its bytes.
func writeRegionFile(t *testing.T, size int, edit func(b []byte)) string {
	t.Helper()
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b[offMagic:], Magic)
	binary.LittleEndian.PutUint32(b[offVersion:], LayoutVersion)
	binary.LittleEndian.PutUint32(b[offHeaderSize:], HeaderSize)
	binary.LittleEndian.PutUint64(b[offCapacity:], uint64(size))
	binary.LittleEndian.PutUint64(b[offDataOffset:], HeaderSize)
	binary.LittleEndian.PutUint64(b[offCursor:], HeaderSize)
	binary.LittleEndian.PutUint64(b[offGeneration:], 1)
	binary.LittleEndian.PutUint64(b[offHighWater:], HeaderSize)
	binary.LittleEndian.PutUint64(b[offRegionID:], 0x1234)
	if edit != nil {
		edit(b)
	}
	path := filepath.Join(t.TempDir(), "r.xb")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func TestOpenValidates(t *testing.T) {
	r, err := OpenFile(writeRegionFile(t, 4096, nil), ReadWrite)
	require.NoError(t, err, "the hand-written header is valid")
	put(t, r, 1, 1, []byte("x"))
	require.NoError(t, r.Close())

	r, err = OpenFile(writeRegionFile(t, 1000, nil), ReadWrite)
	require.NoError(t, err, "capacity need not be whole pages")
	require.NoError(t, r.Close())

	cases := map[string]struct {
		size int
		edit func(b []byte)
		msg  []string
	}{
		"layout version": {4096, func(b []byte) { binary.LittleEndian.PutUint32(b[offVersion:], 1) },
			[]string{"layout version 1", "version 2"}},
		"bad magic":   {4096, func(b []byte) { b[0] ^= 1 }, []string{"magic"}},
		"zero file":   {4096, func(b []byte) { clear(b) }, []string{"magic"}},
		"tiny file":   {HeaderSize, nil, []string{"not a region size"}},
		"header size": {4096, func(b []byte) { binary.LittleEndian.PutUint32(b[offHeaderSize:], 56) }, []string{"header_size"}},
		"capacity beyond file": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offCapacity:], 8192) },
			[]string{"capacity"}},
		"capacity tiny": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offCapacity:], 10) },
			[]string{"capacity"}},
		"data offset": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offDataOffset:], 60) },
			[]string{"data_offset"}},
		"cursor beyond capacity": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offCursor:], 4104) },
			[]string{"cursor"}},
		"cursor before data": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offCursor:], 8) },
			[]string{"cursor"}},
		"generation 0": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offGeneration:], 0x10000) },
			[]string{"generation"}},
		"region id 0": {4096, func(b []byte) { binary.LittleEndian.PutUint64(b[offRegionID:], 0) },
			[]string{"region id"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := OpenFile(writeRegionFile(t, c.size, c.edit), ReadWrite)
			require.ErrorIs(t, err, ErrVersion)
			for _, m := range c.msg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestFull(t *testing.T) {
	r := newAnon(t, 4096)
	var frames []Frame
	for i := 0; ; i++ {
		s, err := r.Reserve(1, 1, 100)
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
		for j := range s.Buf {
			s.Buf[j] = byte(i)
		}
		f, err := s.Commit(s.Buf[:100])
		require.NoError(t, err)
		frames = append(frames, f)
	}
	require.Len(t, frames, (4096-HeaderSize)/(FrameHeaderSize+104))
	before, err := r.Stats()
	require.NoError(t, err)
	_, err = r.Reserve(1, 1, 100)
	require.ErrorIs(t, err, ErrFull)
	_, err = r.Reserve(1, 1, 1<<20)
	require.ErrorIs(t, err, ErrFull)
	after, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, before, after, "a failed Reserve changes nothing")
	assert.Equal(t, uint64(len(frames)), after.FrameCount)
	assert.Equal(t, after.Used, after.HighWater)

	// what is left still fits a smaller frame
	left := after.Capacity - after.DataOffset - after.Used
	if left >= FrameHeaderSize {
		put(t, r, 1, 1, make([]byte, left-FrameHeaderSize))
		frames = append(frames, Frame{})
		_, err = r.Reserve(1, 1, 0)
		require.ErrorIs(t, err, ErrFull)
	}
	got := collect(t, r)
	require.Len(t, got, len(frames))
	for i, f := range frames[:len(frames)-1] {
		require.Equal(t, f.Offset, got[i].Offset)
		require.Equal(t, byteRepeat(byte(i), 100), got[i].Payload)
	}
	_, err = r.Reserve(1, 1, -1)
	require.ErrorIs(t, err, ErrInvalid)
}

func byteRepeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestAlignment(t *testing.T) {
	r := newAnon(t, 1<<16)
	var want []uint64
	for n := 0; n < 70; n++ {
		s, err := r.Reserve(1, 1, n)
		require.NoError(t, err)
		require.Equal(t, (n+7)&^7, len(s.Buf))
		require.Equal(t, len(s.Buf), cap(s.Buf))
		require.Zero(t, uintptr(unsafe.Pointer(unsafe.SliceData(s.Buf)))%8)
		f, err := s.Commit(s.Buf[:n])
		require.NoError(t, err)
		require.Zero(t, f.Offset%8)
		require.Len(t, f.Payload, n)
		require.Equal(t, len(f.Payload), cap(f.Payload), "appending to a payload cannot spill")
		if n > 0 {
			require.Zero(t, uintptr(unsafe.Pointer(&f.Payload[0]))%8)
		}
		want = append(want, f.Offset)
	}
	got := collect(t, r)
	require.Len(t, got, len(want))
	for i, f := range got {
		assert.Equal(t, want[i], f.Offset)
		assert.Len(t, f.Payload, i)
	}
}

func TestCommitAtEnd(t *testing.T) {
	// FlatBuffers fills Buf back to front: the payload is a tail of Buf.
	r := newAnon(t, 4096)
	s, err := r.Reserve(1, 1, 64)
	require.NoError(t, err)
	copy(s.Buf[40:], "tail-built payload")
	f, err := s.Commit(s.Buf[40:58])
	require.NoError(t, err)
	assert.Equal(t, "tail-built payload", string(f.Payload))
	got, err := r.Frame(f.Offset)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	assert.Equal(t, uintptr(unsafe.Pointer(&s.Buf[40])), uintptr(unsafe.Pointer(&got.Payload[0])))

	s, err = r.Reserve(1, 1, 64)
	require.NoError(t, err)
	f, err = s.Commit(s.Buf[64:])
	require.NoError(t, err, "an empty tail is fine")
	assert.Empty(t, f.Payload)
	s, err = r.Reserve(1, 1, 64)
	require.NoError(t, err)
	f, err = s.Commit(nil)
	require.NoError(t, err)
	assert.Empty(t, f.Payload)
}

func TestCommitRejects(t *testing.T) {
	r := newAnon(t, 1<<14)
	other := make([]byte, 16)

	s, err := r.Reserve(1, 1, 16)
	require.NoError(t, err)
	s2, err := r.Reserve(1, 1, 16)
	require.NoError(t, err)
	bad := map[string][]byte{
		"heap":          other,
		"next slot":     s2.Buf[:8],
		"longer":        unsafe.Slice(&s.Buf[8], 16),
		"before buf":    unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&s.Buf[0]), -8)), 8),
		"unaligned":     s.Buf[3:10],
		"past the end":  unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&s.Buf[0]), 24)), 0),
		"region header": func() []byte { b, _ := r.Bytes(); return b[:8] }(),
	}
	for name, p := range bad {
		s, err := r.Reserve(1, 1, 16)
		require.NoError(t, err)
		_, err = s.Commit(p)
		require.ErrorIs(t, err, ErrInvalid, name)
		_, err = r.Frame(s.off)
		require.ErrorIs(t, err, ErrNotCommitted, "%s: slot aborted", name)
	}

	f, err := s.Commit(s.Buf[:4])
	require.NoError(t, err)
	_, err = s.Commit(s.Buf[:4])
	require.ErrorIs(t, err, ErrInvalid, "double commit")
	s.Abort()
	_, err = r.Frame(f.Offset)
	require.NoError(t, err, "Abort after Commit does nothing")

	// s2 is still being written: invisible to readers
	_, err = r.Frame(s2.off)
	require.ErrorIs(t, err, ErrNotCommitted)
	s2.Abort()
	_, err = s2.Commit(nil)
	require.ErrorIs(t, err, ErrInvalid, "commit after abort")
	_, err = r.Frame(s2.off)
	require.ErrorIs(t, err, ErrNotCommitted)

	got := collect(t, r)
	require.Len(t, got, 1)
	assert.Equal(t, f.Offset, got[0].Offset)
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.FrameCount)

	_, err = Slot{}.Commit(nil)
	require.ErrorIs(t, err, ErrInvalid)
	Slot{}.Abort()
}

func TestNextSkipsWritingAndAborted(t *testing.T) {
	r := newAnon(t, 1<<14)
	a := put(t, r, 1, 1, []byte("a"))
	writing, err := r.Reserve(1, 1, 8)
	require.NoError(t, err)
	aborted, err := r.Reserve(1, 1, 8)
	require.NoError(t, err)
	aborted.Abort()
	b := put(t, r, 1, 1, []byte("b"))

	f, next, ok, err := r.Next(0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, a.Offset, f.Offset)
	f, next, ok, err = r.Next(next)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, b.Offset, f.Offset)
	_, end, ok, err := r.Next(next)
	require.NoError(t, err)
	require.False(t, ok)
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, st.DataOffset+st.Used, end, "resume point is the cursor")

	// a later commit of a frame already passed is still reachable by offset
	wf, err := writing.Commit(writing.Buf[:1])
	require.NoError(t, err)
	_, err = r.Frame(wf.Offset)
	require.NoError(t, err)

	// new frames appear from the resume point
	c := put(t, r, 1, 1, []byte("c"))
	f, _, ok, err = r.Next(end)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, c.Offset, f.Offset)

	for _, bad := range []uint64{1, 8, HeaderSize - 8, st.Capacity + 8, 1 << 62} {
		_, _, _, err := r.Next(bad)
		assert.ErrorIs(t, err, ErrOutOfRange, "cursor %d", bad)
	}
	_, _, ok, err = r.Next(st.Capacity)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestNextStopsAtUnsealedSlot(t *testing.T) {
	r := newAnon(t, 1<<14)
	a := put(t, r, 1, 1, []byte("a"))
	b := put(t, r, 1, 1, []byte("b"))
	mem, err := r.Bytes()
	require.NoError(t, err)
	// as if b's slot were allocated but its seal not yet stored
	seal := binary.LittleEndian.Uint64(mem[b.Offset:])
	binary.LittleEndian.PutUint64(mem[b.Offset:], 0)
	_, next, ok, err := r.Next(a.Offset + FrameHeaderSize + 8)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, b.Offset, next)
	binary.LittleEndian.PutUint64(mem[b.Offset:], seal)
	f, _, ok, err := r.Next(next)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "b", string(f.Payload))
}

func TestReset(t *testing.T) {
	r := newAnon(t, 1<<14)
	var old []Frame
	for i := 0; i < 5; i++ {
		old = append(old, put(t, r, 1, 1, []byte{byte(i)}))
	}
	pending, err := r.Reserve(1, 1, 8)
	require.NoError(t, err)
	before, err := r.Stats()
	require.NoError(t, err)

	require.NoError(t, r.Reset())
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Generation)
	assert.Zero(t, st.Used)
	assert.Zero(t, st.FrameCount)
	assert.Equal(t, before.Used, st.HighWater, "high water survives Reset")
	assert.Empty(t, collect(t, r))
	for _, f := range old {
		_, err := r.Frame(f.Offset)
		assert.ErrorIs(t, err, ErrOutOfRange)
	}
	_, err = pending.Commit(nil)
	assert.ErrorIs(t, err, ErrInvalid, "a slot of the old generation cannot commit")

	n := put(t, r, 1, 1, []byte("new"))
	assert.Equal(t, old[0].Offset, n.Offset)
	got := collect(t, r)
	require.Len(t, got, 1)
	assert.Equal(t, "new", string(got[0].Payload))
	_, err = r.Frame(old[1].Offset)
	assert.ErrorIs(t, err, ErrOutOfRange)
}

func TestResetSkipsGenerationZero(t *testing.T) {
	r := newAnon(t, 4096)
	mem, err := r.Bytes()
	require.NoError(t, err)
	binary.LittleEndian.PutUint64(mem[offGeneration:], 0x1FFFFFFFF)
	require.NoError(t, r.Reset())
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(0x200000001), st.Generation)
	f := put(t, r, 1, 1, []byte("x"))
	_, err = r.Frame(f.Offset)
	require.NoError(t, err)
}

func TestFrameGarbage(t *testing.T) {
	r := newAnon(t, 1<<14)
	a := put(t, r, 1, 1, make([]byte, 64))
	b := put(t, r, 1, 1, []byte("second"))
	st, err := r.Stats()
	require.NoError(t, err)
	end := st.DataOffset + st.Used
	for _, off := range []uint64{0, 8, 63, a.Offset + 1, a.Offset + 4, a.Offset + FrameHeaderSize,
		a.Offset + FrameHeaderSize + 8, end, end + 8, st.Capacity, st.Capacity - 8, 1 << 63, ^uint64(0)} {
		_, err := r.Frame(off)
		assert.ErrorIs(t, err, ErrOutOfRange, "offset %d", off)
	}

	mem, err := r.Bytes()
	require.NoError(t, err)
	le := binary.LittleEndian
	corrupt := func(name string, off int, put func(b []byte), want error) {
		t.Helper()
		saved := append([]byte(nil), mem[off:off+8]...)
		put(mem[off:])
		_, err := r.Frame(b.Offset)
		assert.ErrorIs(t, err, want, name)
		for _, err := range r.Frames() {
			_ = err // iteration must not panic; errors are allowed
		}
		copy(mem[off:], saved)
		_, err = r.Frame(b.Offset)
		require.NoError(t, err, "restored after %s", name)
	}
	bo := int(b.Offset)
	corrupt("slot size 0", bo, func(x []byte) { le.PutUint32(x, 0) }, ErrOutOfRange)
	corrupt("slot size huge", bo, func(x []byte) { le.PutUint32(x, 0xFFFFFFFF) }, ErrOutOfRange)
	corrupt("seal of another generation", bo+4, func(x []byte) { le.PutUint32(x, 7) }, ErrOutOfRange)
	corrupt("state writing", bo+frameState, func(x []byte) { le.PutUint32(x, stateWriting) }, ErrNotCommitted)
	corrupt("state garbage", bo+frameState, func(x []byte) { le.PutUint32(x, 12345) }, ErrOutOfRange)
	corrupt("payload offset small", bo+framePayOff, func(x []byte) { le.PutUint32(x, 8) }, ErrOutOfRange)
	corrupt("payload offset unaligned", bo+framePayOff, func(x []byte) { le.PutUint32(x, 36) }, ErrOutOfRange)
	corrupt("payload offset huge", bo+framePayOff, func(x []byte) { le.PutUint32(x, 0xFFFFFFF8) }, ErrOutOfRange)
	corrupt("payload len huge", bo+framePayLen, func(x []byte) { le.PutUint64(x, ^uint64(0)) }, ErrOutOfRange)
	corrupt("payload len past slot", bo+framePayLen, func(x []byte) { le.PutUint64(x, 9) }, ErrOutOfRange)
	corrupt("cursor huge", offCursor, func(x []byte) { le.PutUint64(x, ^uint64(0)-7) }, nil)
	corrupt("cursor inside frame b", offCursor, func(x []byte) { le.PutUint64(x, b.Offset+8) }, ErrOutOfRange)
	corrupt("cursor before data", offCursor, func(x []byte) { le.PutUint64(x, 0) }, ErrOutOfRange)
	corrupt("generation", offGeneration, func(x []byte) { le.PutUint64(x, 99) }, ErrOutOfRange)

	// Reserve refuses a corrupt cursor instead of writing out of bounds.
	for _, c := range []uint64{0, 12, st.Capacity + 8, ^uint64(0)} {
		le.PutUint64(mem[offCursor:], c)
		_, err := r.Reserve(1, 1, 8)
		assert.ErrorIs(t, err, ErrVersion, "cursor %d", c)
	}
	le.PutUint64(mem[offCursor:], end)
	_, err = r.Reserve(1, 1, 8)
	require.NoError(t, err)
}

func TestPrefaultKeepsContents(t *testing.T) {
	r, err := CreateAnon(1 << 20)
	require.NoError(t, err)
	slot, err := r.Reserve(1, 1, 16)
	require.NoError(t, err)
	copy(slot.Buf, "0123456789abcdef")
	f, err := slot.Commit(slot.Buf[:16])
	require.NoError(t, err)
	require.NoError(t, r.Prefault())
	got, err := r.Frame(f.Offset)
	require.NoError(t, err)
	require.Equal(t, "0123456789abcdef", string(got.Payload))
	require.NoError(t, r.Close())
	require.ErrorIs(t, r.Prefault(), ErrClosed)
}
