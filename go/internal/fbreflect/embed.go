// Package fbreflect is the Go code flatc generates from reflection.fbs, the
// schema of FlatBuffers binary schemas (.bfbs), plus that schema compiled to
// its own binary form. Regenerate with ./build.sh gen.
//
// The accessors trust their input: verify a buffer against ReflectionBFBS's
// plan before reading it with them.
package fbreflect

import _ "embed"

// ReflectionBFBS is reflection.fbs compiled by `flatc -b --schema`: the schema
// engine bootstraps its .bfbs verifier from it.
//
//go:embed reflection.bfbs
var ReflectionBFBS []byte
