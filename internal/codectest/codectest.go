// Package codectest holds the behaviour tests, fuzz bodies and benchmarks
// that every codec shares, so each format package runs the same contract.
package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// TensorSizes are the tensor data sizes every codec round-trips.
var TensorSizes = []int{0, 4, 1024, 1 << 20}

// MaxSeed is the last generator seed the round-trip tests use.
const MaxSeed = 50

// Case is one named test record.
type Case struct {
	Name string
	Rec  record.Record
}

// Records returns every generated record of seeds 0..MaxSeed and the tensors
// of TensorSizes.
func Records() []Case {
	var cs []Case
	for s := uint64(0); s <= MaxSeed; s++ {
		cs = append(cs,
			Case{fmt.Sprintf("LogEntry/%d", s), record.NewLogEntry(s)},
			Case{fmt.Sprintf("Sample/%d", s), record.NewSample(s)},
			Case{fmt.Sprintf("Tensor/%d", s), record.NewTensor(s, 64)},
		)
	}
	for _, n := range TensorSizes {
		cs = append(cs, Case{fmt.Sprintf("Tensor/%dB", n), record.NewTensor(7, n)})
	}
	return cs
}

// Encode encodes rec into a fresh buffer of MaxSize bytes.
func Encode(tb testing.TB, c codec.Codec, rec record.Record) []byte {
	tb.Helper()
	n, err := c.MaxSize(rec)
	require.NoError(tb, err)
	dst := make([]byte, n)
	b, err := c.Encode(dst, rec)
	require.NoError(tb, err)
	require.LessOrEqual(tb, len(b), n, "encoding exceeds MaxSize")
	return b
}

// Equal reports whether two records hold the same values, treating nil and
// empty slices alike and comparing floats by bits (so NaN equals itself).
func Equal(a, b record.Record) bool {
	switch x := a.(type) {
	case *record.LogEntry:
		y, ok := b.(*record.LogEntry)
		if !ok || x.TimestampNs != y.TimestampNs || x.Level != y.Level || x.Service != y.Service ||
			x.Host != y.Host || x.Message != y.Message || x.TraceID != y.TraceID || x.HTTP != y.HTTP ||
			len(x.Tags) != len(y.Tags) || len(x.Attributes) != len(y.Attributes) {
			return false
		}
		for i := range x.Tags {
			if x.Tags[i] != y.Tags[i] {
				return false
			}
		}
		for i := range x.Attributes {
			if x.Attributes[i] != y.Attributes[i] {
				return false
			}
		}
		return true
	case *record.Sample:
		y, ok := b.(*record.Sample)
		if !ok || x.TimestampNs != y.TimestampNs || x.Label != y.Label {
			return false
		}
		for i := range x.Features {
			if math.Float32bits(x.Features[i]) != math.Float32bits(y.Features[i]) {
				return false
			}
		}
		return true
	case *record.Tensor:
		y, ok := b.(*record.Tensor)
		if !ok || x.Name != y.Name || x.DType != y.DType || len(x.Shape) != len(y.Shape) || !bytes.Equal(x.Data, y.Data) {
			return false
		}
		for i := range x.Shape {
			if x.Shape[i] != y.Shape[i] {
				return false
			}
		}
		return true
	}
	return false
}

// RequireEqual fails the test unless Equal(want, got).
func RequireEqual(tb testing.TB, want, got record.Record) {
	tb.Helper()
	if !Equal(want, got) {
		require.Equal(tb, want, got) // prints the difference
		tb.Fatalf("records differ")
	}
}

// ReadField returns field from a decoded record, for comparing ReadString.
func ReadField(rec record.Record, f codec.Field) (string, bool) {
	switch r := rec.(type) {
	case *record.LogEntry:
		switch f {
		case codec.FieldLogService:
			return r.Service, true
		case codec.FieldLogHost:
			return r.Host, true
		case codec.FieldLogMessage:
			return r.Message, true
		case codec.FieldLogHTTPMethod:
			return r.HTTP.Method, true
		case codec.FieldLogHTTPPath:
			return r.HTTP.Path, true
		}
	case *record.Tensor:
		if f == codec.FieldTensorName {
			return r.Name, true
		}
	}
	return "", false
}

// AllFields lists every readable string field.
var AllFields = []codec.Field{
	codec.FieldLogService, codec.FieldLogHost, codec.FieldLogMessage,
	codec.FieldLogHTTPMethod, codec.FieldLogHTTPPath, codec.FieldTensorName,
}

// RoundTrip checks the codec contract on every record of Records: MaxSize is
// respected, Decode restores the record (also into a reused record), a dst
// one byte short is ErrShortBuffer, and ReadString matches Decode.
func RoundTrip(t *testing.T, c codec.Codec) {
	reused := map[record.Type]record.Record{}
	for _, tc := range Records() {
		t.Run(tc.Name, func(t *testing.T) {
			rec := tc.Rec
			b := Encode(t, c, rec)

			out := record.New(rec.RecordType())
			require.NoError(t, c.Decode(b, out))
			RequireEqual(t, rec, out)

			// Decoding into a record that already holds another one.
			r, ok := reused[rec.RecordType()]
			if !ok {
				r = record.New(rec.RecordType())
				reused[rec.RecordType()] = r
			}
			require.NoError(t, c.Decode(b, r))
			RequireEqual(t, rec, r)

			if len(b) > 0 {
				_, err := c.Encode(make([]byte, len(b)-1), rec)
				require.ErrorIs(t, err, codec.ErrShortBuffer)
			}

			if fr, ok := c.(codec.FieldReader); ok {
				for _, f := range AllFields {
					want, ok := ReadField(out, f)
					if !ok {
						continue
					}
					got, err := fr.ReadString(b, f)
					require.NoError(t, err)
					require.Equal(t, want, got)
				}
			}
		})
	}
}

