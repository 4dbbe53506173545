package main

/*
#define CROSSBUF_TYPES_ONLY
#include <stdlib.h>
#include "crossbuf.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/go/schema"
)

// loadedSchema is a schema handle: the immutable schema, and its type names
// copied into an mmap'd arena, so the pointers xb_schema_type_name returns
// are not Go memory (rule 1 of the C boundary).
type loadedSchema struct {
	mu     sync.RWMutex // read-held by every call using the schema; free takes it to unmap
	closed bool
	s      *schema.Schema
	arena  []byte               // NUL-terminated names, read-only once filled
	names  map[uint64][2]uint32 // type id -> offset, length in arena
	// defaults holds C copies of the Cap'n Proto defaults refs read (see
	// cDefault), keyed by the Go slice's first byte and length. Freed with
	// the schema.
	defaultsMu sync.Mutex
	defaults   map[defaultKey]unsafe.Pointer
}

var schemas = newHandles[loadedSchema](tagSchema)

func newLoadedSchema(s *schema.Schema) (*loadedSchema, error) {
	types := s.Types()
	size := 0
	for _, t := range types {
		size += len(t.Name) + 1
	}
	l := &loadedSchema{s: s, names: make(map[uint64][2]uint32, len(types))}
	if size == 0 {
		return l, nil
	}
	if size > 1<<31 {
		return nil, fmt.Errorf("schema: type names take %d bytes", size)
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("schema name arena mmap of %d bytes: %w", size, err)
	}
	off := 0
	for _, t := range types {
		n := copy(b[off:], t.Name)
		b[off+n] = 0
		l.names[t.ID] = [2]uint32{uint32(off), uint32(n)}
		off += n + 1
	}
	_ = unix.Mprotect(b, unix.PROT_READ) // a stray write by a caller faults instead of renaming a type
	l.arena = b
	return l, nil
}

// use read-locks the schema for one call; a freed schema is XB_ERR_CLOSED.
func (l *loadedSchema) use() error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return errClosedHandle
	}
	return nil
}

// close waits for the calls using the schema, then unmaps its names.
func (l *loadedSchema) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.arena != nil {
		_ = unix.Munmap(l.arena)
		l.arena = nil
	}
	for _, c := range l.defaults {
		C.free(c)
	}
	l.defaults = nil
}

// cDefault is b, one of the schema's Cap'n Proto defaults (what a ref to a
// null Text, Data or List pointer reads), as a C copy made on first use
// and kept until the schema is freed: C is handed these, never Go memory.
func (l *loadedSchema) cDefault(b []byte) unsafe.Pointer {
	l.defaultsMu.Lock()
	defer l.defaultsMu.Unlock()
	k := defaultKey{unsafe.SliceData(b), len(b)}
	c, ok := l.defaults[k]
	if !ok {
		if l.defaults == nil {
			l.defaults = map[defaultKey]unsafe.Pointer{}
		}
		c = C.CBytes(b)
		l.defaults[k] = c
	}
	return c
}

// defaultKey names a default's bytes: two defaults may start at one byte
// (a list and a shorter one sharing its backing array).
type defaultKey struct {
	p *byte
	n int
}

// useSchema resolves a schema handle and holds it until release.
func useSchema(h C.xb_schema) (*loadedSchema, func(), error) {
	l, err := schemas.get(uint64(h))
	if err != nil {
		return nil, nil, err
	}
	if err := l.use(); err != nil {
		return nil, nil, err
	}
	return l, l.mu.RUnlock, nil
}

// messageType is the type with id that a message can have at its root.
func (l *loadedSchema) messageType(id uint64) (*schema.Type, error) {
	t, err := l.s.TypeByID(id)
	if err != nil {
		return nil, err
	}
	if (t.Format == schema.FlatBuffers && t.Kind != schema.Table) || (t.Format == schema.CapnProto && t.Kind != schema.Struct) {
		return nil, fmt.Errorf("%w: %s is a %s %s, not a message type", codec.ErrRecordType, t.Name, t.Format, t.Kind)
	}
	return t, nil
}

func registerSchema(out *C.xb_schema, load func() (*schema.Schema, error)) status {
	if out == nil {
		return invalidf("out is NULL")
	}
	s, err := load()
	if err != nil {
		return fail(C.XB_ERR_SCHEMA, err.Error())
	}
	l, err := newLoadedSchema(s)
	if err != nil {
		return failErr(err)
	}
	id, err := schemas.add(l)
	if err != nil {
		l.close()
		return failErr(err)
	}
	*out = C.xb_schema(id)
	return C.XB_OK
}

//export xb_schema_load
func xb_schema_load(bytes *C.uint8_t, n C.uint64_t, format C.int32_t, out *C.xb_schema) (rc status) {
	defer guard(&rc, enter())
	b, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	load, err := binaryLoader(format)
	if err != nil {
		return failErr(err)
	}
	// The loaders keep no reference to b: they copy what they keep.
	return registerSchema(out, func() (*schema.Schema, error) { return load(b) })
}

//export xb_schema_load_file
func xb_schema_load_file(path *C.char, format C.int32_t, out *C.xb_schema) (rc status) {
	defer guard(&rc, enter())
	p, rc := cName(path, "path")
	if rc != C.XB_OK {
		return rc
	}
	load, err := binaryLoader(format)
	if err != nil {
		return failErr(err)
	}
	b, err := readSchemaFile(p)
	if errors.Is(err, errNotSchemaFile) {
		return fail(C.XB_ERR_SCHEMA, err.Error())
	}
	if err != nil {
		return failErr(err)
	}
	return registerSchema(out, func() (*schema.Schema, error) {
		s, err := load(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return s, nil
	})
}

// errNotSchemaFile is a file xb_schema_load_file refuses to read
// (XB_ERR_SCHEMA).
var errNotSchemaFile = errors.New("not a binary schema file")

// maxSchemaFile bounds what xb_schema_load_file reads: binary schemas are
// kilobytes, and a FlatBuffers buffer cannot exceed 2 GiB.
const maxSchemaFile = 1 << 31

// readSchemaFile reads a regular file of at most maxSchemaFile bytes. It
// looks before it opens, so a FIFO or a device (/dev/zero) is an error,
// not a call that blocks or reads forever.
func readSchemaFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", errNotSchemaFile, path)
	}
	if fi.Size() > maxSchemaFile {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than a binary schema can be", errNotSchemaFile, path, fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may grow after the Stat: read at most one byte more than
	// the limit to notice.
	b, err := io.ReadAll(io.LimitReader(f, maxSchemaFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSchemaFile {
		return nil, fmt.Errorf("%w: %s grew beyond %d bytes while it was read", errNotSchemaFile, path, maxSchemaFile)
	}
	return b, nil
}

// binaryLoader is the loader of a binary schema format XB_SCHEMA_*.
func binaryLoader(format C.int32_t) (func([]byte) (*schema.Schema, error), error) {
	switch format {
	case C.XB_SCHEMA_BFBS:
		return schema.LoadBFBS, nil
	case C.XB_SCHEMA_CAPNP_REQUEST:
		return schema.LoadCapnpRequest, nil
	}
	return nil, fmt.Errorf("%w: schema format %d is not XB_SCHEMA_BFBS or XB_SCHEMA_CAPNP_REQUEST", errInvalidArg, int32(format))
}

//export xb_schema_compile
func xb_schema_compile(path *C.char, importDirs **C.char, nDirs C.uint64_t, out *C.xb_schema) (rc status) {
	defer guard(&rc, enter())
	p, rc := cName(path, "path")
	if rc != C.XB_OK {
		return rc
	}
	dirs, err := cArray(importDirs, nDirs, "import_dirs")
	if err != nil {
		return failErr(err)
	}
	opts := &schema.CompileOptions{}
	for i, d := range dirs {
		if d == nil {
			return invalidf("import_dirs[%d] is NULL", i)
		}
		opts.ImportPaths = append(opts.ImportPaths, C.GoString(d))
	}
	if _, err := os.Stat(p); err != nil {
		return failErr(err)
	}
	var compile func(string, *schema.CompileOptions) (*schema.Schema, error)
	switch strings.ToLower(filepath.Ext(p)) {
	case ".fbs":
		compile = schema.CompileFBS
	case ".capnp":
		compile = schema.CompileCapnp
	default:
		return fail(C.XB_ERR_SCHEMA, fmt.Sprintf("%s: a text schema ends in .fbs or .capnp; load binary schemas with xb_schema_load", p))
	}
	return registerSchema(out, func() (*schema.Schema, error) { return compile(p, opts) })
}

//export xb_schema_free
func xb_schema_free(h C.xb_schema) (rc status) {
	defer guard(&rc, enter())
	l, err := schemas.remove(uint64(h))
	if err != nil {
		return failErr(err)
	}
	l.close() // waits for calls using it on other threads
	return C.XB_OK
}

//export xb_schema_type_id
func xb_schema_type_id(h C.xb_schema, name *C.char, out *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	n, rc := cName(name, "name")
	if rc != C.XB_OK {
		return rc
	}
	if out == nil {
		return invalidf("out is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.s.Type(n)
	if err != nil {
		return fail(C.XB_ERR_UNKNOWN_TYPE, err.Error())
	}
	*out = C.uint64_t(t.ID)
	return C.XB_OK
}

//export xb_schema_root_type
func xb_schema_root_type(h C.xb_schema, out *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	if l.s.Root == nil {
		return fail(C.XB_ERR_UNKNOWN_TYPE, fmt.Sprintf("this %s schema declares no root type: name the type", l.s.Format))
	}
	*out = C.uint64_t(l.s.Root.ID)
	return C.XB_OK
}

//export xb_schema_type_name
func xb_schema_type_name(h C.xb_schema, id C.uint64_t, name **C.char, n *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if name == nil || n == nil {
		return invalidf("name or len is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	span, ok := l.names[uint64(id)]
	if !ok {
		return fail(C.XB_ERR_UNKNOWN_TYPE, fmt.Sprintf("no type with id %#016x in this %s schema", uint64(id), l.s.Format))
	}
	*name = (*C.char)(unsafe.Pointer(&l.arena[span[0]]))
	*n = C.uint64_t(span[1])
	return C.XB_OK
}

// messageOptions turns XB_MSG_* flags into decoding options for t.
func messageOptions(t *schema.Type, flags C.uint32_t) (*schema.Options, error) {
	const known = C.XB_MSG_SIZE_PREFIXED | C.XB_MSG_FLAT | C.XB_MSG_PACKED
	if flags&^known != 0 {
		return nil, fmt.Errorf("%w: message flags %#x: unknown bits", errInvalidArg, uint32(flags))
	}
	o := &schema.Options{}
	if t.Format == schema.FlatBuffers {
		if flags&(C.XB_MSG_FLAT|C.XB_MSG_PACKED) != 0 {
			return nil, fmt.Errorf("%w: XB_MSG_FLAT and XB_MSG_PACKED are Cap'n Proto framings; %s is a FlatBuffers type", errInvalidArg, t.Name)
		}
		o.SizePrefixed = flags&C.XB_MSG_SIZE_PREFIXED != 0
		return o, nil
	}
	switch flags {
	case 0:
	case C.XB_MSG_FLAT:
		o.Framing = schema.Flat
	case C.XB_MSG_PACKED:
		o.Framing = schema.Packed
	default:
		return nil, fmt.Errorf("%w: message flags %#x for Cap'n Proto type %s: at most one of XB_MSG_FLAT and XB_MSG_PACKED", errInvalidArg, uint32(flags), t.Name)
	}
	return o, nil
}

func failMalformed(err error) status { return fail(C.XB_ERR_MALFORMED, err.Error()) }

//export xb_schema_verify
func xb_schema_verify(h C.xb_schema, id C.uint64_t, bytes *C.uint8_t, n C.uint64_t, flags C.uint32_t) (rc status) {
	defer guard(&rc, enter())
	msg, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.messageType(uint64(id))
	if err != nil {
		return failErr(err)
	}
	opts, err := messageOptions(t, flags)
	if err != nil {
		return failErr(err)
	}
	if err := t.Verify(msg, opts); err != nil {
		return failMalformed(err)
	}
	return C.XB_OK
}

// Output forms of the transcoding calls.
type outForm int

const (
	outJSON outForm = iota
	outMsgPack
)

// transcode decodes msg as t and writes it in form into s; the result is
// described by out and outLen.
func transcode(t *schema.Type, msg []byte, opts *schema.Options, form outForm, s *scratch, out **C.uint8_t, outLen *C.uint64_t) status {
	var err error
	if form == outJSON {
		var v *schema.Record
		if v, err = t.Decode(msg, opts); err == nil {
			s.out, err = t.AppendJSON(s.out[:0], v.Map())
		}
	} else {
		s.out, err = t.AppendMsgPack(s.out[:0], msg, opts)
	}
	if err != nil {
		return failMalformed(err)
	}
	p, err := s.copyBytes(s.out)
	if err != nil {
		return failErr(err)
	}
	*out = (*C.uint8_t)(p)
	*outLen = C.uint64_t(len(s.out))
	return C.XB_OK
}

func transcodeBytes(h C.xb_schema, sh C.xb_scratch, id C.uint64_t, bytes *C.uint8_t, n C.uint64_t, flags C.uint32_t, form outForm, out **C.uint8_t, outLen *C.uint64_t) status {
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	msg, err := goBytes(bytes, n, "bytes")
	if err != nil {
		return failErr(err)
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.messageType(uint64(id))
	if err != nil {
		return failErr(err)
	}
	opts, err := messageOptions(t, flags)
	if err != nil {
		return failErr(err)
	}
	s, releaseScratch, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer releaseScratch()
	return transcode(t, msg, opts, form, s, out, outLen)
}

// codecOf is the frame codec that holds messages of a schema's format.
func codecOf(f schema.Format) codec.ID {
	if f == schema.CapnProto {
		return codec.CapnProto
	}
	return codec.FlatBuffers
}

func transcodeFrame(h C.xb_schema, rh C.xb_region, sh C.xb_scratch, frame *C.xb_frame, form outForm, out **C.uint8_t, outLen *C.uint64_t) status {
	if frame == nil || out == nil || outLen == nil {
		return invalidf("frame, out or out_len is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	r, s, releaseSession, err := session(rh, sh)
	if err != nil {
		return failErr(err)
	}
	defer releaseSession()
	f, err := r.Get(refOf(frame))
	if err != nil {
		return failErr(err)
	}
	return transcodeRegionFrame(l, f, form, s, out, outLen)
}

// frameType is the type f's header names, checked against its codec:
// never another type, and never a guess when the schema lacks it.
func (l *loadedSchema) frameType(f region.Frame) (*schema.Type, error) {
	if t, ok := bundledType(l.s, f.TypeID, f.Codec); ok {
		return t, nil
	}
	if want := codecOf(l.s.Format); f.Codec != want { // a schema frame, or another format's
		return nil, fmt.Errorf("%w: the frame has codec %d; this %s schema reads codec %d frames", errInvalidArg, f.Codec, l.s.Format, want)
	}
	t, err := l.messageType(f.TypeID)
	if err != nil {
		return nil, err
	}
	if want := codecOf(t.Format); f.Codec != want {
		return nil, fmt.Errorf("%w: the frame has codec %d; %s is a %s type (codec %d)", errInvalidArg, f.Codec, t.Name, t.Format, want)
	}
	return t, nil
}

// transcodeRegionFrame decodes f as the type its header names. Frames hold
// plain FlatBuffers and stream-framed Cap'n Proto messages.
func transcodeRegionFrame(l *loadedSchema, f region.Frame, form outForm, s *scratch, out **C.uint8_t, outLen *C.uint64_t) status {
	t, err := l.frameType(f)
	if err != nil {
		return fail(codeOf(err), fmt.Sprintf("frame at offset %d: %v", f.Offset, err))
	}
	return transcode(t, f.Payload, nil, form, s, out, outLen)
}

//export xb_schema_to_json
func xb_schema_to_json(h C.xb_schema, sh C.xb_scratch, id C.uint64_t, bytes *C.uint8_t, n C.uint64_t, flags C.uint32_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return transcodeBytes(h, sh, id, bytes, n, flags, outJSON, out, outLen)
}

//export xb_schema_to_msgpack
func xb_schema_to_msgpack(h C.xb_schema, sh C.xb_scratch, id C.uint64_t, bytes *C.uint8_t, n C.uint64_t, flags C.uint32_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return transcodeBytes(h, sh, id, bytes, n, flags, outMsgPack, out, outLen)
}

//export xb_schema_frame_to_json
func xb_schema_frame_to_json(h C.xb_schema, rh C.xb_region, sh C.xb_scratch, frame *C.xb_frame, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return transcodeFrame(h, rh, sh, frame, outJSON, out, outLen)
}

//export xb_schema_frame_to_msgpack
func xb_schema_frame_to_msgpack(h C.xb_schema, rh C.xb_region, sh C.xb_scratch, frame *C.xb_frame, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return transcodeFrame(h, rh, sh, frame, outMsgPack, out, outLen)
}

//export xb_schema_frames_to_msgpack
func xb_schema_frames_to_msgpack(h C.xb_schema, rh C.xb_region, sh C.xb_scratch, frames *C.xb_frame, n C.uint64_t, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	refs, err := cArray(frames, n, "frames")
	if err != nil {
		return failErr(err)
	}
	if n > math.MaxUint32 {
		return invalidf("%d frames: a MessagePack array holds at most %d", uint64(n), uint32(math.MaxUint32))
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	r, s, releaseSession, err := session(rh, sh)
	if err != nil {
		return failErr(err)
	}
	defer releaseSession()
	s.out = msgp.AppendArrayHeader(s.out[:0], uint32(n))
	for i := range refs {
		f, err := r.Get(refOf(&refs[i]))
		var t *schema.Type
		if err == nil {
			t, err = l.frameType(f)
		}
		if err == nil {
			if s.out, err = t.AppendMsgPack(s.out, f.Payload, nil); err != nil {
				err = fmt.Errorf("%w: %v", codec.ErrMalformed, err)
			}
		}
		if err != nil {
			return fail(codeOf(err), fmt.Sprintf("frame %d at offset %d: %v", i, uint64(refs[i].offset), err))
		}
	}
	p, err := s.copyBytes(s.out)
	if err != nil {
		return failErr(err)
	}
	*out = (*C.uint8_t)(p)
	*outLen = C.uint64_t(len(s.out))
	return C.XB_OK
}

//export xb_schema_binary
func xb_schema_binary(h C.xb_schema, sh C.xb_scratch, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return schemaBytes(h, sh, out, outLen, (*schema.Schema).Binary)
}

// schemaBytes copies what get makes of a schema into the scratch sh, for
// the exports that hand a schema's bytes to C.
func schemaBytes(h C.xb_schema, sh C.xb_scratch, out **C.uint8_t, outLen *C.uint64_t, get func(*schema.Schema) []byte) status {
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	s, releaseScratch, err := useScratch(sh)
	if err != nil {
		return failErr(err)
	}
	defer releaseScratch()
	b := get(l.s)
	p, err := s.copyBytes(b)
	if err != nil {
		return failErr(err)
	}
	*out, *outLen = (*C.uint8_t)(p), C.uint64_t(len(b))
	return C.XB_OK
}

//export xb_region_store_schema
func xb_region_store_schema(rh C.xb_region, h C.xb_schema, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	r, releaseRegion, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer releaseRegion()
	f, err := dynamic.StoreSchema(r.Region, l.s)
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}

//export xb_schema_describe
func xb_schema_describe(h C.xb_schema, sh C.xb_scratch, out **C.uint8_t, outLen *C.uint64_t) (rc status) {
	defer guard(&rc, enter())
	return schemaBytes(h, sh, out, outLen, (*schema.Schema).Describe)
}

//export xb_schema_encode
func xb_schema_encode(h C.xb_schema, rh C.xb_region, id C.uint64_t, msgpack *C.uint8_t, n C.uint64_t, out *C.xb_frame) (rc status) {
	defer guard(&rc, enter())
	if out == nil {
		return invalidf("out is NULL")
	}
	in, err := goBytes(msgpack, n, "msgpack")
	if err != nil {
		return failErr(err)
	}
	l, release, err := useSchema(h)
	if err != nil {
		return failErr(err)
	}
	defer release()
	t, err := l.messageType(uint64(id))
	if err != nil {
		return failErr(err)
	}
	r, releaseRegion, err := useRegion(rh)
	if err != nil {
		return failErr(err)
	}
	defer releaseRegion()
	f, err := dynamic.AppendMsgPack(r.Region, t, in)
	var ee *schema.EncodeError
	if errors.As(err, &ee) || errors.Is(err, schema.ErrTooDeep) {
		return fail(C.XB_ERR_INVALID_RECORD, err.Error())
	}
	if errors.Is(err, schema.ErrMsgPackInput) {
		return fail(C.XB_ERR_INVALID_ARG, err.Error())
	}
	if err != nil {
		return failErr(err)
	}
	frameToC(f, out)
	return C.XB_OK
}
