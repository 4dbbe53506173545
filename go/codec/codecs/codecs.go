// Package codecs registers every crossbuf format. Import it for its side
// effect in programs that handle frames of any codec (the C library does):
//
//	import _ "github.com/crossbuf/crossbuf/go/codec/codecs"
//
// A program that uses one format imports only that format's package
// (go/codec/flatbuf, say), and links no other format's runtime.
package codecs

import (
	_ "github.com/crossbuf/crossbuf/go/codec/capnp"
	_ "github.com/crossbuf/crossbuf/go/codec/flatbuf"
	_ "github.com/crossbuf/crossbuf/go/codec/json"
	_ "github.com/crossbuf/crossbuf/go/codec/msgpack"
	_ "github.com/crossbuf/crossbuf/go/codec/protobuf"
)
