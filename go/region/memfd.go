package region

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Seals a shareable memfd region carries: it can never shrink (so no peer
// can make a reader fault), never grow, and the seals cannot be removed.
const memfdSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// ErrNotSealed: a descriptor offered as a region is not a memfd sealed
// against shrinking, so its owner could truncate it under the reader.
var ErrNotSealed = errors.New("descriptor is not sealed against shrinking")

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

// Fd returns the descriptor behind a memfd, file or shared-memory region,
// for passing to another process. It stays owned by the region and valid
// until Close. Anonymous regions have none (ErrInvalid).
func (r *Region) Fd() (int, error) {
	if !r.inflight.enter() {
		return -1, ErrClosed
	}
	defer r.inflight.leave()
	if r.fd < 0 {
		return -1, fmt.Errorf("%w: an anonymous region has no descriptor", ErrInvalid)
	}
	return r.fd, nil
}

// Send passes the region's descriptor over a Unix socket (SCM_RIGHTS).
func (r *Region) Send(conn *net.UnixConn) error {
	fd, err := r.Fd()
	if err != nil {
		return err
	}
	if _, _, err := conn.WriteMsgUnix([]byte{'X'}, unix.UnixRights(fd), nil); err != nil {
		return fmt.Errorf("region: send descriptor: %w", err)
	}
	return nil
}

// Receive takes a region descriptor that Send (or any SCM_RIGHTS sender)
// passed over conn, and opens it with OpenFd.
func Receive(conn *net.UnixConn, access Access) (*Region, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return nil, fmt.Errorf("region: receive descriptor: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("%w: no descriptor in the message", ErrInvalid)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
		return nil, fmt.Errorf("%w: expected one descriptor", ErrInvalid)
	}
	defer unix.Close(fds[0])
	return OpenFd(fds[0], access)
}
