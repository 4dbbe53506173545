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

// LoadChannelSchemas loads the schemas stored in c, newest first: when two
// define a type id differently, the newer is a later version of the schema.
// Stored bytes that do not load are skipped, and named in err, returned
// beside the schemas that did load, as is a corrupt area
// (channel.ErrCorrupt) with the schemas stored before the corrupt entry.
// Only a closed channel gives none.
func LoadChannelSchemas(c *channel.Channel) ([]*schema.Schema, error) {
	bins, err := c.Schemas()
	if errors.Is(err, channel.ErrClosed) {
		return nil, err
	}
	bad := []error{err}
	out := make([]*schema.Schema, 0, len(bins))
	for i := len(bins) - 1; i >= 0; i-- {
		s, err := schema.Load(bins[i])
		if err != nil {
			bad = append(bad, fmt.Errorf("schema %d stored in the channel: %w", i, err))
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(bad...)
}

// ChannelSchemas is LoadChannelSchemas into a registry that resolves the
// type ids of c's frames, where the newest definition of a type id wins (an
// older schema that defines one differently is skipped whole). err is
// LoadChannelSchemas's.
func ChannelSchemas(c *channel.Channel) (*schema.Registry, error) {
	schemas, err := LoadChannelSchemas(c)
	if errors.Is(err, channel.ErrClosed) {
		return nil, err
	}
	reg := &schema.Registry{}
	for _, s := range schemas {
		_ = reg.Add(s) // refused: an older version of a type a later schema defines
	}
	return reg, err
}
