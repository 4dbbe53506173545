//go:build linux

package stream

import (
	"fmt"
	"time"

	"github.com/crossbuf/crossbuf/go/channel"
)

// ToChannel reads the next frame and publishes it on c, waiting for space
// up to timeout under the Block policy as channel.Reserve does. At the clean
// end of the stream it returns io.EOF. When c has no room (ErrFull, or a
// timeout) the frame stays pending for the next call. The returned frame
// points into c's ring: it is valid while subscribers hold it.
func (sr *Reader) ToChannel(c *channel.Channel, timeout time.Duration) (channel.Frame, error) {
	h, err := sr.Next()
	if err != nil {
		return channel.Frame{}, err
	}
	if h.PayloadLen > uint64(c.MaxPayload()) {
		return channel.Frame{}, fmt.Errorf("%w: a %d-byte payload does not fit the channel (at most %d); Skip it",
			channel.ErrInvalid, h.PayloadLen, c.MaxPayload())
	}
	s, err := c.Reserve(h.Codec, h.TypeID, int(h.PayloadLen), timeout)
	if err != nil {
		return channel.Frame{}, err
	}
	buf := s.Buf[:h.PayloadLen]
	if err := sr.ReadPayload(buf); err != nil {
		s.Abort()
		return channel.Frame{}, err
	}
	return s.Commit(buf)
}
