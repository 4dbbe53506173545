package crossbuf_test

import (
	"encoding/binary"
	"fmt"

	"capnproto.org/go/capnp/v3"
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/crossbuf"
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
// region slot: the Builder's buffer is the slot, so nothing is copied and,
// once the Builder is warm, nothing is allocated. The slot must be large
// enough; a Builder that outgrows it moves to the Go heap, so check.
func Example_flatcGeneratedCode() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	slot, err := r.Reserve(uint16(codec.FlatBuffers), uint64(record.TypeLogEntry), 256)
	if err != nil {
		panic(err)
	}
	b := flatbuffers.NewBuilder(0)
	b.Bytes = slot.Buf // build back to front inside the slot
	b.Reset()
	b.Prep(8, 0) // frames start 8-aligned: the finished message will too
	service := b.CreateString("checkout")
	fbgen.LogEntryStart(b)
	fbgen.LogEntryAddService(b, service)
	fbgen.LogEntryAddLevel(b, fbgen.LevelWarn)
	b.Finish(fbgen.LogEntryEnd(b))
	msg := b.FinishedBytes()
	if &msg[len(msg)-1] != &slot.Buf[len(slot.Buf)-1] {
		slot.Abort()
		panic("the message outgrew its slot")
	}
	frame, err := slot.Commit(msg)
	if err != nil {
		panic(err)
	}

	e := fbgen.GetRootAsLogEntry(frame.Payload, 0) // reads region memory in place
	fmt.Println(string(e.Service()), e.Level())
	// Output: checkout Warn
}

// Code that capnpc-go generated builds in place too, with a single-segment
// arena over the slot after its 8-byte stream header. The arena must not
// outgrow the slot (check), nor be released (the runtime may clear it).
func Example_capnpcGeneratedCode() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	slot, err := r.Reserve(uint16(codec.CapnProto), uint64(record.TypeLogEntry), 512)
	if err != nil {
		panic(err)
	}
	seg0 := slot.Buf[8:8] // the segment grows into the slot's capacity
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(seg0))
	if err != nil {
		panic(err)
	}
	e, err := capnpgen.NewRootLogEntry(seg)
	if err != nil {
		panic(err)
	}
	if err := e.SetService("checkout"); err != nil {
		panic(err)
	}
	e.SetLevel(capnpgen.Level_warn)
	data := seg.Data()
	if len(data) == 0 || &data[0] != &slot.Buf[8] {
		slot.Abort()
		panic("the message outgrew its slot")
	}
	binary.LittleEndian.PutUint32(slot.Buf[0:], 0) // one segment
	binary.LittleEndian.PutUint32(slot.Buf[4:], uint32(len(data)/8))
	frame, err := slot.Commit(slot.Buf[:8+len(data)])
	if err != nil {
		panic(err)
	}
	_ = msg

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
