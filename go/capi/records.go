package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

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

// ---- encode ----------------------------------------------------------------

// encodeTargets are reused Go records that alias the caller's C structs
// during one encode call, so encoding allocates nothing per record.
type encodeTargets struct {
	log    record.LogEntry
	sample record.Sample
	tensor record.Tensor
}

var encodePool = sync.Pool{New: func() any { return new(encodeTargets) }}

//export xb_encode
func xb_encode(h C.xb_region, codecID C.int32_t, recordType C.int32_t, records unsafe.Pointer, n C.uint64_t, frames *C.xb_frame, nDone *C.uint64_t) (rc status) {
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
	if n > 0 && records == nil {
		return invalidf("records is NULL")
	}
	r, release, err := useRegion(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t := encodePool.Get().(*encodeTargets)
	defer encodePool.Put(t)
	for i := range out {
		var rec record.Record
		switch record.Type(recordType) {
		case record.TypeLogEntry:
			err, rec = logFromC(&unsafe.Slice((*C.xb_log_entry)(records), len(out))[i], &t.log), &t.log
		case record.TypeSample:
			sampleFromC(&unsafe.Slice((*C.xb_sample)(records), len(out))[i], &t.sample)
			rec = &t.sample
		case record.TypeTensor:
			err, rec = tensorFromC(&unsafe.Slice((*C.xb_tensor)(records), len(out))[i], &t.tensor), &t.tensor
		}
		if err == nil {
			err = encodeOne(r.Region, c, rec, &out[i])
		}
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("record %d: %v", i, err))
		}
		if nDone != nil {
			*nDone = C.uint64_t(i + 1)
		}
	}
	return C.XB_OK
}

// encodeOne appends rec to r and describes the new frame in out.
func encodeOne(r *region.Region, c codec.Codec, rec record.Record, out *C.xb_frame) error {
	f, err := crossbuf.Append(r, c, rec)
	if err != nil {
		return err
	}
	frameToC(f, out)
	return nil
}

// ---- decode ----------------------------------------------------------------

// decodeInto decodes into s's reusable record of type t with decode and
// writes the view to out[i], an array of the C struct of t.
func decodeInto(v *viewer, t record.Type, decode func(record.Record) error, out unsafe.Pointer, i int) error {
	s := v.s
	switch t {
	case record.TypeLogEntry:
		if err := decode(&s.log); err != nil {
			return err
		}
		return v.logToC(&s.log, &unsafe.Slice((*C.xb_log_entry)(out), i+1)[i])
	case record.TypeSample:
		if err := decode(&s.sample); err != nil {
			return err
		}
		sampleToC(&s.sample, &unsafe.Slice((*C.xb_sample)(out), i+1)[i])
		return nil
	case record.TypeTensor:
		if err := decode(&s.tensor); err != nil {
			return err
		}
		return v.tensorToC(&s.tensor, &unsafe.Slice((*C.xb_tensor)(out), i+1)[i])
	}
	return fmt.Errorf("%w: %d", codec.ErrRecordType, t)
}

func regionViewer(r *openRegion, s *scratch) viewer {
	return viewer{s: s, lo: r.lo, hi: r.hi}
}

//export xb_decode
func xb_decode(h C.xb_region, sh C.xb_scratch, recordType C.int32_t, frames *C.xb_frame, n C.uint64_t, out unsafe.Pointer) (rc status) {
	defer guard(&rc, enter())
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	if n > 0 && out == nil {
		return invalidf("out is NULL")
	}
	r, s, release, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	v := regionViewer(r, s)
	for i := range refs {
		f, err := r.Get(refOf(&refs[i]))
		if err == nil {
			err = decodeInto(&v, record.Type(recordType), func(rec record.Record) error { return crossbuf.Decode(f, rec) }, out, i)
		}
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
	}
	return C.XB_OK
}

// refOf is the reference of a frame the caller passes back. Only the
// identity is taken from it: the payload pointer is looked up again, never
// trusted.
func refOf(f *C.xb_frame) region.Ref {
	return region.Ref{RegionID: uint64(f.region_id), Generation: uint64(f.generation), Offset: uint64(f.offset)}
}

