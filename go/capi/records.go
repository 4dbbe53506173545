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
	"github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

var scratches handles[*scratch]

func codecByID(id C.int32_t) (codec.Codec, error) {
	if id <= 0 || id > 0xffff {
		return nil, fmt.Errorf("%w: %d", codec.ErrUnknownCodec, int32(id))
	}
	return codecs.Get(codec.ID(id))
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
	*out = C.xb_scratch(scratches.add(s))
	return C.XB_OK
}

//export xb_scratch_free
func xb_scratch_free(h C.xb_scratch) (rc status) {
	defer guard(&rc, enter())
	s, err := scratches.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	s.free()
	return C.XB_OK
}

// session resolves the region and scratch handles of a decoding call; the
// scratch is reset for it.
func session(h C.xb_region, sh C.xb_scratch) (*openRegion, *scratch, error) {
	r, err := regions.get(uint64(h))
	if err != nil {
		return nil, nil, err
	}
	s, err := getScratch(sh)
	return r, s, err
}

func getScratch(h C.xb_scratch) (*scratch, error) {
	s, err := scratches.get(uint64(h))
	if err != nil {
		return nil, err
	}
	return s, s.reset()
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
	r, err := regions.get(uint64(h))
	if err != nil {
		return failErr(err)
	}
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
func xb_decode(h C.xb_region, sh C.xb_scratch, recordType C.int32_t, offsets *C.uint64_t, n C.uint64_t, out unsafe.Pointer) (rc status) {
	defer guard(&rc, enter())
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	offs, err := cArray(offsets, n, "offsets")
	if err != nil {
		return failErr(err)
	}
	if n > 0 && out == nil {
		return invalidf("out is NULL")
	}
	r, s, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	v := regionViewer(r, s)
	for i, off := range offs {
		if err := decodeFrame(r, &v, record.Type(recordType), uint64(off), out, i); err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", uint64(off), err))
		}
	}
	return C.XB_OK
}

func decodeFrame(r *openRegion, v *viewer, t record.Type, off uint64, out unsafe.Pointer, i int) error {
	f, err := r.Frame(off)
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
	s, err := getScratch(sh)
	if err != nil {
		return failErr(err)
	}
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
func xb_read_str(h C.xb_region, sh C.xb_scratch, field C.int32_t, offsets *C.uint64_t, n C.uint64_t, out *C.xb_str) (rc status) {
	defer guard(&rc, enter())
	want, ok := fieldRecord(codec.Field(field))
	if !ok {
		return invalidf("unknown field %d", int32(field))
	}
	offs, err := cArray(offsets, n, "offsets")
	if err != nil {
		return failErr(err)
	}
	outs, err := cArray(out, n, "out")
	if err != nil {
		return failErr(err)
	}
	r, s, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	v := regionViewer(r, s)
	for i, off := range offs {
		if err := readStr(r, &v, want, codec.Field(field), uint64(off), &outs[i]); err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", uint64(off), err))
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

func readStr(r *openRegion, v *viewer, want record.Type, field codec.Field, off uint64, out *C.xb_str) error {
	str, err := readField(r, want, field, off)
	if err != nil {
		return err
	}
	return v.str(str, out)
}

// readField reads one string field of the frame at off, which must hold a
// record of type want.
func readField(r *openRegion, want record.Type, field codec.Field, off uint64) (string, error) {
	f, err := r.Frame(off)
	if err != nil {
		return "", err
	}
	if record.Type(f.RecordType) != want {
		return "", fmt.Errorf("%w: frame holds a %v; field %d is of a %v", codec.ErrRecordType, record.Type(f.RecordType), field, want)
	}
	c, err := codecs.Get(codec.ID(f.Codec))
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

//export xb_generate
func xb_generate(sh C.xb_scratch, recordType C.int32_t, seed C.uint64_t, size C.uint64_t, out unsafe.Pointer) (rc status) {
	defer guard(&rc, enter())
	if rc := checkRecordType(recordType); rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
	}
	s, err := getScratch(sh)
	if err != nil {
		return failErr(err)
	}
	v := viewer{s: s} // empty range: everything is copied into scratch
	switch record.Type(recordType) {
	case record.TypeLogEntry:
		err = v.logToC(record.NewLogEntry(uint64(seed)), (*C.xb_log_entry)(out))
	case record.TypeSample:
		sampleToC(record.NewSample(uint64(seed)), (*C.xb_sample)(out))
	case record.TypeTensor:
		if size > 1<<34 {
			return invalidf("tensor size %d too large", uint64(size))
		}
		err = v.tensorToC(record.NewTensor(uint64(seed), int(size)), (*C.xb_tensor)(out))
	}
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}
