//go:build linux

package channel

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Schemas stored by one open are read by another, in order, once each;
// storing the same bytes again keeps one copy (after a newer schema too);
// a SubscribeOnly open reads them and cannot store.
func TestStoreSchemas(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	a, b := bytes.Repeat([]byte("a"), 1001), []byte("second schema")
	require.NoError(t, c.StoreSchema(a))
	require.NoError(t, c.StoreSchema(a), "the same bytes again")
	require.NoError(t, c.StoreSchema(b))
	ro, err := Open(name, SubscribeOnly)
	require.NoError(t, err)
	defer ro.Close()
	got, err := ro.Schemas()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{a, b}, got)
	require.NoError(t, c.StoreSchema(a), "a again, after b")
	got, err = ro.Schemas()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{a, b}, got)
	require.ErrorIs(t, ro.StoreSchema([]byte("x")), ErrReadOnly)
	require.ErrorIs(t, c.StoreSchema(nil), ErrFull)
}

// The schema space is sized at creation; a schema that does not fit in what
// is left is ErrFull and leaves the stored ones readable.
func TestSchemaSpaceFull(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14, SchemaSpace: 1000})
	assert.Equal(t, 1024, len(c.schemas), "rounded up to 64")
	first := bytes.Repeat([]byte{1}, 600)
	require.NoError(t, c.StoreSchema(first))
	err := c.StoreSchema(bytes.Repeat([]byte{2}, 600))
	require.ErrorIs(t, err, ErrFull)
	assert.Contains(t, err.Error(), "schema area has 408 of 1024 bytes free")
	require.ErrorIs(t, c.StoreSchema(make([]byte, 2000)), ErrFull)
	require.NoError(t, c.StoreSchema(bytes.Repeat([]byte{3}, 300)), "a smaller one still fits")
	got, err := c.Schemas()
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, first, got[0])
	_, err = Create(chanName(t), Options{SchemaSpace: -1})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Create(chanName(t), Options{SchemaSpace: MaxSchemaSpace + 1})
	require.ErrorIs(t, err, ErrInvalid)
}

// Publishers store concurrently: every distinct schema is there exactly
// once, whole.
func TestStoreSchemasConcurrently(t *testing.T) {
	c, name := newChannel(t, Options{Capacity: 1 << 14})
	other, err := Open(name, PublishSubscribe)
	require.NoError(t, err)
	defer other.Close()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ch := c
			if g%2 == 1 {
				ch = other
			}
			for i := 0; i < 20; i++ {
				if ch.StoreSchema([]byte(fmt.Sprintf("schema %d of %d", i, g%4))) != nil {
					failed.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	require.Zero(t, failed.Load())
	got, err := c.Schemas()
	require.NoError(t, err)
	seen := map[string]int{}
	for _, b := range got {
		seen[string(b)]++
	}
	assert.Len(t, seen, 80)
	for s, n := range seen {
		assert.Equal(t, 1, n, "%q: stored once, however many stored it at once", s)
	}
}

// An entry of the same length whose writer died (or never named itself)
// is not waited for long: the schema is stored after it.
func TestStoreSchemaPastDeadWriter(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14, SchemaSpace: 4096})
	b := []byte("twelve bytes")
	atomic.StoreUint32(c.schema32(0), uint32(len(b)))
	atomic.StoreUint32(c.schema32(4), schemaWriting|0xFFF0) // a peer id nobody holds
	next := schemaEntrySize(uint64(len(b)))
	atomic.StoreUint32(c.schema32(next), uint32(len(b))) // claimed, no writer named
	start := time.Now()
	require.NoError(t, c.StoreSchema(b))
	assert.Less(t, time.Since(start), time.Second)
	got, err := c.Schemas()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{b}, got)

	// A live writer of other bytes of the same length is not waited for;
	// an entry given up (its writer failed) is skipped by writers and
	// readers alike.
	c2, _ := newChannel(t, Options{Capacity: 1 << 14, SchemaSpace: 4096})
	atomic.StoreUint32(c2.schema32(0), uint32(len(b)))
	*(*uint64)(unsafe.Pointer(&c2.schemas[8])) = 12345
	atomic.StoreUint32(c2.schema32(4), schemaWriting|uint32(c2.self)) // alive: this open
	next = schemaEntrySize(uint64(len(b)))
	atomic.StoreUint32(c2.schema32(next), uint32(len(b)))
	atomic.StoreUint32(c2.schema32(next+4), schemaAbandoned)
	start = time.Now()
	require.NoError(t, c2.StoreSchema(b))
	assert.Less(t, time.Since(start), time.Second)
	got, err = c2.Schemas()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{b}, got)
}

// A writer that died after claiming leaves an entry that is skipped; an
// entry whose bytes do not match its hash, or whose length leaves the area,
// is ErrCorrupt and never read past.
func TestSchemaAreaHostile(t *testing.T) {
	c, _ := newChannel(t, Options{Capacity: 1 << 14, SchemaSpace: 4096})
	// A dead writer's claim: length set, never committed.
	atomic.StoreUint32(c.schema32(0), 40)
	require.NoError(t, c.StoreSchema([]byte("after the dead one")))
	got, err := c.Schemas()
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("after the dead one")}, got)

	pos := schemaEntrySize(40)
	c.schemas[pos+schemaEntryHeader] ^= 0xFF // flip a payload byte
	_, err = c.Schemas()
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), fmt.Sprintf("at %d", pos))
	c.schemas[pos+schemaEntryHeader] ^= 0xFF

	next := pos + schemaEntrySize(uint64(len("after the dead one")))
	atomic.StoreUint32(c.schema32(next), 1<<30)
	_, err = c.Schemas()
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorIs(t, c.StoreSchema([]byte("x")), ErrCorrupt)
}

// Any bytes in the schema area (another process may write anything there)
// give schemas or an error, never a panic or a read outside the area; a
// store then either succeeds and reads back, or fails.
func FuzzSchemaArea(f *testing.F) {
	c, err := CreateMemfd("fuzz-schemas", Options{Capacity: MinRing, MaxSubscribers: 1, SchemaSpace: 512})
	require.NoError(f, err)
	require.NoError(f, c.StoreSchema([]byte("one schema")))
	require.NoError(f, c.StoreSchema(bytes.Repeat([]byte("two"), 30)))
	f.Add(bytes.Clone(c.schemas))
	f.Add([]byte{8, 0, 0, 0, 0x58, 0x53, 0x43, 0x31})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	require.NoError(f, c.Close())
	f.Fuzz(func(t *testing.T, area []byte) {
		c, err := CreateMemfd("fuzz-schemas", Options{Capacity: MinRing, MaxSubscribers: 1, SchemaSpace: 512})
		require.NoError(t, err)
		defer c.Close()
		copy(c.schemas, area)
		before, err := c.Schemas()
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
		}
		err = c.StoreSchema([]byte("new"))
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrFull), "%v", err)
			return
		}
		after, err := c.Schemas()
		if err == nil {
			assert.Contains(t, after, []byte("new"))
			assert.GreaterOrEqual(t, len(after), len(before))
		}
	})
}
