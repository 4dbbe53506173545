package codectest

// The contract of the zero-copy codecs (go/codec/capnp, go/codec/flatbuf):
// decoded strings and tensor data point into the encoding, Encode and Decode
// do not allocate, and any input decodes or fails with ErrMalformed.

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// ZeroCopyCodec is a zero-copy codec: it also reads single string fields.
type ZeroCopyCodec interface {
	codec.Codec
	codec.FieldReader
}

// Inside checks whether s's bytes lie inside b.
func Inside(t *testing.T, s string, b []byte) {
	t.Helper()
	if len(s) == 0 {
		return
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	assert.True(t, p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b)), "string %q is not inside the encoding", s)
}

// EncodeDirty encodes rec into a MaxSize buffer filled with 0xA5 bytes, as
// region memory is not zeroed.
func EncodeDirty(t testing.TB, c codec.Codec, rec record.Record) []byte {
	t.Helper()
	n, err := c.MaxSize(rec)
	require.NoError(t, err)
	dst := make([]byte, n)
	for i := range dst {
		dst[i] = 0xA5 // region memory is not zeroed
	}
	b, err := c.Encode(dst, rec)
	require.NoError(t, err)
	require.LessOrEqual(t, len(b), n)
	return b
}

// EdgeLogEntries returns records with empty, long and unusual fields.
func EdgeLogEntries() []*record.LogEntry {
	var out []*record.LogEntry
	out = append(out, &record.LogEntry{})
	e := record.NewLogEntry(7)
	e.Tags, e.Attributes = nil, nil
	e.Service, e.Host, e.Message = "", "", ""
	e.HTTP = record.HTTP{}
	out = append(out, e)
	e = record.NewLogEntry(8)
	e.Tags = []string{"", "a", "", strings.Repeat("x", 7)}
	e.Attributes = []record.Attribute{{}, {Key: "k"}, {Value: "v"}}
	e.Message = strings.Repeat("long message ", 5000)
	e.Level = record.LevelFatal
	e.TimestampNs = -1
	e.HTTP.LatencyNs = -5
	out = append(out, e)
	// Every string length modulo 8, to exercise all the padding.
	for l := 0; l < 24; l++ {
		e := record.NewLogEntry(uint64(100 + l))
		e.Service = strings.Repeat("s", l)
		e.Host = strings.Repeat("h", (l*3)%11)
		e.Tags = e.Tags[:l%9]
		e.Attributes = e.Attributes[:l%13]
		for i := range e.Tags {
			e.Tags[i] = strings.Repeat("t", (l+i)%10)
		}
		out = append(out, e)
	}
	return out
}

// Tensors returns tensors of many sizes, shapes and dtypes.
func Tensors() []*record.Tensor {
	out := []*record.Tensor{
		record.NewTensor(1, 0), record.NewTensor(2, 4), record.NewTensor(3, 1024), record.NewTensor(4, 1<<20),
		{Name: "", DType: record.DTypeU8, Shape: []int64{0}, Data: []byte{}},
		{Name: "scalar", DType: record.DTypeF64, Shape: []int64{}, Data: make([]byte, 8)},
		{Name: "x", DType: record.DTypeI16, Shape: []int64{1, 2, 3, 1, 1, 1, 1, 1}, Data: make([]byte, 12)},
	}
	for l := 1; l < 20; l++ {
		out = append(out, record.NewTensor(uint64(l), l*4))
	}
	return out
}

