package bench

import (
	stdjson "encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"
	vmsgpack "github.com/vmihailenco/msgpack/v5"

	"github.com/crossbuf/crossbuf/go/schema"
	"github.com/crossbuf/crossbuf/go/schema/protobuf"
)

// BenchmarkSchemas times a user's own message type, loaded at run time by
// crossbuf's schema engine, with names in BenchmarkCodecs' key=value form:
//
//	BenchmarkSchemas/record=R/format=F/lib=L/op=O/variant=V/data=pool
//
// XB_BENCH_SCHEMAS is a comma list of pool files that bench/run.py writes
// (MessagePack maps): the schema file, its import paths, the type, the path
// read-one-field reads, and the records encoded by the format's official
// tools (flatc, pycapnp), which decode, verify, read and the transcodes time. Optional twins: another zero-copy
// schema of the same record (crossbuf both ways) and a Protobuf
// FileDescriptorSet (dynamicpb, schema at run time like every opponent
// here: their libs say -dynamic).
//
// Every encoding starts from the same dynamic values, crossbuf's Decode of
// the official messages; every decode ends as dynamic values (maps).
func BenchmarkSchemas(b *testing.B) {
	files := os.Getenv("XB_BENCH_SCHEMAS")
	if files == "" {
		b.Skip("XB_BENCH_SCHEMAS names no pool files")
	}
	checking := os.Getenv("XB_BENCH_CHECK") != "0"
	for _, file := range strings.Split(files, ",") {
		sp, err := loadSchemaPool(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("record="+sp.record, func(b *testing.B) {
			for _, l := range sp.libs(b) {
				if !formatEnabled(l.format) {
					continue
				}
				b.Run(fmt.Sprintf("format=%s/lib=%s", l.format, l.name), func(b *testing.B) {
					if l.why != "" {
						b.Run("op=encode/variant=reuse/data=pool", func(b *testing.B) { missing(b, l.why) })
						return
					}
					if checking {
						if err := l.verify(sp); err != nil {
							b.Fatal(err)
						}
					}
					if l.missingEncode != "" {
						b.Run("op=encode/variant=fresh/data=pool", func(b *testing.B) { missing(b, l.missingEncode) })
					}
					runSchemaOps(b, l, len(sp.values))
				})
			}
		})
	}
}

// schemaPool is one pool file: the records of one type.
type schemaPool struct {
	record string
	typ    *schema.Type
	path   *schema.Path
	values []map[string]any // crossbuf's Decode of the official messages
	wires  [][]byte         // the official messages
	twin   *schema.Type     // optional
	proto  *protobuf.Message
	why    map[string]string // twin/proto that cannot run, and why
}

type namedOp struct {
	op, variant string
	fn          func(i int) (any, error) // on pool record i
}

// schemaLib is one library's cells on a schema pool.
type schemaLib struct {
	format, name string
	why          string // missing: the reason
	ops          []namedOp
	// decodeOf decodes the library's own encoding back to a dynamic value
	// (nil: its encodings are only checked to be non-empty); want is the
	// value its decodes must give for record i (nil: no decode).
	decodeOf func(w []byte) (map[string]any, error)
	want     func(i int) map[string]any
	// reencode, when set, checks encodings as a fixpoint: decoded, encoded
	// again and decoded, they give the same value (a schemaless library's
	// output does not decode to the schema's values).
	reencode func(map[string]any) ([]byte, error)
	// missingEncode says why the library cannot encode the pool (encoding/json
	// refuses non-finite floats).
	missingEncode string
	// untyped: decoded integers carry no schema, so int64 and uint64 of one
	// value are equal (MessagePack read back without the schema).
	untyped bool
}

func loadSchemaPool(file string) (*schemaPool, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m, err := schema.ValueFromMsgPack(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sp, err := newSchemaPool(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sp, nil
}

// newSchemaPool loads a pool file's content.
func newSchemaPool(m map[string]any) (*schemaPool, error) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	sp := &schemaPool{record: str("record"), why: map[string]string{}}
	load := func(file string, imports []any) (*schema.Schema, error) {
		opts := &schema.CompileOptions{}
		for _, p := range imports {
			opts.ImportPaths = append(opts.ImportPaths, p.(string))
		}
		switch strings.ToLower(filepath.Ext(file)) {
		case ".fbs":
			return schema.CompileFBS(file, opts)
		case ".capnp":
			return schema.CompileCapnp(file, opts)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return schema.Load(b)
	}
	imports, _ := m["imports"].([]any)
	s, err := load(str("schema"), imports)
	if err != nil {
		return nil, err
	}
	if sp.typ, err = s.Type(str("type")); err != nil {
		return nil, err
	}
	if sp.path, err = sp.typ.Path(str("path")); err != nil {
		return nil, err
	}
	wires, _ := m["wires"].([]any)
	for i, w := range wires {
		wb, ok := w.([]byte)
		if !ok {
			return nil, fmt.Errorf("wire %d is not bytes", i)
		}
		// Cap'n Proto reads 8-byte-aligned words: copy into aligned memory.
		al := make([]uint64, (len(wb)+7)/8)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(al))), len(al)*8)[:len(wb)]
		copy(buf, wb)
		v, err := sp.typ.Decode(buf, nil)
		if err != nil {
			return nil, fmt.Errorf("official message %d: %w", i, err)
		}
		sp.wires = append(sp.wires, buf)
		sp.values = append(sp.values, v.Map())
	}
	if len(sp.wires) == 0 {
		return nil, errors.New("no records")
	}
	if f := str("twin"); f != "" {
		ts, err := load(f, imports)
		if err == nil {
			sp.twin, err = ts.Type(str("twin_type"))
		}
		if err != nil {
			sp.why["twin"] = err.Error()
		}
	}
	if f := str("proto"); f != "" {
		fds, err := os.ReadFile(f)
		var ps *protobuf.Schema
		if err == nil {
			ps, err = protobuf.Load(fds)
		}
		if err == nil {
			sp.proto, err = ps.Message(str("proto_type"))
		}
		if err != nil {
			sp.why["proto"] = err.Error()
		}
	}
	return sp, nil
}

