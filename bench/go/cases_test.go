package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/record"
)

// Pools: each cell cycles through records of seeds 1..N of one generator, the
// same pool in every language: N = 1000 or as many as fit in 256 MiB of
// record data, whichever is smaller (a 64 MB tensor pool has 4).
// XB_BENCH_POOL caps N (the smoke run uses a small pool).
const (
	poolMax   = 1000
	poolBytes = 256 << 20
)

// recCase is one benchmarked record kind.
type recCase struct {
	name   string // benchmark name part: "LogEntry", "Sample", "Tensor/size=1MB"
	single bool   // also run the single-record (seed 1) variant
	pool   func() []record.Record
}

// poolSize is the pool length for records of about recBytes bytes each.
func poolSize(recBytes int) int {
	n := min(poolMax, max(1, poolBytes/max(1, recBytes)))
	if v, err := strconv.Atoi(os.Getenv("XB_BENCH_POOL")); err == nil && v > 0 {
		n = min(n, v)
	}
	return n
}

func makePool(n int, gen func(seed uint64) record.Record) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = gen(uint64(i + 1))
	}
	return out
}

// parseSize reads "1KB", "1MB", "64MB" or a byte count.
func parseSize(s string) (int, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "KB"):
		mult, s = 1<<10, strings.TrimSuffix(s, "KB")
	case strings.HasSuffix(s, "MB"):
		mult, s = 1<<20, strings.TrimSuffix(s, "MB")
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}

// cases returns the records to benchmark. XB_BENCH_RECORDS (comma list of
// LogEntry, Sample, Tensor) and XB_BENCH_TENSOR_SIZES (default
// "1KB,1MB,64MB") narrow them; bench/run.py sets both.
func cases(tb testing.TB) []recCase {
	want := map[string]bool{"LogEntry": true, "Sample": true, "Tensor": true}
	if v := os.Getenv("XB_BENCH_RECORDS"); v != "" {
		want = map[string]bool{}
		for _, r := range strings.Split(v, ",") {
			want[strings.TrimSpace(r)] = true
		}
	}
	sizes := "1KB,1MB,64MB"
	if v := os.Getenv("XB_BENCH_TENSOR_SIZES"); v != "" {
		sizes = v
	}
	var cs []recCase
	if want["LogEntry"] {
		cs = append(cs, recCase{"LogEntry", true, func() []record.Record {
			return makePool(poolSize(1024), func(s uint64) record.Record { return record.NewLogEntry(s) })
		}})
	}
	if want["Sample"] {
		cs = append(cs, recCase{"Sample", false, func() []record.Record {
			return makePool(poolSize(80), func(s uint64) record.Record { return record.NewSample(s) })
		}})
	}
	if want["Tensor"] {
		for _, s := range strings.Split(sizes, ",") {
			n, err := parseSize(s)
			if err != nil {
				tb.Fatalf("XB_BENCH_TENSOR_SIZES: %v", err)
			}
			cs = append(cs, recCase{"Tensor/size=" + strings.TrimSpace(s), false, func() []record.Record {
				return makePool(poolSize(n), func(seed uint64) record.Record { return record.NewTensor(seed, n) })
			}})
		}
	}
	return cs
}

// readField is the string field that read-one-field reads per record type;
// Sample's read-one-field reads the int32 label instead.
func readField(t record.Type) codec.Field {
	switch t {
	case record.TypeLogEntry:
		return codec.FieldLogMessage
	case record.TypeTensor:
		return codec.FieldTensorName
	}
	return 0
}

// wantField is the value read-one-field must return for rec: the length of
// the string field, or Sample's label.
func wantField(rec record.Record) int {
	switch r := rec.(type) {
	case *record.LogEntry:
		return len(r.Message)
	case *record.Sample:
		return int(r.Label)
	case *record.Tensor:
		return len(r.Name)
	}
	return -1
}

// formatEnabled applies XB_BENCH_FORMATS (comma list of format names).
func formatEnabled(format string) bool {
	v := os.Getenv("XB_BENCH_FORMATS")
	if v == "" {
		return true
	}
	for _, f := range strings.Split(v, ",") {
		if strings.TrimSpace(f) == format {
			return true
		}
	}
	return false
}

// mismatch is the error of a decode-full check.
func mismatch(what string, want, got any) error {
	return fmt.Errorf("decoded %s differs from the generated record:\nwant %+v\n got %+v", what, want, got)
}
