package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// fill writes n frames of varied sizes (0 included, and sizes that need
// padding) into a new anonymous region.
func fill(t testing.TB, n int) *region.Region {
	r, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		p := bytes.Repeat([]byte{byte(i + 1)}, i*13)
		s, err := r.Reserve(codec.MsgPack, uint64(1000+i), len(p))
		require.NoError(t, err)
		copy(s.Buf, p)
		_, err = s.Commit(s.Buf[:len(p)])
		require.NoError(t, err)
	}
	return r
}

func inside(t testing.TB, r *region.Region, p []byte) bool {
	mem, err := r.Bytes()
	require.NoError(t, err)
	if len(p) == 0 {
		return true
	}
	a := uintptr(unsafe.Pointer(&p[0]))
	lo := uintptr(unsafe.Pointer(&mem[0]))
	return a >= lo && a+uintptr(len(p)) <= lo+uintptr(len(mem))
}

func encode(t testing.TB, src *region.Region) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	n, next, err := w.WriteRegion(src, 0)
	require.NoError(t, err)
	st, err := src.Stats()
	require.NoError(t, err)
	require.Equal(t, int(st.FrameCount), n)
	// Nothing new: a second call from next writes nothing.
	n2, next2, err := w.WriteRegion(src, next)
	require.NoError(t, err)
	require.Zero(t, n2)
	require.Equal(t, next, next2)
	return buf.Bytes()
}

func TestRegionRoundTrip(t *testing.T) {
	src := fill(t, 20)
	defer src.Close()
	wire := encode(t, src)

	dst, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer dst.Close()
	rd, err := NewReader(bytes.NewReader(wire))
	require.NoError(t, err)
	var got []region.Frame
	for {
		f, err := rd.ToRegion(dst)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.True(t, inside(t, dst, f.Payload), "the frame is read in place in the destination")
		got = append(got, f)
	}
	require.Equal(t, uint64(len(wire)), rd.Offset())
	i := 0
	for f, err := range src.Frames() {
		require.NoError(t, err)
		require.Equal(t, f.Codec, got[i].Codec)
		require.Equal(t, f.TypeID, got[i].TypeID)
		require.Equal(t, f.Payload, got[i].Payload)
		i++
	}
	require.Len(t, got, i)
	// The landed frames are ordinary frames of dst.
	f, err := dst.Frame(got[3].Offset)
	require.NoError(t, err)
	require.Equal(t, got[3].Payload, f.Payload)
}

func TestEmptyAndHeaderOnly(t *testing.T) {
	_, err := NewReader(bytes.NewReader(nil))
	require.ErrorIs(t, err, ErrTruncated)
	var buf bytes.Buffer
	_, err = NewWriter(&buf)
	require.NoError(t, err)
	rd, err := NewReader(&buf)
	require.NoError(t, err)
	_, err = rd.Next()
	require.Equal(t, io.EOF, err)
}

// A frame of a codec no reader knows is refused when written, not when read
// (where it would also end the stream for the frames after it).
func TestWriteRefusesUnknownCodec(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	require.ErrorIs(t, w.WriteFrame(999, 1, 0, []byte("hi")), codec.ErrUnknownCodec)
	require.NoError(t, w.WriteFrame(codec.MsgPack, 1, 0, []byte("ok")))
	rd, err := NewReader(&buf)
	require.NoError(t, err)
	h, err := rd.Next()
	require.NoError(t, err, "nothing was written for the refused frame")
	assert.Equal(t, codec.MsgPack, h.Codec)
}

// Every proper prefix of a stream that does not end on a frame boundary is
// ErrTruncated, and one that does reads back that many frames and io.EOF.
func TestTruncatedEverywhere(t *testing.T) {
	src := fill(t, 4)
	defer src.Close()
	wire := encode(t, src)
	boundaries := map[int]int{}
	off, k := HeaderSize, 0
	boundaries[off] = 0
	for off < len(wire) {
		n := int(binary.LittleEndian.Uint64(wire[off+24:]))
		off += FrameHeaderSize + n + int(pad8(uint64(n)))
		k++
		boundaries[off] = k
	}
	for cut := 0; cut < len(wire); cut++ {
		rd, err := NewReader(bytes.NewReader(wire[:cut]))
		if cut < HeaderSize {
			require.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
			continue
		}
		require.NoError(t, err)
		frames := 0
		for {
			h, err := rd.Next()
			if err == nil {
				err = rd.ReadPayload(make([]byte, h.PayloadLen))
				if err == nil {
					frames++
					continue
				}
			}
			if want, ok := boundaries[cut]; ok {
				require.Equal(t, io.EOF, err, "cut %d", cut)
				require.Equal(t, want, frames)
			} else {
				require.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
			}
			break
		}
	}
}

