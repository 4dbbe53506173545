package bench

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	vmsgpack "github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/proto"

	stdjson "encoding/json"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/codecs/codectest"
	"github.com/crossbuf/crossbuf/go/gen/pbgen"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// ops are one library's operations on one record. A nil operation is a cell
// the library cannot run; missing says why.
type ops struct {
	encode func() ([]byte, error)
	// decode materialises every field as Go values and returns them for check.
	decode func(wire []byte) (any, error)
	// check compares decode's result with the generated record.
	check func(got any) error
	// read reads the one field of read-one-field and returns wantField's value.
	read    func(wire []byte) (int, error)
	wire    []byte // the encoding that decode and read time
	missing map[string]string
}

// lib is one library of one format.
type lib struct {
	format, name string
	prepare      func(tb testing.TB, rec record.Record) *ops
}

// libs lists every library: crossbuf's codecs first, then the baselines.
func libs() []lib {
	var ls []lib
	for _, c := range crossbufCodecs() {
		ls = append(ls, lib{format: c.ID().String(), name: "crossbuf",
			prepare: func(tb testing.TB, rec record.Record) *ops { return crossbufOps(tb, c, rec) }})
	}
	return append(ls,
		lib{"flatbuffers", "flatbuffers-go", fbOps},
		lib{"capnp", "capnp-go", capnpOps},
		lib{"json", "encoding-json", mirrorOps(stdjson.Marshal, stdjson.Unmarshal, nil)},
		lib{"json", "goccy-go-json", mirrorOps(gojson.Marshal, gojson.Unmarshal, nil)},
		lib{"json", "sonic", mirrorOps(sonic.Marshal, sonic.Unmarshal, sonicRead)},
		lib{"msgpack", "vmihailenco-msgpack", mirrorOps(vmsgpack.Marshal, vmsgpack.Unmarshal, nil)},
		lib{"msgpack", "tinylib-msgp", msgpOps},
		lib{"protobuf", "protobuf-go", pbOps(
			func(m proto.Message) ([]byte, error) { return proto.Marshal(m) },
			func(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) })},
		lib{"protobuf", "vtprotobuf", pbOps(
			func(m proto.Message) ([]byte, error) { return m.(interface{ MarshalVT() ([]byte, error) }).MarshalVT() },
			func(b []byte, m proto.Message) error {
				return m.(interface{ UnmarshalVT([]byte) error }).UnmarshalVT(b)
			})},
	)
}

// crossbufOps encodes into region memory with Reserve/Commit, the way the
// library and its C ABI do, and decodes frames in place.
func crossbufOps(tb testing.TB, c codec.Codec, rec record.Record) *ops {
	n, err := c.MaxSize(rec)
	if err != nil {
		tb.Fatal(err)
	}
	// A ring of frames, reset when full, as a producer would use a region:
	// 64 MiB (at least 4 frames), so resets are rare as they are in use.
	frames := max(4, (64<<20)/(n+region.FrameHeaderSize))
	capacity := frames*(n+2*region.FrameHeaderSize) + region.HeaderSize + 4096
	enc, err := region.CreateAnon(capacity)
	if err != nil {
		tb.Fatal(err)
	}
	// Warm pages, as a long-running producer's ring is: a first write to a
	// page costs a fault that would otherwise land in the encode numbers.
	if err := enc.Prefault(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { enc.Close() })
	id, typ := uint16(c.ID()), uint64(rec.RecordType())
	o := &ops{missing: map[string]string{}}
	o.encode = func() ([]byte, error) {
		n, err := c.MaxSize(rec)
		if err != nil {
			return nil, err
		}
		slot, err := enc.Reserve(id, typ, n)
		if errors.Is(err, region.ErrFull) {
			if err = enc.Reset(); err == nil {
				slot, err = enc.Reserve(id, typ, n)
			}
		}
		if err != nil {
			return nil, err
		}
		out, err := c.Encode(slot.Buf, rec)
		if err != nil {
			slot.Abort()
			return nil, err
		}
		f, err := slot.Commit(out)
		return f.Payload, err
	}
	// The decoded wire lives in its own region so encode runs cannot reset it.
	src, err := region.CreateAnon(capacity)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	slot, err := src.Reserve(id, typ, n)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := c.Encode(slot.Buf, rec)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := slot.Commit(out)
	if err != nil {
		tb.Fatal(err)
	}
	o.wire = f.Payload
	dst := record.New(rec.RecordType())
	o.decode = func(w []byte) (any, error) { return dst, c.Decode(w, dst) }
	o.check = func(got any) error {
		if !codectest.Equal(rec, got.(record.Record)) {
			return mismatch("record", rec, got)
		}
		return nil
	}
	fr, ok := c.(codec.FieldReader)
	switch {
	case !ok:
		o.missing["read"] = "codec has no FieldReader"
	case rec.RecordType() == record.TypeSample:
		o.missing["read"] = "codec.FieldReader reads string fields only (Sample.label is int32)"
	default:
		field := readField(rec.RecordType())
		o.read = func(w []byte) (int, error) {
			s, err := fr.ReadString(w, field)
			return len(s), err
		}
	}
	return o
}

