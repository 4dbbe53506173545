//go:build linux

package channel_test

import (
	"fmt"
	"time"

	"github.com/crossbuf/crossbuf/go/channel"
	"github.com/crossbuf/crossbuf/go/codec"
)

func Example() {
	name := fmt.Sprintf("/xbchan-example-%d", time.Now().UnixNano())
	ch, err := channel.Create(name, channel.Options{Capacity: 1 << 16, Policy: channel.Block})
	if err != nil {
		panic(err)
	}
	defer channel.Unlink(name)
	defer ch.Close()

	// A subscriber in this or any other process (channel.Open(name, ...)).
	sub, err := ch.Subscribe(channel.Wait{Mode: channel.SpinThenPark})
	if err != nil {
		panic(err)
	}

	// Publish: reserve a slot, write the payload in place, commit.
	slot, err := ch.Reserve(codec.MsgPack, 42, 5, time.Second)
	if err != nil {
		panic(err)
	}
	n := copy(slot.Buf, "hello")
	if _, err := slot.Commit(slot.Buf[:n]); err != nil {
		panic(err)
	}

	// Receive in place, then release the space.
	f, err := sub.Receive(time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(f.Payload), f.TypeID)
	if err := sub.Release(); err != nil {
		panic(err)
	}
	// Output: hello 42
}
