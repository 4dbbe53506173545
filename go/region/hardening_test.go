//go:build linux

package region

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// claimAndDie claims a slot through w and stops its goroutine right after
// the seal is written, before the cursor moves or anything else is written:
// the state a writer killed at the worst moment leaves behind.
func claimAndDie(t *testing.T, w *Region) {
	t.Helper()
	testHookClaimed = func(uint64) { runtime.Goexit() }
	defer func() { testHookClaimed = nil }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.Reserve(1, 7, 100)
		t.Error("Reserve returned past the hook")
	}()
	<-done
}

func TestDeadWriterBetweenClaimAndCursor(t *testing.T) {
	name := shmName(t)
	r, err := CreateShm(name, 1<<16, 0)
	require.NoError(t, err)
	defer r.Close()
	before := put(t, r, 1, 1, []byte("before"))

	dying, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	claimAndDie(t, dying)
	require.NoError(t, dying.Close()) // the process is gone: its peer lock with it

	// The next writer moves the cursor past the dead claim and appends.
	after := put(t, r, 1, 1, []byte("after"))
	assert.Greater(t, after.Offset, before.Offset+FrameHeaderSize+8)
	reader, err := OpenShm(name, ReadOnly)
	require.NoError(t, err)
	defer reader.Close()
	got := collect(t, reader)
	require.Len(t, got, 2, "a read-only reader sees the frames on both sides of the dead claim")
	assert.Equal(t, "after", string(got[1].Payload))

	n, err := r.Recover()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the dead writer's slot is aborted")
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.Aborted)
	n, err = r.Recover()
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestLiveSlowWriterIsNotReclaimed(t *testing.T) {
	name := shmName(t)
	r, err := CreateShm(name, 1<<16, 0)
	require.NoError(t, err)
	defer r.Close()
	slow, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	defer slow.Close()
	s, err := slow.Reserve(1, 1, 8)
	require.NoError(t, err)
	put(t, r, 1, 1, []byte("later"))

	other, err := OpenShm(name, ReadWrite) // runs Recover on open
	require.NoError(t, err)
	defer other.Close()
	n, err := r.Recover()
	require.NoError(t, err)
	assert.Zero(t, n, "a live writer keeps its slot however long it takes")
	f, err := s.Commit(s.Buf[:0])
	require.NoError(t, err)
	assert.Len(t, collect(t, other), 2)
	_, err = other.Frame(f.Offset)
	require.NoError(t, err)
}

func TestLateCommitOfAbortedSlotFails(t *testing.T) {
	r := newAnon(t, 1<<16)
	s, err := r.Reserve(1, 1, 8)
	require.NoError(t, err)
	declaredDead := s
	declaredDead.Abort()
	_, err = s.Commit(s.Buf[:0])
	require.ErrorIs(t, err, ErrInvalid)
	assert.Empty(t, collect(t, r))
}

func TestFrameIdentity(t *testing.T) {
	a, b := newAnon(t, 1<<16), newAnon(t, 1<<16)
	assert.NotEqual(t, a.ID(), b.ID())
	fa := put(t, a, 1, 1, []byte("in a"))
	put(t, b, 1, 1, []byte("in b"))

	got, err := a.Get(fa.Ref())
	require.NoError(t, err)
	assert.Equal(t, "in a", string(got.Payload))
	_, err = b.Get(fa.Ref())
	assert.ErrorIs(t, err, ErrStale, "a frame of region a used with region b")

	require.NoError(t, a.Reset())
	put(t, a, 1, 1, []byte("new!"))
	_, err = a.Get(fa.Ref())
	assert.ErrorIs(t, err, ErrStale, "a frame from before the reset")
}

func TestForgedHeaderIsNotAFrame(t *testing.T) {
	r := newAnon(t, 1<<16)
	real := put(t, r, 1, 1, []byte("genuine!"))
	mem, err := r.Bytes()
	require.NoError(t, err)
	// A payload that holds an exact copy of a real frame, header and all.
	img := bytes.Clone(mem[real.Offset : real.Offset+FrameHeaderSize+8])
	outer := put(t, r, 1, 1, img)
	forged := outer.Offset + FrameHeaderSize
	_, err = r.Frame(forged)
	require.ErrorIs(t, err, ErrOutOfRange)
	assert.Len(t, collect(t, r), 2)
}

