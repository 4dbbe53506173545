package crossbuf_test

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/gen/fbgen"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

// Encode a log entry into a region with FlatBuffers and decode it in place.
func Example() {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	fb, _ := codecs.Get(codec.FlatBuffers)
	entry := &record.LogEntry{Level: record.LevelInfo, Service: "checkout", Message: "order placed",
		Tags: []string{"prod"}, HTTP: record.HTTP{Method: "POST", Status: 201}}
	frame, err := crossbuf.Append(r, fb, entry)
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
