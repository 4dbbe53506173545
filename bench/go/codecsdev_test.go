//go:build xbdev

package bench

import (
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/codec/protobuf"
)

// crossbufCodecs: the codecs that exist while package codecs is written.
func crossbufCodecs() []codec.Codec { return []codec.Codec{flatbuf.New(), protobuf.New()} }