// libs lists the cells: crossbuf on the schema's own format (and the twin's),
// JSON and MessagePack through the schema and their dynamic opponents, and
// dynamicpb when a .proto twin is given.
func (sp *schemaPool) libs(tb testing.TB) []schemaLib {
	n := len(sp.values)
	self := func(i int) map[string]any { return sp.values[i] }
	ls := []schemaLib{zeroCopyLib(sp.typ, sp.path, sp.wires, sp.values)}
	if sp.twin != nil {
		var wires [][]byte
		var why string
		for i := range n {
			w, err := encodeZeroCopy(sp.twin, nil, sp.values[i])
			if err != nil {
				why = fmt.Sprintf("record %d does not fit the twin %s: %v", i, sp.twin.Name, err)
				break
			}
			wires = append(wires, w)
		}
		if why == "" {
			p, err := sp.twin.Path(sp.path.String())
			if err != nil {
				why = err.Error()
			} else {
				l := zeroCopyLib(sp.twin, p, wires, sp.values)
				// The twin's own decode is its reference: the other format
				// holds the same record in its own shape (every Cap'n Proto
				// field, enums unsigned).
				l.want = func(i int) map[string]any {
					v, err := sp.twin.Decode(wires[i], nil)
					if err != nil {
						return nil
					}
					return v.Map()
				}
				ls = append(ls, l)
			}
		}
		if why != "" {
			ls = append(ls, schemaLib{format: sp.twin.Format.String(), name: "crossbuf", why: why})
		}
	} else if why := sp.why["twin"]; why != "" {
		ls = append(ls, schemaLib{format: "?", name: "crossbuf", why: "twin: " + why})
	}
	// JSON and MessagePack: crossbuf writes them through the schema; the
	// opponents write and read the same dynamic values with no schema.
	jsonWires, mpWires := make([][]byte, n), make([][]byte, n)
	for i, v := range sp.values {
		var err error
		if jsonWires[i], err = sp.typ.AppendJSON(nil, v); err != nil {
			tb.Fatal(err)
		}
		// The library writes MessagePack from a message (the verifying walk),
		// not from values: the wire is the transcode of the official message.
		if mpWires[i], err = sp.typ.AppendMsgPack(nil, sp.wires[i], nil); err != nil {
			tb.Fatal(err)
		}
	}
	var jbuf []byte
	ls = append(ls,
		schemaLib{format: "json", name: "crossbuf", want: self, ops: []namedOp{
			{"encode", vReuse, func(i int) (any, error) {
				var err error
				jbuf, err = sp.typ.AppendJSON(jbuf[:0], sp.values[i])
				return jbuf, err
			}},
			{"encode", vFresh, func(i int) (any, error) { return sp.typ.AppendJSON(nil, sp.values[i]) }},
		}},
		dynamicLib("json", "encoding-json-dynamic", jsonWires, sp.values, sp.path.String(), stdjson.Marshal,
			func(b []byte) (map[string]any, error) {
				var m map[string]any
				return m, stdjson.Unmarshal(b, &m)
			}),
		schemaLib{format: "msgpack", name: "crossbuf", want: self, decodeOf: schema.ValueFromMsgPack, untyped: true, ops: []namedOp{
			{"decode", vFresh, func(i int) (any, error) { return schema.ValueFromMsgPack(mpWires[i]) }},
			{"read", vFullDecode, func(i int) (any, error) {
				m, err := schema.ValueFromMsgPack(mpWires[i])
				if err != nil {
					return nil, err
				}
				return lookup(m, sp.path.String())
			}},
		}},
		dynamicLib("msgpack", "vmihailenco-msgpack-dynamic", mpWires, sp.values, sp.path.String(), vmsgpack.Marshal,
			func(b []byte) (map[string]any, error) {
				var m map[string]any
				return m, vmsgpack.Unmarshal(b, &m)
			}),
	)
	if sp.proto != nil {
		ls = append(ls, sp.protoLib())
	} else if why := sp.why["proto"]; why != "" {
		ls = append(ls, schemaLib{format: "protobuf", name: "dynamicpb", why: why})
	}
	return ls
}

