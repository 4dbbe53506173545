// Package crossbuf joins codecs and regions: it encodes a record straight
// into a region frame and decodes a frame with the codec its header names.
// It is the Go API that the C ABI (go/capi) and the Python package expose.
//
// It links no format by itself: each format's package (go/codec/flatbuf,
// go/codec/capnp, ...) registers its codec when imported, so a program that
// uses FlatBuffers alone links only the FlatBuffers runtime. Messages of
// schemas loaded at run time are in package go/crossbuf/dynamic.
package crossbuf

import (
	"fmt"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// Append encodes rec with c into a new frame of r. Zero-copy codecs build the
// record in place in region memory. On error nothing is published: the slot,
// if one was reserved, is aborted and readers skip it.
func Append(r *region.Region, c codec.Codec, rec record.Record) (region.Frame, error) {
	if err := record.Validate(rec); err != nil {
		return region.Frame{}, err
	}
	size, err := c.MaxSize(rec)
	if err != nil {
		return region.Frame{}, err
	}
	slot, err := r.Reserve(c.ID(), uint64(rec.RecordType()), size)
	if err != nil {
		return region.Frame{}, err
	}
	payload, err := encodeInto(r, c, slot.Buf, rec)
	if err != nil {
		slot.Abort()
		return region.Frame{}, err
	}
	return slot.Commit(payload)
}

// encodeInto encodes rec into buf, a slot of r, where a memory fault (the
// region's file truncated by another process) is ErrTruncated.
func encodeInto(r *region.Region, c codec.Codec, buf []byte, rec record.Record) (p []byte, err error) {
	defer r.Caught(&err, region.CatchFaults())
	return c.Encode(buf, rec)
}

// Decode decodes frame f into out with the codec named in f's header, which
// must be registered: the program imports that format's package
// (go/codec/flatbuf, ...), or go/codec/codecs for every format; otherwise
// the error wraps codec.ErrUnknownCodec. out must be of the record type the
// frame holds. With zero-copy codecs out then
// points into the region: it is valid until the region is closed or reset.
func Decode(f region.Frame, out record.Record) error {
	if t := out.RecordType(); f.TypeID != uint64(t) {
		return fmt.Errorf("%w: frame holds type id %#016x, not a %v", codec.ErrRecordType, f.TypeID, t)
	}
	c, err := codec.Lookup(codec.ID(f.Codec))
	if err != nil {
		return err
	}
	return c.Decode(f.Payload, out)
}
