package schema

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// MsgPack verifies msg and transcodes it to MessagePack: the dynamic value
// Decode returns (see the package documentation), written in schema order.
//
//   - tables, structs and groups: maps keyed by field name, holding the
//     fields Decode holds (FlatBuffers: the fields present in the message;
//     Cap'n Proto: every data field and non-null pointer field);
//   - integers and enums: MessagePack integers of their exact value and sign;
//     unions' `_type` fields: the member's enum value;
//   - float32 fields: MessagePack float32, float64 fields: float64, with the
//     stored bits (NaN and infinities included);
//   - strings: str, which must be valid UTF-8 (the policy of JSON as well);
//     Cap'n Proto Data: bin;
//   - Void, capabilities and unknown union members: nil.
func (t *Type) MsgPack(msg []byte, opts *Options) ([]byte, error) {
	return t.AppendMsgPack(nil, msg, opts)
}

// AppendMsgPack verifies msg and appends its MessagePack form (see MsgPack)
// to dst; on error it returns dst as it was (its capacity may have grown).
// The walk that verifies writes it: no dynamic value is built.
func (t *Type) AppendMsgPack(dst, msg []byte, opts *Options) ([]byte, error) {
	w := mpWriter{buf: dst}
	if _, err := t.walk(msg, opts, false, &w); err != nil {
		return w.buf[:len(dst)], err
	}
	return w.buf, nil
}

// written is what the walkers return for a value they wrote to an mpWriter
// (the zero slot stands for a value that is left out).
var written = slot{kind: Void}

// mpWriter is the MessagePack the walkers write as they go, in the forms
// Decode's values take (see MsgPack).
type mpWriter struct {
	buf []byte
}

// mpObject is a map being written: where its header is and how many
// entries it has so far.
type mpObject struct {
	hdr, n int
}

// beginMap starts a map whose size is known at its end: a one-byte fixmap
// header is reserved, and widened by endMap when needed.
func (w *mpWriter) beginMap() mpObject {
	w.buf = append(w.buf, 0x80)
	return mpObject{hdr: len(w.buf) - 1}
}

// key writes an entry's key and returns where the entry starts.
func (w *mpWriter) key(name string) int {
	mark := len(w.buf)
	w.buf = msgp.AppendString(w.buf, name)
	return mark
}

// entry ends an entry: kept when present, otherwise its key is taken back.
func (w *mpWriter) entry(o *mpObject, mark int, present bool) {
	if present {
		o.n++
	} else {
		w.buf = w.buf[:mark]
	}
}

// endMap writes the map's header in its smallest form, as
// msgp.AppendMapHeader does.
func (w *mpWriter) endMap(o mpObject) {
	if o.n <= 15 {
		w.buf[o.hdr] = 0x80 | byte(o.n)
		return
	}
	hdr := msgp.AppendMapHeader(nil, uint32(o.n))
	grow := len(hdr) - 1
	w.buf = append(w.buf, hdr[:grow]...)
	copy(w.buf[o.hdr+len(hdr):], w.buf[o.hdr+1:len(w.buf)-grow])
	copy(w.buf[o.hdr:], hdr)
}

func (w *mpWriter) array(n int)  { w.buf = msgp.AppendArrayHeader(w.buf, uint32(n)) }
func (w *mpWriter) null()        { w.buf = msgp.AppendNil(w.buf) }
func (w *mpWriter) bin(b []byte) { w.buf = msgp.AppendBytes(w.buf, b) }

// str writes a string, which must be valid UTF-8 (the policy of JSON too).
func (w *mpWriter) str(b []byte) error {
	if !utf8.Valid(b) {
		return failf("string is not valid UTF-8")
	}
	w.buf = msgp.AppendStringFromBytes(w.buf, b)
	return nil
}

// scalar writes the little-endian scalar of kind k at b.
func (w *mpWriter) scalar(k Kind, b []byte) {
	switch k {
	case Bool:
		w.buf = msgp.AppendBool(w.buf, b[0] != 0)
	case Int8:
		w.buf = msgp.AppendInt64(w.buf, int64(int8(b[0])))
	case Uint8:
		w.buf = msgp.AppendUint64(w.buf, uint64(b[0]))
	case Int16:
		w.buf = msgp.AppendInt64(w.buf, int64(int16(binary.LittleEndian.Uint16(b))))
	case Uint16:
		w.buf = msgp.AppendUint64(w.buf, uint64(binary.LittleEndian.Uint16(b)))
	case Int32:
		w.buf = msgp.AppendInt64(w.buf, int64(int32(binary.LittleEndian.Uint32(b))))
	case Uint32:
		w.buf = msgp.AppendUint64(w.buf, uint64(binary.LittleEndian.Uint32(b)))
	case Int64:
		w.buf = msgp.AppendInt64(w.buf, int64(binary.LittleEndian.Uint64(b)))
	case Uint64:
		w.buf = msgp.AppendUint64(w.buf, binary.LittleEndian.Uint64(b))
	case Float32:
		w.buf = msgp.AppendFloat32(w.buf, math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case Float64:
		w.buf = msgp.AppendFloat64(w.buf, math.Float64frombits(binary.LittleEndian.Uint64(b)))
	default:
		w.null()
	}
}

// scalars writes the n/size scalars of kind k packed in b.
func (w *mpWriter) scalars(k Kind, b []byte, size int) {
	if k == Uint8 && size == 1 {
		for _, c := range b {
			w.buf = msgp.AppendUint64(w.buf, uint64(c))
		}
		return
	}
	for i := 0; i+size <= len(b); i += size {
		w.scalar(k, b[i:])
	}
}

// scalarBits writes a scalar of kind k from its (zero-extended) bits.
func (w *mpWriter) scalarBits(k Kind, bits uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], bits)
	if k == Bool && bits != 0 { // any byte but 0 is true, as flatc's generated code reads it
		b[0] = 1
	}
	w.scalar(k, b[:])
}

// fbStruct writes an inline FlatBuffers struct, every field, as
// decodeStruct reads it.
func (w *mpWriter) fbStruct(t *Type, b []byte) {
	w.buf = msgp.AppendMapHeader(w.buf, uint32(len(t.Fields)))
	for _, f := range t.Fields {
		w.buf = msgp.AppendString(w.buf, f.Name)
		p := b[f.Slot:]
		switch f.Kind {
		case Struct:
			w.fbStruct(f.Type, p)
		case Array:
			w.array(f.Len)
			es := f.Size / f.Len
			for i := 0; i < f.Len; i++ {
				if f.Elem.Kind == Struct {
					w.fbStruct(f.Elem.Type, p[i*es:])
				} else {
					w.scalar(f.Elem.scalarKind(), p[i*es:])
				}
			}
		default:
			w.scalar(f.scalarKind(), p)
		}
	}
}
