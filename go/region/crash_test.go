//go:build linux

package region

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A crash-test payload: 8-byte sequence number, filler, 4-byte CRC-32 of
// everything before it.
func crashPayload(buf []byte, seq uint64, rng *rand.Rand) []byte {
	n := 12 + rng.IntN(2048)
	p := buf[:n]
	binary.LittleEndian.PutUint64(p, seq)
	for i := 8; i < n-4; i++ {
		p[i] = byte(seq) + byte(i)
	}
	binary.LittleEndian.PutUint32(p[n-4:], crc32.ChecksumIEEE(p[:n-4]))
	return p
}

func crashCheck(p []byte) (uint64, error) {
	if len(p) < 12 {
		return 0, fmt.Errorf("payload of %d bytes", len(p))
	}
	if crc32.ChecksumIEEE(p[:len(p)-4]) != binary.LittleEndian.Uint32(p[len(p)-4:]) {
		return 0, fmt.Errorf("torn payload: checksum mismatch")
	}
	return binary.LittleEndian.Uint64(p), nil
}

func crashWriter(name string) {
	r, err := OpenShm(name, ReadWrite)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
	out := os.Stdout
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	base := uint64(os.Getpid()) << 32
	_, _ = out.WriteString("ready\n")
	for seq := base; ; seq++ {
		s, err := r.Reserve(1, 42, 2048+12)
		if errors.Is(err, ErrFull) {
			time.Sleep(time.Hour) // wait to be killed
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(2)
		}
		p := crashPayload(s.Buf, seq, rng)
		f, err := s.Commit(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(2)
		}
		// Reported only after Commit returned OK.
		_, _ = out.WriteString(strconv.FormatUint(f.Offset, 10) + " " + strconv.FormatUint(seq, 10) + "\n")
	}
}

func crashReader(name string) {
	r, err := OpenShm(name, ReadOnly)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		os.Exit(2)
	}
	stop := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stop) }()
	seen := 0
	for {
		select {
		case <-stop:
			fmt.Println(seen)
			return
		default:
		}
		for f, err := range r.Frames() {
			if err != nil {
				fmt.Fprintln(os.Stderr, "reader:", err)
				os.Exit(1)
			}
			if _, err := crashCheck(f.Payload); err != nil {
				fmt.Fprintf(os.Stderr, "reader: frame at %d: %v\n", f.Offset, err)
				os.Exit(1)
			}
			seen++
		}
	}
}

func runCrashRecovery(t *testing.T, kills int) {
	name := shmName(t)
	r, err := CreateShm(name, 128<<20, 0)
	require.NoError(t, err)
	defer r.Close()

	type reader struct {
		stdin io.WriteCloser
		out   *strings.Builder
		done  chan error
	}
	var readers []reader
	for i := 0; i < 2; i++ {
		cmd := helperCmd("reader", name)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		out := &strings.Builder{}
		cmd.Stdout = out
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		readers = append(readers, reader{stdin, out, done})
	}

	committed := map[uint64]uint64{} // offset -> seq
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < kills; k++ {
		cmd := helperCmd("writer", name)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(stdout)
		require.True(t, lines.Scan(), "writer did not start")
		require.Equal(t, "ready", lines.Text())
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		for lines.Scan() {
			var off, seq uint64
			_, err := fmt.Sscan(lines.Text(), &off, &seq)
			require.NoError(t, err, "line %q", lines.Text())
			committed[off] = seq
		}
		_ = cmd.Wait()
		require.Equal(t, -1, cmd.ProcessState.ExitCode(), "writer %d must die by the signal, not exit by itself", k)
	}

	// A fresh writable open proves the dead claims dead and aborts them.
	check, err := OpenShm(name, ReadWrite)
	require.NoError(t, err)
	defer check.Close()
	found := map[uint64]uint64{}
	for f, err := range check.Frames() {
		require.NoError(t, err)
		seq, err := crashCheck(f.Payload)
		require.NoError(t, err, "frame at %d", f.Offset)
		found[f.Offset] = seq
	}
	for off, seq := range committed {
		require.Equal(t, seq, found[off], "committed frame at %d lost or changed", off)
	}
	n, err := check.Recover()
	require.NoError(t, err)
	assert.Zero(t, n, "the open already recovered every dead claim")
	st, err := check.Stats()
	require.NoError(t, err)
	t.Logf("%d kills: %d frames reported committed, %d visible, %d dead claims aborted, %d MiB used",
		kills, len(committed), len(found), st.Aborted, st.Used>>20)

	for i, rd := range readers {
		require.NoError(t, rd.stdin.Close())
		require.NoError(t, <-rd.done, "reader %d saw a torn or corrupt frame", i)
		seen, err := strconv.Atoi(strings.TrimSpace(rd.out.String()))
		require.NoError(t, err)
		assert.Positive(t, seen, "reader %d verified frames while writers died", i)
	}
}
