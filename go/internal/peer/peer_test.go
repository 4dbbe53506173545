//go:build linux

package peer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func twoOpens(t *testing.T) (int, int) {
	path := filepath.Join(t.TempDir(), "shared")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	open := func() int {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		require.NoError(t, err)
		t.Cleanup(func() { _ = unix.Close(fd) })
		return fd
	}
	return open(), open()
}

func TestAcquireAliveRelease(t *testing.T) {
	a, b := twoOpens(t)
	id, err := Acquire(a, 7)
	require.NoError(t, err)
	alive, err := Alive(b, id)
	require.NoError(t, err)
	assert.True(t, alive, "held by another description")
	other, err := Acquire(b, 7)
	require.NoError(t, err)
	assert.NotEqual(t, id, other, "an id is held by one description at a time")
	require.NoError(t, Release(a, id))
	alive, err = Alive(b, id)
	require.NoError(t, err)
	assert.False(t, alive, "released")
}

func TestLockExcludesOtherDescriptions(t *testing.T) {
	a, b := twoOpens(t)
	require.NoError(t, Lock(a, 0))
	got := make(chan error, 1)
	go func() { got <- Lock(b, 0) }()
	select {
	case <-got:
		t.Fatal("a second description took the lock while it was held")
	case <-time.After(30 * time.Millisecond):
	}
	require.NoError(t, Unlock(a, 0))
	require.NoError(t, <-got)
	require.NoError(t, Unlock(b, 0))
	require.Error(t, Lock(a, 1024))
}
