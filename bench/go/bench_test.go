package bench

import (
	"fmt"
	"testing"
)

// Operation names, as they appear in benchmark names and bench/run.py.
const (
	opEncode = "Encode"
	opDecode = "Decode"
	opRead   = "ReadField"
)

// BenchmarkEncode times encoding one record; the "bytes" metric is the
// encoded size.
func BenchmarkEncode(b *testing.B) { runAll(b, opEncode) }

// BenchmarkDecode times decode-full: every field materialised as Go values.
func BenchmarkDecode(b *testing.B) { runAll(b, opDecode) }

// BenchmarkReadField times read-one-field: LogEntry.message, Sample.label or
// Tensor.name, without decoding the rest where the format allows it.
func BenchmarkReadField(b *testing.B) { runAll(b, opRead) }

func runAll(b *testing.B, op string) {
	for _, l := range libs() {
		if !formatEnabled(l.format) {
			continue
		}
		for _, c := range cases(b) {
			name := fmt.Sprintf("format=%s/lib=%s/record=%s", l.format, l.name, c.name)
			b.Run(name, func(b *testing.B) { runOne(b, op, l, c) })
		}
	}
}

// missing marks a cell that cannot run; bench/run.py parses the line.
func missing(b *testing.B, reason string) {
	fmt.Printf("XB_MISSING %s\t%s\n", b.Name(), reason)
	b.Skip(reason)
}

func runOne(b *testing.B, op string, l lib, c recCase) {
	o := l.prepare(b, c.rec)
	// Check before timing: a decoder that skips work must not be timed.
	got, err := o.decode(o.wire)
	if err != nil {
		b.Fatalf("decode: %v", err)
	}
	if err := o.check(got); err != nil {
		b.Fatal(err)
	}
	want := wantField(c.rec)
	if o.read != nil {
		if v, err := o.read(o.wire); err != nil || v != want {
			b.Fatalf("read-one-field = %d, %v; want %d", v, err, want)
		}
	}
	b.ReportAllocs()
	switch op {
	case opEncode:
		w, err := o.encode()
		if err != nil {
			b.Fatal(err)
		}
		if got, err := o.decode(w); err != nil || o.check(got) != nil {
			b.Fatalf("encoding does not decode back: %v", err)
		}
		b.SetBytes(int64(len(w)))
		size := len(w)
		for b.Loop() {
			if _, err := o.encode(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
	case opDecode:
		w := o.wire
		for b.Loop() {
			if _, err := o.decode(w); err != nil {
				b.Fatal(err)
			}
		}
	case opRead:
		if o.read == nil {
			missing(b, o.missing["read"])
			return
		}
		w := o.wire
		sum := 0
		for b.Loop() {
			v, err := o.read(w)
			if err != nil {
				b.Fatal(err)
			}
			sum += v
		}
		if sum < 0 {
			b.Log(sum)
		}
	}
}
