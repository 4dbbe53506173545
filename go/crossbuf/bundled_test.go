package crossbuf_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/codec/msgpack"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// The bundled records are an ordinary schema: schemas/crossbuf.{fbs,capnp}
// load through the engine, which reads what the hand-written codecs write.

func bundled(t testing.TB, format schema.Format) *schema.Type {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	var s *schema.Schema
	var err error
	switch format {
	case schema.FlatBuffers:
		if _, e := exec.LookPath("flatc"); e != nil {
			t.Skip("flatc not installed (./build.sh test installs it)")
		}
		s, err = schema.CompileFBS(filepath.Join(root, "schemas", "crossbuf.fbs"), nil)
	default:
		if _, e := exec.LookPath("capnp"); e != nil {
			t.Skip("capnp not installed (./build.sh test installs it)")
		}
		std, e := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "capnproto.org/go/capnp/v3").Output()
		require.NoError(t, e)
		s, err = schema.CompileCapnp(filepath.Join(root, "schemas", "crossbuf.capnp"),
			&schema.CompileOptions{ImportPaths: []string{filepath.Join(string(std[:len(std)-1]), "std")}})
	}
	require.NoError(t, err)
	name := "crossbuf_fb.LogEntry"
	if format == schema.CapnProto {
		name = "LogEntry"
	}
	ty, err := s.Type(name)
	require.NoError(t, err)
	return ty
}

func TestBundledLogEntryThroughTheEngine(t *testing.T) {
	for _, c := range []struct {
		format schema.Format
		id     codec.ID
		fields map[string]string // record field -> path
	}{
		{schema.FlatBuffers, codec.FlatBuffers, map[string]string{"message": "message", "path": "http.path", "key": "attributes[1].key"}},
		{schema.CapnProto, codec.CapnProto, map[string]string{"message": "message", "path": "http.path", "key": "attributes[1].key"}},
	} {
		t.Run(c.format.String(), func(t *testing.T) {
			ty := bundled(t, c.format)
			hand, err := codec.Lookup(c.id)
			require.NoError(t, err)
			for seed := uint64(0); seed < 20; seed++ {
				rec := record.NewLogEntry(seed)
				msg := encodeWith(t, hand, rec)
				require.NoError(t, ty.Verify(msg, nil))
				v, err := ty.Decode(msg, nil)
				require.NoError(t, err)
				assert.Equal(t, rec.Message, v.Get("message").Str())
				assert.Equal(t, rec.Service, v.Get("service").Str())
				assert.Equal(t, rec.TimestampNs, v.Get(map[schema.Format]string{schema.FlatBuffers: "timestamp_ns", schema.CapnProto: "timestampNs"}[c.format]).Int())
				attrs := v.Get("attributes")
				require.Equal(t, len(rec.Attributes), attrs.Len())
				for i, a := range rec.Attributes {
					assert.Equal(t, a.Key, attrs.Index(i).Record().Get("key").Str())
				}
				for field, p := range c.fields {
					path, err := ty.Path(p)
					require.NoError(t, err)
					got, err := path.ReadString(msg)
					if field == "key" && len(rec.Attributes) < 2 {
						assert.ErrorIs(t, err, schema.ErrAbsent)
						continue
					}
					require.NoError(t, err, p)
					want := map[string]string{"message": rec.Message, "path": rec.HTTP.Path}[field]
					if field == "key" {
						want = rec.Attributes[1].Key
					}
					assert.Equal(t, want, got, p)
				}
			}
		})
	}
}

func encodeWith(t testing.TB, c codec.Codec, rec record.Record) []byte {
	n, err := c.MaxSize(rec)
	require.NoError(t, err)
	out, err := c.Encode(make([]byte, n), rec)
	require.NoError(t, err)
	return out
}

// engineFormats pairs each engine format with its hand-written codec.
var engineFormats = []struct {
	format schema.Format
	id     codec.ID
}{{schema.FlatBuffers, codec.FlatBuffers}, {schema.CapnProto, codec.CapnProto}}

// Read one field and decode the whole LogEntry, hand-written against the
// engine, on the same bytes (the 1.5x target: see the results).
func BenchmarkBundledLogEntry(b *testing.B) {
	for _, f := range engineFormats {
		ty := bundled(b, f.format)
		hand, err := codec.Lookup(f.id)
		require.NoError(b, err)
		msg := encodeWith(b, hand, record.NewLogEntry(1))
		path, err := ty.Path("message")
		require.NoError(b, err)
		reader := hand.(codec.FieldReader)
		b.Run(f.format.String()+"/read-one-field/handwritten", func(b *testing.B) {
			for b.Loop() {
				if _, err := reader.ReadString(msg, codec.FieldLogMessage); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.format.String()+"/read-one-field/engine-path", func(b *testing.B) {
			for b.Loop() {
				if _, err := path.Bytes(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.format.String()+"/decode-full/handwritten-fresh", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := hand.Decode(msg, new(record.LogEntry)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.format.String()+"/msgpack/engine", func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				if out, err = ty.AppendMsgPack(out[:0], msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Encoding what Python hands over (MessagePack of the record) into a
		// region frame: the road xb_schema_encode takes, and the dynamic
		// value it took before (ValueFromMsgPack, then the encoder).
		mp, err := ty.MsgPack(msg, nil)
		require.NoError(b, err)
		r, err := region.CreateAnon(1 << 22)
		require.NoError(b, err)
		defer r.Close()
		for _, road := range []struct {
			name   string
			encode func() (region.Frame, error)
		}{
			{"engine", func() (region.Frame, error) { return dynamic.AppendMsgPack(r, ty, mp) }},
			{"dynamic-value", func() (region.Frame, error) {
				v, err := schema.ValueFromMsgPack(mp)
				if err != nil {
					return region.Frame{}, err
				}
				return dynamic.AppendValue(r, ty, v)
			}},
		} {
			b.Run(f.format.String()+"/encode-from-msgpack/"+road.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := road.encode(); err != nil {
						require.ErrorIs(b, err, region.ErrFull)
						require.NoError(b, r.Reset())
					}
				}
			})
		}
		b.Run(f.format.String()+"/decode-full/engine-dynamic", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ty.Decode(msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The Go side of encoding one bundled record handed over as MessagePack
// (what xb_encode does per record, and so region.encode in Python): decode
// it aliasing the input, check its strings' UTF-8, encode it into a region
// frame.
func BenchmarkEncodeFromMessagePack(b *testing.B) {
	rec := record.NewLogEntry(7)
	mp := msgpack.New()
	in := encodeWith(b, mp, rec)
	var got record.LogEntry
	require.NoError(b, mp.DecodeAliased(in, &got))
	b.Run("msgpack-decode-aliased", func(b *testing.B) {
		for b.Loop() {
			if err := mp.DecodeAliased(in, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check-utf8", func(b *testing.B) {
		for b.Loop() {
			if err := record.CheckUTF8(&got); err != nil {
				b.Fatal(err)
			}
		}
	})
	r, err := region.CreateAnon(1 << 22)
	require.NoError(b, err)
	defer r.Close()
	fb, err := codec.Lookup(codec.FlatBuffers)
	require.NoError(b, err)
	b.Run("append-flatbuffers", func(b *testing.B) {
		for b.Loop() {
			if _, err := crossbuf.Append(r, fb, &got); err != nil {
				require.ErrorIs(b, err, region.ErrFull)
				require.NoError(b, r.Reset()) // a warm region, as the Python timing uses
			}
		}
	})
}
