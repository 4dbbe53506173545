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

// pyReader reads the marshal records that the Python package hands over for
// encoding: marshal.dumps(x, 2) of the shapes pyWriter writes. Version 2 has
// no back-references, so every object is written in full where it appears.
// Strings alias the input, which the caller keeps alive during the call.
// The input comes from outside: every read is bounds-checked.
type pyReader struct {
	b   []byte
	off int
	err error
}

func (r *pyReader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: marshal input at byte %d: %s", errInvalidArg, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *pyReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.failf("%d bytes needed, %d left", n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *pyReader) code() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *pyReader) u32() int {
	if p := r.take(4); p != nil {
		return int(int32(binary.LittleEndian.Uint32(p)))
	}
	return 0
}

func (r *pyReader) int() int64 {
	switch c := r.code(); c {
	case pyInt:
		return int64(r.u32())
	case pyLong:
		n := r.u32()
		neg := n < 0
		if neg {
			n = -n
		}
		if n > 5 { // 5 digits of 15 bits cover 64 bits
			r.failf("integer of %d digits does not fit 64 bits", n)
			return 0
		}
		var u uint64
		for i := 0; i < n; i++ {
			d := r.take(2)
			if d == nil {
				return 0
			}
			u |= uint64(binary.LittleEndian.Uint16(d)) << (15 * i)
		}
		if neg {
			return -int64(u)
		}
		return int64(u)
	case 'T':
		return 1
	case 'F':
		return 0
	default:
		r.failf("want an int, found type %q", c)
		return 0
	}
}

func (r *pyReader) float() float64 {
	switch c := r.code(); c {
	case pyFloat:
		if p := r.take(8); p != nil {
			return math.Float64frombits(binary.LittleEndian.Uint64(p))
		}
	case pyInt, pyLong: // an int where a float is expected, as Python allows
		r.off--
		return float64(r.int())
	default:
		r.failf("want a float, found type %q", c)
	}
	return 0
}

func (r *pyReader) str() string {
	if c := r.code(); c != pyStr {
		r.failf("want a str, found type %q", c)
		return ""
	}
	p := r.take(r.u32())
	return unsafe.String(unsafe.SliceData(p), len(p))
}

func (r *pyReader) bytes() []byte {
	if c := r.code(); c != pyBytes {
		r.failf("want bytes, found type %q", c)
		return nil
	}
	return r.take(r.u32())
}

// seq reads the header of a tuple or list and returns its length.
func (r *pyReader) seq() int {
	if c := r.code(); c != pyTuple && c != pyList {
		r.failf("want a tuple or list, found type %q", c)
		return 0
	}
	n := r.u32()
	if n < 0 || n > len(r.b)-r.off { // every element takes at least a byte
		r.failf("sequence of %d elements", n)
		return 0
	}
	return n
}

func (r *pyReader) fixedSeq(want int, what string) {
	if n := r.seq(); n != want && r.err == nil {
		r.failf("%s has %d elements, want %d", what, n, want)
	}
}

func (r *pyReader) logEntry(e *record.LogEntry) {
	r.fixedSeq(9, "LogEntry")
	e.TimestampNs = r.int()
	e.Level = record.Level(r.int())
	e.Service, e.Host, e.Message = r.str(), r.str(), r.str()
	if id := r.bytes(); r.err == nil {
		if len(id) != record.TraceIDLen {
			r.failf("trace_id has %d bytes, want %d", len(id), record.TraceIDLen)
		}
		copy(e.TraceID[:], id)
	}
	e.Tags = e.Tags[:0]
	for n := r.seq(); n > 0 && r.err == nil; n-- {
		e.Tags = append(e.Tags, r.str())
	}
	if c := r.code(); c != pyDict {
		r.failf("want a dict of attributes, found type %q", c)
	}
	e.Attributes = e.Attributes[:0]
	for r.err == nil {
		if r.off < len(r.b) && r.b[r.off] == pyNull {
			r.off++
			break
		}
		k := r.str()
		e.Attributes = append(e.Attributes, record.Attribute{Key: k, Value: r.str()})
	}
	r.fixedSeq(4, "LogEntry.http")
	e.HTTP.Method, e.HTTP.Path = r.str(), r.str()
	status := r.int()
	if status < 0 || status > math.MaxUint32 {
		r.failf("http status %d", status)
	}
	e.HTTP.Status = uint32(status)
	e.HTTP.LatencyNs = r.int()
}

func (r *pyReader) sample(s *record.Sample) {
	r.fixedSeq(3, "Sample")
	s.TimestampNs = r.int()
	r.fixedSeq(record.SampleFeatures, "Sample.features")
	for i := range s.Features {
		s.Features[i] = float32(r.float())
	}
	label := r.int()
	if label < math.MinInt32 || label > math.MaxInt32 {
		r.failf("label %d", label)
	}
	s.Label = int32(label)
}

// encodePy encodes every record of the marshal list in into r. A list of
// more than max records is refused before anything is committed.
func encodePy(r *openRegion, c codec.Codec, t record.Type, in []byte, max int, each func(i int, f region.Frame) error) error {
	if t != record.TypeLogEntry && t != record.TypeSample {
		return fmt.Errorf("%w: marshal encoding takes LogEntry or Sample, not %v", codec.ErrRecordType, t)
	}
	pr := &pyReader{b: in}
	n := 0
	if c := pr.code(); c != pyList {
		pr.failf("want a list of records, found type %q", c)
	} else {
		n = pr.u32()
	}
	if pr.err == nil && n > max {
		return fmt.Errorf("%w: %d records, room for %d frames; nothing was encoded", errInvalidArg, n, max)
	}
	t0 := encodePool.Get().(*encodeTargets)
	defer encodePool.Put(t0)
	for i := 0; i < n && pr.err == nil; i++ {
		var rec record.Record
		if t == record.TypeLogEntry {
			pr.logEntry(&t0.log)
			rec = &t0.log
		} else {
			pr.sample(&t0.sample)
			rec = &t0.sample
		}
		if pr.err != nil {
			return fmt.Errorf("record %d: %w", i, pr.err)
		}
		f, err := crossbuf.Append(r.Region, c, rec)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if err := each(i, f); err != nil {
			return err
		}
	}
	if pr.err == nil && pr.off != len(in) {
		pr.failf("%d trailing bytes", len(in)-pr.off)
	}
	return pr.err
}

//export xbp_encode_pymarshal
func xbp_encode_pymarshal(h C.xb_region, codecID C.int32_t, recordType C.int32_t, in *C.uint8_t, inLen C.uint64_t, frames *C.xb_frame, capacity C.uint64_t, nDone *C.uint64_t) (rc status) {
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
	b, err := goBytes(in, inLen, "in")
	if err != nil {
		return failErr(err)
	}
	out, err := cArray(frames, capacity, "frames_out")
	if err != nil {
		return failErr(err)
	}
	r, release, err := useRegion(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	err = encodePy(r, c, record.Type(recordType), b, len(out), func(i int, f region.Frame) error {
		frameToC(f, &out[i])
		if nDone != nil {
			*nDone = C.uint64_t(i + 1)
		}
		return nil
	})
	if err != nil {
		return failErr(err)
	}
	return C.XB_OK
}
