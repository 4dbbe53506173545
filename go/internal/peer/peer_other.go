//go:build !linux

package peer

// Acquire is ErrUnsupported: there are no OFD byte-range locks here.
func Acquire(fd int, hint uint64) (ID, error) { return 0, ErrUnsupported }

// Alive reports every peer alive: without locks, death cannot be proven,
// and a live writer must never lose its claim.
func Alive(fd int, id ID) (bool, error) { return true, nil }

// Lock is ErrUnsupported: there are no OFD byte-range locks here.
func Lock(fd int, n int) error { return ErrUnsupported }

// Unlock is ErrUnsupported: there are no OFD byte-range locks here.
func Unlock(fd int, n int) error { return ErrUnsupported }

// Release is ErrUnsupported: there are no OFD byte-range locks here.
func Release(fd int, id ID) error { return ErrUnsupported }
