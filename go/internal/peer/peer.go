// Package peer proves which processes sharing a mapping are alive.
//
// A peer (a process that writes into a shared region or channel) takes an
// exclusive open-file-description lock (F_OFD_SETLK) on one byte of the
// shared file, at LockBase + its peer id. The kernel drops the lock when the
// last descriptor of that open file description closes, which happens when
// the process dies, however it dies. Anyone else can then ask F_OFD_GETLK
// whether the byte is still locked: a held lock proves the peer alive, a
// free one proves it gone.
//
// Why not pids: processes in different pid namespaces share /dev/shm with
// different pids for the same process, and pids are reused. Why not a
// timeout: a slow writer that is alive must never see its claim reclaimed.
//
// Locks sit far beyond any file's size (locks may cover bytes past EOF), so
// they never touch data. OFD locks belong to the open file description, not
// the process: two descriptions opened by one process conflict with each
// other, so the same process can hold several peer ids, one per open.
package peer

import "errors"

// ID identifies a peer within one shared file. 0 means "no peer": a writer
// in an anonymous mapping, whose death takes every reader with it.
type ID uint16

// MaxID is the largest peer id; ids live in 16 bits of a frame seal.
const MaxID = 0xFFFF

// Gone is the one id no process is given (Acquire hands out 1..MaxID-1):
// state marked with it belongs to no live peer, as if its owner had died.
const Gone ID = MaxID

// LockBase is the file offset of peer id 0's lock byte.
const LockBase = int64(1) << 62

// ErrNoID is returned when every peer id of the file is held.
var ErrNoID = errors.New("peer: all peer ids of this file are held by live processes")

// ErrUnsupported: the platform has no open-file-description byte-range
// locks, so peers cannot prove each other alive or dead. Callers run
// without liveness (peer id 0: never declared dead).
var ErrUnsupported = errors.New("peer: liveness locks are not supported on this platform")
