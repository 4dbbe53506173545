package peer

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

func lockAt(id ID, typ int16) unix.Flock_t {
	return unix.Flock_t{Type: typ, Whence: io.SeekStart, Start: LockBase + int64(id), Len: 1}
}

// Acquire takes a free peer id on fd, which must be open for writing. hint
// spreads concurrent acquirers over the id space (pass a shared counter's
// value); ids are probed from there. The id is held until fd's open file
// description is closed.
func Acquire(fd int, hint uint64) (ID, error) {
	for i := uint64(0); i < MaxID; i++ {
		id := ID((hint+i)%MaxID + 1)
		lk := lockAt(id, unix.F_WRLCK)
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return 0, fmt.Errorf("peer: lock id %d: %w", id, err)
		}
	}
	return 0, ErrNoID
}

// Alive reports whether some open file description other than fd's holds
// peer id's lock. The caller's own ids look free from its own fd: compare
// with them first.
func Alive(fd int, id ID) (bool, error) {
	if id == 0 {
		return true, nil // unknown owner: never declared dead
	}
	lk := lockAt(id, unix.F_WRLCK)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("peer: query id %d: %w", id, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}