// CheckLogEntry compares a decoded LogEntry with want; when b is not nil it
// also checks that the strings point into b (zero copy).
func CheckLogEntry(t *testing.T, want, got *record.LogEntry, b []byte) {
	t.Helper()
	assert.Equal(t, want.TimestampNs, got.TimestampNs)
	assert.Equal(t, want.Level, got.Level)
	assert.Equal(t, want.Service, got.Service)
	assert.Equal(t, want.Host, got.Host)
	assert.Equal(t, want.Message, got.Message)
	assert.Equal(t, want.TraceID, got.TraceID)
	require.Len(t, got.Tags, len(want.Tags))
	for i := range want.Tags {
		assert.Equal(t, want.Tags[i], got.Tags[i])
	}
	require.Len(t, got.Attributes, len(want.Attributes))
	for i := range want.Attributes {
		assert.Equal(t, want.Attributes[i], got.Attributes[i])
	}
	assert.Equal(t, want.HTTP, got.HTTP)
	if b != nil {
		Inside(t, got.Service, b)
		Inside(t, got.Message, b)
		Inside(t, got.HTTP.Path, b)
		for _, s := range got.Tags {
			Inside(t, s, b)
		}
		for _, a := range got.Attributes {
			Inside(t, a.Key, b)
			Inside(t, a.Value, b)
		}
	}
}

// CheckTensor compares a decoded Tensor with want; when b is not nil it also
// checks that the name and data point into b (zero copy).
func CheckTensor(t *testing.T, want, got *record.Tensor, b []byte) {
	t.Helper()
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.DType, got.DType)
	assert.Equal(t, len(want.Shape), len(got.Shape))
	for i := range want.Shape {
		assert.Equal(t, want.Shape[i], got.Shape[i])
	}
	assert.True(t, string(want.Data) == string(got.Data), "tensor data differs")
	if b != nil {
		Inside(t, got.Name, b)
		if len(got.Data) > 0 {
			Inside(t, unsafe.String(&got.Data[0], len(got.Data)), b)
		}
	}
}