// zeroCopyLib is crossbuf on a FlatBuffers or Cap'n Proto type: encode from
// the dynamic value (reused or fresh output), verify, decode to the dynamic
// value, read one field in place, and the transcodes to JSON and MessagePack.
func zeroCopyLib(t *schema.Type, p *schema.Path, wires [][]byte, values []map[string]any) schemaLib {
	var reuse []byte
	builder := flatbuffers.NewBuilder(4096)
	l := schemaLib{format: t.Format.String(), name: "crossbuf",
		decodeOf: func(w []byte) (map[string]any, error) {
			r, err := t.Decode(w, nil)
			if err != nil {
				return nil, err
			}
			return r.Map(), nil
		},
		want: func(i int) map[string]any { return values[i] },
	}
	l.ops = []namedOp{
		{"encode", vReuse, func(i int) (any, error) {
			if t.Format == schema.FlatBuffers {
				err := t.EncodeFlatBuffer(builder, values[i])
				return builder.FinishedBytes(), err
			}
			var err error
			reuse, err = t.EncodeCapnp(reuse, values[i])
			return reuse, err
		}},
		{"encode", vFresh, func(i int) (any, error) { return encodeZeroCopy(t, nil, values[i]) }},
		{"verify", "default", func(i int) (any, error) { return nil, t.Verify(wires[i], nil) }},
		{"decode", vFresh, func(i int) (any, error) { return t.Decode(wires[i], nil) }},
		{"read", vInPlace, func(i int) (any, error) { return readPath(p, wires[i]) }},
		{"to-json", vFresh, func(i int) (any, error) { return t.JSON(wires[i], nil) }},
		{"to-msgpack", vFresh, func(i int) (any, error) { return t.MsgPack(wires[i], nil) }},
	}
	return l
}

func encodeZeroCopy(t *schema.Type, dst []byte, v map[string]any) ([]byte, error) {
	if t.Format == schema.FlatBuffers {
		b := flatbuffers.NewBuilder(0)
		if err := t.EncodeFlatBuffer(b, v); err != nil {
			return nil, err
		}
		return b.FinishedBytes(), nil
	}
	return t.EncodeCapnp(dst, v)
}

