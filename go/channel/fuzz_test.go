//go:build linux

package channel

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// FuzzOpen feeds arbitrary header bytes over a valid channel image to the
// attach-by-name validation, then uses whatever it accepts: any bytes give
// an error or a working channel, never a panic or an access outside the
// mapping.
func FuzzOpen(f *testing.F) {
	c, err := CreateMemfd("fuzz", Options{Capacity: MinRing, MaxSubscribers: 1})
	require.NoError(f, err)
	for i := 0; i < 3; i++ {
		require.NoError(f, c.Publish(1, 1, make([]byte, 900), 0))
	}
	image := append([]byte(nil), c.mem...)
	require.NoError(f, c.Close())
	f.Add(image[:HeaderSize])
	f.Add(image[:512])
	f.Add([]byte("XBUFCHN"))
	bad := append([]byte(nil), image[:HeaderSize]...)
	bad[hRingSize] = 0
	f.Add(bad)
	f.Fuzz(func(t *testing.T, hdr []byte) {
		mem, err := unix.Mmap(-1, 0, len(image), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		require.NoError(t, err)
		defer unix.Munmap(mem)
		copy(mem, image)
		copy(mem, hdr)
		ch, err := attach(mem, uint64(len(mem)))
		if err != nil {
			require.Nil(t, ch)
			return
		}
		ch.fd = -1
		_, err = ch.Stats()
		require.NoError(t, err)
		sub, err := ch.Subscribe(Wait{})
		if err != nil {
			require.ErrorIs(t, err, ErrTooManySubscribers) // garbage entries look held
			return
		}
		_, _ = sub.Receive(0)
	})
}
