package bench

import (
	"testing"

	"github.com/crossbuf/crossbuf/go/record"
)

// TestChecks runs every library's checks (every decode variant, read-one-field,
// every encode variant decoding back) on small pools, so `go test ./...`
// keeps the benchmarks honest.
func TestChecks(t *testing.T) {
	pools := map[string][]record.Record{
		"LogEntry": makePool(3, func(s uint64) record.Record { return record.NewLogEntry(s) }),
		"Sample":   makePool(3, func(s uint64) record.Record { return record.NewSample(s) }),
		"Tensor":   makePool(3, func(s uint64) record.Record { return record.NewTensor(s, 1024) }),
	}
	for _, l := range libs() {
		for name, pool := range pools {
			t.Run(l.format+"/"+l.name+"/"+name, func(t *testing.T) {
				o := l.prepare(t, pool)
				if err := o.verify(pool); err != nil {
					t.Fatal(err)
				}
				// Twice: reused destinations and buffers must not carry state over.
				if err := o.verify(pool); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
