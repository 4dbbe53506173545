//go:build linux

package stream

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/region"
)

// payload i: its index, filler, and a CRC-32 of what comes before.
func payload(i int) []byte {
	p := make([]byte, 12+i%300)
	binary.LittleEndian.PutUint64(p, uint64(i))
	for k := 8; k < len(p)-4; k++ {
		p[k] = byte(i + k)
	}
	binary.LittleEndian.PutUint32(p[len(p)-4:], crc32.ChecksumIEEE(p[:len(p)-4]))
	return p
}

func checkPayload(t testing.TB, p []byte, i int) {
	require.GreaterOrEqual(t, len(p), 12)
	require.Equal(t, crc32.ChecksumIEEE(p[:len(p)-4]), binary.LittleEndian.Uint32(p[len(p)-4:]), "frame %d corrupt", i)
	require.Equal(t, uint64(i), binary.LittleEndian.Uint64(p), "frame out of order")
}

// A channel's frames, received by a subscriber, go over a stream into
// another channel, whose subscriber reads them in place.
func TestChannelToChannel(t *testing.T) {
	const n = 500
	src, err := channel.CreateMemfd("src", channel.Options{Capacity: 1 << 16})
	require.NoError(t, err)
	defer src.Close()
	dst, err := channel.CreateMemfd("dst", channel.Options{Capacity: 1 << 14})
	require.NoError(t, err)
	defer dst.Close()
	in, err := src.Subscribe(channel.Wait{})
	require.NoError(t, err)
	out, err := dst.Subscribe(channel.Wait{})
	require.NoError(t, err)

	pr, pw := io.Pipe()
	go func() { // publisher, and the copier from src to the pipe
		w, err := NewWriter(pw)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		for i := 0; i < n; i++ {
			if err := src.Publish(codec.MsgPack, 42, payload(i), -1); err != nil {
				pw.CloseWithError(err)
				return
			}
			f, err := in.Receive(time.Second)
			if err == nil {
				err = w.Write(f.Frame)
			}
			if err == nil {
				err = in.Release()
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	done := make(chan error, 1)
	go func() { // lands the stream in dst (Block: waits for out to release)
		rd, err := NewReader(pr)
		for err == nil {
			_, err = rd.ToChannel(dst, -1)
		}
		if err == io.EOF {
			err = nil
		}
		done <- err
	}()
	for i := 0; i < n; i++ {
		f, err := out.Receive(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, codec.MsgPack, f.Codec)
		require.Equal(t, uint64(42), f.TypeID)
		checkPayload(t, f.Payload, i)
		require.NoError(t, out.Release())
	}
	require.NoError(t, <-done)
}

func TestChannelTooBigIsSkippable(t *testing.T) {
	dst, err := channel.CreateMemfd("dst", channel.Options{Capacity: channel.MinRing, Policy: channel.Fail})
	require.NoError(t, err)
	defer dst.Close()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	require.NoError(t, w.WriteFrame(codec.JSON, 1, 0, make([]byte, channel.MinRing)))
	require.NoError(t, w.WriteFrame(codec.JSON, 1, 0, []byte("{}")))
	rd, err := NewReader(&buf)
	require.NoError(t, err)
	_, err = rd.ToChannel(dst, 0)
	require.ErrorIs(t, err, channel.ErrInvalid)
	require.NoError(t, rd.Skip())
	f, err := rd.ToChannel(dst, 0)
	require.NoError(t, err)
	require.Equal(t, []byte("{}"), f.Payload)
}

// TestMain runs the child role of TestAcrossProcesses when asked.
func TestMain(m *testing.M) {
	if os.Getenv("XB_STREAM_ROLE") == "writer" {
		n, _ := strconv.Atoi(os.Getenv("XB_STREAM_COUNT"))
		if err := childWriter(n); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childWriter publishes n frames on a channel of its own and streams them
// to stdout as its subscriber receives them.
func childWriter(n int) error {
	c, err := channel.CreateMemfd("child", channel.Options{Capacity: 1 << 15})
	if err != nil {
		return err
	}
	sub, err := c.Subscribe(channel.Wait{})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(os.Stdout)
	w, err := NewWriter(bw)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := c.Publish(codec.FlatBuffers, 7, payload(i), -1); err != nil {
			return err
		}
		f, err := sub.Receive(time.Second)
		if err != nil {
			return err
		}
		if err := w.Write(f.Frame); err != nil {
			return err
		}
		if err := sub.Release(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Another process streams a channel over a pipe; this one lands the frames
// in a region and reads them in place.
func TestAcrossProcesses(t *testing.T) {
	const n = 2000
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "XB_STREAM_ROLE=writer", "XB_STREAM_COUNT="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	dst, err := region.CreateAnon(1 << 20)
	require.NoError(t, err)
	defer dst.Close()
	rd, err := NewReader(stdout)
	require.NoError(t, err)
	i := 0
	for {
		f, err := rd.ToRegion(dst)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Equal(t, uint64(7), f.TypeID)
		require.True(t, inside(t, dst, f.Payload))
		checkPayload(t, f.Payload, i)
		i++
	}
	require.Equal(t, n, i)
	require.NoError(t, cmd.Wait())
}
