package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/tinylib/msgp/msgp"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/codec/json"
	"github.com/crossbuf/crossbuf/go/codec/msgpack"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// The bundled records cross the C boundary as MessagePack (or JSON) in the
// wire shape of their baseline codecs, never as C structs: a record's
// layout is written once, in its schema and its codecs.

var scratches = newHandles[scratch](tagScratch)

func codecByID(id C.int32_t) (codec.Codec, error) {
	if id <= 0 || id > 0xffff {
		return nil, fmt.Errorf("%w: %d", codec.ErrUnknownCodec, int32(id))
	}
	return codec.Lookup(codec.ID(id))
}

func checkRecordType(t C.int32_t) status {
	if t <= 0 || t > 0xffff || !record.Type(t).Valid() {
		return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("unknown record type %d", int32(t)))
	}
	return C.XB_OK
}

// textCodec is the codec a record is handed over in: MessagePack or JSON.
func textCodec(format C.int32_t) (codec.Codec, error) {
	switch codec.ID(format) {
	case codec.MsgPack:
		return msgpack.New(), nil
	case codec.JSON:
		return json.New(), nil
	}
	return nil, fmt.Errorf("%w: format %d: records are handed over as XB_CODEC_MSGPACK or XB_CODEC_JSON",
		errInvalidArg, int32(format))
}

// ---- scratch ---------------------------------------------------------------

//export xb_scratch_new
func xb_scratch_new(out *C.xb_scratch) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	s, err := newScratch()
	if err != nil {
		return failErr(err)
	}
	id, err := scratches.add(s)
	if err != nil {
		s.close()
		return failErr(err)
	}
	*out = C.xb_scratch(id)
	return C.XB_OK
}

//export xb_scratch_free
func xb_scratch_free(h C.xb_scratch) (rc status) {
	defer guard(&rc, enter())
	s, err := scratches.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	s.close() // waits for a call using it on another thread
	return C.XB_OK
}

// session resolves the region and scratch handles of a decoding call and
// holds both until release: the region's mapping stays valid and the
// scratch is this call's alone. The scratch is reset for it.
func session(h C.xb_region, sh C.xb_scratch) (*openRegion, *scratch, func(), error) {
	r, releaseRegion, err := useRegion(h)
	if err != nil {
		return nil, nil, nil, err
	}
	s, releaseScratch, err := useScratch(sh)
	if err != nil {
		releaseRegion()
		return nil, nil, nil, err
	}
	return r, s, func() { releaseScratch(); releaseRegion() }, nil
}

// useScratch resolves a scratch handle, locks it for this call and resets it.
func useScratch(h C.xb_scratch) (*scratch, func(), error) {
	s, err := scratches.get(uint64(h))
	if err != nil {
		return nil, nil, err
	}
	if err := s.lock(); err != nil {
		return nil, nil, err
	}
	if err := s.reset(); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return s, s.mu.Unlock, nil
}

// appendRecord appends rec encoded with c (MessagePack or JSON, which
// encode at the start of dst) to b.
func appendRecord(b []byte, c codec.Codec, rec record.Record) ([]byte, error) {
	size, err := c.MaxSize(rec)
	if err != nil {
		return b, err
	}
	if cap(b)-len(b) < size {
		b = append(b[:cap(b)], make([]byte, size)...)[:len(b)]
	}
	enc, err := c.Encode(b[len(b):len(b)+size], rec)
	if err != nil {
		return b, err
	}
	return b[:len(b)+len(enc)], nil
}

// handOut copies s.out into the scratch mapping, where C may point.
func handOut(s *scratch, out **C.uint8_t, outLen *C.uint64_t) status {
	p, err := s.copyBytes(s.out)
	if err != nil {
		return failErr(err)
	}
	*out = (*C.uint8_t)(p)
	*outLen = C.uint64_t(len(s.out))
	return C.XB_OK
}

// ---- encode ----------------------------------------------------------------

//export xb_encode
func xb_encode(h C.xb_region, codecID C.int32_t, recordType C.int32_t, records *C.uint8_t, length C.uint64_t, n C.uint64_t, frames *C.xb_frame, nDone *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if nDone != nil {
		*nDone = 0
	}
	c, err := codecByID(codecID)
	if err != nil {
		return failErr(err)
	}
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	out, err := cArray(frames, n, "frames_out")
	if err != nil {
		return failErr(err)
	}
	if n == 0 && length == 0 {
		return C.XB_OK // nothing to encode, and nothing to read
	}
	in, err := goBytes(records, length, "records")
	if err != nil {
		return failErr(err)
	}
	// The whole array is checked before anything is committed: a count
	// other than n, or bytes after the array, leave the region unchanged.
	count, in, err := msgp.ReadArrayHeaderBytes(in)
	if err != nil {
		return fail(C.XB_ERR_INVALID_RECORD, fmt.Sprintf("records: not a MessagePack array: %v", err))
	}
	if uint64(count) != uint64(n) {
		return invalidf("records holds %d records, n is %d", count, uint64(n))
	}
	t := encodePool.Get().(*encodeSet)
	defer func() {
		if cap(t.ends) > 1<<16 {
			t.ends = nil // a huge batch's offsets are not kept for the next call
		}
		encodePool.Put(t)
	}()
	t.ends = t.ends[:0] // where each record ends in in: found once, by this check
	body := in
	for i := uint32(0); i < count; i++ {
		if body, err = msgp.Skip(body); err != nil {
			return fail(C.XB_ERR_INVALID_RECORD, fmt.Sprintf("record %d: not MessagePack: %v", i, err))
		}
		t.ends = append(t.ends, len(in)-len(body))
	}
	if len(body) != 0 {
		return fail(C.XB_ERR_INVALID_RECORD, fmt.Sprintf("records: %d bytes after the array", len(body)))
	}
	r, release, err := useRegion(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	rec := t.of(record.Type(recordType))
	mp := msgpack.New()
	start := 0
	for i := range out {
		end := t.ends[i]
		err := mp.DecodeAliased(in[start:end], rec) // strings alias records: valid for this call
		if err == nil {
			err = record.CheckUTF8(rec)
		}
		if err != nil {
			return fail(C.XB_ERR_INVALID_RECORD, fmt.Sprintf("record %d: %v", i, invalidRecord(err)))
		}
		start = end
		f, err := crossbuf.Append(r.Region, c, rec)
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("record %d: %v", i, err))
		}
		frameToC(f, &out[i])
		if nDone != nil {
			*nDone = C.uint64_t(i + 1)
		}
	}
	return C.XB_OK
}

