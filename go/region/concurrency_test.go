package region

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	codecpkg "github.com/crossbuf/crossbuf/go/codec"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fillPattern writes a payload of n bytes: a repeated byte derived from id,
// then the writer id, then a CRC of everything before it.
func fillPattern(b []byte, id uint32) []byte {
	n := len(b)
	for i := 0; i < n-8; i++ {
		b[i] = byte(id) ^ byte(i)
	}
	binary.LittleEndian.PutUint32(b[n-8:], id)
	binary.LittleEndian.PutUint32(b[n-4:], crc32.ChecksumIEEE(b[:n-4]))
	return b
}

func checkPattern(b []byte) error {
	n := len(b)
	if n < 8 {
		return errors.New("short payload")
	}
	if crc32.ChecksumIEEE(b[:n-4]) != binary.LittleEndian.Uint32(b[n-4:]) {
		return errors.New("checksum mismatch")
	}
	id := binary.LittleEndian.Uint32(b[n-8:])
	for i := 0; i < n-8; i++ {
		if b[i] != byte(id)^byte(i) {
			return errors.New("pattern mismatch")
		}
	}
	return nil
}

func TestConcurrentWritersReaders(t *testing.T) {
	const writers, readers, perWriter = 3, 3, 300
	name := shmName(t)
	w, err := CreateShm(name, 1<<20, 0)
	require.NoError(t, err)
	defer w.Close()
	rd, err := OpenShm(name, ReadWrite) // readers use a second mapping, like another process
	require.NoError(t, err)
	defer rd.Close()

	var done atomic.Bool
	var wg, rwg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				id := uint32(g<<16 | i)
				n := 8 + int(id*7%200)
				s, err := w.Reserve(codecpkg.ID(g+1), 2, n+int(id%3)*8)
				if err != nil {
					errs <- err
					return
				}
				if i%10 == 9 { // some frames are abandoned
					s.Abort()
					continue
				}
				start := (len(s.Buf) - n) &^ 7 // at the tail, as FlatBuffers builds
				if _, err := s.Commit(fillPattern(s.Buf[start:start+n], id)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var seen atomic.Int64
	for g := 0; g < readers; g++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var cursor uint64
			for {
				last := done.Load()
				f, next, ok, err := rd.Next(cursor)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					if last {
						return
					}
					runtime.Gosched()
					continue
				}
				if err := checkPattern(f.Payload); err != nil {
					errs <- err
					return
				}
				if f.TypeID != 2 || f.Codec == 0 || int(f.Codec) > writers {
					errs <- errors.New("bad frame header")
					return
				}
				again, err := rd.Frame(f.Offset)
				if err != nil || &again.Payload[0] != &f.Payload[0] {
					errs <- errors.Join(errors.New("Frame disagrees with Next"), err)
					return
				}
				seen.Add(1)
				cursor = next
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	rwg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	frames := collect(t, rd)
	want := writers * (perWriter - perWriter/10)
	require.Len(t, frames, want)
	for _, f := range frames {
		require.NoError(t, checkPattern(f.Payload))
	}
	st, err := w.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(want), st.FrameCount)
	assert.LessOrEqual(t, seen.Load(), int64(readers*want))
	t.Logf("readers saw %d frames while writing", seen.Load())
}

func TestCloseWhileInUse(t *testing.T) {
	r, err := CreateAnon(1 << 20)
	require.NoError(t, err)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				s, err := r.Reserve(1, 1, 16)
				if errors.Is(err, ErrFull) {
					if _, _, _, err := r.Next(0); errors.Is(err, ErrClosed) {
						return
					}
					continue
				}
				if err != nil {
					assert.ErrorIs(t, err, ErrClosed)
					return
				}
				// Buf may be unmapped once Close runs, so it is not touched here.
				f, err := s.Commit(nil)
				if err != nil {
					assert.ErrorIs(t, err, ErrClosed)
					return
				}
				if _, err := r.Frame(f.Offset); err != nil && errors.Is(err, ErrClosed) {
					return
				}
				if _, _, _, err := r.Next(0); errors.Is(err, ErrClosed) {
					return
				}
			}
		}()
	}
	close(start)
	for i := 0; i < 100; i++ { // let the workers get going
		if _, err := r.Stats(); err != nil {
			t.Fatal(err)
		}
	}
	require.NoError(t, r.Close())
	wg.Wait()
	require.ErrorIs(t, r.Close(), ErrClosed)
}

func TestAllocs(t *testing.T) {
	r := newAnon(t, 1<<24)
	allocs := testing.AllocsPerRun(1000, func() {
		s, err := r.Reserve(1, 1, 48)
		if err != nil {
			panic(err)
		}
		if _, err := s.Commit(s.Buf[8:]); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Reserve+Commit")
	f := put(t, r, 1, 1, []byte("x"))
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := r.Frame(f.Offset); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Frame")
	allocs = testing.AllocsPerRun(100, func() {
		if _, _, _, err := r.Next(f.Offset); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Next")
}

// FuzzOpen treats arbitrary bytes as a region: as a file to open, and
// written over a live anonymous region. Nothing may panic.
func FuzzOpen(f *testing.F) {
	valid := func(edit func(r *Region)) []byte {
		r, err := CreateAnon(4096)
		if err != nil {
			f.Fatal(err)
		}
		defer r.Close()
		for i := 0; i < 3; i++ {
			s, _ := r.Reserve(1, uint64(i), 10*i)
			_, _ = s.Commit(s.Buf)
		}
		if edit != nil {
			edit(r)
		}
		b, _ := r.Bytes()
		st, _ := r.Stats()
		return append([]byte(nil), b[:st.DataOffset+st.Used+16]...)
	}
	f.Add(valid(nil))
	f.Add(valid(func(r *Region) { _, _ = r.Reserve(1, 1, 5) }))
	f.Add(valid(func(r *Region) { _ = r.Reset() }))
	f.Add([]byte{})
	f.Add(make([]byte, 200))
	dir := f.TempDir()
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise := func(r *Region) {
			var cursor uint64
			for i := 0; i < 100; i++ {
				fr, next, ok, err := r.Next(cursor)
				if err != nil || !ok {
					break
				}
				for _, b := range fr.Payload { // the payload must be readable
					_ = b
				}
				if _, err := r.Frame(fr.Offset); err != nil {
					t.Fatalf("Next returned frame %d that Frame rejects: %v", fr.Offset, err)
				}
				cursor = next
			}
			for off := uint64(0); off < uint64(len(data))+64; off += 8 {
				_, _ = r.Frame(off)
			}
			_, _ = r.Stats()
			if s, err := r.Reserve(1, 1, 8); err == nil {
				_, _ = s.Commit(s.Buf[:8])
			}
		}

		path := filepath.Join(dir, "f"+string(rune('a'+seq.Add(1)%26)))
		_ = os.Remove(path)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if r, err := OpenFile(path, ReadWrite); err == nil {
			exercise(r)
			_ = r.Close()
		}

		r, err := CreateAnon(4096)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		mem, _ := r.Bytes()
		copy(mem, data)
		exercise(r)
		if ar, err := attach(mem, ""); err == nil {
			exercise(ar)
		}
	})
}
