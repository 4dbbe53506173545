package capnp

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// A hand-written reader of single-segment messages, the encoding that
// Encode writes and that most writers produce for records of our size.
// Every pointer is checked against the segment before it is followed;
// struct pointers carry their data and pointer section sizes, so fields
// beyond a shorter (older) struct read as their defaults. Each struct and
// list is charged to a traversal budget proportional to the segment size,
// which bounds amplification (many pointers to one large object). Far
// pointers are legal in a single segment but never written by us; on one
// the reader gives up with errFar and the caller falls back to the runtime.

// errFar reports a far or other non-local pointer: the caller falls back to
// the runtime reader, which resolves them.
var errFar = errors.New("capnp: far pointer")

// Pointer kinds and the element size of a byte list (elemByte).
const (
	kindStruct = 0
	kindList   = 1
)

// seg is a single segment being read.
type seg struct {
	b      []byte
	words  uint64 // len(b) / 8
	budget uint64 // bytes that may still be traversed
}

// view is a struct inside seg: its data section (bytes) and pointer section (words).
type view struct {
	data  uint64 // byte offset of the data section
	dlen  uint64 // data section size in bytes
	ptrs  uint64 // word index of the first pointer
	nptrs uint64
}

func (s *seg) word(w uint64) uint64 { return binary.LittleEndian.Uint64(s.b[8*w:]) }

// target returns the word that the pointer v at word w points to.
func target(w, v uint64) int64 { return int64(w) + 1 + int64(int32(uint32(v))>>2) }

// charge takes n bytes from the traversal budget.
func (s *seg) charge(n uint64) error {
	if n > s.budget {
		return errLimit()
	}
	s.budget -= n
	return nil
}

//go:noinline
func errLimit() error { return errf("read traversal limit reached") }

//go:noinline
func errKind(v uint64, want string) error {
	if v&3 == 2 {
		return errFar
	}
	return errf("pointer 0x%016x is not a %s", v, want)
}

//go:noinline
func errRange(what string, t int64, n uint64) error {
	return errf("%s at word %d of %d words is out of the segment", what, t, n)
}

// u64 and friends read data fields; a field beyond a short data section is 0.
func (v *view) u64(s *seg, off uint64) uint64 {
	if off+8 > v.dlen {
		return 0
	}
	return binary.LittleEndian.Uint64(s.b[v.data+off:])
}

func (v *view) u32(s *seg, off uint64) uint32 {
	if off+4 > v.dlen {
		return 0
	}
	return binary.LittleEndian.Uint32(s.b[v.data+off:])
}

func (v *view) u16(s *seg, off uint64) uint16 {
	if off+2 > v.dlen {
		return 0
	}
	return binary.LittleEndian.Uint16(s.b[v.data+off:])
}

// ptr returns the word of pointer i and whether the struct has it.
func (v *view) ptr(i uint64) (uint64, bool) { return v.ptrs + i, i < v.nptrs }

// structAt follows the struct pointer at word w; a null pointer is the
// empty struct (every field default).
func (s *seg) structAt(w uint64) (view, error) {
	v := s.word(w)
	if v == 0 {
		return view{}, nil
	}
	if v&3 != kindStruct {
		return view{}, errKind(v, "struct")
	}
	t := target(w, v)
	dw, pn := v>>32&0xFFFF, v>>48
	if t < 0 || uint64(t)+dw+pn > s.words {
		return view{}, errRange("struct", t, s.words)
	}
	if err := s.charge(8 * (dw + pn)); err != nil {
		return view{}, err
	}
	return view{data: 8 * uint64(t), dlen: 8 * dw, ptrs: uint64(t) + dw, nptrs: pn}, nil
}

// field follows pointer i of struct v; absent pointers read as null.
func (s *seg) field(v *view, i uint64) (view, error) {
	if w, ok := v.ptr(i); ok {
		return s.structAt(w)
	}
	return view{}, nil
}

// list follows the list pointer at word w whose elements must be of size
// elem; it returns the word of the first element and the element count
// (0, 0 for null).
func (s *seg) list(w uint64, elem uint64, bits uint64) (uint64, uint64, error) {
	v := s.word(w)
	if v == 0 {
		return 0, 0, nil
	}
	if v&3 != kindList || v>>32&7 != elem {
		return 0, 0, errKind(v, "list of the schema's element type")
	}
	t, n := target(w, v), v>>35
	nb := (n*bits + 7) / 8
	if t < 0 || uint64(t)+(nb+7)/8 > s.words {
		return 0, 0, errRange("list", t, s.words)
	}
	if err := s.charge(nb); err != nil {
		return 0, 0, err
	}
	return uint64(t), n, nil
}

// bytesAt follows the Data pointer at word w, aliasing the segment.
func (s *seg) bytesAt(w uint64) ([]byte, error) {
	t, n, err := s.list(w, elemByte, 8)
	if err != nil || n == 0 {
		return nil, err
	}
	return s.b[8*t : 8*t+n : 8*t+n], nil
}

