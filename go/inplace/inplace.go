// Package inplace lets code that flatc and capnpc-go generated for any
// schema build its messages directly in a reserved region or channel slot
// (region.Slot.Buf, channel.Slot.Buf): nothing is copied, and the message is
// committed where it was built.
//
//	slot, _ := r.Reserve(codec.FlatBuffers, schema.FlatBuffersTypeID("pkg.Monster"), 1024)
//	b = inplace.FlatBuffersBuilder(b, slot.Buf)
//	... generated code: pkg.MonsterStart(b) ... b.Finish(...)
//	msg, err := inplace.FlatBuffersMessage(b, slot.Buf) // the message outgrew the slot: abort, reserve more
//	frame, err := slot.Commit(msg)
//
// It links both formats' official runtimes; the codecs in go/codec link
// none.
package inplace

import (
	"encoding/binary"
	"fmt"

	capnp "capnproto.org/go/capnp/v3"
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
)

// FlatBuffersBuilder makes b (a new Builder when b is nil) build back to
// front inside buf, and returns it. Reusing one Builder, building allocates
// nothing once it is warm. After b.Finish, FlatBuffersMessage gives the
// message to commit.
func FlatBuffersBuilder(b *flatbuffers.Builder, buf []byte) *flatbuffers.Builder {
	if b == nil {
		b = flatbuffers.NewBuilder(0)
	}
	b.Bytes = buf
	b.Reset()
	// A message that ends at the slot's end starts 8-aligned (what Commit
	// asks) when its length is a multiple of 8: Finish pads to minalign.
	b.Prep(8, 0)
	return b
}

// FlatBuffersMessage returns the message b finished: the end of buf,
// starting a multiple of 8 bytes from buf[0], to pass to the slot's Commit.
// A message that outgrew buf (the Builder then moved it to the Go heap) is
// an error wrapping codec.ErrShortBuffer: abort the slot and reserve a
// larger one.
func FlatBuffersMessage(b *flatbuffers.Builder, buf []byte) ([]byte, error) {
	msg := b.FinishedBytes()
	if len(msg) == 0 || len(buf) == 0 || &msg[len(msg)-1] != &buf[len(buf)-1] {
		return nil, fmt.Errorf("%w: the message outgrew its %d-byte slot", codec.ErrShortBuffer, len(buf))
	}
	if (len(buf)-len(msg))%8 != 0 {
		return nil, fmt.Errorf("%w: the message does not start 8-aligned in the slot (build it with FlatBuffersBuilder)",
			codec.ErrInvalid)
	}
	return msg, nil
}

// CapnpMessage starts a one-segment Cap'n Proto message inside buf, after
// the 8-byte stream header CapnpBytes writes: generated code then builds in
// it (NewRootX(seg)). The segment grows to the end of buf and no further: an
// allocation past it fails (the generated setter returns the error).
// go-capnp zeroes what it allocates, so a slot holding an earlier lap's
// bytes (a channel's) builds the same message. It allocates the Message and
// its arena (2 allocations per message); the message is never copied.
func CapnpMessage(buf []byte) (*capnp.Message, *capnp.Segment, error) {
	if len(buf) < 16 {
		return nil, nil, fmt.Errorf("%w: a %d-byte slot cannot hold a Cap'n Proto message", codec.ErrShortBuffer, len(buf))
	}
	end := 8 + (len(buf)-8)&^7 // whole words
	return capnp.NewMessage(capnp.SingleSegment(buf[8:8:end]))
}

// CapnpBytes writes the stream header of msg, a message CapnpMessage started
// in buf, and returns the message bytes, buf[:8+segment size], to pass to
// the slot's Commit.
func CapnpBytes(buf []byte, msg *capnp.Message) ([]byte, error) {
	if msg.NumSegments() != 1 || len(buf) < 16 {
		return nil, fmt.Errorf("%w: not a one-segment message started in this slot (CapnpMessage)", codec.ErrInvalid)
	}
	seg, err := msg.Segment(0)
	if err != nil {
		return nil, err
	}
	data := seg.Data()
	if len(data) == 0 || &data[0] != &buf[8] {
		return nil, fmt.Errorf("%w: the message is not inside its %d-byte slot (start it with CapnpMessage)",
			codec.ErrInvalid, len(buf))
	}
	binary.LittleEndian.PutUint32(buf[0:], 0) // segment count - 1
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(data)/8))
	return buf[:8+len(data)], nil
}
