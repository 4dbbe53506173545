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
	for i := uint64(0); i < MaxID-1; i++ {
		id := ID((hint+i)%(MaxID-1) + 1) // never Gone
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
	if id == Gone {
		return false, nil
	}
	lk := lockAt(id, unix.F_WRLCK)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("peer: query id %d: %w", id, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

// Lock takes the exclusive lock number n (0 <= n < 1024) of the shared file
// behind fd, waiting for it: a mutex between processes that the kernel
// releases if its holder dies. Like peer ids, locks of different opens of
// the file exclude each other even within one process; a process that
// shares one fd between threads must also serialise them itself.
func Lock(fd int, n int) error {
	if n < 0 || n >= 1024 {
		return fmt.Errorf("peer: lock number %d out of range", n)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: LockBase - 1 - int64(n), Len: 1}
	for {
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLKW, &lk)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("peer: lock %d: %w", n, err)
			}
			return nil
		}
	}
}

// Unlock releases what Lock took.
func Unlock(fd int, n int) error {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart, Start: LockBase - 1 - int64(n), Len: 1}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		return fmt.Errorf("peer: unlock %d: %w", n, err)
	}
	return nil
}

// Release gives up peer id on fd before the description is closed.
func Release(fd int, id ID) error {
	lk := lockAt(id, unix.F_UNLCK)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		return fmt.Errorf("peer: release id %d: %w", id, err)
	}
	return nil
}
