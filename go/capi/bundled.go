package main

import (
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/schema"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
)

// bundled maps the types of the bundled schemas (schemas/crossbuf.fbs,
// schemas/crossbuf.capnp) to the record type of the frames the per-record
// codecs of their format write (crossbuf.Append, xb_encode): the same bytes
// under another type id. Paths and transcoding of those types also read
// those frames, so the bundled records are read like any schema's messages.
var bundled = map[uint64]struct {
	record record.Type
	format schema.Format
}{
	schema.FlatBuffersTypeID("crossbuf_fb.LogEntry"): {record.TypeLogEntry, schema.FlatBuffers},
	schema.FlatBuffersTypeID("crossbuf_fb.Sample"):   {record.TypeSample, schema.FlatBuffers},
	schema.FlatBuffersTypeID("crossbuf_fb.Tensor"):   {record.TypeTensor, schema.FlatBuffers},
	capnpgen.LogEntry_TypeID:                         {record.TypeLogEntry, schema.CapnProto},
	capnpgen.Sample_TypeID:                           {record.TypeSample, schema.CapnProto},
	capnpgen.Tensor_TypeID:                           {record.TypeTensor, schema.CapnProto},
}

// bundledType is the type of s that frames of the bundled record type id
// in codec hold, if s is a bundled schema.
func bundledType(s *schema.Schema, id uint64, c codec.ID) (*schema.Type, bool) {
	if id == 0 || id > uint64(record.TypeTensor) {
		return nil, false
	}
	for tid, b := range bundled {
		if uint64(b.record) == id && codecOf(b.format) == c {
			if t, err := s.TypeByID(tid); err == nil && t.Format == b.format {
				return t, true
			}
		}
	}
	return nil, false
}
