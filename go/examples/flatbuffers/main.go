// Command flatbuffers is a minimal crossbuf program that uses one format:
// it encodes a log entry with FlatBuffers into an anonymous region and
// decodes it in place. It imports no other format's package, so it links no
// other format's runtime (README, "Go", records its size and dependency
// count; main_test.go checks the dependencies).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/crossbuf/crossbuf/go/codec/flatbuf"
	"github.com/crossbuf/crossbuf/go/crossbuf"
	"github.com/crossbuf/crossbuf/go/record"
	"github.com/crossbuf/crossbuf/go/region"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flatbuffers:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	r, err := region.CreateAnon(1 << 20)
	if err != nil {
		return err
	}
	defer r.Close()
	entry := &record.LogEntry{Level: record.LevelInfo, Service: "checkout", Message: "order placed",
		HTTP: record.HTTP{Method: "POST", Status: 201}}
	frame, err := crossbuf.Append(r, flatbuf.New(), entry)
	if err != nil {
		return err
	}
	var view record.LogEntry // its strings point into the region
	if err := crossbuf.Decode(frame, &view); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, view.Service, view.Message, view.HTTP.Status)
	return err
}