// ZeroCopy runs the zero-copy codec contract on c, one subtest per check.
func ZeroCopy(t *testing.T, c ZeroCopyCodec) {
	t.Run("Identity", func(t *testing.T) {
		assert.True(t, c.ZeroCopy())
		assert.NotZero(t, c.ID())
	})
	t.Run("RoundTripLogEntry", func(t *testing.T) {
		recs := EdgeLogEntries()
		for seed := uint64(0); seed < 200; seed++ {
			recs = append(recs, record.NewLogEntry(seed))
		}
		var got record.LogEntry // reused across records, as a decode loop does
		for _, want := range recs {
			b := EncodeDirty(t, c, want)
			require.NoError(t, c.Decode(b, &got))
			CheckLogEntry(t, want, &got, b)
		}
	})
	t.Run("RoundTripSample", func(t *testing.T) {
		recs := []*record.Sample{{}}
		for seed := uint64(0); seed < 200; seed++ {
			recs = append(recs, record.NewSample(seed))
		}
		for _, want := range recs {
			b := EncodeDirty(t, c, want)
			var got record.Sample
			require.NoError(t, c.Decode(b, &got))
			assert.Equal(t, *want, got)
		}
	})
	t.Run("RoundTripTensor", func(t *testing.T) {
		var got record.Tensor
		for _, want := range Tensors() {
			b := EncodeDirty(t, c, want)
			require.NoError(t, c.Decode(b, &got))
			CheckTensor(t, want, &got, b)
		}
	})
	t.Run("ReadString", func(t *testing.T) {
		for seed := uint64(0); seed < 50; seed++ {
			e := record.NewLogEntry(seed)
			b := EncodeDirty(t, c, e)
			for f, want := range map[codec.Field]string{
				codec.FieldLogService: e.Service, codec.FieldLogHost: e.Host, codec.FieldLogMessage: e.Message,
				codec.FieldLogHTTPMethod: e.HTTP.Method, codec.FieldLogHTTPPath: e.HTTP.Path,
			} {
				s, err := c.ReadString(b, f)
				require.NoError(t, err)
				assert.Equal(t, want, s)
				Inside(t, s, b)
			}
			tn := record.NewTensor(seed, 64)
			s, err := c.ReadString(EncodeDirty(t, c, tn), codec.FieldTensorName)
			require.NoError(t, err)
			assert.Equal(t, tn.Name, s)
		}
		_, err := c.ReadString(EncodeDirty(t, c, record.NewLogEntry(1)), codec.Field(99))
		assert.Error(t, err)
		s, err := c.ReadString(EncodeDirty(t, c, &record.LogEntry{}), codec.FieldLogHTTPPath)
		require.NoError(t, err)
		assert.Equal(t, "", s)
	})
	t.Run("ShortBuffer", func(t *testing.T) {
		e := record.NewLogEntry(3)
		n, err := c.MaxSize(e)
		require.NoError(t, err)
		for _, size := range []int{0, 1, 8, n / 2, n - 1} {
			_, err := c.Encode(make([]byte, size), e)
			assert.ErrorIs(t, err, codec.ErrShortBuffer, "size %d", size)
		}
		// A larger destination is fine.
		b, err := c.Encode(make([]byte, n+100), e)
		require.NoError(t, err)
		var got record.LogEntry
		require.NoError(t, c.Decode(b, &got))
		CheckLogEntry(t, e, &got, b)
	})
	t.Run("EncodeRejects", func(t *testing.T) {
		_, err := c.Encode(make([]byte, 1024), &record.LogEntry{Level: 42})
		assert.ErrorIs(t, err, codec.ErrInvalid)
		_, err = c.Encode(make([]byte, 1024), &record.Tensor{DType: record.DTypeF32, Shape: []int64{3}, Data: make([]byte, 4)})
		assert.ErrorIs(t, err, codec.ErrInvalid)
		_, err = c.MaxSize(nil)
		assert.ErrorIs(t, err, codec.ErrRecordType)
		assert.ErrorIs(t, c.Decode(EncodeDirty(t, c, record.NewSample(1)), nil), codec.ErrRecordType)
	})
	t.Run("EncodeAllocs", func(t *testing.T) {
		if raceEnabled {
			t.Skip("sync.Pool drops items under the race detector")
		}
		e := record.NewLogEntry(1)
		n, err := c.MaxSize(e)
		require.NoError(t, err)
		dst := make([]byte, n)
		_, err = c.Encode(dst, e)
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := c.Encode(dst, e); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs)
	})
	t.Run("DecodeAllocs", func(t *testing.T) {
		if raceEnabled {
			t.Skip("sync.Pool drops items under the race detector")
		}
		b := EncodeDirty(t, c, record.NewLogEntry(1))
		var got record.LogEntry
		require.NoError(t, c.Decode(b, &got))
		allocs := testing.AllocsPerRun(200, func() {
			if err := c.Decode(b, &got); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs)
		allocs = testing.AllocsPerRun(200, func() {
			if _, err := c.ReadString(b, codec.FieldLogMessage); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs)
	})
	t.Run("Truncated", func(t *testing.T) {
		for _, rec := range []record.Record{record.NewLogEntry(5), record.NewSample(5), record.NewTensor(5, 64)} {
			b := EncodeDirty(t, c, rec)
			for i := range b {
				decodeAny(t, c, b[:i], record.New(rec.RecordType()))
				// Also truncated at the front, which moves every offset.
				decodeAny(t, c, b[i:], record.New(rec.RecordType()))
			}
		}
	})
	t.Run("WrongType", func(t *testing.T) {
		encs := []record.Record{record.NewLogEntry(5), record.NewSample(5), record.NewTensor(5, 64), record.NewTensor(6, 0)}
		for _, rec := range encs {
			b := EncodeDirty(t, c, rec)
			for ty := record.TypeLogEntry; ty <= record.TypeTensor; ty++ {
				decodeAny(t, c, b, record.New(ty))
				for f := codec.Field(0); f <= codec.FieldTensorName+1; f++ {
					_, _ = c.ReadString(b, f) // must not panic
				}
			}
		}
	})
	t.Run("Corrupted", func(t *testing.T) {
		r := record.NewRand(1)
		for _, rec := range []record.Record{record.NewLogEntry(9), record.NewSample(9), record.NewTensor(9, 256)} {
			orig := EncodeDirty(t, c, rec)
			b := make([]byte, len(orig))
			for i := 0; i < 3000; i++ {
				copy(b, orig)
				for k := 0; k <= i%4; k++ {
					p := r.Intn(len(b))
					switch r.Intn(3) {
					case 0:
						b[p] = byte(r.Next())
					case 1:
						b[p] = 0xFF
					default:
						b[p] ^= 0x80
					}
				}
				decodeAny(t, c, b, record.New(rec.RecordType()))
				_, _ = c.ReadString(b, codec.FieldLogHTTPPath)
			}
		}
		garbage := make([]byte, 4096)
		for i := 0; i < 200; i++ {
			for j := range garbage {
				garbage[j] = byte(r.Next())
			}
			for ty := record.TypeLogEntry; ty <= record.TypeTensor; ty++ {
				decodeAny(t, c, garbage[:r.Intn(len(garbage))], record.New(ty))
			}
		}
		for _, b := range [][]byte{nil, {}, {0, 0, 0, 0, 0, 0, 0, 0}, {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}} {
			err := c.Decode(b, &record.LogEntry{})
			assert.True(t, errors.Is(err, codec.ErrMalformed), "%v", err)
		}
	})
	t.Run("MaxSizeBound", func(t *testing.T) {
		r := record.NewRand(42)
		check := func(rec record.Record) {
			n, err := c.MaxSize(rec)
			require.NoError(t, err)
			b, err := c.Encode(make([]byte, n), rec)
			require.NoError(t, err, "%T", rec)
			assert.LessOrEqual(t, len(b), n)
		}
		for _, e := range EdgeLogEntries() {
			check(e)
		}
		for _, tn := range Tensors() {
			check(tn)
		}
		check(&record.Sample{})
		for i := 0; i < 500; i++ {
			e := record.NewLogEntry(r.Next())
			e.Tags = e.Tags[:r.Intn(len(e.Tags)+1)]
			e.Attributes = e.Attributes[:r.Intn(len(e.Attributes)+1)]
			e.Service = strings.Repeat("é", r.Intn(9))
			e.HTTP.Method = strings.Repeat("m", r.Intn(9))
			e.Level = record.Level(r.Intn(6))
			if r.Intn(3) == 0 {
				e.TimestampNs, e.HTTP.Status, e.HTTP.LatencyNs = 0, 0, 0
			}
			check(e)
			check(record.NewSample(r.Next()))
			check(record.NewTensor(r.Next(), r.Intn(300)))
		}
	})
}

// decodeAny decodes b as rec's type and checks the error kind.
func decodeAny(t *testing.T, c codec.Codec, b []byte, out record.Record) {
	t.Helper()
	err := c.Decode(b, out)
	if err != nil {
		assert.ErrorIs(t, err, codec.ErrMalformed)
		return
	}
	assert.NoError(t, record.Validate(out))
}

// FuzzZeroCopy is the body of a FuzzDecode<Record> target of a zero-copy
// codec, seeded with encodings of typical and edge records: any input fails
// with ErrMalformed or decodes to a valid record; a decoded LogEntry
// re-encodes and ReadString does not panic. prep, when not nil, prepares the
// fuzz input (capnp: a copy with the 8-byte alignment Decode requires).
func FuzzZeroCopy(f *testing.F, c ZeroCopyCodec, ty record.Type, prep func([]byte) []byte) {
	var seeds []record.Record
	switch ty {
	case record.TypeLogEntry:
		seeds = []record.Record{record.NewLogEntry(1), &record.LogEntry{}, EdgeLogEntries()[3], record.NewSample(1)}
	case record.TypeSample:
		seeds = []record.Record{record.NewSample(1), &record.Sample{}, record.NewLogEntry(1)}
	default:
		seeds = []record.Record{record.NewTensor(1, 64), record.NewTensor(2, 0), record.NewTensor(3, 4)}
	}
	for _, rec := range seeds {
		f.Add(EncodeDirty(f, c, rec))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if prep != nil {
			b = prep(b)
		}
		out := record.New(ty)
		if err := c.Decode(b, out); err != nil {
			if !errors.Is(err, codec.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if err := record.Validate(out); err != nil {
			t.Fatal(err)
		}
		if e, ok := out.(*record.LogEntry); ok {
			// A decoded record re-encodes.
			n, err := c.MaxSize(e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Encode(make([]byte, n), e); err != nil {
				t.Fatal(err)
			}
			for f := codec.FieldLogService; f <= codec.FieldTensorName; f++ {
				_, _ = c.ReadString(b, f)
			}
		}
	})
}

// Aligned returns a copy of b that starts 8-byte aligned.
func Aligned(b []byte) []byte {
	w := make([]uint64, (len(b)+7)/8)
	out := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), len(w)*8)[:len(b)]
	copy(out, b)
	return out
}

// zeroCopyBenchRecords are the records of the zero-copy benchmarks.
func zeroCopyBenchRecords() []Case {
	return []Case{
		{"LogEntry", record.NewLogEntry(1)},
		{"Sample", record.NewSample(1)},
		{"Tensor1KiB", record.NewTensor(1, 1024)},
		{"Tensor1MiB", record.NewTensor(1, 1<<20)},
	}
}

// BenchZeroCopyEncode benchmarks Encode of LogEntry, Sample and tensors into
// a reused buffer, and plain, the official runtime's way of building
// LogEntry e, as "LogEntry/plain".
func BenchZeroCopyEncode(b *testing.B, c codec.Codec, plain func(tb testing.TB, e *record.LogEntry)) {
	for _, tc := range zeroCopyBenchRecords() {
		b.Run(tc.Name, func(b *testing.B) {
			n, _ := c.MaxSize(tc.Rec)
			dst := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := c.Encode(dst, tc.Rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("LogEntry/plain", func(b *testing.B) {
		e := record.NewLogEntry(1)
		b.ReportAllocs()
		for b.Loop() {
			plain(b, e)
		}
	})
}

// BenchZeroCopyDecode benchmarks Decode into a reused record, and plain, the
// official runtime's way of reading every field of a LogEntry encoding, as
// "LogEntry/plain".
func BenchZeroCopyDecode(b *testing.B, c codec.Codec, plain func(tb testing.TB, enc []byte)) {
	for _, tc := range zeroCopyBenchRecords() {
		b.Run(tc.Name, func(b *testing.B) {
			enc := EncodeDirty(b, c, tc.Rec)
			out := record.New(tc.Rec.RecordType())
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if err := c.Decode(enc, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("LogEntry/plain", func(b *testing.B) {
		enc := EncodeDirty(b, c, record.NewLogEntry(1))
		b.ReportAllocs()
		for b.Loop() {
			plain(b, enc)
		}
	})
}

// BenchZeroCopyReadString benchmarks ReadString of two LogEntry fields and
// the tensor name, and plainMessage, the official runtime's way of reading
// the message of a LogEntry encoding, as "LogEntry.message/plain".
func BenchZeroCopyReadString(b *testing.B, c ZeroCopyCodec, plainMessage func(enc []byte)) {
	enc := EncodeDirty(b, c, record.NewLogEntry(1))
	for _, f := range []codec.Field{codec.FieldLogMessage, codec.FieldLogHTTPPath} {
		name := map[codec.Field]string{codec.FieldLogMessage: "LogEntry.message", codec.FieldLogHTTPPath: "LogEntry.http.path"}[f]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ReadString(enc, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Tensor.name", func(b *testing.B) {
		enc := EncodeDirty(b, c, record.NewTensor(1, 1024))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.ReadString(enc, codec.FieldTensorName); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LogEntry.message/plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			plainMessage(enc)
		}
	})
}
