package codec

// Field names a string field that can be read without decoding the rest of a
// record (read-one-field, the Go benchmarks' hand-written road; C and Python
// read fields through schema paths).
type Field int32

// Readable string fields.
const (
	FieldLogService    Field = 1
	FieldLogHost       Field = 2
	FieldLogMessage    Field = 3
	FieldLogHTTPMethod Field = 4
	FieldLogHTTPPath   Field = 5
	FieldTensorName    Field = 6
)

// FieldReader is implemented by codecs that can read one string field
// without decoding the rest of the record. Baseline codecs implement it by
// decoding the whole record, which is exactly the cost being compared.
type FieldReader interface {
	ReadString(b []byte, field Field) (string, error)
}
