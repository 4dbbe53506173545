package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/bytedance/sonic"
	sonicenc "github.com/bytedance/sonic/encoder"
	gojson "github.com/goccy/go-json"
	vmsgpack "github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/proto"

	stdjson "encoding/json"

	"github.com/crossbuf/crossbuf/bench/go/vtpb"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/internal/codectest"
)

// Variant names. A target compares crossbuf with an opponent only in the
// same variant (bench/report.py):
//
//	encode  fresh         the output is new memory on every call (proto.Marshal, a new Builder)
//	        reuse         the output goes into memory reused across calls (MarshalAppend(buf[:0]),
//	                      Builder.Reset, crossbuf's prefaulted region ring)
//	decode  fresh         a new destination per call, strings copied
//	        reuse         the destination is reused (or pooled), strings copied
//	        fresh-unsafe  a new destination per call, strings alias the input
//	        reuse-unsafe  a reused (or pooled) destination, strings alias the input
//	read    in-place      the field is read where it lies, nothing else decoded
//	        lazy          a lazy search that skips the rest without materialising it
//	        full-decode   the whole record is decoded (fresh) and the field taken
const (
	vFresh       = "fresh"
	vReuse       = "reuse"
	vFreshUnsafe = "fresh-unsafe"
	vReuseUnsafe = "reuse-unsafe"
	vInPlace     = "in-place"
	vLazy        = "lazy"
	vFullDecode  = "full-decode"
)

type encVariant struct {
	name string
	fn   func(i int) ([]byte, error) // encodes the pool's record i
}

type decVariant struct {
	name string
	fn   func(wire []byte) (any, error) // the result stays valid until the next call
}

// ops are one library's operations on one pool of records.
type ops struct {
	encodes []encVariant
	// decodes materialise every field as Go values; check compares one with
	// the generated record. decodes[0] is the one verify decodes encodings with.
	decodes     []decVariant
	check       func(want record.Record, got any) error
	read        func(wire []byte) (int, error) // wantField's value, or nil: missingRead says why
	readVariant string
	missingRead string
	wires       [][]byte // the pool encoded once, what decode and read time
}

// lib is one library of one format.
type lib struct {
	format, name string
	single       bool // also timed on the single-record data variant
	prepare      func(tb testing.TB, pool []record.Record) *ops
}

// libs lists every library: crossbuf's codecs first, then the baselines.
func libs() []lib {
	var ls []lib
	for _, c := range crossbufCodecs() {
		ls = append(ls, lib{format: c.ID().String(), name: "crossbuf", single: c.ZeroCopy(),
			prepare: func(tb testing.TB, pool []record.Record) *ops { return crossbufOps(tb, c, pool) }})
	}
	return append(ls,
		lib{"flatbuffers", "flatbuffers-go", true, fbOps},
		lib{"capnp", "capnp-go", true, capnpOps},
		lib{"json", "encoding-json", false, mirrorOps(stdjson.Marshal, stdjson.Unmarshal, stdEncoder(func(b *bytes.Buffer) func(any) error {
			return stdjson.NewEncoder(b).Encode
		}), false, nil)},
		lib{"json", "goccy-go-json", false, mirrorOps(gojson.Marshal, gojson.Unmarshal, stdEncoder(func(b *bytes.Buffer) func(any) error {
			return gojson.NewEncoder(b).Encode
		}), false, nil)},
		// sonic's default config makes strings alias the input; the fresh
		// variant asks it to copy them, as the other libraries do.
		lib{"json", "sonic", false, withAliasing(mirrorOps(sonic.Marshal, sonicCopy.Unmarshal, sonicReuse, false, sonicRead),
			sonic.ConfigDefault.Unmarshal)},
		lib{"msgpack", "vmihailenco-msgpack", false, mirrorOps(vmsgpack.Marshal, vmsgpack.Unmarshal, stdEncoder(func(b *bytes.Buffer) func(any) error {
			return vmsgpack.NewEncoder(b).Encode
		}), false, nil)},
		lib{"msgpack", "tinylib-msgp", false, mirrorOps(
			func(m any) ([]byte, error) { return m.(msgpMarshaler).MarshalMsg(nil) },
			func(b []byte, out any) error { _, err := out.(msgpMarshaler).UnmarshalMsg(b); return err },
			msgpReuse, true, nil)},
		lib{"protobuf", "protobuf-go", true, protobufGoOps},
		lib{"protobuf", "vtprotobuf", true, vtprotobufOps},
	)
}

