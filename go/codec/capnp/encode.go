// Package capnp is crossbuf's Cap'n Proto codec (schemas/crossbuf.capnp).
//
// Encode writes the Cap'n Proto wire format (one segment, stream header
// included) directly into the caller's buffer: the Go runtime's builder
// allocates per message and its arenas may zero or recycle the memory they
// are given, which region memory must never be. Decode and ReadString read
// single-segment messages in place with a hand-written, bounds-checked
// reader with a traversal budget (read.go); multi-segment messages and far
// pointers go through the official runtime and the generated accessors, on
// a pooled read-only message with traversal and depth limits.
package capnp

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// Codec is the Cap'n Proto codec. The zero value is ready; it is safe for
// concurrent use.
type Codec struct{}

var (
	_ codec.Codec       = (*Codec)(nil)
	_ codec.FieldReader = (*Codec)(nil)
)

// New returns the Cap'n Proto codec.
func New() *Codec { return &Codec{} }

// Importing the package registers the codec (codec.Lookup, crossbuf.Decode).
func init() { codec.Register(New()) }

// ID implements codec.Codec.
func (*Codec) ID() codec.ID { return codec.CapnProto }

// ZeroCopy implements codec.Codec.
func (*Codec) ZeroCopy() bool { return true }

// Struct sizes in words (data, pointers), as in internal/gen/capnpgen.
const (
	logData, logPtrs       = 2, 7
	attrData, attrPtrs     = 0, 2
	httpData, httpPtrs     = 2, 2
	sampleData, samplePtrs = 2, 1
	tensorData, tensorPtrs = 1, 3
)

// List element sizes of the wire format.
const (
	elemByte      = 2
	elemFour      = 4
	elemEight     = 5
	elemPointer   = 6
	elemComposite = 7
)

// maxWords bounds a single segment: list and segment sizes are 29 and 32 bits.
const maxWords = 1<<29 - 1

// textWords is the size of a Text: bytes plus NUL, rounded up to words.
// An empty text is encoded as a null pointer.
func textWords(s string) int {
	if s == "" {
		return 0
	}
	return (len(s) + 1 + 7) / 8
}

func bytesWords(n int) int { return (n + 7) / 8 }

// words returns the segment size in words of rec, root pointer included.
func words(rec record.Record) (int, error) {
	var n int
	switch r := rec.(type) {
	case *record.LogEntry:
		n = 1 + logData + logPtrs + textWords(r.Service) + textWords(r.Host) + textWords(r.Message) +
			bytesWords(record.TraceIDLen) + httpData + httpPtrs + textWords(r.HTTP.Method) + textWords(r.HTTP.Path)
		if len(r.Tags) > 0 {
			n += len(r.Tags)
			for _, t := range r.Tags {
				n += textWords(t)
			}
		}
		if len(r.Attributes) > 0 {
			n += 1 + len(r.Attributes)*(attrData+attrPtrs)
			for i := range r.Attributes {
				n += textWords(r.Attributes[i].Key) + textWords(r.Attributes[i].Value)
			}
		}
	case *record.Sample:
		n = 1 + sampleData + samplePtrs + bytesWords(4*record.SampleFeatures)
	case *record.Tensor:
		n = 1 + tensorData + tensorPtrs + textWords(r.Name) + len(r.Shape) + bytesWords(len(r.Data))
	default:
		return 0, fmt.Errorf("%w: %T", codec.ErrRecordType, rec)
	}
	if n > maxWords {
		return 0, fmt.Errorf("%w: capnp: record needs %d words, max %d", codec.ErrInvalid, n, maxWords)
	}
	return n, nil
}

// MaxSize implements codec.Codec. The encoding has exactly this size: the
// 8-byte stream header plus the segment.
func (*Codec) MaxSize(rec record.Record) (int, error) {
	n, err := words(rec)
	if err != nil {
		return 0, err
	}
	return 8 + 8*n, nil
}

// Encode implements codec.Codec. The encoding is dst[:MaxSize(rec)]; it
// must start 8-byte aligned for readers that read in place (pycapnp, C++).
func (*Codec) Encode(dst []byte, rec record.Record) ([]byte, error) {
	n, err := words(rec)
	if err != nil {
		return nil, err
	}
	if err := record.Validate(rec); err != nil {
		return nil, err
	}
	size := 8 + 8*n
	if len(dst) < size {
		return nil, fmt.Errorf("%w: capnp: need %d bytes, have %d", codec.ErrShortBuffer, size, len(dst))
	}
	out := dst[:size:size]
	clear(out)                                // region memory is not zeroed; absent fields and padding must be
	binary.LittleEndian.PutUint32(out[0:], 0) // segment count - 1
	binary.LittleEndian.PutUint32(out[4:], uint32(n))
	w := writer{seg: out[8:], next: 1}
	switch r := rec.(type) {
	case *record.LogEntry:
		w.logEntry(r)
	case *record.Sample:
		w.sample(r)
	case *record.Tensor:
		w.tensor(r)
	}
	if w.next != n {
		// words() and the writer disagree: a bug, never a silent overrun.
		return nil, fmt.Errorf("capnp: internal: wrote %d words, planned %d", w.next, n)
	}
	return out, nil
}