// encodeSet is one encode call's reused state: the records that alias the
// caller's MessagePack and the end offset of each record in it.
type encodeSet struct {
	recordSet
	ends []int
}

// encodePool holds encode sets, so encoding allocates nothing per record.
var encodePool = sync.Pool{New: func() any { return new(encodeSet) }}

// invalidRecord words a decode error of a record the caller gave: its
// values, not bytes read from a frame, are what is wrong.
func invalidRecord(err error) string {
	msg := err.Error()
	if errors.Is(err, codec.ErrMalformed) {
		msg = msg[len(codec.ErrMalformed.Error())+2:]
	}
	return msg
}

// ---- decode ----------------------------------------------------------------

//export xb_decode
func xb_decode(h C.xb_region, sh C.xb_scratch, frames *C.xb_frame, n C.uint64_t, format C.int32_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	tc, err := textCodec(format)
	if err != nil {
		return failErr(err)
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	if n > math.MaxUint32 {
		return invalidf("%d frames: at most 2^32-1 per call", uint64(n))
	}
	r, s, release, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	json := codec.ID(format) == codec.JSON
	if json {
		s.out = append(s.out[:0], '[')
	} else {
		s.out = msgp.AppendArrayHeader(s.out[:0], uint32(n))
	}
	for i := range refs {
		if json && i > 0 {
			s.out = append(s.out, ',')
		}
		f, err := r.Get(refOf(&refs[i]))
		if err == nil {
			s.out, err = decodeTo(s, tc, f.TypeID, func(rec record.Record) error { return crossbuf.Decode(f, rec) })
		}
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
	}
	if json {
		s.out = append(s.out, ']')
	}
	return handOut(s, out, outLen)
}

// decodeTo decodes one bundled record of type id with decode and appends it
// to s.out in tc.
func decodeTo(s *scratch, tc codec.Codec, id uint64, decode func(record.Record) error) ([]byte, error) {
	if id == 0 || id > uint64(record.TypeTensor) {
		return s.out, fmt.Errorf("%w: type id %#x is not a bundled record (XB_RECORD_*)", codec.ErrRecordType, id)
	}
	rec := s.records.of(record.Type(id))
	if err := decode(rec); err != nil {
		return s.out, err
	}
	if err := record.CheckUTF8(rec); err != nil { // its strings become Python str, or JSON
		return s.out, fmt.Errorf("%w: %v", codec.ErrMalformed, err)
	}
	return appendRecord(s.out, tc, rec)
}

// refOf is the reference of a frame the caller passes back. Only the
// identity is taken from it: the payload pointer is looked up again, never
// trusted.
func refOf(f *C.xb_frame) region.Ref {
	return region.Ref{RegionID: uint64(f.region_id), Generation: uint64(f.generation), Offset: uint64(f.offset)}
}

//export xb_decode_bytes
func xb_decode_bytes(sh C.xb_scratch, codecID C.int32_t, recordType C.int32_t, bytes *C.uint8_t, n C.uint64_t, format C.int32_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	c, err := codecByID(codecID)
	if err != nil {
		return failErr(err)
	}
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	tc, err := textCodec(format)
	if err != nil {
		return failErr(err)
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	b, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	s, release, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	s.out = s.out[:0]
	if s.out, err = decodeTo(s, tc, uint64(recordType), func(rec record.Record) error { return c.Decode(b, rec) }); err != nil {
		return failErr(err)
	}
	return handOut(s, out, outLen)
}

// ---- test data -------------------------------------------------------------

// maxGenerateBytes bounds xb_generate's tensor (XB_MAX_GENERATE_BYTES): it is
// built on the Go heap, where running out of memory is fatal, not an error.
const maxGenerateBytes = 1 << 30

//export xb_generate
func xb_generate(sh C.xb_scratch, recordType C.int32_t, seed C.uint64_t, size C.uint64_t, format C.int32_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	tc, err := textCodec(format)
	if err != nil {
		return failErr(err)
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	if record.Type(recordType) == record.TypeTensor && size > maxGenerateBytes {
		return invalidf("tensor size %d exceeds XB_MAX_GENERATE_BYTES (%d)", uint64(size), maxGenerateBytes)
	}
	s, release, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	var rec record.Record
	switch record.Type(recordType) {
	case record.TypeLogEntry:
		rec = record.NewLogEntry(uint64(seed))
	case record.TypeSample:
		rec = record.NewSample(uint64(seed))
	default:
		rec = record.NewTensor(uint64(seed), int(size))
	}
	if s.out, err = appendRecord(s.out[:0], tc, rec); err != nil {
		return failErr(err)
	}
	return handOut(s, out, outLen)
}
