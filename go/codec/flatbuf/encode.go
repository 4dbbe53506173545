package flatbuf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/internal/fault"
	"github.com/crossbuf/crossbuf/go/record"
)

// The encoder writes the FlatBuffers binary format directly: little-endian,
// back to front from the end of the buffer, so every uoffset points forward
// to an object written before it. Positions are relative to dst, whose end
// (MaxSize, a multiple of 8) is 8-aligned in region memory, so alignment
// relative to dst is absolute alignment.
//
// Each table has a fixed inline layout: soffset to its vtable, then 8-byte
// fields (8-aligned), then 4-byte fields, then 1-byte fields. Scalars are
// always written; empty strings and vectors the Builder would omit are
// absent (vtable entry 0). The vtable sits right below its table, except
// that all Attributes share one. Padding is zeroed: region memory is not.
//
// Layouts (byte offset in the table):
//
//	LogEntry:  0 soffset, 4 timestamp_ns, 12 service, 16 host, 20 message,
//	           24 trace_id, 28 tags, 32 attributes, 36 http, 40 level
//	Http:      0 soffset, 4 latency_ns, 12 method, 16 path, 20 status
//	Attribute: 0 soffset, 4 key, 8 value (both always present)
//	Sample:    0 soffset, 4 timestamp_ns, 12 features, 16 label
//	Tensor:    0 soffset, 4 name, 8 shape, 12 data, 16 dtype
const (
	logTLen, logVTLen       = 44, 4 + 2*logFields
	httpTLen, httpVTLen     = 24, 4 + 2*httpFields
	attrTLen, attrVTLen     = 12, 4 + 2*attrFields
	sampleTLen, sampleVTLen = 20, 4 + 2*sampleFields
	tensorTLen, tensorVTLen = 20, 4 + 2*tensorFields
)

// writer fills buf back to front; head is the start of what is written.
// Running below 0 panics on a slice bound, which Encode turns into
// ErrShortBuffer (MaxSize bounds this layout, so it does not happen).
type writer struct {
	buf  []byte
	head int
}

func (w *writer) put16(p int, v int) { binary.LittleEndian.PutUint16(w.buf[p:], uint16(v)) }
func (w *writer) put32(p int, v int) { binary.LittleEndian.PutUint32(w.buf[p:], uint32(v)) }

// uoff stores at p the uoffset to target (0 stays 0: an absent field).
func (w *writer) uoff(p, target int) {
	if target == 0 {
		w.put32(p, 0)
		return
	}
	w.put32(p, target-p)
}

// strObj is the size of a string object: length, bytes, NUL, padding to 4.
func strObj(s string) int { return 4 + (len(s)+4)&^3 }

// str writes s below head (head is 4-aligned) and returns its position.
func (w *writer) str(s string) int {
	size := strObj(s)
	start := w.head - size
	b := w.buf[start:w.head]
	// The last word holds the NUL and the padding; the bytes overwrite it.
	binary.LittleEndian.PutUint32(b[size-4:], 0)
	binary.LittleEndian.PutUint32(b, uint32(len(s)))
	copy(b[4:], s)
	w.head = start
	return start
}

// optStr writes s unless it is empty (absent field, position 0).
func (w *writer) optStr(s string) int {
	if s == "" {
		return 0
	}
	return w.str(s)
}

// table reserves a table of tLen bytes below head, at a position that is 4
// modulo 8 when its first field is 8 bytes (wide), else 4-aligned; the
// padding up to head is zeroed. The vtable (vtLen bytes, written by the
// caller) goes right below it; head moves to the vtable.
func (w *writer) table(tLen, vtLen int, wide bool) (t, vt int) {
	if wide {
		t = (w.head-tLen-4)&^7 + 4
	} else {
		t = (w.head - tLen) &^ 3
	}
	clear(w.buf[t+tLen : w.head])
	vt = t - vtLen
	w.put32(t, vtLen) // soffset: the vtable is vtLen bytes below
	binary.LittleEndian.PutUint16(w.buf[vt:], uint16(vtLen))
	binary.LittleEndian.PutUint16(w.buf[vt+2:], uint16(tLen))
	w.head = vt
	return t, vt
}

// present returns the vtable entry of a uoffset field at off: 0 when absent.
func present(target, off int) int {
	if target == 0 {
		return 0
	}
	return off
}

// finish writes the root uoffset 8-aligned below head and returns the
// position of the buffer's start.
func (w *writer) finish(root int) int {
	r := (w.head - 4) &^ 7
	clear(w.buf[r+4 : w.head])
	w.put32(r, root-r)
	w.head = r
	return r
}

// Encode implements codec.Codec. The encoding ends at dst[MaxSize(rec)]
// (it fills back to front) and starts 8-byte aligned relative to dst.
func (*Codec) Encode(dst []byte, rec record.Record) (out []byte, err error) {
	n, err := maxSize(rec)
	if err != nil {
		return nil, err
	}
	if err := record.Validate(rec); err != nil {
		return nil, err
	}
	if len(dst) < n {
		return nil, fmt.Errorf("%w: flatbuffers: need %d bytes, have %d", codec.ErrShortBuffer, n, len(dst))
	}
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			out, err = nil, fmt.Errorf("%w: flatbuffers: encoding outgrew %d bytes: %v", codec.ErrShortBuffer, n, p)
		}
	}()
	w := writer{buf: dst[:n:n], head: n}
	var root int
	switch r := rec.(type) {
	case *record.LogEntry:
		root = w.logEntry(r)
	case *record.Sample:
		root = w.sample(r)
	case *record.Tensor:
		root = w.tensor(r)
	}
	start := w.finish(root)
	return w.buf[start:], nil
}