// readPath reads the path's leaf with the reader of its kind; vectors and
// lists are read as their length.
func readPath(p *schema.Path, msg []byte) (v any, err error) {
	defer func() {
		if errors.Is(err, schema.ErrAbsent) {
			v, err = nil, nil // not in this record (cars[0] of an empty lot): what lookup gives too
		}
	}()
	k := p.Kind()
	switch {
	case k == schema.String:
		return p.ReadString(msg)
	case k == schema.Bytes || k == schema.Vector:
		return p.Len(msg)
	case k == schema.Bool:
		v, err := p.Int(msg)
		return v != 0, err
	case k == schema.Float32 || k == schema.Float64:
		return p.Float(msg)
	case k == schema.Uint64 || k == schema.Uint32 || k == schema.Uint16 || k == schema.Uint8:
		return p.Uint(msg)
	case k.IsScalar() || k == schema.Enum:
		return p.Int(msg)
	}
	return nil, fmt.Errorf("read-one-field: path %q leads to a %s; give --path a scalar, string or list", p, k)
}

// lookup walks a dynamic value along a path ("a.b[2].c") the way a reader
// without a schema does after a full decode; lists read as their length.
func lookup(v any, path string) (any, error) {
	cur := v
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", path, err)
			}
			name, idx = part[:i], n
		}
		if cur == nil {
			return nil, nil // an absent struct or list on the way: so is the leaf
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("path %q: %s is in a %T", path, name, cur)
		}
		cur = m[name]
		if idx >= 0 {
			if cur == nil {
				return nil, nil
			}
			l, ok := cur.([]any)
			if !ok {
				return nil, fmt.Errorf("path %q: %s is a %T, not a list", path, name, cur)
			}
			if idx >= len(l) {
				return nil, nil // absent: readers give the leaf's zero value
			}
			cur = l[idx]
		}
	}
	if l, ok := cur.([]any); ok {
		return len(l), nil
	}
	if b, ok := cur.([]byte); ok {
		return len(b), nil
	}
	return cur, nil
}

// dynamicLib is a schemaless library over map[string]any: encode the dynamic
// value (fresh output), decode to maps, read a field after a full decode.
func dynamicLib(format, name string, wires [][]byte, values []map[string]any, path string,
	marshal func(any) ([]byte, error), unmarshal func([]byte) (map[string]any, error)) schemaLib {
	l := schemaLib{format: format, name: name, decodeOf: unmarshal}
	// Its decodes are checked against its own decode of crossbuf's JSON or
	// MessagePack (JSON numbers become float64: the schema's values are no
	// reference), computed when asked so no second copy of the pool is kept.
	l.want = func(i int) map[string]any { m, _ := unmarshal(wires[i]); return m }
	// Its encodings start from the schema's dynamic values, as crossbuf's do;
	// they must decode to a value that encodes and decodes to itself.
	l.reencode = func(v map[string]any) ([]byte, error) { return marshal(v) }
	l.ops = []namedOp{
		{"decode", vFresh, func(i int) (any, error) { return unmarshal(wires[i]) }},
		{"read", vFullDecode, func(i int) (any, error) {
			m, err := unmarshal(wires[i])
			if err != nil {
				return nil, err
			}
			return lookup(m, path)
		}},
	}
	for i, v := range values {
		if _, err := marshal(v); err != nil {
			l.missingEncode = fmt.Sprintf("%s cannot encode record %d: %v", name, i, err)
			return l
		}
	}
	l.ops = append([]namedOp{{"encode", vFresh, func(i int) (any, error) { return marshal(values[i]) }}}, l.ops...)
	return l
}

