package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/crossbuf/crossbuf/go/record"
)

// BenchmarkCodecs times every library's operations on every record:
//
//	BenchmarkCodecs/record=R/format=F/lib=L/op=O/variant=V/data=D
//
// op is encode, decode (decode-full: every field materialised as Go values)
// or read (read-one-field: LogEntry.message, Sample.label or Tensor.name).
// variant says how the library is used (see libs_test.go): fresh output or
// destination per call, reused ones, and -unsafe for decodes whose strings
// alias the input. data=pool cycles through a pool of different records of
// the same generator (seeds 1..N); data=single repeats seed 1.
// The "bytes" metric of encode is the mean encoded size over the pool.
func BenchmarkCodecs(b *testing.B) {
	checking := os.Getenv("XB_BENCH_CHECK") != "0"
	for _, c := range cases(b) {
		b.Run("record="+c.name, func(b *testing.B) {
			pool := c.pool()
			for _, l := range libs() {
				if !formatEnabled(l.format) {
					continue
				}
				b.Run(fmt.Sprintf("format=%s/lib=%s", l.format, l.name), func(b *testing.B) {
					o := l.prepare(b, pool)
					if checking {
						if err := o.verify(pool); err != nil {
							b.Fatal(err)
						}
					}
					datas := []string{"pool"}
					if l.single && c.single {
						datas = append(datas, "single")
					}
					for _, data := range datas {
						n := len(pool)
						if data == "single" {
							n = 1
						}
						runOps(b, o, n, data)
					}
				})
			}
		})
	}
}

// runOps runs one library's cells over the first n records of the pool.
func runOps(b *testing.B, o *ops, n int, data string) {
	for _, v := range o.encodes {
		b.Run(fmt.Sprintf("op=encode/variant=%s/data=%s", v.name, data), func(b *testing.B) {
			pin(b)
			b.ReportAllocs()
			size := 0
			for i := range n {
				w, err := v.fn(i)
				if err != nil {
					b.Fatal(err)
				}
				size += len(w)
			}
			b.SetBytes(int64(size / n))
			i := 0
			for b.Loop() {
				if _, err := v.fn(i); err != nil {
					b.Fatal(err)
				}
				if i++; i == n {
					i = 0
				}
			}
			b.ReportMetric(float64(size)/float64(n), "bytes")
		})
	}
	for _, v := range o.decodes {
		b.Run(fmt.Sprintf("op=decode/variant=%s/data=%s", v.name, data), func(b *testing.B) {
			pin(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.fn(o.wires[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
	b.Run(fmt.Sprintf("op=read/variant=%s/data=%s", o.readVariant, data), func(b *testing.B) {
		if o.read == nil {
			missing(b, o.missingRead)
			return
		}
		pin(b)
		b.ReportAllocs()
		i, sum := 0, 0
		for b.Loop() {
			v, err := o.read(o.wires[i])
			if err != nil {
				b.Fatal(err)
			}
			sum += v
			if i++; i == n {
				i = 0
			}
		}
		if sum < 0 {
			b.Log(sum)
		}
	})
}

// missing marks a cell that cannot run; bench/run.py parses the line.
func missing(b *testing.B, reason string) {
	fmt.Printf("XB_MISSING %s\t%s\n", b.Name(), reason)
	b.Skip(reason)
}

var pinWarn sync.Once

// pin puts the timed loop's OS thread alone on CPU XB_BENCH_PIN_CPU, leaving
// the Go runtime's other threads (GC workers, sysmon) free to run elsewhere.
// The thread stays locked: when the benchmark goroutine ends, the runtime
// discards it with its affinity.
func pin(b *testing.B) {
	v := os.Getenv("XB_BENCH_PIN_CPU")
	if v == "" {
		return
	}
	cpu, err := strconv.Atoi(v)
	if err == nil {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		err = unix.SchedSetaffinity(0, &set)
	}
	if err != nil {
		pinWarn.Do(func() { fmt.Printf("XB_PIN_FAILED %v\n", err) })
	}
}

// verify checks every implementation on every record of the pool before
// anything is timed: a decoder that skips work, or an encoder whose output
// does not decode back, fails the benchmark.
func (o *ops) verify(pool []record.Record) error {
	for i, rec := range pool {
		for _, v := range o.decodes {
			got, err := v.fn(o.wires[i])
			if err != nil {
				return fmt.Errorf("decode %s of record %d: %w", v.name, i, err)
			}
			if err := o.check(rec, got); err != nil {
				return fmt.Errorf("decode %s of record %d: %w", v.name, i, err)
			}
		}
		if o.read != nil {
			if v, err := o.read(o.wires[i]); err != nil || v != wantField(rec) {
				return fmt.Errorf("read-one-field of record %d = %d, %v; want %d", i, v, err, wantField(rec))
			}
		}
		for _, v := range o.encodes {
			w, err := v.fn(i)
			if err != nil {
				return fmt.Errorf("encode %s of record %d: %w", v.name, i, err)
			}
			got, err := o.decodes[0].fn(w)
			if err != nil {
				return fmt.Errorf("encode %s of record %d does not decode back: %w", v.name, i, err)
			}
			if err := o.check(rec, got); err != nil {
				return fmt.Errorf("encode %s of record %d does not decode back: %w", v.name, i, err)
			}
		}
	}
	return nil
}
