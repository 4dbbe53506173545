// Package dynamic puts messages of schemas loaded at run time (package
// schema) into regions and reads them back, and stores schemas in regions
// so readers need none of their own. It is apart from package crossbuf
// because the schema engine links both the FlatBuffers and the Cap'n Proto
// runtimes, which a program of bundled records in one format does not need.
package dynamic

import (
	"fmt"
	"hash/fnv"
	"sync"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// Messages are built in reused memory and copied once into a slot of
// exactly their size, so no region space is lost to guessing.
var (
	builders = sync.Pool{New: func() any { return flatbuffers.NewBuilder(4096) }}
	segments = sync.Pool{New: func() any { return new([]byte) }} // Cap'n Proto
)

// AppendValue encodes v, a dynamic value (see package schema), as a message
// of t, a FlatBuffers table or Cap'n Proto struct of a schema loaded at run
// time, into a new frame of r whose type id is t.ID. Code generated for the
// type (flatc, capnpc-go) can build in place instead (see the examples).
func AppendValue(r *region.Region, t *schema.Type, v map[string]any) (region.Frame, error) {
	return encoded(t,
		func(b *flatbuffers.Builder) error { return t.EncodeFlatBuffer(b, v) },
		func(dst []byte) ([]byte, error) { return t.EncodeCapnp(dst, v) },
		func(id codec.ID, msg []byte) (region.Frame, error) { return appendMessage(r, id, t, msg) })
}

// AppendMsgPack is AppendValue of a value in MessagePack (one map, the form
// schema.ValueFromMsgPack reads, as Python hands records over), read in
// place with no dynamic value (schema.Type.EncodeFlatBufferMsgPack and
// EncodeCapnpMsgPack).
func AppendMsgPack(r *region.Region, t *schema.Type, mp []byte) (region.Frame, error) {
	return encoded(t,
		func(b *flatbuffers.Builder) error { return t.EncodeFlatBufferMsgPack(b, mp) },
		func(dst []byte) ([]byte, error) { return t.EncodeCapnpMsgPack(dst, mp) },
		func(id codec.ID, msg []byte) (region.Frame, error) { return appendMessage(r, id, t, msg) })
}

// encoded builds a message of t with the encoder of its format, in reused
// memory, and hands it to put with its frame codec.
func encoded[F any](t *schema.Type, fb func(*flatbuffers.Builder) error, cp func(dst []byte) ([]byte, error),
	put func(codec.ID, []byte) (F, error)) (F, error) {
	switch t.Format {
	case schema.FlatBuffers:
		b := builders.Get().(*flatbuffers.Builder)
		defer builders.Put(b)
		if err := fb(b); err != nil {
			var zero F
			return zero, err
		}
		return put(codec.FlatBuffers, b.FinishedBytes())
	case schema.CapnProto:
		seg := segments.Get().(*[]byte)
		defer segments.Put(seg)
		msg, err := cp((*seg)[:0])
		if err != nil {
			var zero F
			return zero, err
		}
		*seg = msg
		return put(codec.CapnProto, msg)
	}
	var zero F
	return zero, fmt.Errorf("%w: %s has no wire format", codec.ErrRecordType, t.Name)
}

// appendMessage copies msg, a message of t in codec id, into a new frame of r.
func appendMessage(r *region.Region, id codec.ID, t *schema.Type, msg []byte) (region.Frame, error) {
	slot, err := r.Reserve(id, t.ID, len(msg))
	if err != nil {
		return region.Frame{}, err
	}
	return fill(r, slot, msg)
}

// fill copies msg into slot, a slot of r, and commits it; a memory fault
// (the region's file truncated by another process) is ErrTruncated.
func fill(r *region.Region, slot region.Slot, msg []byte) (region.Frame, error) {
	n, err := copyInto(r, slot.Buf, msg)
	if err != nil {
		slot.Abort()
		return region.Frame{}, err
	}
	return slot.Commit(slot.Buf[:n])
}

func copyInto(r *region.Region, dst, src []byte) (n int, err error) {
	defer r.Caught(&err, region.CatchFaults())
	return copy(dst, src), nil
}

// Types resolves type ids: a *schema.Schema or a *schema.Registry.
type Types interface {
	TypeByID(id uint64) (*schema.Type, error)
}

// DecodeValue verifies frame f and decodes it as the type its type id names
// in types. A type id that types does not define is an error naming the id
// (wrapping schema.ErrUnknownType), never a guess.
func DecodeValue(f region.Frame, types Types) (*schema.Record, error) {
	t, err := types.TypeByID(f.TypeID)
	if err != nil {
		return nil, fmt.Errorf("frame at %d: %w", f.Offset, err) // wraps schema.ErrUnknownType
	}
	want := codec.FlatBuffers
	if t.Format == schema.CapnProto {
		want = codec.CapnProto
	}
	if codec.ID(f.Codec) != want {
		return nil, fmt.Errorf("%w: frame at %d holds codec %d, not %s's %s", codec.ErrRecordType, f.Offset, f.Codec, t.Name, t.Format)
	}
	v, err := t.Decode(f.Payload, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", codec.ErrMalformed, err)
	}
	return v, nil
}

// StoreSchema appends s's binary form to r as a schema frame (codec
// codec.Schema, type id the FNV-1a 64 of the bytes), so a reader in another
// process can decode r's frames with Schemas(r) and no schema of its own.
func StoreSchema(r *region.Region, s *schema.Schema) (region.Frame, error) {
	b := s.Binary()
	if len(b) == 0 {
		return region.Frame{}, fmt.Errorf("%w: the schema has no binary form", region.ErrInvalid)
	}
	h := fnv.New64a()
	h.Write(b)
	slot, err := r.Reserve(codec.Schema, h.Sum64(), len(b))
	if err != nil {
		return region.Frame{}, err
	}
	return fill(r, slot, b)
}

// Schemas loads every schema frame of r into a registry that resolves the
// type ids of r's other frames. A schema frame that does not load, or whose
// types conflict with one loaded before, is an error naming its offset.
func Schemas(r *region.Region) (*schema.Registry, error) {
	reg := &schema.Registry{}
	for f, err := range r.Frames() {
		if err != nil {
			return nil, err
		}
		if codec.ID(f.Codec) != codec.Schema {
			continue
		}
		s, err := schema.Load(f.Payload)
		if err == nil {
			err = reg.Add(s)
		}
		if err != nil {
			return nil, fmt.Errorf("schema frame at offset %d: %w", f.Offset, err)
		}
	}
	return reg, nil
}
