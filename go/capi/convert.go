package main

/*
#define CROSSBUF_TYPES_ONLY
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/record"
)

// maxInputLen bounds any length a C caller passes, so a garbage length is an
// error rather than a fault or a huge allocation.
const maxInputLen = 1 << 40

// ---- C -> Go (encode) ----------------------------------------------------
// The Go strings alias the caller's C memory for the duration of the call:
// encoders copy them into the region, nothing keeps them.

func goString(s C.xb_str, what string) (string, error) {
	if s.len == 0 {
		return "", nil
	}
	if s.ptr == nil || s.len > maxInputLen {
		return "", fmt.Errorf("%w: %s has ptr %p and len %d", errInvalidArg, what, s.ptr, uint64(s.len))
	}
	return unsafe.String((*byte)(unsafe.Pointer(s.ptr)), int(s.len)), nil
}

func goBytes(p *C.uint8_t, n C.uint64_t, what string) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil || n > maxInputLen {
		return nil, fmt.Errorf("%w: %s has ptr %p and len %d", errInvalidArg, what, p, uint64(n))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)), nil
}

func cArray[T any](p *T, n C.uint64_t, what string) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil || n > maxInputLen {
		return nil, fmt.Errorf("%w: %s has ptr %p and count %d", errInvalidArg, what, p, uint64(n))
	}
	return unsafe.Slice(p, int(n)), nil
}

func logFromC(c *C.xb_log_entry, e *record.LogEntry) error {
	var err error
	e.TimestampNs = int64(c.timestamp_ns)
	e.Level = record.Level(c.level)
	if e.Service, err = goString(c.service, "service"); err != nil {
		return err
	}
	if e.Host, err = goString(c.host, "host"); err != nil {
		return err
	}
	if e.Message, err = goString(c.message, "message"); err != nil {
		return err
	}
	for i := range e.TraceID {
		e.TraceID[i] = byte(c.trace_id[i])
	}
	tags, err := cArray(c.tags, c.n_tags, "tags")
	if err != nil {
		return err
	}
	e.Tags = e.Tags[:0]
	for i := range tags {
		t, err := goString(tags[i], "tag")
		if err != nil {
			return err
		}
		e.Tags = append(e.Tags, t)
	}
	attrs, err := cArray(c.attributes, c.n_attributes, "attributes")
	if err != nil {
		return err
	}
	e.Attributes = e.Attributes[:0]
	for i := range attrs {
		k, err := goString(attrs[i].key, "attribute key")
		if err != nil {
			return err
		}
		v, err := goString(attrs[i].value, "attribute value")
		if err != nil {
			return err
		}
		e.Attributes = append(e.Attributes, record.Attribute{Key: k, Value: v})
	}
	if e.HTTP.Method, err = goString(c.http.method, "http.method"); err != nil {
		return err
	}
	if e.HTTP.Path, err = goString(c.http.path, "http.path"); err != nil {
		return err
	}
	e.HTTP.Status = uint32(c.http.status)
	e.HTTP.LatencyNs = int64(c.http.latency_ns)
	return nil
}

func sampleFromC(c *C.xb_sample, s *record.Sample) {
	s.TimestampNs = int64(c.timestamp_ns)
	for i := range s.Features {
		s.Features[i] = float32(c.features[i])
	}
	s.Label = int32(c.label)
}

func tensorFromC(c *C.xb_tensor, t *record.Tensor) error {
	var err error
	if t.Name, err = goString(c.name, "name"); err != nil {
		return err
	}
	t.DType = record.DType(c.dtype)
	if c.ndim > record.MaxTensorDims {
		return fmt.Errorf("%w: tensor ndim %d > %d", errInvalidArg, uint32(c.ndim), record.MaxTensorDims)
	}
	t.Shape = t.Shape[:0]
	for i := 0; i < int(c.ndim); i++ {
		t.Shape = append(t.Shape, int64(c.shape[i]))
	}
	t.Data, err = goBytes(c.data, c.data_len, "data")
	return err
}

// ---- Go -> C (decode) ----------------------------------------------------
// A view points into the bytes it was decoded from when a zero-copy codec
// left the string there ([lo, hi) is that range: the region mapping or the
// caller's buffer); anything else (baseline codecs, generated records) is
// copied into the scratch so that no pointer into the Go heap reaches C.

type viewer struct {
	s      *scratch
	lo, hi uintptr
}

func (v *viewer) ptr(b []byte) (unsafe.Pointer, error) {
	if len(b) == 0 {
		return nil, nil
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	if p >= v.lo && p+uintptr(len(b)) <= v.hi {
		return unsafe.Pointer(&b[0]), nil
	}
	return v.s.copyBytes(b)
}

func (v *viewer) str(s string, out *C.xb_str) error {
	p, err := v.ptr(unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return err
	}
	out.ptr = (*C.char)(p)
	out.len = C.uint64_t(len(s))
	return nil
}

// array allocates n zeroed C structs of type T in scratch.
func scratchArray[T any](s *scratch, n int) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	var zero T
	b, err := s.alloc(n * int(unsafe.Sizeof(zero)))
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), nil
}

func (v *viewer) logToC(e *record.LogEntry, c *C.xb_log_entry) error {
	c.timestamp_ns = C.int64_t(e.TimestampNs)
	c.level = C.int32_t(e.Level)
	if err := errors.Join(v.str(e.Service, &c.service), v.str(e.Host, &c.host), v.str(e.Message, &c.message),
		v.str(e.HTTP.Method, &c.http.method), v.str(e.HTTP.Path, &c.http.path)); err != nil {
		return err
	}
	for i, b := range e.TraceID {
		c.trace_id[i] = C.uint8_t(b)
	}
	tags, err := scratchArray[C.xb_str](v.s, len(e.Tags))
	if err != nil {
		return err
	}
	for i, t := range e.Tags {
		if err := v.str(t, &tags[i]); err != nil {
			return err
		}
	}
	c.tags, c.n_tags = firstOrNil(tags), C.uint64_t(len(tags))
	attrs, err := scratchArray[C.xb_kv](v.s, len(e.Attributes))
	if err != nil {
		return err
	}
	for i, a := range e.Attributes {
		if err := v.str(a.Key, &attrs[i].key); err != nil {
			return err
		}
		if err := v.str(a.Value, &attrs[i].value); err != nil {
			return err
		}
	}
	c.attributes, c.n_attributes = firstOrNil(attrs), C.uint64_t(len(attrs))
	c.http.status = C.uint32_t(e.HTTP.Status)
	c.http.latency_ns = C.int64_t(e.HTTP.LatencyNs)
	return nil
}

func firstOrNil[T any](xs []T) *T {
	if len(xs) == 0 {
		return nil
	}
	return &xs[0]
}

func sampleToC(s *record.Sample, c *C.xb_sample) {
	c.timestamp_ns = C.int64_t(s.TimestampNs)
	for i, f := range s.Features {
		c.features[i] = C.float(f)
	}
	c.label = C.int32_t(s.Label)
}

func (v *viewer) tensorToC(t *record.Tensor, c *C.xb_tensor) error {
	if err := v.str(t.Name, &c.name); err != nil {
		return err
	}
	if len(t.Shape) > record.MaxTensorDims {
		return fmt.Errorf("%w: tensor has %d dims", record.ErrInvalid, len(t.Shape))
	}
	c.dtype = C.int32_t(t.DType)
	c.ndim = C.uint32_t(len(t.Shape))
	for i := range c.shape {
		c.shape[i] = 0
	}
	for i, d := range t.Shape {
		c.shape[i] = C.int64_t(d)
	}
	p, err := v.ptr(t.Data)
	if err != nil {
		return err
	}
	c.data, c.data_len = (*C.uint8_t)(p), C.uint64_t(len(t.Data))
	return nil
}
