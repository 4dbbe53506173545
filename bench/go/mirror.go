// Package bench holds crossbuf's Go benchmarks (the *_test.go files) and the
// plain structs that the baseline JSON and MessagePack libraries use.
//
// The mirror structs give every baseline the wire shape that the Python
// benchmarks and crossbuf's own codecs share: snake_case keys, attributes as
// an object, bytes as base64 (JSON) or bin (MessagePack).
package bench

//go:generate ./gen.sh

import "github.com/crossbuf/crossbuf/go/record"

// HTTP mirrors record.HTTP.
type HTTP struct {
	Method    string `json:"method" msgpack:"method" msg:"method"`
	Path      string `json:"path" msgpack:"path" msg:"path"`
	Status    uint32 `json:"status" msgpack:"status" msg:"status"`
	LatencyNs int64  `json:"latency_ns" msgpack:"latency_ns" msg:"latency_ns"`
}

// LogEntry mirrors record.LogEntry.
type LogEntry struct {
	TimestampNs int64             `json:"timestamp_ns" msgpack:"timestamp_ns" msg:"timestamp_ns"`
	Level       int32             `json:"level" msgpack:"level" msg:"level"`
	Service     string            `json:"service" msgpack:"service" msg:"service"`
	Host        string            `json:"host" msgpack:"host" msg:"host"`
	Message     string            `json:"message" msgpack:"message" msg:"message"`
	TraceID     []byte            `json:"trace_id" msgpack:"trace_id" msg:"trace_id"`
	Tags        []string          `json:"tags" msgpack:"tags" msg:"tags"`
	Attributes  map[string]string `json:"attributes" msgpack:"attributes" msg:"attributes"`
	HTTP        HTTP              `json:"http" msgpack:"http" msg:"http"`
}

// Sample mirrors record.Sample.
type Sample struct {
	TimestampNs int64     `json:"timestamp_ns" msgpack:"timestamp_ns" msg:"timestamp_ns"`
	Features    []float32 `json:"features" msgpack:"features" msg:"features"`
	Label       int32     `json:"label" msgpack:"label" msg:"label"`
}

// Tensor mirrors record.Tensor.
type Tensor struct {
	Name  string  `json:"name" msgpack:"name" msg:"name"`
	DType int32   `json:"dtype" msgpack:"dtype" msg:"dtype"`
	Shape []int64 `json:"shape" msgpack:"shape" msg:"shape"`
	Data  []byte  `json:"data" msgpack:"data" msg:"data"`
}

// Mirror returns the mirror struct of rec (a *LogEntry, *Sample or *Tensor).
// Attribute keys of the generated records are unique, so a map holds them.
func Mirror(rec record.Record) any {
	switch r := rec.(type) {
	case *record.LogEntry:
		m := &LogEntry{
			TimestampNs: r.TimestampNs, Level: int32(r.Level), Service: r.Service, Host: r.Host,
			Message: r.Message, TraceID: append([]byte(nil), r.TraceID[:]...),
			Tags:       append([]string(nil), r.Tags...),
			Attributes: make(map[string]string, len(r.Attributes)),
			HTTP:       HTTP{Method: r.HTTP.Method, Path: r.HTTP.Path, Status: r.HTTP.Status, LatencyNs: r.HTTP.LatencyNs},
		}
		for _, a := range r.Attributes {
			m.Attributes[a.Key] = a.Value
		}
		return m
	case *record.Sample:
		return &Sample{TimestampNs: r.TimestampNs, Features: append([]float32(nil), r.Features[:]...), Label: r.Label}
	case *record.Tensor:
		return &Tensor{Name: r.Name, DType: int32(r.DType), Shape: append([]int64(nil), r.Shape...),
			Data: append([]byte(nil), r.Data...)}
	}
	return nil
}