// text follows the Text pointer at word w ("" for null), aliasing the
// segment; a text must end with its NUL.
func (s *seg) text(w uint64) (string, error) {
	v := s.word(w)
	if v == 0 {
		return "", nil
	}
	if v&3 != kindList || v>>32&7 != elemByte {
		return "", errKind(v, "text")
	}
	t, n := target(w, v), v>>35
	if t < 0 || uint64(t)+(n+7)/8 > s.words {
		return "", errRange("text", t, s.words)
	}
	if n > s.budget {
		return "", errLimit()
	}
	s.budget -= n
	start := 8 * uint64(t)
	if n == 0 || s.b[start+n-1] != 0 {
		return "", errf("text at word %d is not NUL-terminated", t)
	}
	if n == 1 {
		return "", nil
	}
	return unsafe.String(&s.b[start], int(n-1)), nil
}

// textField reads Text pointer i of struct v.
func (s *seg) textField(v *view, i uint64) (string, error) {
	if w, ok := v.ptr(i); ok {
		return s.text(w)
	}
	return "", nil
}

// single returns the segment of b when b is a one-segment message, nil
// for a multi-segment one; it checks the stream header.
func single(b []byte) (s seg, ok bool, err error) {
	if len(b) < 16 {
		return seg{}, false, errf("message of %d bytes is too short", len(b))
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return seg{}, false, errf("message is not 8-byte aligned")
	}
	if binary.LittleEndian.Uint32(b) != 0 {
		return seg{}, false, nil
	}
	words := uint64(binary.LittleEndian.Uint32(b[4:]))
	if words == 0 || 8*words > uint64(len(b))-8 {
		return seg{}, false, errf("segment of %d bytes in message of %d", 8*words, len(b))
	}
	return seg{b: b[8 : 8+8*words : 8+8*words], words: words, budget: 16*words + traverseSlack}, true, nil
}

// readLogEntry decodes the root LogEntry of s into r.
func (s *seg) readLogEntry(r *record.LogEntry) (err error) {
	e, err := s.structAt(0)
	if err != nil {
		return err
	}
	r.TimestampNs = int64(e.u64(s, 0))
	r.Level = record.Level(e.u16(s, 8))
	if r.Service, err = s.textField(&e, 0); err != nil {
		return err
	}
	if r.Host, err = s.textField(&e, 1); err != nil {
		return err
	}
	if r.Message, err = s.textField(&e, 2); err != nil {
		return err
	}
	r.TraceID = [record.TraceIDLen]byte{}
	if w, ok := e.ptr(3); ok {
		b, err := s.bytesAt(w)
		if err != nil {
			return err
		}
		switch len(b) {
		case 0:
		case record.TraceIDLen:
			r.TraceID = [record.TraceIDLen]byte(b)
		default:
			return errf("traceId has %d bytes, want %d", len(b), record.TraceIDLen)
		}
	}

	r.Tags = r.Tags[:0]
	if w, ok := e.ptr(4); ok {
		t, n, err := s.list(w, elemPointer, 64)
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			tag, err := s.text(t + i)
			if err != nil {
				return err
			}
			r.Tags = append(r.Tags, tag)
		}
	}

	r.Attributes = r.Attributes[:0]
	if w, ok := e.ptr(5); ok {
		if err := s.readAttributes(w, r); err != nil {
			return err
		}
	}

	h, err := s.field(&e, 6)
	if err != nil {
		return err
	}
	r.HTTP.Status = h.u32(s, 0)
	r.HTTP.LatencyNs = int64(h.u64(s, 8))
	if r.HTTP.Method, err = s.textField(&h, 0); err != nil {
		return err
	}
	r.HTTP.Path, err = s.textField(&h, 1)
	return err
}

// readAttributes reads the List(Attribute) at word w: an inline-composite
// list, whose tag word gives the element count and struct size.
func (s *seg) readAttributes(w uint64, r *record.LogEntry) error {
	v := s.word(w)
	if v == 0 {
		return nil
	}
	if v&3 != kindList || v>>32&7 != elemComposite {
		return errKind(v, "list of structs")
	}
	t, words := target(w, v), v>>35
	if t < 0 || uint64(t)+1+words > s.words {
		return errRange("struct list", t, s.words)
	}
	tag := s.word(uint64(t))
	if tag&3 != kindStruct {
		return errf("struct list tag 0x%016x is not a struct", tag)
	}
	n, dw, pn := uint64(uint32(tag)>>2), tag>>32&0xFFFF, tag>>48
	size := dw + pn
	if n*size > words {
		return errf("struct list of %d elements of %d words exceeds its %d words", n, size, words)
	}
	// Zero-sized elements are charged a word each, as the runtime does.
	if err := s.charge(8 * n * max(size, 1)); err != nil {
		return err
	}
	first := uint64(t) + 1 + dw
	for i := uint64(0); i < n; i++ {
		a := view{ptrs: first + i*size, nptrs: pn}
		var kv record.Attribute
		var err error
		if kv.Key, err = s.textField(&a, 0); err != nil {
			return err
		}
		if kv.Value, err = s.textField(&a, 1); err != nil {
			return err
		}
		r.Attributes = append(r.Attributes, kv)
	}
	return nil
}

