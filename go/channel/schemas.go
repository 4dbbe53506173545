//go:build linux

package channel

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/crossbuf/crossbuf/go/internal/peer"
)

// The schema area holds the binary schemas of the types a channel carries,
// so that a subscriber in another process decodes its frames with no schema
// file of its own (crossbuf cat CHANNEL). Schemas outlive every frame: the
// area is never reclaimed. Unlike the ring it is not reserved at creation:
// its pages are allocated as schemas are stored, so a large area costs
// nothing until used (a full /dev/shm is then ErrNoSpace from StoreSchema).
//
// It is a chain of entries from its start, each 8-aligned:
//
//	0   len    u32  atomic: payload bytes; 0 ends the chain (free space)
//	4   state  u32  atomic: 0 just claimed; schemaWriting | writer peer id
//	                while written (hash already set); schemaCommitted once
//	                whole; schemaAbandoned when its writer failed
//	8   hash   u64  FNV-1a 64 of the payload
//	16  payload, zero-padded to a multiple of 8
//
// A writer claims the free entry at the end of the chain with a CAS of its
// len from 0, so every claim publishes its size first and the chain stays
// walkable past a writer that dies before committing: its entry is skipped
// forever, its space lost. Storing bytes an entry already holds does
// nothing, so publishers that start together store a schema once: a writer
// waits for an entry of the same hash still being written (while its writer
// lives) and compares. Readers take the newest version of a schema (see
// dynamic.ChannelSchemas); an older version stored again stays behind the
// newer, which reads its messages as schema evolution promises.
const (
	schemaEntryHeader        = 16
	schemaWriting     uint32 = 0x57530000 // "SW" << 16 | peer id
	schemaCommitted   uint32 = 0x31435358 // "XSC1"
	schemaAbandoned   uint32 = 0x41435358 // "XSCA"
	// schemaWait bounds the wait for a live writer of an equal-length entry
	// (one stopped in a debugger, say); then the schema is stored again.
	schemaWait = 5 * time.Second
)

func schemaEntrySize(n uint64) uint64 { return schemaEntryHeader + (n+7)&^7 }

// StoreSchema stores the binary form of a schema (a .bfbs or a Cap'n Proto
// CodeGeneratorRequest; package go/crossbuf/dynamic's StoreChannelSchema
// checks it loads) in the channel's schema area, unless the same bytes are
// there already. A full area is ErrFull; no memory left for its pages is
// ErrNoSpace; a channel opened SubscribeOnly is ErrReadOnly.
func (c *Channel) StoreSchema(b []byte) (err error) {
	if c.access == SubscribeOnly {
		return fmt.Errorf("%w: store schema", ErrReadOnly)
	}
	if len(b) == 0 || uint64(len(b)) > uint64(len(c.schemas)) || len(b) > 1<<31 {
		return fmt.Errorf("%w: a schema of %d bytes does not fit a schema area of %d", ErrFull, len(b), len(c.schemas))
	}
	if !c.inflight.Enter() {
		return ErrClosed
	}
	defer c.inflight.Leave()
	claimed := ^uint64(0)
	// The area's pages are allocated as they are written: a fault there
	// is a full /dev/shm (or a truncated file). An entry this call claimed
	// is given up, so nobody waits for it.
	defer func(old bool) {
		if recoverFault(old) {
			err = fmt.Errorf("%w: no memory left for the schema area's pages", ErrNoSpace)
			if _, shrunk := c.shrunk(); shrunk {
				err = c.faultError()
			}
			if claimed != ^uint64(0) {
				atomic.StoreUint32(c.schema32(claimed+4), schemaAbandoned)
			}
		}
	}(setPanicOnFault())
	h := fnv.New64a()
	h.Write(b)
	sum := h.Sum64()
	area := uint64(len(c.schemas))
	for pos := uint64(0); ; {
		if pos+schemaEntryHeader > area {
			return c.schemaSpaceFull(pos, len(b))
		}
		n, err := c.schemaEntry(pos)
		if err != nil {
			return err
		}
		if n == 0 {
			if pos+schemaEntrySize(uint64(len(b))) > area {
				return c.schemaSpaceFull(pos, len(b))
			}
			if !atomic.CompareAndSwapUint32(c.schema32(pos), 0, uint32(len(b))) {
				continue // another writer claimed it: walk past its entry
			}
			claimed = pos
			*(*uint64)(unsafe.Pointer(&c.schemas[pos+8])) = sum // published by the state store
			atomic.StoreUint32(c.schema32(pos+4), schemaWriting|uint32(c.self))
			copy(c.schemas[pos+schemaEntryHeader:], b)
			atomic.StoreUint32(c.schema32(pos+4), schemaCommitted)
			return nil
		}
		if n == uint64(len(b)) && c.schemaSettled(pos, sum) == schemaCommitted &&
			*(*uint64)(unsafe.Pointer(&c.schemas[pos+8])) == sum &&
			bytes.Equal(c.schemas[pos+schemaEntryHeader:pos+schemaEntryHeader+n], b) {
			return nil
		}
		pos += schemaEntrySize(n)
	}
}