func TestCorruptHeaderIsSkipped(t *testing.T) {
	r := newAnon(t, 1<<16)
	put(t, r, 1, 1, []byte("one"))
	bad := put(t, r, 1, 1, []byte("two"))
	put(t, r, 1, 1, []byte("three"))
	mem, err := r.Bytes()
	require.NoError(t, err)
	*(*uint64)(r.ptr(bad.Offset + framePayLen)) = 1 << 40 // payload past its slot
	_ = mem

	var payloads []string
	var errs []error
	for f, err := range r.Frames() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		payloads = append(payloads, string(f.Payload))
	}
	assert.Equal(t, []string{"one", "three"}, payloads, "iteration goes on past the corrupt frame")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrCorrupt)
	assert.Contains(t, errs[0].Error(), "offset")
}

func TestReadOnlyAttach(t *testing.T) {
	name := shmName(t)
	w, err := CreateShm(name, 1<<16, 0o640)
	require.NoError(t, err)
	defer w.Close()
	put(t, w, 1, 1, []byte("hello"))

	ro, err := OpenShm(name, ReadOnly)
	require.NoError(t, err)
	defer ro.Close()
	assert.True(t, ro.ReadOnly())
	got := collect(t, ro)
	require.Len(t, got, 1)
	assert.Equal(t, "hello", string(got[0].Payload))
	_, err = ro.Reserve(1, 1, 8)
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, ro.Reset(), ErrReadOnly)

	// The mapping itself refuses writes: a stray store faults.
	faulted := func() (f bool) {
		defer func(old bool) {
			debug.SetPanicOnFault(old)
			f = recover() != nil
		}(debug.SetPanicOnFault(true))
		got[0].Payload[0] = 'j'
		return false
	}()
	assert.True(t, faulted, "write through a read-only mapping")
	assert.Equal(t, "hello", string(got[0].Payload))
}

func TestTruncationIsAnError(t *testing.T) {
	for _, kind := range []string{"shm", "file"} {
		t.Run(kind, func(t *testing.T) {
			var w *Region
			var err error
			var path string
			if kind == "shm" {
				name := shmName(t)
				path = shmPath(name)
				w, err = CreateShm(name, 1<<20, 0)
			} else {
				path = filepath.Join(t.TempDir(), "r.xb")
				w, err = CreateFile(path, 1<<20, 0)
			}
			require.NoError(t, err)
			defer w.Close()
			f := put(t, w, 1, 1, bytes.Repeat([]byte("x"), 5000))
			require.NoError(t, os.Truncate(path, 0)) // a hostile peer
			assert.True(t, w.Truncated())
			_, err = w.Frame(f.Offset)
			assert.ErrorIs(t, err, ErrTruncated)
			_, err = w.Stats()
			assert.ErrorIs(t, err, ErrTruncated)
			_, err = w.Reserve(1, 1, 8)
			assert.ErrorIs(t, err, ErrTruncated)
			assert.Contains(t, err.Error(), "truncated by another process")
		})
	}
}

// A file truncated in the middle of the frames: those still inside it are
// listed, and the first that is not is ErrTruncated (not a frame whose
// payload would fault when read), with the cursor left on it.
func TestTruncationInsideTheFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.xb")
	w, err := CreateFile(path, 1<<16, 0)
	require.NoError(t, err)
	defer w.Close()
	for i := 0; i < 20; i++ {
		put(t, w, 1, 1, bytes.Repeat([]byte("x"), 1000))
	}
	require.NoError(t, os.Truncate(path, 4096))
	var listed int
	var cursor uint64
	for {
		f, next, ok, err := w.Next(cursor)
		if err != nil {
			require.ErrorIs(t, err, ErrTruncated)
			assert.Equal(t, cursor, next, "the cursor stays")
			break
		}
		require.True(t, ok, "the region ends inside the frames")
		require.LessOrEqual(t, f.Offset+uint64(len(f.Payload)), uint64(4096), "a listed payload is inside the file")
		_ = f.Payload[len(f.Payload)-1] // readable
		listed++
		cursor = next
	}
	assert.Equal(t, 3, listed, "three 1064-byte slots end within the file's 4096 bytes")
}

func TestCreateReservesSpace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	defer func() { _ = unix.Unmount(dir, 0) }()
	path := filepath.Join(dir, "big.xb")
	_, err := CreateFile(path, 1<<20, 0)
	require.ErrorIs(t, err, ErrNoSpace, "a region larger than the disk fails at create, not mid-encode")
	_, statErr := os.Stat(path)
	assert.True(t, os.IsNotExist(statErr), "no half-made region is left behind")
	r, err := CreateFile(path, 128<<10, 0)
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

