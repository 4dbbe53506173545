package codec

import (
	"fmt"
	"sync"

	"github.com/crossbuf/crossbuf/go/record"
)

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// scratch is space for ReadByDecode; the baseline codecs return owned
// copies of the strings, so reusing the records is safe.
type scratch struct {
	log    record.LogEntry
	tensor record.Tensor
}

// ReadByDecode reads field by decoding the whole record with c: the
// FieldReader of the baseline codecs (JSON, MessagePack, protobuf), whose
// decoded strings do not alias b. Decoding everything is exactly what
// reading one field costs in those formats.
func ReadByDecode(c Codec, b []byte, field Field) (string, error) {
	rs := scratchPool.Get().(*scratch)
	defer scratchPool.Put(rs)
	switch field {
	case FieldLogService, FieldLogHost, FieldLogMessage, FieldLogHTTPMethod, FieldLogHTTPPath:
		if err := c.Decode(b, &rs.log); err != nil {
			return "", err
		}
		switch field {
		case FieldLogService:
			return rs.log.Service, nil
		case FieldLogHost:
			return rs.log.Host, nil
		case FieldLogMessage:
			return rs.log.Message, nil
		case FieldLogHTTPMethod:
			return rs.log.HTTP.Method, nil
		default:
			return rs.log.HTTP.Path, nil
		}
	case FieldTensorName:
		if err := c.Decode(b, &rs.tensor); err != nil {
			return "", err
		}
		return rs.tensor.Name, nil
	}
	return "", fmt.Errorf("%w: field %d", ErrRecordType, field)
}