// crossbufOps encodes into region memory with Reserve/Commit, the way the
// library and its C ABI do, and decodes frames in place.
func crossbufOps(tb testing.TB, c codec.Codec, pool []record.Record) *ops {
	maxN, total := 0, 0
	for _, rec := range pool {
		n, err := c.MaxSize(rec)
		if err != nil {
			tb.Fatal(err)
		}
		maxN, total = max(maxN, n), total+n+2*region.FrameHeaderSize
	}
	typ := uint64(pool[0].RecordType())
	id := c.ID()
	// The pool's frames live in their own region, so encode runs cannot reset it.
	src, err := region.CreateAnon(total + region.HeaderSize + 4096)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	o := &ops{check: checkRecord}
	for _, rec := range pool {
		n, _ := c.MaxSize(rec)
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
		o.wires = append(o.wires, f.Payload)
	}
	// reuse: a ring of frames, reset when full, as a producer uses a region:
	// 64 MiB (at least 4 frames), prefaulted as a long-running producer's is.
	frames := max(4, (64<<20)/(maxN+region.FrameHeaderSize))
	ring, err := region.CreateAnon(frames*(maxN+2*region.FrameHeaderSize) + region.HeaderSize + 4096)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ring.Close() })
	if err := ring.Prefault(); err != nil {
		tb.Fatal(err)
	}
	o.encodes = append(o.encodes, encVariant{vReuse, func(i int) ([]byte, error) {
		rec := pool[i]
		n, err := c.MaxSize(rec)
		if err != nil {
			return nil, err
		}
		slot, err := ring.Reserve(id, typ, n)
		if errors.Is(err, region.ErrFull) {
			if err = ring.Reset(); err == nil {
				slot, err = ring.Reserve(id, typ, n)
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
	}})
	dst := record.New(pool[0].RecordType())
	if c.ZeroCopy() {
		// fresh: a new Go buffer per record, as proto.Marshal returns one.
		o.encodes = append(o.encodes, encVariant{vFresh, func(i int) ([]byte, error) {
			n, err := c.MaxSize(pool[i])
			if err != nil {
				return nil, err
			}
			return c.Encode(make([]byte, n), pool[i])
		}})
		o.decodes = []decVariant{
			{vFreshUnsafe, func(w []byte) (any, error) {
				out := record.New(pool[0].RecordType())
				return out, c.Decode(w, out)
			}},
			{vReuseUnsafe, func(w []byte) (any, error) { return dst, c.Decode(w, dst) }},
		}
	} else {
		o.decodes = []decVariant{{vReuse, func(w []byte) (any, error) { return dst, c.Decode(w, dst) }}}
	}
	fr, ok := c.(codec.FieldReader)
	switch {
	case !ok:
		o.missingRead = "codec has no FieldReader"
	case pool[0].RecordType() == record.TypeSample:
		o.missingRead = "codec.FieldReader reads string fields only (Sample.label is int32)"
	default:
		field := readField(pool[0].RecordType())
		o.readVariant = vInPlace
		o.read = func(w []byte) (int, error) {
			s, err := fr.ReadString(w, field)
			return len(s), err
		}
	}
	if o.readVariant == "" {
		o.readVariant = vInPlace
	}
	return o
}

func checkRecord(want record.Record, got any) error {
	if !codectest.Equal(want, got.(record.Record)) {
		return mismatch("record", want, got)
	}
	return nil
}

// stdEncoder makes a reuse encoder from a streaming Encoder writing into a
// bytes.Buffer that is reset before every record.
func stdEncoder(newEnc func(*bytes.Buffer) func(any) error) func([]any) func(int) ([]byte, error) {
	return func(ms []any) func(int) ([]byte, error) {
		var buf bytes.Buffer
		enc := newEnc(&buf)
		return func(i int) ([]byte, error) {
			buf.Reset()
			err := enc(ms[i])
			return buf.Bytes(), err
		}
	}
}

var sonicCopy = sonic.Config{CopyString: true}.Froze()

// withAliasing adds a fresh-unsafe decode (strings alias the input) to a
// mirror library.
func withAliasing(prepare func(testing.TB, []record.Record) *ops, unmarshal func([]byte, any) error) func(testing.TB, []record.Record) *ops {
	return func(tb testing.TB, pool []record.Record) *ops {
		o := prepare(tb, pool)
		typ := reflect.TypeOf(Mirror(pool[0])).Elem()
		o.decodes = append(o.decodes, decVariant{vFreshUnsafe, func(w []byte) (any, error) {
			out := reflect.New(typ).Interface()
			return out, unmarshal(w, out)
		}})
		return o
	}
}

// sonicReuse appends into one reused slice.
func sonicReuse(ms []any) func(int) ([]byte, error) {
	var buf []byte
	return func(i int) ([]byte, error) {
		buf = buf[:0]
		err := sonicenc.EncodeInto(&buf, ms[i], 0)
		return buf, err
	}
}

// msgpMarshaler is what tinylib/msgp generates for the mirror structs.
type msgpMarshaler interface {
	MarshalMsg([]byte) ([]byte, error)
	UnmarshalMsg([]byte) ([]byte, error)
}

func msgpReuse(ms []any) func(int) ([]byte, error) {
	var buf []byte
	return func(i int) (out []byte, err error) {
		buf, err = ms[i].(msgpMarshaler).MarshalMsg(buf[:0])
		return buf, err
	}
}

// mirrorOps serves the JSON and MessagePack libraries that marshal the
// mirror structs. reuse builds the reuse encoder; decodeReuse adds a decode
// into one reused struct (for libraries that clear what they reuse); read,
// if not nil, is the library's own partial reader.
func mirrorOps(marshal func(any) ([]byte, error), unmarshal func([]byte, any) error,
	reuse func([]any) func(int) ([]byte, error), decodeReuse bool,
	read func([]byte, record.Type) (int, error)) func(testing.TB, []record.Record) *ops {
	return func(tb testing.TB, pool []record.Record) *ops {
		ms := make([]any, len(pool))
		for i, rec := range pool {
			ms[i] = Mirror(rec)
		}
		typ := reflect.TypeOf(ms[0]).Elem()
		o := &ops{
			encodes: []encVariant{
				{vFresh, func(i int) ([]byte, error) { return marshal(ms[i]) }},
				{vReuse, reuse(ms)},
			},
			decodes: []decVariant{{vFresh, func(w []byte) (any, error) {
				out := reflect.New(typ).Interface()
				return out, unmarshal(w, out)
			}}},
			check: func(want record.Record, got any) error {
				if m := Mirror(want); !reflect.DeepEqual(m, got) {
					return mismatch("mirror", m, got)
				}
				return nil
			},
		}
		if decodeReuse {
			dst := reflect.New(typ).Interface()
			o.decodes = append(o.decodes, decVariant{vReuse, func(w []byte) (any, error) { return dst, unmarshal(w, dst) }})
		}
		if read != nil {
			t := pool[0].RecordType()
			o.read, o.readVariant = func(w []byte) (int, error) { return read(w, t) }, vLazy
		} else {
			o.read, o.readVariant = func(w []byte) (int, error) {
				out := reflect.New(typ).Interface()
				if err := unmarshal(w, out); err != nil {
					return 0, err
				}
				return mirrorField(out), nil
			}, vFullDecode
		}
		for i := range ms {
			w, err := marshal(ms[i])
			if err != nil {
				tb.Fatal(err)
			}
			o.wires = append(o.wires, w)
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

// vtMessage is what protoc-gen-go-vtproto generates for every message of
// bench/go/vtpb (features marshal, unmarshal, unmarshal_unsafe, size, pool).
type vtMessage interface {
	proto.Message
	MarshalVT() ([]byte, error)
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
	UnmarshalVT([]byte) error
	UnmarshalVTUnsafe([]byte) error
	ResetVT()
	ReturnToVTPool()
}

// pbPool is the pool's Protobuf messages and wires, shared by both libraries.
func pbPool(tb testing.TB, pool []record.Record) ([]vtMessage, *ops) {
	ms := make([]vtMessage, len(pool))
	o := &ops{check: func(want record.Record, got any) error {
		if back := fromPB(got.(proto.Message)); !codectest.Equal(want, back) {
			return mismatch("message", want, back)
		}
		return nil
	}}
	for i, rec := range pool {
		ms[i] = toPB(rec)
		w, err := proto.Marshal(ms[i])
		if err != nil {
			tb.Fatal(err)
		}
		o.wires = append(o.wires, w)
	}
	newMsg := func() vtMessage { return ms[0].ProtoReflect().Type().New().Interface().(vtMessage) }
	o.read, o.readVariant = func(w []byte) (int, error) {
		out := newMsg()
		if err := proto.Unmarshal(w, out); err != nil {
			return 0, err
		}
		return pbField(out), nil
	}, vFullDecode
	return ms, o
}

func protobufGoOps(tb testing.TB, pool []record.Record) *ops {
	ms, o := pbPool(tb, pool)
	var buf []byte
	o.encodes = []encVariant{
		{vFresh, func(i int) ([]byte, error) { return proto.Marshal(ms[i]) }},
		{vReuse, func(i int) (out []byte, err error) {
			buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], ms[i])
			return buf, err
		}},
	}
	o.decodes = []decVariant{{vFresh, func(w []byte) (any, error) {
		out := ms[0].ProtoReflect().Type().New().Interface()
		return out, proto.Unmarshal(w, out)
	}}}
	return o
}

func vtprotobufOps(tb testing.TB, pool []record.Record) *ops {
	ms, o := pbPool(tb, pool)
	var buf []byte
	o.encodes = []encVariant{
		{vFresh, func(i int) ([]byte, error) { return ms[i].MarshalVT() }},
		{vReuse, func(i int) ([]byte, error) {
			n := ms[i].SizeVT()
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			k, err := ms[i].MarshalToSizedBufferVT(buf[:n])
			return buf[n-k : n], err
		}},
	}
	t := pool[0].RecordType()
	fresh := func() vtMessage { return ms[0].ProtoReflect().Type().New().Interface().(vtMessage) }
	// reuse: a message from the vtprotobuf pool, returned to it at the next
	// call, so what a call returns stays valid until then (verify checks it).
	var last vtMessage
	pooled := func(w []byte) (any, error) {
		if last != nil {
			last.ReturnToVTPool()
		}
		last = vtFromPool(t)
		return last, last.UnmarshalVT(w)
	}
	// reuse-unsafe: one message of its own, reset with ResetVT. Not the pool:
	// a pooled message whose bytes field aliases one input keeps that slice,
	// and a later safe UnmarshalVT of it would append into the input.
	own := fresh()
	reused := func(w []byte) (any, error) {
		own.ResetVT()
		return own, own.UnmarshalVTUnsafe(w)
	}
	o.decodes = []decVariant{
		{vFresh, func(w []byte) (any, error) { m := fresh(); return m, m.UnmarshalVT(w) }},
		{vFreshUnsafe, func(w []byte) (any, error) { m := fresh(); return m, m.UnmarshalVTUnsafe(w) }},
		{vReuse, pooled},
		{vReuseUnsafe, reused},
	}
	return o
}

func vtFromPool(t record.Type) vtMessage {
	switch t {
	case record.TypeLogEntry:
		return vtpb.LogEntryFromVTPool()
	case record.TypeSample:
		return vtpb.SampleFromVTPool()
	}
	return vtpb.TensorFromVTPool()
}

func pbField(m proto.Message) int {
	switch v := m.(type) {
	case *vtpb.LogEntry:
		return len(v.Message)
	case *vtpb.Sample:
		return int(v.Label)
	case *vtpb.Tensor:
		return len(v.Name)
	}
	return -1
}

func toPB(rec record.Record) vtMessage {
	switch r := rec.(type) {
	case *record.LogEntry:
		m := &vtpb.LogEntry{
			TimestampNs: r.TimestampNs, Level: vtpb.Level(r.Level), Service: r.Service, Host: r.Host,
			Message: r.Message, TraceId: append([]byte(nil), r.TraceID[:]...), Tags: append([]string(nil), r.Tags...),
			Http: &vtpb.Http{Method: r.HTTP.Method, Path: r.HTTP.Path, Status: r.HTTP.Status, LatencyNs: r.HTTP.LatencyNs},
		}
		for _, a := range r.Attributes {
			m.Attributes = append(m.Attributes, &vtpb.Attribute{Key: a.Key, Value: a.Value})
		}
		return m
	case *record.Sample:
		return &vtpb.Sample{TimestampNs: r.TimestampNs, Features: append([]float32(nil), r.Features[:]...), Label: r.Label}
	case *record.Tensor:
		return &vtpb.Tensor{Name: r.Name, Dtype: vtpb.DType(r.DType), Shape: append([]int64(nil), r.Shape...),
			Data: append([]byte(nil), r.Data...)}
	}
	return nil
}

func fromPB(m proto.Message) record.Record {
	switch v := m.(type) {
	case *vtpb.LogEntry:
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
	case *vtpb.Sample:
		s := &record.Sample{TimestampNs: v.TimestampNs, Label: v.Label}
		if copy(s.Features[:], v.Features) != len(v.Features) {
			return nil
		}
		return s
	case *vtpb.Tensor:
		return &record.Tensor{Name: v.Name, DType: record.DType(v.Dtype), Shape: v.Shape, Data: v.Data}
	}
	return nil
}

// unlimited lifts Cap'n Proto's traversal limit (64 MiB by default) so the
// 64 MB tensor can be read; the benchmarks read trusted bytes they wrote.
const unlimited = math.MaxUint64