func (s *seg) readSample(r *record.Sample) error {
	v, err := s.structAt(0)
	if err != nil {
		return err
	}
	r.TimestampNs = int64(v.u64(s, 0))
	r.Label = int32(v.u32(s, 8))
	r.Features = [record.SampleFeatures]float32{}
	w, ok := v.ptr(0)
	if !ok {
		return nil
	}
	t, n, err := s.list(w, elemFour, 32)
	if err != nil {
		return err
	}
	switch n {
	case 0:
	case record.SampleFeatures:
		f := s.b[8*t : 8*t+4*record.SampleFeatures]
		for i := range r.Features {
			r.Features[i] = math.Float32frombits(binary.LittleEndian.Uint32(f[4*i:]))
		}
	default:
		return errf("features has %d values, want %d", n, record.SampleFeatures)
	}
	return nil
}

func (s *seg) readTensor(r *record.Tensor) error {
	v, err := s.structAt(0)
	if err != nil {
		return err
	}
	if r.Name, err = s.textField(&v, 0); err != nil {
		return err
	}
	r.DType = record.DType(v.u16(s, 0))
	r.Shape = r.Shape[:0]
	if w, ok := v.ptr(1); ok {
		t, n, err := s.list(w, elemEight, 64)
		if err != nil {
			return err
		}
		if n > record.MaxTensorDims {
			return errf("tensor has %d dims, max %d", n, record.MaxTensorDims)
		}
		for i := uint64(0); i < n; i++ {
			r.Shape = append(r.Shape, int64(s.word(t+i)))
		}
	}
	r.Data = s.b[:0:0]
	if w, ok := v.ptr(2); ok {
		b, err := s.bytesAt(w)
		if err != nil {
			return err
		}
		if b != nil {
			r.Data = b
		}
	}
	return nil
}

// readString reads one string field of the root struct (a valid field).
func (s *seg) readString(field codec.Field) (string, error) {
	v, err := s.structAt(0)
	if err != nil {
		return "", err
	}
	switch field {
	case codec.FieldLogService, codec.FieldLogHost, codec.FieldLogMessage:
		return s.textField(&v, uint64(field-codec.FieldLogService))
	case codec.FieldTensorName:
		return s.textField(&v, 0)
	}
	h, err := s.field(&v, 6)
	if err != nil {
		return "", err
	}
	return s.textField(&h, uint64(field-codec.FieldLogHTTPMethod))
}

// rootText reads Text pointer i of the root struct of a single-segment
// message straight from b: stream header, root pointer, the field's pointer
// and the text, each checked against the segment. It handles only the
// common case and reports ok false for anything else (a malformed or
// multi-segment message, a far pointer, an unexpected pointer kind, a
// text without its NUL); the caller then takes the general path, which
// gives the same result or error. It cannot panic: every index is checked,
// so it needs no recover.
//
// The traversal budget (16*words + traverseSlack) cannot run out here: the
// root struct and the text both lie inside the segment, so together they
// charge at most 8*words + 8*words bytes.
func rootText(b []byte, i uint64) (str string, ok bool) {
	if len(b) < 16 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return "", false
	}
	if binary.LittleEndian.Uint32(b) != 0 {
		return "", false
	}
	words := uint64(binary.LittleEndian.Uint32(b[4:]))
	if words == 0 || words > (uint64(len(b))-8)/8 {
		return "", false
	}
	s := b[8 : 8+8*words]
	v := binary.LittleEndian.Uint64(s)
	if v == 0 || v&3 != kindStruct {
		return "", false
	}
	// The offset is a signed 30-bit word count; t fits an int64 easily.
	t := 1 + int64(int32(uint32(v))>>2)
	dw, pn := v>>32&0xFFFF, v>>48
	if t < 0 || uint64(t)+dw+pn > words {
		return "", false
	}
	if i >= pn {
		return "", true // beyond a short struct: the default
	}
	w := uint64(t) + dw + i // < words
	if w >= words {
		return "", false
	}
	p := binary.LittleEndian.Uint64(s[8*w:])
	if p == 0 {
		return "", true
	}
	if p&3 != kindList || p>>32&7 != elemByte {
		return "", false
	}
	tt, n := int64(w)+1+int64(int32(uint32(p))>>2), p>>35
	if tt < 0 || n == 0 || uint64(tt)+(n+7)/8 > words {
		return "", false
	}
	start := 8 * uint64(tt)
	end := start + n - 1 // < 8*words = len(s)
	if end >= uint64(len(s)) || s[end] != 0 {
		return "", false
	}
	if n == 1 {
		return "", true
	}
	return unsafe.String(&s[start], int(n-1)), true
}
