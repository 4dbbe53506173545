package codec

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Each format registers itself from its own package's init, as database/sql
// drivers and image formats do, so a program links only the formats it
// imports. The table is copied on write: lookups, one per decoded frame, take
// no lock.
var (
	registerMu sync.Mutex
	registry   atomic.Pointer[map[ID]Codec]
)

// Register makes c the codec of frames with c.ID(). The format packages call
// it from init; a second codec for one id panics, as a program that links two
// is wrong.
func Register(c Codec) {
	registerMu.Lock()
	defer registerMu.Unlock()
	next := map[ID]Codec{}
	if cur := registry.Load(); cur != nil {
		for id, r := range *cur {
			next[id] = r
		}
	}
	if _, dup := next[c.ID()]; dup {
		panic(fmt.Sprintf("codec: Register called twice for %v", c.ID()))
	}
	next[c.ID()] = c
	registry.Store(&next)
}

// Lookup returns the registered codec of id. An id of no format, or of a
// format whose package the program does not import, is an error wrapping
// ErrUnknownCodec.
func Lookup(id ID) (Codec, error) {
	if cur := registry.Load(); cur != nil {
		if c, ok := (*cur)[id]; ok {
			return c, nil
		}
	}
	switch id {
	case FlatBuffers, CapnProto, JSON, MsgPack, Protobuf:
		return nil, fmt.Errorf("%w: %v is not registered (import its package under go/codec, or go/codec/codecs for every format)",
			ErrUnknownCodec, id)
	}
	return nil, fmt.Errorf("%w: id %d", ErrUnknownCodec, uint16(id))
}

// Registered returns the registered codecs in id order.
func Registered() []Codec {
	cur := registry.Load()
	if cur == nil {
		return nil
	}
	out := make([]Codec, 0, len(*cur))
	for _, c := range *cur {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Codec) int { return cmp.Compare(a.ID(), b.ID()) })
	return out
}