// protoLib is the dynamicpb baseline on the .proto twin: the same dynamic
// values, encoded with reused or fresh output, decoded to maps.
func (sp *schemaPool) protoLib() schemaLib {
	m := sp.proto
	wires := make([][]byte, len(sp.values))
	for i, v := range sp.values {
		w, err := m.Encode(nil, v)
		if err != nil {
			return schemaLib{format: "protobuf", name: "dynamicpb",
				why: fmt.Sprintf("record %d does not fit the .proto twin %s: %v", i, m.Name(), err)}
		}
		wires[i] = w
	}
	var buf []byte
	path := sp.path.String()
	return schemaLib{format: "protobuf", name: "dynamicpb", decodeOf: m.Decode,
		want: func(i int) map[string]any { v, _ := m.Decode(wires[i]); return v },
		ops: []namedOp{
			{"encode", vReuse, func(i int) (any, error) {
				var err error
				buf, err = m.Encode(buf[:0], sp.values[i])
				return buf, err
			}},
			{"encode", vFresh, func(i int) (any, error) { return m.Encode(nil, sp.values[i]) }},
			{"decode", vFresh, func(i int) (any, error) { return m.Decode(wires[i]) }},
			{"read", vFullDecode, func(i int) (any, error) {
				d, err := m.Decode(wires[i])
				if err != nil {
					return nil, err
				}
				return lookup(d, path)
			}},
		}}
}

// verify checks every op on every record before timing: encodings decode
// back to the record, decodes give the record, reads give the field.
func (l *schemaLib) verify(sp *schemaPool) error {
	for i := range sp.values {
		var want map[string]any
		if l.want != nil {
			want = l.want(i)
		}
		for _, o := range l.ops {
			got, err := o.fn(i)
			if err != nil {
				return fmt.Errorf("%s/%s %s of record %d: %w", l.format, l.name, o.op, i, err)
			}
			switch o.op {
			case "encode", "to-json", "to-msgpack":
				if want == nil || l.decodeOf == nil || o.op != "encode" {
					if len(got.([]byte)) == 0 {
						return fmt.Errorf("%s %s of record %d wrote nothing", l.name, o.op, i)
					}
					continue
				}
				back, err := l.decodeOf(got.([]byte))
				if err != nil {
					return fmt.Errorf("%s/%s encode of record %d does not decode back: %w", l.format, l.name, i, err)
				}
				ref := want
				if l.reencode != nil {
					again, err := l.reencode(back)
					if err == nil {
						ref, err = l.decodeOf(again)
					}
					if err != nil {
						return fmt.Errorf("%s/%s encode of record %d: %w", l.format, l.name, i, err)
					}
				}
				if !l.same(back, ref) {
					return fmt.Errorf("%s/%s encode of record %d decodes back to another value", l.format, l.name, i)
				}
			case "decode":
				if want != nil && !l.same(got, want) {
					return fmt.Errorf("%s/%s decode of record %d differs from the record", l.format, l.name, i)
				}
			case "read":
				ref := sp.values[i]
				if want != nil {
					ref = want
				}
				exp, err := lookup(ref, sp.path.String())
				if err != nil {
					return err
				}
				if exp == nil && (got == nil || reflect.ValueOf(got).IsZero()) {
					continue // absent from the record: the leaf's zero value
				}
				if fmt.Sprint(got) != fmt.Sprint(exp) {
					return fmt.Errorf("%s/%s read of %s in record %d = %v, want %v", l.format, l.name, sp.path, i, got, exp)
				}
			}
		}
	}
	return nil
}

func (l *schemaLib) same(got, want any) bool {
	if r, ok := got.(*schema.Record); ok {
		got = r.Map() // the engine's decode: compared in its map form
	}
	if l.untyped {
		return fmt.Sprint(got) == fmt.Sprint(want) // maps print sorted by key
	}
	return sameValue(got, want)
}

// sameValue is reflect.DeepEqual of dynamic values, with NaN equal to NaN
// (the reference messages hold NaNs).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || (math.IsNaN(x) && math.IsNaN(y)))
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || (x != x && y != y))
	}
	return reflect.DeepEqual(a, b)
}

// runSchemaOps times each op over the pool, cycling through its records.
func runSchemaOps(b *testing.B, l schemaLib, n int) {
	for _, o := range l.ops {
		b.Run(fmt.Sprintf("op=%s/variant=%s/data=pool", o.op, o.variant), func(b *testing.B) {
			pin(b)
			b.ReportAllocs()
			if o.op == "encode" {
				size := 0
				for i := range n {
					w, err := o.fn(i)
					if err != nil {
						b.Fatal(err)
					}
					size += len(w.([]byte))
				}
				defer b.ReportMetric(float64(size)/float64(n), "bytes")
			}
			i := 0
			for b.Loop() {
				if _, err := o.fn(i); err != nil {
					b.Fatal(err)
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}
