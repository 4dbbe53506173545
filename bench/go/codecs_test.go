package bench

import (
	"github.com/crossbuf/crossbuf/go/codec"
	_ "github.com/crossbuf/crossbuf/go/codec/codecs"
)

// crossbufCodecs are the codecs of the library under test.
func crossbufCodecs() []codec.Codec { return codec.Registered() }
