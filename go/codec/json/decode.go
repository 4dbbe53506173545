package json

import (
	stdjson "encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/ast"

	"github.com/crossbuf/crossbuf/go/codec"
	"github.com/crossbuf/crossbuf/go/internal/fault"
	"github.com/crossbuf/crossbuf/go/record"
)

// api copies every decoded string (records must not alias the input) and
// rejects invalid UTF-8, so re-encoding a decoded record is lossless.
var api = sonic.Config{CopyString: true, ValidateString: true}.Froze()

type wireHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    uint32 `json:"status"`
	LatencyNs int64  `json:"latency_ns"`
}

type wireLog struct {
	TimestampNs int64    `json:"timestamp_ns"`
	Level       int32    `json:"level"`
	Service     string   `json:"service"`
	Host        string   `json:"host"`
	Message     string   `json:"message"`
	TraceID     []byte   `json:"trace_id"`
	Tags        []string `json:"tags"`
	Attributes  attrList `json:"attributes"`
	HTTP        wireHTTP `json:"http"`
}

type wireSample struct {
	TimestampNs int64     `json:"timestamp_ns"`
	Features    []float32 `json:"features"`
	Label       int32     `json:"label"`
}

type wireTensor struct {
	Name  string  `json:"name"`
	DType int32   `json:"dtype"`
	Shape []int64 `json:"shape"`
	Data  []byte  `json:"data"`
}

// attrList decodes the attributes object in document order.
type attrList []record.Attribute

// UnmarshalJSON implements json.Unmarshaler with sonic's ordered visitor.
func (l *attrList) UnmarshalJSON(b []byte) error {
	v := attrVisitor{out: (*l)[:0]}
	if err := ast.Preorder(unsafe.String(unsafe.SliceData(b), len(b)), &v, nil); err != nil {
		return err
	}
	if v.state != 2 {
		return errors.New("attributes: incomplete object")
	}
	*l = v.out
	return nil
}

var errAttrType = errors.New("attributes must be an object of strings")

// attrVisitor accepts exactly one object of string values, or null.
type attrVisitor struct {
	out   attrList
	key   string
	depth int
	state int // 0 before the object, 1 inside, 2 done
}

func (v *attrVisitor) OnNull() error {
	if v.state == 0 {
		v.state = 2
		return nil
	}
	return errAttrType
}
func (v *attrVisitor) OnBool(bool) error                       { return errAttrType }
func (v *attrVisitor) OnInt64(int64, stdjson.Number) error     { return errAttrType }
func (v *attrVisitor) OnFloat64(float64, stdjson.Number) error { return errAttrType }
func (v *attrVisitor) OnArrayBegin(int) error                  { return errAttrType }
func (v *attrVisitor) OnArrayEnd() error                       { return errAttrType }

func (v *attrVisitor) OnObjectBegin(int) error {
	if v.state != 0 {
		return errAttrType
	}
	v.state, v.depth = 1, 1
	return nil
}

func (v *attrVisitor) OnObjectKey(k string) error {
	if !utf8.ValidString(k) {
		return errors.New("attributes: invalid UTF-8 key")
	}
	v.key = strings.Clone(k)
	return nil
}

func (v *attrVisitor) OnString(s string) error {
	if v.state != 1 {
		return errAttrType
	}
	if !utf8.ValidString(s) {
		return errors.New("attributes: invalid UTF-8 value")
	}
	v.out = append(v.out, record.Attribute{Key: v.key, Value: strings.Clone(s)})
	return nil
}

func (v *attrVisitor) OnObjectEnd() error {
	v.state, v.depth = 2, 0
	return nil
}

// validUTF8 backs up sonic's ValidateString, which lets some invalid
// sequences through; the encoder would rewrite them, breaking round trips.
func validUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

var (
	logPool    = sync.Pool{New: func() any { return new(wireLog) }}
	samplePool = sync.Pool{New: func() any { return new(wireSample) }}
)

