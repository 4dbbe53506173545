package schema

import (
	"fmt"
	"strings"
)

// Options bound the work spent on one untrusted message. The zero value (or a
// nil *Options) uses the defaults, which match the reference implementations.
type Options struct {
	// MaxDepth limits nesting of tables, structs and lists (default 64).
	MaxDepth int
	// MaxTables limits how many FlatBuffers tables one message may hold
	// (default 1,000,000).
	MaxTables int
	// TraverseLimitWords limits how many 8-byte words a Cap'n Proto reader
	// may visit, counting shared objects each time they are reached. The
	// default is 8 Mi words (64 MiB, the reference implementation's) or
	// four times the message's words, whichever is larger: a large message
	// can be read whole, and work stays linear in the message's size.
	TraverseLimitWords uint64
	// Identifier, when set, is the 4-byte file identifier a FlatBuffers
	// message must carry.
	Identifier string
	// SizePrefixed marks a FlatBuffers message that starts with its own
	// length (flatc --size-prefixed, FinishSizePrefixed); the length may not
	// exceed the bytes after it.
	SizePrefixed bool
	// SkipAlignment turns off the FlatBuffers alignment checks (as the C++
	// Verifier's check_alignment = false does).
	SkipAlignment bool
	// Framing of a Cap'n Proto message (default Stream).
	Framing Framing
}

// Framing is how a Cap'n Proto message is laid out in its bytes.
type Framing uint8

const (
	// Stream is the standard framing: a segment table, then the segments.
	Stream Framing = iota
	// Flat is one segment with no segment table (`capnp convert --flat`).
	Flat
	// Packed is the stream framing in Cap'n Proto's packed encoding. The
	// unpacked size is bounded by TraverseLimitWords before anything is
	// allocated.
	Packed
)

const (
	defaultMaxDepth      = 64
	defaultMaxTables     = 1000000
	defaultTraverseWords = 8 << 20
	// traverseFactor is how many times over the default limit lets a
	// reader visit a large message's words.
	traverseFactor = 4
	// maxBufferSize is FlatBuffers' largest buffer (2 GiB - 1).
	maxBufferSize = 1<<31 - 1
	// minBufferSize is its smallest: a root offset, a table offset to its
	// vtable, and the vtable's two sizes.
	minBufferSize = 12
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = defaultMaxDepth
	}
	if r.MaxTables <= 0 {
		r.MaxTables = defaultMaxTables
	}
	return r
}

// traverseLimit is the Cap'n Proto traversal limit, in words, for a
// message of msgLen bytes.
func (o *Options) traverseLimit(msgLen int) uint64 {
	if o != nil && o.TraverseLimitWords != 0 {
		return o.TraverseLimitWords
	}
	return defaultTraverseLimit(msgLen)
}

// defaultTraverseLimit is the default traversal limit for a message of
// msgLen bytes (see Options.TraverseLimitWords).
func defaultTraverseLimit(msgLen int) uint64 {
	return max(defaultTraverseWords, traverseFactor*uint64(msgLen)/wordBytes)
}

// Verify checks that msg is a well-formed message whose root is of type t
// (a FlatBuffers table or a Cap'n Proto struct): every offset, pointer, size
// and nesting level the schema can reach. A nil error means Decode and JSON
// will not fail on the message's structure.
func (t *Type) Verify(msg []byte, opts *Options) error {
	_, err := t.walk(msg, opts, false, nil)
	return err
}

// Decode verifies msg and returns its root as a Record (see the package
// documentation for the values; Record.Map gives the map form).
func (t *Type) Decode(msg []byte, opts *Options) (*Record, error) {
	return t.walk(msg, opts, true, nil)
}

// walk verifies msg; it builds the dynamic value when build is set, and
// writes MessagePack to mp when mp is not nil.
func (t *Type) walk(msg []byte, opts *Options, build bool, mp *mpWriter) (*Record, error) {
	o := opts.withDefaults()
	switch {
	case t.Format == FlatBuffers && t.Kind == Table:
		return walkFlatBuffer(t, msg, &o, build, mp)
	case t.Format == CapnProto && t.Kind == Struct:
		return walkCapnp(t, msg, &o, build, mp)
	}
	return nil, fmt.Errorf("schema: %s is a %s %s, not a message type", t.Name, t.Format, t.Kind)
}

// DataError reports malformed message bytes: the root type, the path of the
// field where reading stopped, and what was wrong.
type DataError struct {
	Format Format
	Type   string
	Path   string // e.g. "enemy.inventory[3]"; "" at the root
	Reason string
}

func (e *DataError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s: %s", e.Format, e.Type, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s: %s", e.Format, e.Type, e.Path, e.Reason)
}

// pathError collects the path while the walk unwinds from a failure.
type pathError struct {
	segs   []string // innermost first
	reason string
}

func (e *pathError) Error() string { return e.reason }

func failf(format string, args ...any) error {
	return &pathError{reason: fmt.Sprintf(format, args...)}
}

// at prepends a field name to an error's path.
func at(err error, name string) error {
	if pe, ok := err.(*pathError); ok {
		pe.segs = append(pe.segs, name)
	}
	return err
}

// atIndex prepends a list index to an error's path.
func atIndex(err error, i int) error {
	return at(err, fmt.Sprintf("[%d]", i))
}

func toDataError(f Format, t *Type, err error) error {
	pe, ok := err.(*pathError)
	if !ok {
		return err
	}
	var b strings.Builder
	for i := len(pe.segs) - 1; i >= 0; i-- {
		s := pe.segs[i]
		if b.Len() > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return &DataError{Format: f, Type: t.Name, Path: b.String(), Reason: pe.reason}
}