// Each header field set to a value the format forbids is ErrMalformed
// naming the offset, before any payload is read.
func TestHostileHeaders(t *testing.T) {
	src := fill(t, 3)
	defer src.Close()
	wire := encode(t, src)
	first := HeaderSize // the first frame header (an empty payload)
	second := first + FrameHeaderSize
	le := binary.LittleEndian
	cases := []struct {
		name string
		edit func(b []byte)
	}{
		{"magic", func(b []byte) { b[0] ^= 1 }},
		{"version", func(b []byte) { le.PutUint32(b[8:], 2) }},
		{"stream header size", func(b []byte) { le.PutUint32(b[12:], 128) }},
		{"stream id 0", func(b []byte) { le.PutUint64(b[16:], 0) }},
		{"stream reserved", func(b []byte) { b[40] = 1 }},
		{"state", func(b []byte) { le.PutUint32(b[second+8:], 0x41465258) }},
		{"codec", func(b []byte) { le.PutUint16(b[second+12:], 77) }},
		{"flags", func(b []byte) { le.PutUint16(b[second+14:], 1) }},
		{"payload offset", func(b []byte) { le.PutUint32(b[second+16:], 128) }},
		{"reserved0", func(b []byte) { le.PutUint32(b[second+20:], 1) }},
		{"reserved1", func(b []byte) { le.PutUint64(b[second+56:], 1) }},
		{"check", func(b []byte) { b[second+48] ^= 8 }},
		{"seal", func(b []byte) { le.PutUint64(b[second:], le.Uint64(b[second:])+1) }},
		{"seal high bits", func(b []byte) { b[second+6] = 1 }},
		{"payload longer than the seal", func(b []byte) { le.PutUint64(b[second+24:], 1000) }},
		{"huge payload", func(b []byte) { le.PutUint64(b[second+24:], 1<<62) }},
		{"padding", func(b []byte) { b[second+FrameHeaderSize+13] = 9 }},
		{"frames swapped", func(b []byte) { // a real header at the wrong offset
			copy(b[first:first+FrameHeaderSize], b[second:second+FrameHeaderSize])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), wire...)
			tc.edit(b)
			dst, err := region.CreateAnon(1 << 16)
			require.NoError(t, err)
			defer dst.Close()
			rd, err := NewReader(bytes.NewReader(b))
			for err == nil {
				_, err = rd.ToRegion(dst)
			}
			require.ErrorIs(t, err, ErrMalformed)
			require.NotErrorIs(t, err, io.EOF)
		})
	}
}

