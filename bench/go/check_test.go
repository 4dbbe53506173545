package bench

import (
	"testing"

	"github.com/crossbuf/crossbuf/go/record"
)

// TestChecks runs every library's decode-full and read-one-field check on
// small records, so `go test ./...` keeps the benchmarks honest.
func TestChecks(t *testing.T) {
	recs := []recCase{
		{"LogEntry", record.NewLogEntry(seed)},
		{"Sample", record.NewSample(seed)},
		{"Tensor", record.NewTensor(seed, 1024)},
	}
	for _, l := range libs() {
		for _, c := range recs {
			t.Run(l.format+"/"+l.name+"/"+c.name, func(t *testing.T) {
				o := l.prepare(t, c.rec)
				got, err := o.decode(o.wire)
				if err != nil {
					t.Fatal(err)
				}
				if err := o.check(got); err != nil {
					t.Fatal(err)
				}
				w, err := o.encode()
				if err != nil {
					t.Fatal(err)
				}
				if got, err := o.decode(w); err != nil || o.check(got) != nil {
					t.Fatalf("encoding does not decode back: %v", err)
				}
				if o.read != nil {
					if v, err := o.read(o.wire); err != nil || v != wantField(c.rec) {
						t.Fatalf("read-one-field = %d, %v; want %d", v, err, wantField(c.rec))
					}
				}
			})
		}
	}
}
