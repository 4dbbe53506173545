// Package codecs lists every crossbuf codec by id.
package codecs

import (
	"fmt"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/capnp"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/codec/json"
	"github.com/crossbuf/crossbuf/go/codec/msgpack"
	"github.com/crossbuf/crossbuf/go/codec/protobuf"
)

// all is indexed by id order; codecs are stateless, so one instance each
// serves every caller.
var all = []codec.Codec{
	flatbuf.New(),
	capnp.New(),
	json.New(),
	msgpack.New(),
	protobuf.New(),
}

// Get returns the codec with id; an unknown id is an error wrapping
// codec.ErrUnknownCodec.
func Get(id codec.ID) (codec.Codec, error) {
	for _, c := range all {
		if c.ID() == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: id %d", codec.ErrUnknownCodec, uint16(id))
}

// All returns every codec in id order: flatbuffers, capnp, json, msgpack,
// protobuf. The slice is a copy.
func All() []codec.Codec {
	return append([]codec.Codec(nil), all...)
}