// decodeFrame decodes the frame ref names (the Python fast path).
func decodeFrame(r *openRegion, v *viewer, t record.Type, ref region.Ref, out unsafe.Pointer, i int) error {
	f, err := r.Get(ref)
	if err != nil {
		return err
	}
	return decodeInto(v, t, func(rec record.Record) error { return crossbuf.Decode(f, rec) }, out, i)
}

//export xb_decode_bytes
func xb_decode_bytes(sh C.xb_scratch, codecID C.int32_t, recordType C.int32_t, bytes *C.uint8_t, n C.uint64_t, out unsafe.Pointer) (rc status) {
	defer guard(&rc, enter())
	c, err := codecByID(codecID)
	if err != nil {
		return failErr(err)
	}
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
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
	v := viewer{s: s}
	if len(b) > 0 {
		v.lo = uintptr(unsafe.Pointer(&b[0]))
		v.hi = v.lo + uintptr(len(b))
	}
	decode := func(rec record.Record) error { return c.Decode(b, rec) }
	if err := decodeInto(&v, record.Type(recordType), decode, out, 0); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xb_read_str
func xb_read_str(h C.xb_region, sh C.xb_scratch, field C.int32_t, frames *C.xb_frame, n C.uint64_t, out *C.xb_str) (rc status) {
	defer guard(&rc, enter())
	want, ok := fieldRecord(codec.Field(field))
	if !ok {
		return invalidf("unknown field %d", int32(field))
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	outs, err := cArray(out, n, "out")
	if err != nil {
		return failErr(err)
	}
	r, s, release, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	v := regionViewer(r, s)
	for i := range refs {
		f, err := r.Get(refOf(&refs[i]))
		var str string
		if err == nil {
			str, err = readFrameField(f, want, codec.Field(field))
		}
		if err == nil {
			err = v.str(str, &outs[i])
		}
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
	}
	return C.XB_OK
}

func fieldRecord(f codec.Field) (record.Type, bool) {
	switch f {
	case codec.FieldLogService, codec.FieldLogHost, codec.FieldLogMessage, codec.FieldLogHTTPMethod, codec.FieldLogHTTPPath:
		return record.TypeLogEntry, true
	case codec.FieldTensorName:
		return record.TypeTensor, true
	}
	return 0, false
}

// readField reads one string field of the frame ref names, which must hold a
// record of type want.
func readField(r *openRegion, want record.Type, field codec.Field, ref region.Ref) (string, error) {
	f, err := r.Get(ref)
	if err != nil {
		return "", err
	}
	return readFrameField(f, want, field)
}

func readFrameField(f region.Frame, want record.Type, field codec.Field) (string, error) {
	if f.TypeID != uint64(want) {
		return "", fmt.Errorf("%w: frame holds type %d; field %d is of a %v", codec.ErrRecordType, f.TypeID, field, want)
	}
	c, err := codec.Lookup(codec.ID(f.Codec))
	if err != nil {
		return "", err
	}
	fr, ok := c.(codec.FieldReader)
	if !ok {
		return "", fmt.Errorf("%w: codec %v cannot read single fields", codec.ErrUnknownCodec, c.ID())
	}
	return fr.ReadString(f.Payload, field)
}

// ---- test data -------------------------------------------------------------

// maxGenerateBytes bounds xb_generate's tensor (XB_MAX_GENERATE_BYTES): it is
// built on the Go heap, where running out of memory is fatal, not an error.
const maxGenerateBytes = 1 << 30

//export xb_generate
func xb_generate(sh C.xb_scratch, recordType C.int32_t, seed C.uint64_t, size C.uint64_t, out unsafe.Pointer) (rc status) {
	defer guard(&rc, enter())
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
	}
	if record.Type(recordType) == record.TypeTensor && size > maxGenerateBytes {
		return invalidf("tensor size %d exceeds XB_MAX_GENERATE_BYTES (%d)", uint64(size), maxGenerateBytes)
	}
	s, release, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	v := viewer{s: s} // empty range: everything is copied into scratch
	switch record.Type(recordType) {
	case record.TypeLogEntry:
		err = v.logToC(record.NewLogEntry(uint64(seed)), (*C.xb_log_entry)(out))
	case record.TypeSample:
		sampleToC(record.NewSample(uint64(seed)), (*C.xb_sample)(out))
	case record.TypeTensor:
		err = v.tensorToC(record.NewTensor(uint64(seed), int(size)), (*C.xb_tensor)(out))
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}
