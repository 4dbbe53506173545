package record

import (
	"encoding/binary"
	"math"
	"strconv"
)

// The generators below are the shared test and benchmark data of every
// language. python/crossbuf/testdata.py ports them line by line and
// schemas/testdata/*.json pins their output, so change all three together.

// Rand is splitmix64: tiny, fast, and easy to port exactly.
type Rand struct{ state uint64 }

const golden = 0x9E3779B97F4A7C15

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) *Rand { return &Rand{state: seed} }

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Next returns the next 64 random bits.
func (r *Rand) Next() uint64 {
	r.state += golden
	return mix(r.state)
}

// Intn returns a value in [0, n).
func (r *Rand) Intn(n int) int { return int(r.Next() % uint64(n)) }

// unitFloat32 maps 64 random bits to a float32 in [-1, 1) that every language
// computes exactly (24 bits of mantissa).
func unitFloat32(x uint64) float32 { return float32(float64(x>>40)/(1<<23) - 1) }

var (
	services = []string{"checkout", "payments", "search", "inventory", "auth", "gateway", "recommendations", "shipping"}
	methods  = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	statuses = []uint32{200, 200, 200, 201, 204, 301, 400, 404, 500, 503}
	words    = []string{
		"request", "completed", "user", "cache", "miss", "latency", "upstream", "timeout",
		"retry", "order", "token", "refresh", "database", "query", "slow", "connection",
		"pool", "exhausted", "café", "naïve", "запрос", "处理", "\"quoted\"", "tab\there",
		"line\nbreak", "back\\slash", "ok", "shard", "replica", "leader", "epoch", "batch",
	}
	tagWords = []string{"prod", "canary", "eu-west-1", "us-east-2", "k8s", "v2", "beta", "gpu", "spot", "critical", "internal", "public"}
)

func pick[T any](r *Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// NewLogEntry returns the LogEntry of seed seed (about 1 KB encoded).
func NewLogEntry(seed uint64) *LogEntry {
	r := NewRand(seed)
	e := &LogEntry{
		TimestampNs: 1_700_000_000_000_000_000 + int64(r.Next()%1_000_000_000_000_000),
		Level:       Level(r.Intn(6)),
		Service:     pick(r, services),
		Host:        "host-" + strconv.Itoa(r.Intn(1000)) + ".eu-west-1.internal",
	}
	msg := make([]byte, 0, 320)
	for len(msg) < 280 {
		if len(msg) > 0 {
			msg = append(msg, ' ')
		}
		msg = append(msg, pick(r, words)...)
	}
	e.Message = string(msg)
	binary.LittleEndian.PutUint64(e.TraceID[:8], r.Next())
	binary.LittleEndian.PutUint64(e.TraceID[8:], r.Next())
	e.Tags = make([]string, 8)
	for i := range e.Tags {
		e.Tags[i] = pick(r, tagWords)
	}
	e.Attributes = make([]Attribute, 12)
	for i := range e.Attributes {
		e.Attributes[i] = Attribute{
			Key:   "attr." + strconv.Itoa(i) + "." + pick(r, words[:18]),
			Value: pick(r, words) + "-" + strconv.FormatUint(r.Next()%100000, 10),
		}
	}
	e.HTTP = HTTP{
		Method:    pick(r, methods),
		Path:      "/api/v1/" + pick(r, words[:18]) + "/" + strconv.Itoa(r.Intn(100000)),
		Status:    pick(r, statuses),
		LatencyNs: int64(r.Next() % 500_000_000),
	}
	return e
}

// NewSample returns the Sample of seed seed.
func NewSample(seed uint64) *Sample {
	r := NewRand(seed)
	s := &Sample{TimestampNs: 1_700_000_000_000_000_000 + int64(r.Next()%1_000_000_000_000_000)}
	for i := range s.Features {
		s.Features[i] = unitFloat32(r.Next())
	}
	s.Label = int32(r.Intn(10))
	return s
}

// NewTensor returns a float32 Tensor of seed seed whose data is nbytes long
// (rounded down to whole elements). Shape is [n/256, 256] when n >= 256
// elements, else [n]. Element i is unitFloat32(mix(seed + (i+1)*golden)),
// the i-th splitmix64 output, so numpy can compute it without a loop.
func NewTensor(seed uint64, nbytes int) *Tensor {
	n := nbytes / 4
	t := &Tensor{Name: "tensor-" + strconv.FormatUint(seed, 10), DType: DTypeF32, Data: make([]byte, n*4)}
	if n >= 256 && n%256 == 0 {
		t.Shape = []int64{int64(n / 256), 256}
	} else {
		t.Shape = []int64{int64(n)}
	}
	s := seed
	for i := 0; i < n; i++ {
		s += golden
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(unitFloat32(mix(s))))
	}
	return t
}