// mirrorOps serves the JSON and MessagePack libraries that marshal the
// mirror structs by reflection or JIT. read, if not nil, is the library's own
// partial reader; otherwise read-one-field decodes the whole record.
func mirrorOps(marshal func(any) ([]byte, error), unmarshal func([]byte, any) error,
	read func([]byte, record.Type) (int, error)) func(testing.TB, record.Record) *ops {
	return func(tb testing.TB, rec record.Record) *ops {
		m := Mirror(rec)
		typ := reflect.TypeOf(m).Elem()
		o := &ops{missing: map[string]string{}}
		o.encode = func() ([]byte, error) { return marshal(m) }
		o.decode = func(w []byte) (any, error) {
			out := reflect.New(typ).Interface()
			return out, unmarshal(w, out)
		}
		o.check = func(got any) error {
			if !reflect.DeepEqual(m, got) {
				return mismatch("mirror", m, got)
			}
			return nil
		}
		if read != nil {
			t := rec.RecordType()
			o.read = func(w []byte) (int, error) { return read(w, t) }
		} else {
			o.read = func(w []byte) (int, error) {
				out := reflect.New(typ).Interface()
				if err := unmarshal(w, out); err != nil {
					return 0, err
				}
				return mirrorField(out), nil
			}
		}
		var err error
		if o.wire, err = o.encode(); err != nil {
			tb.Fatal(err)
		}
		return o
	}
}

// mirrorField is wantField of a decoded mirror struct.
func mirrorField(m any) int {
	switch v := m.(type) {
	case *LogEntry:
		return len(v.Message)
	case *Sample:
		return int(v.Label)
	case *Tensor:
		return len(v.Name)
	}
	return -1
}

// sonicRead finds the one field with sonic's lazy searcher, skipping the
// rest without materialising it.
func sonicRead(w []byte, t record.Type) (int, error) {
	switch t {
	case record.TypeSample:
		n, err := sonic.Get(w, "label")
		if err != nil {
			return 0, err
		}
		v, err := n.Int64()
		return int(v), err
	case record.TypeLogEntry, record.TypeTensor:
		key := "message"
		if t == record.TypeTensor {
			key = "name"
		}
		n, err := sonic.Get(w, key)
		if err != nil {
			return 0, err
		}
		s, err := n.String()
		return len(s), err
	}
	return 0, fmt.Errorf("record type %v", t)
}

// msgpMarshaler is what tinylib/msgp generates for the mirror structs.
type msgpMarshaler interface {
	MarshalMsg([]byte) ([]byte, error)
	UnmarshalMsg([]byte) ([]byte, error)
}

// msgpOps uses the code generated by gen.sh (mirror_gen.go).
func msgpOps(tb testing.TB, rec record.Record) *ops {
	return mirrorOps(
		func(m any) ([]byte, error) { return m.(msgpMarshaler).MarshalMsg(nil) },
		func(b []byte, out any) error { _, err := out.(msgpMarshaler).UnmarshalMsg(b); return err },
		nil)(tb, rec)
}

