package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf_private.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// The Python package's fast path. Building a Python object per field through
// ctypes costs a foreign call each; instead the library writes decoded
// records in CPython's marshal format and Python rebuilds them all with one
// marshal.loads, which runs at C speed. Only the oldest, stable marshal
// types are used (format 2+: int, long, float, str, bytes, tuple, list,
// dict); the Python package checks at import that its marshal agrees.

const (
	pyInt   = 'i' // int32
	pyLong  = 'l' // int32 signed digit count, then base-2**15 digits, least significant first
	pyFloat = 'g' // float64
	pyStr   = 'u' // int32 length, UTF-8
	pyBytes = 's' // int32 length
	pyTuple = '('
	pyList  = '['
	pyDict  = '{'
	pyNull  = '0' // ends a dict
)

type pyWriter struct{ b []byte }

func (w *pyWriter) u32(n int) { w.b = binary.LittleEndian.AppendUint32(w.b, uint32(n)) }

func (w *pyWriter) int(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		w.b = append(w.b, pyInt)
		w.u32(int(int32(v)))
		return
	}
	u, sign := uint64(v), 1
	if v < 0 {
		u, sign = uint64(-v), -1 // MinInt64 negates to itself, which is right as uint64
	}
	var digits [5]uint16 // 64 bits need 5 digits of 15 bits
	n := 0
	for ; u != 0; n++ {
		digits[n] = uint16(u & 0x7fff)
		u >>= 15
	}
	w.b = append(w.b, pyLong)
	w.u32(sign * n)
	for _, d := range digits[:n] {
		w.b = binary.LittleEndian.AppendUint16(w.b, d)
	}
}

func (w *pyWriter) float(f float64) {
	w.b = append(w.b, pyFloat)
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(f))
}

func (w *pyWriter) str(s string) {
	w.b = append(w.b, pyStr)
	w.u32(len(s))
	w.b = append(w.b, s...)
}

func (w *pyWriter) bytes(p []byte) {
	w.b = append(w.b, pyBytes)
	w.u32(len(p))
	w.b = append(w.b, p...)
}

func (w *pyWriter) tuple(n int) { w.b = append(w.b, pyTuple); w.u32(n) }
func (w *pyWriter) list(n int)  { w.b = append(w.b, pyList); w.u32(n) }

// logEntry writes (timestamp_ns, level, service, host, message, trace_id,
// [tags], {attributes}, (method, path, status, latency_ns)).
func (w *pyWriter) logEntry(e *record.LogEntry) {
	w.tuple(9)
	w.int(e.TimestampNs)
	w.int(int64(e.Level))
	w.str(e.Service)
	w.str(e.Host)
	w.str(e.Message)
	w.bytes(e.TraceID[:])
	w.list(len(e.Tags))
	for _, t := range e.Tags {
		w.str(t)
	}
	w.b = append(w.b, pyDict)
	for _, a := range e.Attributes {
		w.str(a.Key)
		w.str(a.Value)
	}
	w.b = append(w.b, pyNull)
	w.tuple(4)
	w.str(e.HTTP.Method)
	w.str(e.HTTP.Path)
	w.int(int64(e.HTTP.Status))
	w.int(e.HTTP.LatencyNs)
}

// sample writes (timestamp_ns, [features], label).
func (w *pyWriter) sample(s *record.Sample) {
	w.tuple(3)
	w.int(s.TimestampNs)
	w.list(len(s.Features))
	for _, f := range s.Features {
		w.float(float64(f))
	}
	w.int(int64(s.Label))
}

// finish copies the encoding into scratch (so no Go pointer reaches C) and
// hands it out.
func (w *pyWriter) finish(s *scratch, out **C.uint8_t, outLen *C.uint64_t) error {
	p, err := s.copyBytes(w.b)
	if err != nil {
		return err
	}
	*out, *outLen = (*C.uint8_t)(p), C.uint64_t(len(w.b))
	return nil
}

// pyWriter returns s's reusable marshal buffer, emptied.
func (s *scratch) pyWriter() *pyWriter {
	s.py.b = s.py.b[:0]
	return &s.py
}