func TestMemfdSharing(t *testing.T) {
	w, err := CreateMemfd("test", 1<<16)
	require.NoError(t, err)
	defer w.Close()
	put(t, w, 1, 1, []byte("sealed"))
	fd, err := w.Fd()
	require.NoError(t, err)
	assert.Error(t, unix.Ftruncate(fd, 0), "a sealed region cannot shrink")
	st, err := w.Stats()
	require.NoError(t, err)
	assert.True(t, st.Sealed)

	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	conns := make([]*net.UnixConn, 2)
	for i, fd := range pair {
		f := os.NewFile(uintptr(fd), "sock")
		c, err := net.FileConn(f)
		require.NoError(t, err)
		_ = f.Close()
		conns[i] = c.(*net.UnixConn)
		defer c.Close()
	}
	require.NoError(t, w.Send(conns[0]))
	r, err := Receive(conns[1], ReadWrite)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, w.ID(), r.ID())
	got := collect(t, r)
	require.Len(t, got, 1)
	assert.Equal(t, "sealed", string(got[0].Payload))
	put(t, r, 1, 1, []byte("reply"))
	assert.Len(t, collect(t, w), 2)

	// Descriptors that could be truncated under the reader are refused.
	plain, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(plain)
	_, err = OpenFd(plain, ReadOnly)
	assert.ErrorIs(t, err, ErrNotSealed)
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer file.Close()
	_, err = OpenFd(int(file.Fd()), ReadOnly)
	assert.ErrorIs(t, err, ErrNotSealed)
}

func TestAcquireHoldsMappingAcrossClose(t *testing.T) {
	for round := 0; round < 200; round++ {
		r, err := CreateAnon(1 << 20)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if r.Acquire() != nil {
						return
					}
					s, err := r.Reserve(1, 1, 4096)
					if err == nil {
						for i := range s.Buf { // in-place encode between calls
							s.Buf[i] = byte(i)
						}
						f, err := s.Commit(s.Buf)
						if err == nil {
							_ = f.Payload[len(f.Payload)-1] // decode after the call
						}
					} else if errors.Is(err, ErrFull) {
						_ = r.Reset()
					} else {
						// Close has begun: calls fail cleanly while the
						// mapping stays valid until Release.
						assert.ErrorIs(t, err, ErrClosed)
						r.Release()
						return
					}
					r.Release()
				}
			}()
		}
		runtime.Gosched()
		require.NoError(t, r.Close())
		wg.Wait()
	}
}

// TestCrashRecovery kills a writer process at random points while two reader
// processes iterate; every frame whose commit was reported must survive
// intact, and no reader may ever see a torn frame.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	runCrashRecovery(t, 200)
}

// Helper processes of TestCrashRecovery re-run the test binary.
func TestMain(m *testing.M) {
	switch os.Getenv("XB_REGION_CRASH_ROLE") {
	case "writer":
		crashWriter(os.Getenv("XB_REGION_CRASH_NAME"))
		return
	case "reader":
		crashReader(os.Getenv("XB_REGION_CRASH_NAME"))
		return
	}
	os.Exit(m.Run())
}

func helperCmd(role, name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "XB_REGION_CRASH_ROLE="+role, "XB_REGION_CRASH_NAME="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCorruptSealAtCursorIsAnError(t *testing.T) {
	r := newAnon(t, 1<<16)
	put(t, r, 1, 1, []byte("x"))
	st, err := r.Stats()
	require.NoError(t, err)
	cursor := st.DataOffset + st.Used
	gen := st.Generation
	*r.u64(cursor + frameSeal) = sealOf(gen, 0, 1<<40) // a claim past the end
	_, err = r.Reserve(1, 1, 8)
	require.ErrorIs(t, err, ErrCorrupt, "never a loop")
}

// A dead writer's peer id may be taken again by the next writer that opens
// the region: its slot is still recognised as dead.
func TestDeadWriterWhoseIDIsReused(t *testing.T) {
	name := shmName(t)
	r, err := CreateShm(name, 1<<16, 0)
	require.NoError(t, err)
	defer r.Close()
	dying, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	_, err = dying.Reserve(1, 1, 8)
	require.NoError(t, err)
	id := dying.self
	require.NoError(t, dying.Close())

	// Steer the next open to the dead writer's id: it is the first to look.
	atomic.StoreUint64(r.u64(offPeerHint), uint64(id)-2)
	reuser, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	defer reuser.Close()
	require.Equal(t, id, reuser.self)
	st, err := r.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.Aborted, "the open that took the id aborted its predecessor's slot")
}
