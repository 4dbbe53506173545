//go:build linux

package dynamic

import (
	"errors"
	"fmt"
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

// StoreChannelSchema stores s's binary form in c's schema area
// (channel.StoreSchema), so a subscriber in another process decodes c's
// frames with ChannelSchemas and no schema of its own.
func StoreChannelSchema(c *channel.Channel, s *schema.Schema) error {
	b := s.Binary()
	if len(b) == 0 {
		return fmt.Errorf("%w: the schema has no binary form", channel.ErrInvalid)
	}
	return c.StoreSchema(b)
}

// ChannelSchemas loads the schemas stored in c into a registry that
// resolves the type ids of c's frames. When two stored schemas define a
// type id differently, the one stored last wins: it is a newer version of
// the schema (an older one is skipped whole). Stored bytes that do not load
// are skipped too, and named in err, returned beside the registry of the
// schemas that did load, as is a corrupt area (channel.ErrCorrupt) with the
// schemas stored before the corrupt entry. Only a closed channel gives no
// registry.
func ChannelSchemas(c *channel.Channel) (*schema.Registry, error) {
	bins, err := c.Schemas()
	if errors.Is(err, channel.ErrClosed) {
		return nil, err
	}
	reg := &schema.Registry{}
	bad := []error{err}
	for i := len(bins) - 1; i >= 0; i-- {
		s, err := schema.Load(bins[i])
		if err != nil {
			bad = append(bad, fmt.Errorf("schema %d stored in the channel: %w", i, err))
			continue
		}
		_ = reg.Add(s) // refused: an older version of a type a later schema defines
	}
	return reg, errors.Join(bad...)
}