// schemaSettled is the state of the entry at pos (of the length being
// stored), waited for while a live writer is writing it and it may hold the
// bytes being stored (the same hash), up to schemaWait.
func (c *Channel) schemaSettled(pos uint64, sum uint64) uint32 {
	start := time.Now()
	for {
		st := atomic.LoadUint32(c.schema32(pos + 4))
		if st == schemaCommitted || st == schemaAbandoned {
			return st
		}
		waited := time.Since(start)
		switch {
		case st&0xFFFF0000 == schemaWriting:
			if *(*uint64)(unsafe.Pointer(&c.schemas[pos+8])) != sum || waited > schemaWait ||
				!c.alive(peer.ID(st&0xFFFF)) {
				return st // other bytes; or its writer died (it never commits), or is stuck
			}
		case waited > 100*time.Millisecond:
			return st // claimed, and no writer named itself since: it died in between
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// Schemas returns copies of the binary schemas stored in the channel, in
// the order they were stored (of their claims: one still being written is
// left out). An entry whose bytes do not match its hash, or whose length
// leaves the area, is ErrCorrupt naming its offset, returned with the
// schemas before it.
func (c *Channel) Schemas() (out [][]byte, err error) {
	ok, old := c.enter()
	if !ok {
		return nil, ErrClosed
	}
	defer c.leave(&err, old)
	area := uint64(len(c.schemas))
	for pos := uint64(0); pos+schemaEntryHeader <= area; {
		n, err := c.schemaEntry(pos)
		if err != nil || n == 0 {
			return out, err
		}
		if atomic.LoadUint32(c.schema32(pos+4)) == schemaCommitted {
			b := bytes.Clone(c.schemas[pos+schemaEntryHeader : pos+schemaEntryHeader+n])
			h := fnv.New64a()
			h.Write(b)
			if h.Sum64() != *(*uint64)(unsafe.Pointer(&c.schemas[pos+8])) {
				return out, fmt.Errorf("%w: schema area: entry at %d does not match its hash", ErrCorrupt, pos)
			}
			out = append(out, b)
		}
		pos += schemaEntrySize(n)
	}
	return out, nil
}

// schemaEntry is the payload length of the entry at pos, checked to lie in
// the area (another process may have written anything there).
func (c *Channel) schemaEntry(pos uint64) (uint64, error) {
	n := uint64(atomic.LoadUint32(c.schema32(pos)))
	if n != 0 && pos+schemaEntrySize(n) > uint64(len(c.schemas)) {
		return 0, fmt.Errorf("%w: schema area: entry at %d of %d bytes leaves the area (%d bytes)", ErrCorrupt, pos, n, len(c.schemas))
	}
	return n, nil
}

func (c *Channel) schemaSpaceFull(used uint64, need int) error {
	return fmt.Errorf("%w: the schema area has %d of %d bytes free, a schema of %d bytes needs %d",
		ErrFull, uint64(len(c.schemas))-min(used, uint64(len(c.schemas))), len(c.schemas), need, schemaEntrySize(uint64(need)))
}

func (c *Channel) schema32(pos uint64) *uint32 { return (*uint32)(unsafe.Pointer(&c.schemas[pos])) }
