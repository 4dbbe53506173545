package crossbuf

import (
	"fmt"
	"sync"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

var builders = sync.Pool{New: func() any { return flatbuffers.NewBuilder(4096) }}

// AppendValue encodes v, a dynamic value (see package schema), as a message
// of t, a FlatBuffers table or Cap'n Proto struct of a schema loaded at run
// time, into a new frame of r whose type id is t.ID. The message is built
// in reused memory and copied once into a slot of exactly its size, so no
// region space is lost to guessing; code generated for the type (flatc,
// capnpc-go) can build in place instead (see the examples).
func AppendValue(r *region.Region, t *schema.Type, v map[string]any) (region.Frame, error) {
	var msg []byte
	var id codec.ID
	switch t.Format {
	case schema.FlatBuffers:
		b := builders.Get().(*flatbuffers.Builder)
		defer builders.Put(b)
		if err := t.EncodeFlatBuffer(b, v); err != nil {
			return region.Frame{}, err
		}
		msg, id = b.FinishedBytes(), codec.FlatBuffers
	case schema.CapnProto:
		var err error
		if msg, err = t.EncodeCapnp(nil, v); err != nil {
			return region.Frame{}, err
		}
		id = codec.CapnProto
	default:
		return region.Frame{}, fmt.Errorf("%w: %s has no wire format", codec.ErrRecordType, t.Name)
	}
	slot, err := r.Reserve(uint16(id), t.ID, len(msg))
	if err != nil {
		return region.Frame{}, err
	}
	n := copy(slot.Buf, msg)
	return slot.Commit(slot.Buf[:n])
}

// DecodeValue verifies frame f and decodes it as the type its type id names
// in s. A type id that s does not define is an error naming the id, never a
// guess.
func DecodeValue(f region.Frame, s *schema.Schema) (map[string]any, error) {
	t, err := s.TypeByID(f.TypeID)
	if err != nil {
		return nil, fmt.Errorf("%w: frame at %d: %w", codec.ErrRecordType, f.Offset, err)
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