// unmarshal decodes a Go-heap copy of b (sonic.Unmarshal's own way): sonic's
// SIMD scanner must not run over the end of region memory, and measured on
// a bare []byte it misreads what lies past the end.
func unmarshal(b []byte, v any) error {
	return api.Unmarshal(b, v)
}

// Decode implements codec.Codec.
func (c *Codec) Decode(b []byte, out record.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fault.Repanic(p) // a truncated mapping: the call's guard reports it
			err = codec.Malformedf("json: panic while decoding: %v", p)
		}
	}()
	switch r := out.(type) {
	case *record.LogEntry:
		err = decodeLog(b, r)
	case *record.Sample:
		err = decodeSample(b, r)
	case *record.Tensor:
		err = decodeTensor(b, r)
	default:
		return fmt.Errorf("%w: %T", codec.ErrRecordType, out)
	}
	if err != nil {
		if errors.Is(err, codec.ErrMalformed) {
			return err
		}
		return fmt.Errorf("%w: json %s: %w", codec.ErrMalformed, out.RecordType(), err)
	}
	if err := record.Validate(out); err != nil {
		return fmt.Errorf("%w: json: %w", codec.ErrMalformed, err)
	}
	return nil
}

func decodeLog(b []byte, e *record.LogEntry) error {
	w := logPool.Get().(*wireLog)
	defer func() {
		*w = wireLog{TraceID: w.TraceID[:0]}
		logPool.Put(w)
	}()
	*w = wireLog{TraceID: w.TraceID[:0], Tags: e.Tags[:0], Attributes: e.Attributes[:0]}
	if err := unmarshal(b, w); err != nil {
		return err
	}
	if len(w.TraceID) != record.TraceIDLen {
		return codec.Malformedf("json LogEntry: trace_id has %d bytes, want %d", len(w.TraceID), record.TraceIDLen)
	}
	if !validUTF8(w.Service, w.Host, w.Message, w.HTTP.Method, w.HTTP.Path) || !validUTF8(w.Tags...) {
		return codec.Malformedf("json LogEntry: invalid UTF-8")
	}
	*e = record.LogEntry{
		TimestampNs: w.TimestampNs,
		Level:       record.Level(w.Level),
		Service:     w.Service,
		Host:        w.Host,
		Message:     w.Message,
		Tags:        w.Tags,
		Attributes:  w.Attributes,
		HTTP:        record.HTTP(w.HTTP),
	}
	copy(e.TraceID[:], w.TraceID)
	return nil
}

func decodeSample(b []byte, s *record.Sample) error {
	w := samplePool.Get().(*wireSample)
	defer samplePool.Put(w)
	*w = wireSample{Features: w.Features[:0]}
	if err := unmarshal(b, w); err != nil {
		return err
	}
	if len(w.Features) != record.SampleFeatures {
		return codec.Malformedf("json Sample: %d features, want %d", len(w.Features), record.SampleFeatures)
	}
	s.TimestampNs = w.TimestampNs
	copy(s.Features[:], w.Features)
	s.Label = w.Label
	return nil
}

func decodeTensor(b []byte, t *record.Tensor) error {
	// Fresh Shape and Data: out's old slices may alias region memory from a
	// zero-copy decode and must not be written.
	var w wireTensor
	if err := unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Shape) > record.MaxTensorDims {
		return codec.Malformedf("json Tensor: %d dims", len(w.Shape))
	}
	if !utf8.ValidString(w.Name) {
		return codec.Malformedf("json Tensor: invalid UTF-8")
	}
	*t = record.Tensor{Name: w.Name, DType: record.DType(w.DType), Shape: w.Shape, Data: w.Data}
	return nil
}

// ReadString implements codec.FieldReader by decoding the whole record,
// which is what reading one field costs in JSON.
func (c *Codec) ReadString(b []byte, field codec.Field) (string, error) {
	return codec.ReadByDecode(c, b, field)
}