func (w *writer) logEntry(r *record.LogEntry) int {
	service, host, message := w.optStr(r.Service), w.optStr(r.Host), w.optStr(r.Message)

	w.head -= 4 + record.TraceIDLen
	traceID := w.head
	w.put32(traceID, record.TraceIDLen)
	copy(w.buf[traceID+4:], r.TraceID[:])

	tags := 0
	if n := len(r.Tags); n > 0 {
		size := 0
		for _, t := range r.Tags {
			size += strObj(t)
		}
		// The vector goes below the strings; its elements point up to them.
		tags = w.head - size - 4 - 4*n
		for i := n - 1; i >= 0; i-- {
			w.uoff(tags+4+4*i, w.str(r.Tags[i]))
		}
		if w.head != tags+4+4*n {
			panic("flatbuffers: tags size")
		}
		w.put32(tags, n)
		w.head = tags
	}

	attrs := 0
	if n := len(r.Attributes); n > 0 {
		size := attrVTLen
		for i := range r.Attributes {
			size += strObj(r.Attributes[i].Key) + strObj(r.Attributes[i].Value) + attrTLen
		}
		attrs = w.head - size - 4 - 4*n
		// One vtable for every Attribute, above them all.
		w.head -= attrVTLen
		vt := w.head
		w.put16(vt, attrVTLen)
		w.put16(vt+2, attrTLen)
		w.put16(vt+4, 4)
		w.put16(vt+6, 8)
		for i := n - 1; i >= 0; i-- {
			a := &r.Attributes[i]
			v := w.str(a.Value)
			k := w.str(a.Key)
			t := w.head - attrTLen
			w.put32(t, t-vt) // negative: the vtable is above
			w.uoff(t+4, k)
			w.uoff(t+8, v)
			w.head = t
			w.uoff(attrs+4+4*i, t)
		}
		if w.head != attrs+4+4*n {
			panic("flatbuffers: attributes size")
		}
		w.put32(attrs, n)
		w.head = attrs
	}

	method, path := w.optStr(r.HTTP.Method), w.optStr(r.HTTP.Path)
	h, vt := w.table(httpTLen, httpVTLen, true)
	binary.LittleEndian.PutUint64(w.buf[h+4:], uint64(r.HTTP.LatencyNs))
	w.uoff(h+12, method)
	w.uoff(h+16, path)
	binary.LittleEndian.PutUint32(w.buf[h+20:], r.HTTP.Status)
	w.put16(vt+4, present(method, 12))
	w.put16(vt+6, present(path, 16))
	w.put16(vt+8, 20)
	w.put16(vt+10, 4)

	t, vt := w.table(logTLen, logVTLen, true)
	binary.LittleEndian.PutUint64(w.buf[t+4:], uint64(r.TimestampNs))
	w.uoff(t+12, service)
	w.uoff(t+16, host)
	w.uoff(t+20, message)
	w.uoff(t+24, traceID)
	w.uoff(t+28, tags)
	w.uoff(t+32, attrs)
	w.uoff(t+36, h)
	w.put32(t+40, int(uint8(r.Level))) // level and 3 bytes of padding
	w.put16(vt+4, 4)
	w.put16(vt+6, 40)
	w.put16(vt+8, present(service, 12))
	w.put16(vt+10, present(host, 16))
	w.put16(vt+12, present(message, 20))
	w.put16(vt+14, 24)
	w.put16(vt+16, present(tags, 28))
	w.put16(vt+18, present(attrs, 32))
	w.put16(vt+20, 36)
	return t
}

func (w *writer) sample(r *record.Sample) int {
	w.head -= 4 + 4*record.SampleFeatures
	features := w.head
	w.put32(features, record.SampleFeatures)
	f := w.buf[features+4 : features+4+4*record.SampleFeatures]
	for i, v := range r.Features {
		binary.LittleEndian.PutUint32(f[4*i:], math.Float32bits(v))
	}
	t, vt := w.table(sampleTLen, sampleVTLen, true)
	binary.LittleEndian.PutUint64(w.buf[t+4:], uint64(r.TimestampNs))
	w.uoff(t+12, features)
	binary.LittleEndian.PutUint32(w.buf[t+16:], uint32(r.Label))
	w.put16(vt+4, 4)
	w.put16(vt+6, 12)
	w.put16(vt+8, 16)
	return t
}

func (w *writer) tensor(r *record.Tensor) int {
	// The data starts 8-aligned so C, Python and numpy can view it in
	// place as an array of any element type.
	start := (w.head - len(r.Data)) &^ 7
	clear(w.buf[start+len(r.Data) : w.head])
	copy(w.buf[start:], r.Data)
	data := start - 4
	w.put32(data, len(r.Data))
	w.head = data

	start = (w.head - 8*len(r.Shape)) &^ 7
	clear(w.buf[start+8*len(r.Shape) : w.head])
	for i, d := range r.Shape {
		binary.LittleEndian.PutUint64(w.buf[start+8*i:], uint64(d))
	}
	shape := start - 4
	w.put32(shape, len(r.Shape))
	w.head = shape

	name := w.optStr(r.Name)
	t, vt := w.table(tensorTLen, tensorVTLen, false)
	w.uoff(t+4, name)
	w.uoff(t+8, shape)
	w.uoff(t+12, data)
	w.put32(t+16, int(uint8(r.DType))) // dtype and 3 bytes of padding
	w.put16(vt+4, present(name, 4))
	w.put16(vt+6, 16)
	w.put16(vt+8, 8)
	w.put16(vt+10, 12)
	return t
}
