package region

import (
	"errors"

	"golang.org/x/sys/unix"
)

// shmPath maps a valid shared-memory name to its file, as shm_open does.
func shmPath(name string) string {
	if name[0] == '/' {
		name = name[1:]
	}
	return "/dev/shm/" + name
}

func checkShm() error { return nil }

// reserveBlocks allocates every block of the file now: otherwise a full
// disk or /dev/shm shows up as SIGBUS on first touch, mid-encode.
func reserveBlocks(fd, size int) error {
	if err := unix.Fallocate(fd, 0, 0, int64(size)); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	return nil
}

func prefault(mem []byte) error {
	if err := unix.Madvise(mem, unix.MADV_POPULATE_WRITE); err == nil {
		return nil
	}
	touchPages(mem) // kernels before 5.14
	return nil
}
