//go:build !linux

package region

import "fmt"

// Named shared memory, sealed memfds and block reservation are Linux
// features; anonymous and file regions work everywhere.

func shmPath(name string) string { return "" }

func checkShm() error {
	return fmt.Errorf("%w: named shared-memory regions (use a file region)", ErrUnsupported)
}

// CreateMemfd is ErrUnsupported: there are no sealed memfds here.
func CreateMemfd(name string, capacity int) (*Region, error) {
	return nil, fmt.Errorf("%w: memfd regions", ErrUnsupported)
}

// OpenFd is ErrUnsupported: there are no sealed memfds here.
func OpenFd(fd int, access Access) (*Region, error) {
	return nil, fmt.Errorf("%w: memfd regions", ErrUnsupported)
}

// reserveBlocks does nothing here: a full disk shows up when pages are
// first written.
func reserveBlocks(fd, size int) error { return nil }

func prefault(mem []byte) error {
	touchPages(mem)
	return nil
}