// RequireMalformed fails unless err is nil (when allowNil) or wraps
// codec.ErrMalformed.
func RequireMalformed(tb testing.TB, err error, allowNil bool) {
	tb.Helper()
	if err == nil {
		if !allowNil {
			tb.Fatalf("malformed input decoded without error")
		}
		return
	}
	if !errors.Is(err, codec.ErrMalformed) {
		tb.Fatalf("error does not wrap ErrMalformed: %v", err)
	}
}

// Truncations decodes every proper prefix of a real encoding of each record
// type. When mustFail, every prefix must be an ErrMalformed error (formats
// with length-prefixed or delimited records); otherwise a prefix may decode
// (protobuf: a prefix that ends on a field boundary is a valid message).
func Truncations(t *testing.T, c codec.Codec, mustFail bool) {
	for _, rec := range []record.Record{record.NewLogEntry(3), record.NewSample(3), record.NewTensor(3, 1024)} {
		b := Encode(t, c, rec)
		for n := 0; n < len(b); n++ {
			out := record.New(rec.RecordType())
			err := c.Decode(bytes.Clone(b[:n]), out)
			if err == nil && mustFail {
				t.Fatalf("%s truncated to %d of %d bytes decoded", rec.RecordType(), n, len(b))
			}
			RequireMalformed(t, err, true)
		}
	}
}

// Garbage decodes random bytes and random single-byte corruptions of real
// encodings: every outcome is nil or ErrMalformed, never a panic.
func Garbage(t *testing.T, c codec.Codec) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rec := range []record.Record{record.NewLogEntry(4), record.NewSample(4), record.NewTensor(4, 256)} {
		b := Encode(t, c, rec)
		for i := 0; i < 2000; i++ {
			g := make([]byte, rng.IntN(64))
			for j := range g {
				g[j] = byte(rng.Uint32())
			}
			RequireMalformed(t, c.Decode(g, record.New(rec.RecordType())), true)

			m := bytes.Clone(b)
			for k := 0; k < 1+rng.IntN(3); k++ {
				m[rng.IntN(len(m))] = byte(rng.Uint32())
			}
			out := record.New(rec.RecordType())
			if err := c.Decode(m, out); err != nil {
				RequireMalformed(t, err, false)
			} else {
				require.NoError(t, record.Validate(out))
			}
		}
	}
}

// Fuzz is the body of a FuzzDecode<Record> target: it seeds the corpus with
// real encodings and checks that any input either fails with ErrMalformed or
// decodes to a valid record that re-encodes and decodes to the same values.
func Fuzz(f *testing.F, c codec.Codec, typ record.Type) {
	for s := uint64(0); s < 4; s++ {
		var rec record.Record
		switch typ {
		case record.TypeLogEntry:
			rec = record.NewLogEntry(s)
		case record.TypeSample:
			rec = record.NewSample(s)
		default:
			rec = record.NewTensor(s, int(16*s))
		}
		f.Add(Encode(f, c, rec))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := record.New(typ)
		if err := c.Decode(b, out); err != nil {
			RequireMalformed(t, err, false)
			return
		}
		require.NoError(t, record.Validate(out))
		again := Encode(t, c, out)
		back := record.New(typ)
		require.NoError(t, c.Decode(again, back))
		RequireEqual(t, out, back)
	})
}

// BenchEncode benchmarks Encode of rec into a reused buffer.
func BenchEncode(b *testing.B, c codec.Codec, rec record.Record) {
	n, err := c.MaxSize(rec)
	require.NoError(b, err)
	dst := make([]byte, n)
	enc, err := c.Encode(dst, rec)
	require.NoError(b, err)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Encode(dst, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchEncodeWithSize benchmarks MaxSize followed by Encode, what a region
// writer does per record.
func BenchEncodeWithSize(b *testing.B, c codec.Codec, rec record.Record) {
	n, err := c.MaxSize(rec)
	require.NoError(b, err)
	dst := make([]byte, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := c.MaxSize(rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Encode(dst[:n], rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchDecode benchmarks Decode of rec's encoding into a reused record.
func BenchDecode(b *testing.B, c codec.Codec, rec record.Record) {
	enc := Encode(b, c, rec)
	out := record.New(rec.RecordType())
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.Decode(enc, out); err != nil {
			b.Fatal(err)
		}
	}
}

// Bench runs Encode, EncodeWithSize and Decode benchmarks of the standard
// records (LogEntry, Sample and a 64 KiB Tensor, seed 1).
func Bench(b *testing.B, c codec.Codec) {
	recs := []Case{
		{"LogEntry", record.NewLogEntry(1)},
		{"Sample", record.NewSample(1)},
		{"Tensor64K", record.NewTensor(1, 64<<10)},
	}
	for _, r := range recs {
		b.Run("Encode/"+r.Name, func(b *testing.B) { BenchEncode(b, c, r.Rec) })
	}
	for _, r := range recs {
		b.Run("EncodeWithSize/"+r.Name, func(b *testing.B) { BenchEncodeWithSize(b, c, r.Rec) })
	}
	for _, r := range recs {
		b.Run("Decode/"+r.Name, func(b *testing.B) { BenchDecode(b, c, r.Rec) })
	}
}
