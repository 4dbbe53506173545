package crossbuf_test

import (
	"fmt"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/codec/codecs"
	"github.com/crossbuf/crossbuf/go/crossbuf"
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
