//go:build linux

package channel

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Seals of a memfd channel: it can never shrink (so no peer can make a
// reader fault), never grow, and the seals cannot be removed.
const memfdSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// CreateMemfd creates a channel in a sealed memfd: no name in any file
// system; other processes receive its descriptor (Fd, over any SCM_RIGHTS
// transport, e.g. region.Region's Send helpers' protocol) and attach with
// OpenFd. Nobody can truncate it, so no access can fault. label only names
// it in /proc/<pid>/fd.
func CreateMemfd(label string, opts Options) (*Channel, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	if label == "" {
		label = "crossbuf-channel"
	}
	fd, err := unix.MemfdCreate(label, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("channel: memfd_create: %w", err)
	}
	l, _, _ := layoutFor(opts)
	size := l.total
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		_ = unix.Close(fd)
		return nil, osError("ftruncate", "memfd:"+label, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, memfdSeals); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("channel: seal memfd: %w", err)
	}
	return createOnFd(fd, "memfd:"+label, "", opts, flagSealed)
}

// OpenFd attaches to the channel in a memfd received from another process.
// It refuses a descriptor that is not sealed against shrinking
// (ErrNotSealed): the receiver checks the seals itself. fd is duplicated;
// the caller keeps its own copy.
func OpenFd(fd int, access Access) (*Channel, error) {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: F_GET_SEALS: %w", ErrNotSealed, err)
	}
	if seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("%w (seals %#x)", ErrNotSealed, seals)
	}
	// Positions and the peer lock need a writable description of our own,
	// as another process would have: reopen through /proc.
	rw, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("channel: reopen memfd: %w", err)
	}
	return openFd(rw, "", access)
}

// Fd returns the descriptor behind the channel, for passing to another
// process. It stays owned by the channel and valid until Close.
func (c *Channel) Fd() (int, error) {
	if !c.inflight.Enter() {
		return -1, ErrClosed
	}
	defer c.inflight.Leave()
	return c.fd, nil
}
