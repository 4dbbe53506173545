//go:build linux

package dynamic_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/crossbuf/dynamic"
	"github.com/crossbuf/crossbuf/go/schema"
)

// PublishValue puts a runtime-schema message into a channel as a frame of
// its type; a subscriber decodes it by the frame's type id; a bad value
// publishes nothing.
func TestPublishValue(t *testing.T) {
	s, _ := monsterSchema(t)
	name := fmt.Sprintf("/xb-dynamic-%d", os.Getpid())
	c, err := channel.Create(name, channel.Options{Capacity: 1 << 16})
	require.NoError(t, err)
	defer func() { _ = channel.Unlink(name); _ = c.Close() }()
	sub, err := c.Subscribe(channel.Wait{})
	require.NoError(t, err)
	f, err := dynamic.PublishValue(c, s.Root, map[string]any{"name": "Orc", "hp": int64(300)}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, s.Root.ID, f.TypeID)
	assert.Equal(t, codec.FlatBuffers, f.Codec)
	_, err = dynamic.PublishValue(c, s.Root, map[string]any{"name": "x", "hp": int64(1 << 20)}, time.Second)
	var ee *schema.EncodeError
	require.ErrorAs(t, err, &ee)

	got, err := sub.Receive(time.Second)
	require.NoError(t, err)
	rec, err := dynamic.DecodeValue(got.Frame, s)
	require.NoError(t, err)
	assert.Equal(t, "Orc", rec.Get("name").Str())
	assert.Equal(t, int64(300), rec.Get("hp").Int())
	_, err = sub.Receive(0)
	require.ErrorIs(t, err, channel.ErrTimeout, "the refused value published nothing")
}

// A subscriber in another open decodes frames through the schemas the
// publisher stored in the channel, with no schema of its own.
func TestChannelSchemas(t *testing.T) {
	s, _ := monsterSchema(t)
	name := fmt.Sprintf("/xb-dynamic-schemas-%d", os.Getpid())
	c, err := channel.Create(name, channel.Options{Capacity: 1 << 16})
	require.NoError(t, err)
	defer func() { _ = channel.Unlink(name); _ = c.Close() }()
	require.NoError(t, dynamic.StoreChannelSchema(c, s))
	require.NoError(t, dynamic.StoreChannelSchema(c, s), "stored once")

	ro, err := channel.Open(name, channel.SubscribeOnly)
	require.NoError(t, err)
	defer ro.Close()
	sub, err := ro.Subscribe(channel.Wait{})
	require.NoError(t, err)
	_, err = dynamic.PublishValue(c, s.Root, map[string]any{"name": "Orc"}, time.Second)
	require.NoError(t, err)

	reg, err := dynamic.ChannelSchemas(ro)
	require.NoError(t, err)
	got, err := sub.Receive(time.Second)
	require.NoError(t, err)
	rec, err := dynamic.DecodeValue(got.Frame, reg)
	require.NoError(t, err)
	assert.Equal(t, "Orc", rec.Get("name").Str())

	bins, err := ro.Schemas()
	require.NoError(t, err)
	assert.Len(t, bins, 1)
}

// A newer version of a schema stored after the first wins for the type ids
// both define; bytes that are no schema are skipped and named in the error
// returned beside the registry.
func TestChannelSchemasNewestWins(t *testing.T) {
	if _, err := exec.LookPath("flatc"); err != nil {
		t.Skip("flatc not installed")
	}
	compile := func(src string) *schema.Schema {
		path := filepath.Join(t.TempDir(), "s.fbs")
		require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
		s, err := schema.CompileFBS(path, nil)
		require.NoError(t, err)
		return s
	}
	v1 := compile("namespace app; table Item { a:int; } root_type Item;")
	v2 := compile("namespace app; table Item { a:int; b:string; } root_type Item;")
	name := fmt.Sprintf("/xb-dynamic-versions-%d", os.Getpid())
	c, err := channel.Create(name, channel.Options{Capacity: 1 << 16})
	require.NoError(t, err)
	defer func() { _ = channel.Unlink(name); _ = c.Close() }()
	require.NoError(t, dynamic.StoreChannelSchema(c, v1))
	require.NoError(t, c.StoreSchema([]byte("not a schema at all")))
	require.NoError(t, dynamic.StoreChannelSchema(c, v2))

	reg, err := dynamic.ChannelSchemas(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schema 1 stored in the channel")
	require.NotNil(t, reg)
	typ, err := reg.TypeByID(v1.Root.ID)
	require.NoError(t, err)
	assert.Len(t, typ.Fields, 2, "the newer version, with field b")
}
