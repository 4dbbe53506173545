package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite schemas/testdata/generators.json")

const goldenPath = "../../schemas/testdata/generators.json"

// goldenFile pins the generators' output so the ports in other languages
// (python/crossbuf/testdata.py) can prove they produce the same records.
type goldenFile struct {
	LogEntries []goldenLog    `json:"log_entry"`
	Samples    []goldenSample `json:"sample"`
	Tensors    []goldenTensor `json:"tensor"`
}

type goldenLog struct {
	Seed        uint64      `json:"seed"`
	TimestampNs int64       `json:"timestamp_ns"`
	Level       Level       `json:"level"`
	Service     string      `json:"service"`
	Host        string      `json:"host"`
	Message     string      `json:"message"`
	TraceID     string      `json:"trace_id_hex"`
	Tags        []string    `json:"tags"`
	Attributes  [][2]string `json:"attributes"`
	HTTP        struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Status    uint32 `json:"status"`
		LatencyNs int64  `json:"latency_ns"`
	} `json:"http"`
}

type goldenSample struct {
	Seed        uint64    `json:"seed"`
	TimestampNs int64     `json:"timestamp_ns"`
	Features    []float32 `json:"features"`
	Label       int32     `json:"label"`
}

type goldenTensor struct {
	Seed       uint64  `json:"seed"`
	NBytes     int     `json:"nbytes"`
	Name       string  `json:"name"`
	DType      DType   `json:"dtype"`
	Shape      []int64 `json:"shape"`
	DataSHA256 string  `json:"data_sha256"`
}

func makeGolden() goldenFile {
	var g goldenFile
	for _, seed := range []uint64{0, 1, 2, 42, 1 << 40} {
		e := NewLogEntry(seed)
		l := goldenLog{Seed: seed, TimestampNs: e.TimestampNs, Level: e.Level, Service: e.Service,
			Host: e.Host, Message: e.Message, TraceID: hex.EncodeToString(e.TraceID[:]), Tags: e.Tags}
		for _, a := range e.Attributes {
			l.Attributes = append(l.Attributes, [2]string{a.Key, a.Value})
		}
		l.HTTP.Method, l.HTTP.Path, l.HTTP.Status, l.HTTP.LatencyNs = e.HTTP.Method, e.HTTP.Path, e.HTTP.Status, e.HTTP.LatencyNs
		g.LogEntries = append(g.LogEntries, l)

		s := NewSample(seed)
		g.Samples = append(g.Samples, goldenSample{Seed: seed, TimestampNs: s.TimestampNs, Features: s.Features[:], Label: s.Label})
	}
	for _, tc := range []struct {
		seed   uint64
		nbytes int
	}{{0, 0}, {1, 100}, {7, 1024}, {42, 1 << 16}} {
		t := NewTensor(tc.seed, tc.nbytes)
		sum := sha256.Sum256(t.Data)
		g.Tensors = append(g.Tensors, goldenTensor{Seed: tc.seed, NBytes: tc.nbytes, Name: t.Name, DType: t.DType,
			Shape: t.Shape, DataSHA256: hex.EncodeToString(sum[:])})
	}
	return g
}

func TestGeneratorsMatchGoldenFile(t *testing.T) {
	got, err := json.MarshalIndent(makeGolden(), "", " ")
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile(goldenPath, got, 0o644))
	}
	want, err := os.ReadFile(goldenPath)
	require.NoError(t, err, "run: go test ./go/record -run Golden -update")
	require.Equal(t, string(want), string(got), "generators changed: update the golden file and every port together")
}

func TestGeneratedRecordsAreValid(t *testing.T) {
	for seed := uint64(0); seed < 100; seed++ {
		require.NoError(t, Validate(NewLogEntry(seed)))
		require.NoError(t, Validate(NewSample(seed)))
	}
	for _, n := range []int{0, 4, 100, 1024, 1 << 20} {
		require.NoError(t, Validate(NewTensor(3, n)))
	}
	require.Equal(t, NewLogEntry(9), NewLogEntry(9), "generators are deterministic")
}

func TestLogEntryIsAboutOneKB(t *testing.T) {
	b, err := json.Marshal(NewLogEntry(1))
	require.NoError(t, err)
	require.InDelta(t, 1024, len(b), 400)
}

func TestValidateRejectsBadTensors(t *testing.T) {
	bad := []*Tensor{
		{DType: DTypeF32, Shape: []int64{2}, Data: make([]byte, 4)},
		{DType: DType(99), Shape: []int64{1}, Data: make([]byte, 1)},
		{DType: DTypeU8, Shape: []int64{-1}, Data: nil},
		{DType: DTypeU8, Shape: make([]int64, MaxTensorDims+1), Data: nil},
		{DType: DTypeU8, Shape: []int64{16, 1<<60 + 1}, Data: make([]byte, 16)}, // element count wraps 64 bits
		{DType: DTypeF64, Shape: []int64{1 << 62, 4}, Data: nil},
	}
	for _, tn := range bad {
		require.ErrorIs(t, Validate(tn), ErrInvalid)
	}
	require.ErrorIs(t, Validate(&LogEntry{Level: 6}), ErrInvalid)
}