func TestReaderLimitAndFullRegion(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	big := bytes.Repeat([]byte{7}, 10000)
	require.NoError(t, w.WriteFrame(codec.FlatBuffers, 9, 1, big))
	require.NoError(t, w.WriteFrame(codec.FlatBuffers, 9, 1, []byte("after")))
	wire := buf.Bytes()

	rd, err := NewReader(bytes.NewReader(wire))
	require.NoError(t, err)
	rd.MaxPayload = 100
	h, err := rd.Next()
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "more than the reader's limit 100; Skip it")
	assert.Equal(t, uint64(10000), h.PayloadLen, "the header is read: the frame is pending")
	_, err = rd.Next()
	require.ErrorContains(t, err, "reader's limit", "still pending")
	require.ErrorIs(t, rd.ReadPayload(make([]byte, 10000)), ErrMalformed)
	require.NoError(t, rd.Skip())
	h, err = rd.Next()
	require.NoError(t, err)
	after := make([]byte, h.PayloadLen)
	require.NoError(t, rd.ReadPayload(after))
	assert.Equal(t, "after", string(after))

	// A malformed header: every later call says so, at the same offset.
	bad := append([]byte(nil), wire...)
	bad[HeaderSize+8] ^= 0xFF // the first frame's state
	rd, err = NewReader(bytes.NewReader(bad))
	require.NoError(t, err)
	_, err = rd.Next()
	require.ErrorContains(t, err, "frame header at offset 64: state")
	_, err = rd.Next()
	require.ErrorContains(t, err, "frame header at offset 64: state", "sticky: the next frame's start is unknown")

	// A region too small even empty: ErrInvalid saying so, the frame stays
	// pending; Skip passes over it.
	small, err := region.CreateAnon(4096)
	require.NoError(t, err)
	defer small.Close()
	rd, err = NewReader(bytes.NewReader(wire))
	require.NoError(t, err)
	_, err = rd.ToRegion(small)
	require.ErrorIs(t, err, region.ErrInvalid)
	require.ErrorContains(t, err, "does not fit the region even empty")
	require.NoError(t, rd.Skip())
	f, err := rd.ToRegion(small)
	require.NoError(t, err)
	require.Equal(t, []byte("after"), f.Payload)
	_, err = rd.ToRegion(small)
	require.Equal(t, io.EOF, err)

	// A region with no room now: ErrFull, and the frame lands after a reset.
	roomy, err := region.CreateAnon(1 << 14)
	require.NoError(t, err)
	defer roomy.Close()
	for {
		s, err := roomy.Reserve(codec.FlatBuffers, 9, 4000)
		if errors.Is(err, region.ErrFull) {
			break
		}
		require.NoError(t, err)
		_, err = s.Commit(s.Buf[:4000])
		require.NoError(t, err)
	}
	rd, err = NewReader(bytes.NewReader(wire))
	require.NoError(t, err)
	_, err = rd.ToRegion(roomy)
	require.ErrorIs(t, err, region.ErrFull)
	require.NoError(t, roomy.Reset())
	f, err = rd.ToRegion(roomy)
	require.NoError(t, err)
	require.Equal(t, big, f.Payload)
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("boom")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestReaderErrorPassesThrough(t *testing.T) {
	_, err := NewReader(&failingReader{10})
	require.ErrorContains(t, err, "boom")
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		k := max(f.n, 0)
		f.n = 0
		return k, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

// A write that fails part-way through a frame ends the stream: later writes
// fail too, instead of appending frames no reader could find.
func TestWriterErrorIsSticky(t *testing.T) {
	w, err := NewWriter(&failingWriter{HeaderSize + FrameHeaderSize + 10})
	require.NoError(t, err)
	err = w.WriteFrame(codec.JSON, 0, 0, make([]byte, 100))
	require.EqualError(t, err, "disk full")
	err = w.WriteFrame(codec.JSON, 0, 0, []byte("{}"))
	require.ErrorIs(t, err, ErrBroken)
	require.ErrorContains(t, err, "at offset 64: disk full")
}

// Writing what was read reproduces the stream but for the stream id and
// check words and the publish times (frames are committed anew on landing).
func TestRewriteIsStable(t *testing.T) {
	src := fill(t, 5)
	defer src.Close()
	dst, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer dst.Close()
	rd, err := NewReader(bytes.NewReader(encode(t, src)))
	require.NoError(t, err)
	for {
		if _, err := rd.ToRegion(dst); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
	}
	a, b := encode(t, src), encode(t, dst)
	require.Equal(t, len(a), len(b))
	for off := HeaderSize; off < len(a); {
		n := int(binary.LittleEndian.Uint64(a[off+24:]))
		require.Equal(t, a[off:off+40], b[off:off+40], fmt.Sprintf("header at %d", off))
		end := off + FrameHeaderSize + n + int(pad8(uint64(n)))
		require.Equal(t, a[off+FrameHeaderSize:end], b[off+FrameHeaderSize:end])
		off = end
	}
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// flakyReader fails once, with nothing read, at byte failAt of data.
type flakyReader struct {
	data   []byte
	failAt int
	failed bool
}

func (f *flakyReader) Read(p []byte) (int, error) {
	if !f.failed && len(f.data) <= f.failAt {
		f.failed = true
		return 0, errors.New("timeout")
	}
	limit := len(f.data)
	if !f.failed {
		limit -= f.failAt
	}
	n := copy(p, f.data[:limit])
	f.data = f.data[n:]
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// A read that fails inside a payload, even with nothing read, leaves the
// reader broken: the next call does not take payload bytes for a header.
func TestReaderErrorInsideAFrameIsSticky(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	require.NoError(t, w.WriteFrame(codec.JSON, 0, 0, bytes.Repeat([]byte("x"), 200)))
	require.NoError(t, w.WriteFrame(codec.JSON, 0, 0, []byte("{}")))
	wire := buf.Bytes()
	rd, err := NewReader(&flakyReader{data: wire, failAt: len(wire) - HeaderSize - FrameHeaderSize})
	require.NoError(t, err)
	h, err := rd.Next()
	require.NoError(t, err)
	require.EqualError(t, rd.ReadPayload(make([]byte, h.PayloadLen)), "timeout")
	_, err = rd.Next()
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "inside the frame at offset 64 failed: timeout")
}