// pbOps serves the two Protobuf libraries: the generated messages are their
// native structs.
func pbOps(marshal func(proto.Message) ([]byte, error), unmarshal func([]byte, proto.Message) error) func(testing.TB, record.Record) *ops {
	return func(tb testing.TB, rec record.Record) *ops {
		m := toPB(rec)
		newMsg := func() proto.Message { return m.ProtoReflect().Type().New().Interface() }
		o := &ops{missing: map[string]string{}}
		o.encode = func() ([]byte, error) { return marshal(m) }
		o.decode = func(w []byte) (any, error) {
			out := newMsg()
			return out, unmarshal(w, out)
		}
		o.check = func(got any) error {
			if back := fromPB(got.(proto.Message)); !codectest.Equal(rec, back) {
				return mismatch("message", rec, back)
			}
			return nil
		}
		o.read = func(w []byte) (int, error) {
			out := newMsg()
			if err := unmarshal(w, out); err != nil {
				return 0, err
			}
			switch v := out.(type) {
			case *pbgen.LogEntry:
				return len(v.Message), nil
			case *pbgen.Sample:
				return int(v.Label), nil
			case *pbgen.Tensor:
				return len(v.Name), nil
			}
			return 0, fmt.Errorf("unexpected %T", out)
		}
		var err error
		if o.wire, err = o.encode(); err != nil {
			tb.Fatal(err)
		}
		return o
	}
}

func toPB(rec record.Record) proto.Message {
	switch r := rec.(type) {
	case *record.LogEntry:
		m := &pbgen.LogEntry{
			TimestampNs: r.TimestampNs, Level: pbgen.Level(r.Level), Service: r.Service, Host: r.Host,
			Message: r.Message, TraceId: append([]byte(nil), r.TraceID[:]...), Tags: append([]string(nil), r.Tags...),
			Http: &pbgen.Http{Method: r.HTTP.Method, Path: r.HTTP.Path, Status: r.HTTP.Status, LatencyNs: r.HTTP.LatencyNs},
		}
		for _, a := range r.Attributes {
			m.Attributes = append(m.Attributes, &pbgen.Attribute{Key: a.Key, Value: a.Value})
		}
		return m
	case *record.Sample:
		return &pbgen.Sample{TimestampNs: r.TimestampNs, Features: append([]float32(nil), r.Features[:]...), Label: r.Label}
	case *record.Tensor:
		return &pbgen.Tensor{Name: r.Name, Dtype: pbgen.DType(r.DType), Shape: append([]int64(nil), r.Shape...),
			Data: append([]byte(nil), r.Data...)}
	}
	return nil
}

func fromPB(m proto.Message) record.Record {
	switch v := m.(type) {
	case *pbgen.LogEntry:
		e := &record.LogEntry{TimestampNs: v.TimestampNs, Level: record.Level(v.Level), Service: v.Service,
			Host: v.Host, Message: v.Message, Tags: v.Tags}
		if copy(e.TraceID[:], v.TraceId) != len(v.TraceId) {
			return nil
		}
		for _, a := range v.Attributes {
			e.Attributes = append(e.Attributes, record.Attribute{Key: a.Key, Value: a.Value})
		}
		if h := v.Http; h != nil {
			e.HTTP = record.HTTP{Method: h.Method, Path: h.Path, Status: h.Status, LatencyNs: h.LatencyNs}
		}
		return e
	case *pbgen.Sample:
		s := &record.Sample{TimestampNs: v.TimestampNs, Label: v.Label}
		if copy(s.Features[:], v.Features) != len(v.Features) {
			return nil
		}
		return s
	case *pbgen.Tensor:
		return &record.Tensor{Name: v.Name, DType: record.DType(v.Dtype), Shape: v.Shape, Data: v.Data}
	}
	return nil
}

// unlimited lifts Cap'n Proto's traversal limit (64 MiB by default) so the
// 64 MB tensor can be read; the benchmarks read trusted bytes they wrote.
const unlimited = math.MaxUint64
