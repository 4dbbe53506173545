package region

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Seals a shareable memfd region carries: it can never shrink (so no peer
// can make a reader fault), never grow, and the seals cannot be removed.
const memfdSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// CreateMemfd creates a region in a sealed memfd: shared memory with no name
// in any file system, which other processes receive as a descriptor (Send,
// Receive, or any SCM_RIGHTS transport). Its size is sealed, so unlike a
// named or file region nobody can truncate it and no access can fault. name
// only labels it in /proc/<pid>/fd.
func CreateMemfd(name string, capacity int) (*Region, error) {
	size, err := pageRound(capacity)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = "crossbuf"
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("region: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		_ = unix.Close(fd)
		return nil, osError("ftruncate", "memfd:"+name, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, memfdSeals); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("region: seal memfd: %w", err)
	}
	return createOnFd(fd, "memfd:"+name, "", size, flagSealed)
}

// OpenFd maps the region in a memfd received from another process. It
// refuses a descriptor that is not sealed against shrinking (ErrNotSealed):
// the receiver checks the seals itself rather than trusting the sender.
// fd is duplicated; the caller keeps ownership of its own copy.
func OpenFd(fd int, access Access) (*Region, error) {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: F_GET_SEALS: %w", ErrNotSealed, err)
	}
	if seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("%w (seals %#x)", ErrNotSealed, seals)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("region: dup: %w", err)
	}
	if access == ReadWrite {
		// A write lock for the peer id needs a writable description: reopen
		// through /proc so this open gets its own, as another process would.
		rw, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", dup), unix.O_RDWR|unix.O_CLOEXEC, 0)
		_ = unix.Close(dup)
		if err != nil {
			return nil, fmt.Errorf("region: reopen memfd for writing: %w", err)
		}
		dup = rw
	}
	return openFd(dup, "", access)
}
