package crossbuf_test

import (
	"fmt"

	"capnproto.org/go/capnp/v3"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/inplace"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
	"github.com/crossbuf/crossbuf/internal/gen/capnpgen"
	"github.com/crossbuf/crossbuf/internal/gen/fbgen"
)

// Encode a log entry into a region with FlatBuffers and decode it in place.
func Example() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	entry := &record.LogEntry{Level: record.LevelInfo, Service: "checkout", Message: "order placed",
		Tags: []string{"prod"}, HTTP: record.HTTP{Method: "POST", Status: 201}}
	frame, err := crossbuf.Append(r, flatbuf.New(), entry) // importing flatbuf registers it for Decode
	if err != nil {
		panic(err)
	}

	var view record.LogEntry // its strings will point into the region
	if err := crossbuf.Decode(frame, &view); err != nil {
		panic(err)
	}
	fmt.Println(view.Service, view.Message, view.HTTP.Status)
	// Output: checkout order placed 201
}

// Code that flatc generated for a type builds its message in place in a
// region slot (or a channel slot): inplace.FlatBuffersBuilder makes the
// slot the Builder's buffer, so nothing is copied and, once the Builder is
// warm, nothing is allocated; inplace.FlatBuffersMessage checks the message
// stayed inside.
// fbgen is flatc --go output for schemas/crossbuf.fbs: use your own
// package, and your type's id, schema.FlatBuffersTypeID("pkg.Type").
func Example_flatcGeneratedCode() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	slot, err := r.Reserve(codec.FlatBuffers, uint64(record.TypeLogEntry), 256)
	if err != nil {
		panic(err)
	}
	b := inplace.FlatBuffersBuilder(nil, slot.Buf) // keep b and pass it again for the next message
	service := b.CreateString("checkout")
	fbgen.LogEntryStart(b)
	fbgen.LogEntryAddService(b, service)
	fbgen.LogEntryAddLevel(b, fbgen.LevelWarn)
	b.Finish(fbgen.LogEntryEnd(b))
	msg, err := inplace.FlatBuffersMessage(b, slot.Buf)
	if err != nil { // it outgrew the slot: reserve a larger one
		slot.Abort()
		panic(err)
	}
	frame, err := slot.Commit(msg)
	if err != nil {
		panic(err)
	}

	e := fbgen.GetRootAsLogEntry(frame.Payload, 0) // reads region memory in place
	fmt.Println(string(e.Service()), e.Level())
	// Output: checkout Warn
}

// Code that capnpc-go generated builds in place too: inplace.CapnpMessage
// starts a one-segment message inside the slot, and inplace.CapnpBytes
// writes its stream header and gives the bytes to commit. A message that outgrows the slot fails at
// the setter that needed the room. capnpgen is capnpc-go output for
// schemas/crossbuf.capnp; your type's id is its node id.
func Example_capnpcGeneratedCode() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	slot, err := r.Reserve(codec.CapnProto, uint64(record.TypeLogEntry), 512)
	if err != nil {
		panic(err)
	}
	msg, seg, err := inplace.CapnpMessage(slot.Buf)
	if err != nil {
		panic(err)
	}
	e, err := capnpgen.NewRootLogEntry(seg)
	if err != nil {
		panic(err)
	}
	if err := e.SetService("checkout"); err != nil {
		slot.Abort()
		panic(err)
	}
	e.SetLevel(capnpgen.Level_warn)
	payload, err := inplace.CapnpBytes(slot.Buf, msg)
	if err != nil {
		slot.Abort()
		panic(err)
	}
	frame, err := slot.Commit(payload)
	if err != nil {
		panic(err)
	}

	back, err := capnp.Unmarshal(frame.Payload) // reads region memory in place
	if err != nil {
		panic(err)
	}
	le, err := capnpgen.ReadRootLogEntry(back)
	if err != nil {
		panic(err)
	}
	svc, _ := le.Service()
	fmt.Println(svc, le.Level())
	// Output: checkout warn
}
