//go:build linux

package dynamic

import (
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/schema"
)

// PublishValue is AppendValue into channel c: the message is built in
// reused memory and published (copied once, into a slot of its size) as a
// frame whose type id is t.ID, waiting for space as channel.Reserve does.
func PublishValue(c *channel.Channel, t *schema.Type, v map[string]any, timeout time.Duration) (channel.Frame, error) {
	return encoded(t,
		func(b *flatbuffers.Builder) error { return t.EncodeFlatBuffer(b, v) },
		func(dst []byte) ([]byte, error) { return t.EncodeCapnp(dst, v) },
		func(id codec.ID, msg []byte) (channel.Frame, error) {
			s, err := c.Reserve(id, t.ID, len(msg), timeout)
			if err != nil {
				return channel.Frame{}, err
			}
			return s.Commit(s.Buf[:copy(s.Buf, msg)])
		})
}