//export xbp_decode_pymarshal
func xbp_decode_pymarshal(h C.xb_region, sh C.xb_scratch, recordType C.int32_t, frames *C.xb_frame, n C.uint64_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	t := record.Type(recordType)
	if t != record.TypeLogEntry && t != record.TypeSample {
		return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("xbp_decode_pymarshal: record type %d is not LogEntry or Sample", int32(recordType)))
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	r, s, release, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	w := s.pyWriter()
	w.list(len(refs))
	for i := range refs {
		if err := pyDecodeFrame(r, s, w, t, refOf(&refs[i])); err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
	}
	if err := w.finish(s, out, outLen); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

func pyDecodeFrame(r *openRegion, s *scratch, w *pyWriter, t record.Type, ref region.Ref) error {
	f, err := r.Get(ref)
	if err != nil {
		return err
	}
	if t == record.TypeLogEntry {
		if err := crossbuf.Decode(f, &s.log); err != nil {
			return err
		}
		w.logEntry(&s.log)
		return nil
	}
	if err := crossbuf.Decode(f, &s.sample); err != nil {
		return err
	}
	w.sample(&s.sample)
	return nil
}

//export xbp_read_str_pymarshal
func xbp_read_str_pymarshal(h C.xb_region, sh C.xb_scratch, field C.int32_t, frames *C.xb_frame, n C.uint64_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	want, ok := fieldRecord(codec.Field(field))
	if !ok {
		return invalidf("unknown field %d", int32(field))
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	r, s, release, err := session(h, sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	w := s.pyWriter()
	w.list(len(refs))
	for i := range refs {
		str, err := readField(r, want, codec.Field(field), refOf(&refs[i]))
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
		w.str(str)
	}
	if err := w.finish(s, out, outLen); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

// pyMarshalProbe is a fixed record the Python package marshals itself and
// compares with xbp_pymarshal_probe, to prove both sides speak one format.
//
//export xbp_pymarshal_probe
func xbp_pymarshal_probe(sh C.xb_scratch, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	s, release, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer release()
	w := s.pyWriter()
	w.list(2)
	w.logEntry(&record.LogEntry{TimestampNs: -1 << 62, Level: record.LevelWarn, Service: "é", Message: "x",
		Tags: []string{"a"}, Attributes: []record.Attribute{{Key: "k", Value: "v"}},
		HTTP: record.HTTP{Status: 200, LatencyNs: 1 << 40}})
	w.sample(&record.Sample{TimestampNs: math.MaxInt64, Label: -7, Features: [16]float32{0.5, -1}})
	if err := w.finish(s, out, outLen); err != nil {
		return failErr(err)
	}
	return C.XB_OK
}

//export xbp_fast
func xbp_fast(call *C.xbp_fast_call, in *C.uint8_t) (rc status) {
	defer guard(&rc, enter())
	if call == nil {
		return invalidf("call is NULL")
	}
	r, s, release, err := session(call.region, call.scratch)
	if err != nil {
		return failErr(err)
	}
	defer release()
	off := uint64(call.offset)
	// The region is the handle's; the package checks region ids itself.
	ref := region.Ref{Generation: uint64(call.generation), Offset: off}
	switch call.op {
	case C.XBP_FAST_READ_STR:
		want, ok := fieldRecord(codec.Field(call.arg))
		if !ok {
			return invalidf("unknown field %d", int32(call.arg))
		}
		str, err := readField(r, want, codec.Field(call.arg), ref)
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", off, err))
		}
		if call.buf != nil && uint64(len(str))+5 <= uint64(call.buf_cap) {
			// As a marshal str: Python builds it with one marshal.loads,
			// cheaper than slicing a memoryview and decoding it.
			w := pyWriter{b: unsafe.Slice((*byte)(unsafe.Pointer(call.buf)), len(str)+5)[:0]}
			w.str(str)
			call.out, call.out_len = call.buf, C.uint64_t(len(w.b))
			break
		}
		v := regionViewer(r, s)
		var out C.xb_str
		if err := v.str(str, &out); err != nil {
			return failErr(err)
		}
		call.out, call.out_len = (*C.uint8_t)(unsafe.Pointer(out.ptr)), out.len
	case C.XBP_FAST_DECODE_PYMARSHAL:
		t := record.Type(call.arg)
		if t != record.TypeLogEntry && t != record.TypeSample {
			return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("record type %d is not LogEntry or Sample", int32(call.arg)))
		}
		w := s.pyWriter()
		w.list(1)
		if err := pyDecodeFrame(r, s, w, t, ref); err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", off, err))
		}
		if call.buf != nil && uint64(len(w.b)) <= uint64(call.buf_cap) {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(call.buf)), len(w.b)), w.b)
			call.out, call.out_len = call.buf, C.uint64_t(len(w.b))
		} else if err := w.finish(s, &call.out, &call.out_len); err != nil {
			return failErr(err)
		}
	case C.XBP_FAST_ENCODE_PYMARSHAL:
		c, err := codecByID(call.codec)
		if err != nil {
			return failErr(err)
		}
		b, err := goBytes(in, call.in_len, "in")
		if err != nil {
			return failErr(err)
		}
		err = encodePy(r, c, record.Type(call.arg), b, 1, func(i int, f region.Frame) error {
			var cf C.xb_frame
			frameToC(f, &cf)
			call.offset, call.out, call.out_len = cf.offset, cf.payload, cf.payload_len
			call.generation, call.publish_ns = cf.generation, cf.publish_ns
			return nil
		})
		if err != nil {
			return failErr(err)
		}
	case C.XBP_FAST_DECODE:
		t := record.Type(call.arg)
		need := viewSize(t)
		if need == 0 {
			return fail(C.XB_ERR_RECORD_TYPE, fmt.Sprintf("unknown record type %d", int32(call.arg)))
		}
		if call.buf == nil || uint64(call.buf_cap) < uint64(need) {
			return invalidf("XBP_FAST_DECODE needs buf of %d bytes", need)
		}
		v := regionViewer(r, s)
		if err := decodeFrame(r, &v, t, ref, unsafe.Pointer(call.buf), 0); err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", off, err))
		}
		call.out, call.out_len = call.buf, C.uint64_t(need)
	default:
		return invalidf("unknown xbp_fast op %d", int32(call.op))
	}
	return C.XB_OK
}

// viewSize is the size of the C view struct of t, or 0 for an unknown type.
func viewSize(t record.Type) int {
	switch t {
	case record.TypeLogEntry:
		return int(unsafe.Sizeof(C.xb_log_entry{}))
	case record.TypeSample:
		return int(unsafe.Sizeof(C.xb_sample{}))
	case record.TypeTensor:
		return int(unsafe.Sizeof(C.xb_tensor{}))
	}
	return 0
}
