package region

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// ErrNotSealed: a descriptor offered as a region is not a memfd sealed
// against shrinking, so its owner could truncate it under the reader.
var ErrNotSealed = errors.New("descriptor is not sealed against shrinking")

// Fd returns the descriptor behind a memfd, file or shared-memory region,
// for passing to another process. It stays owned by the region and valid
// until Close. Anonymous regions have none (ErrInvalid).
func (r *Region) Fd() (int, error) {
	if !r.inflight.Enter() {
		return -1, ErrClosed
	}
	defer r.inflight.Leave()
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