// writer lays objects out in pre-order, as the official builder does.
// Positions are in words; seg is already zeroed.
type writer struct {
	seg  []byte
	next int // next free word
}

func (w *writer) alloc(n int) int {
	p := w.next
	w.next += n
	return p
}

func (w *writer) put64(word int, byteOff int, v uint64) {
	binary.LittleEndian.PutUint64(w.seg[8*word+byteOff:], v)
}

// structPtr points the pointer at word p to a struct at word t.
func (w *writer) structPtr(p, t, data, ptrs int) {
	w.put64(p, 0, uint64(uint32(int32(t-p-1)<<2))|uint64(data)<<32|uint64(ptrs)<<48)
}

// listPtr points the pointer at word p to a list at word t.
func (w *writer) listPtr(p, t, elem, count int) {
	w.put64(p, 0, uint64(uint32(int32(t-p-1)<<2))|1|uint64(elem)<<32|uint64(count)<<35)
}

// newStruct allocates a struct and points p at it; it returns the struct's
// first data word and first pointer word.
func (w *writer) newStruct(p, data, ptrs int) (int, int) {
	t := w.alloc(data + ptrs)
	w.structPtr(p, t, data, ptrs)
	return t, t + data
}

// text writes s (NUL-terminated) and points p at it; "" stays null.
func (w *writer) text(p int, s string) {
	if s == "" {
		return
	}
	t := w.alloc(textWords(s))
	copy(w.seg[8*t:], s)
	w.listPtr(p, t, elemByte, len(s)+1)
}

// data writes b as Data and points p at it; empty stays null.
func (w *writer) data(p int, b []byte) {
	if len(b) == 0 {
		return
	}
	t := w.alloc(bytesWords(len(b)))
	copy(w.seg[8*t:], b)
	w.listPtr(p, t, elemByte, len(b))
}

func (w *writer) logEntry(r *record.LogEntry) {
	d, p := w.newStruct(0, logData, logPtrs)
	w.put64(d, 0, uint64(r.TimestampNs))
	binary.LittleEndian.PutUint16(w.seg[8*(d+1):], uint16(r.Level))
	w.text(p+0, r.Service)
	w.text(p+1, r.Host)
	w.text(p+2, r.Message)
	w.data(p+3, r.TraceID[:])
	if len(r.Tags) > 0 {
		l := w.alloc(len(r.Tags))
		w.listPtr(p+4, l, elemPointer, len(r.Tags))
		for i, t := range r.Tags {
			w.text(l+i, t)
		}
	}
	if n := len(r.Attributes); n > 0 {
		const size = attrData + attrPtrs
		tag := w.alloc(1 + n*size)
		w.listPtr(p+5, tag, elemComposite, n*size)
		w.put64(tag, 0, uint64(uint32(n)<<2)|uint64(attrData)<<32|uint64(attrPtrs)<<48)
		for i := range r.Attributes {
			e := tag + 1 + i*size + attrData
			w.text(e, r.Attributes[i].Key)
			w.text(e+1, r.Attributes[i].Value)
		}
	}
	hd, hp := w.newStruct(p+6, httpData, httpPtrs)
	binary.LittleEndian.PutUint32(w.seg[8*hd:], r.HTTP.Status)
	w.put64(hd+1, 0, uint64(r.HTTP.LatencyNs))
	w.text(hp, r.HTTP.Method)
	w.text(hp+1, r.HTTP.Path)
}

func (w *writer) sample(r *record.Sample) {
	d, p := w.newStruct(0, sampleData, samplePtrs)
	w.put64(d, 0, uint64(r.TimestampNs))
	binary.LittleEndian.PutUint32(w.seg[8*d+8:], uint32(r.Label))
	l := w.alloc(bytesWords(4 * record.SampleFeatures))
	w.listPtr(p, l, elemFour, record.SampleFeatures)
	for i, f := range r.Features {
		binary.LittleEndian.PutUint32(w.seg[8*l+4*i:], math.Float32bits(f))
	}
}

func (w *writer) tensor(r *record.Tensor) {
	d, p := w.newStruct(0, tensorData, tensorPtrs)
	binary.LittleEndian.PutUint16(w.seg[8*d:], uint16(r.DType))
	w.text(p, r.Name)
	if len(r.Shape) > 0 {
		l := w.alloc(len(r.Shape))
		w.listPtr(p+1, l, elemEight, len(r.Shape))
		for i, s := range r.Shape {
			w.put64(l+i, 0, uint64(s))
		}
	}
	w.data(p+2, r.Data)
}
