package schema

import "encoding/binary"

// AnyPointer content has no schema here, so it travels as raw bytes: a
// message of its own (stream framing, one segment) whose root pointer points
// to a copy of the object. Decoding copies the object out, encoding copies a
// given message's root object in, so an AnyPointer survives a round trip
// through a decoded value, MessagePack or JSON. Capability pointers are kept
// as they are (their index means something only in the message's own
// capability table).

// anyPointerMessage copies the object the pointer at (seg, w) leads to into
// a message of its own, checked as anyPointer checks it.
func (r *cpReader) anyPointerMessage(seg, w int) ([]byte, error) {
	e := cpEncoder{buf: make([]byte, 8)} // the segment table, filled last
	root := e.alloc(1)
	if err := copyObject(r, seg, w, &e, root); err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint32(e.buf[4:], uint32((len(e.buf)-8)/wordBytes))
	return e.buf, nil
}

// setAnyPointer copies the root object of msg, a Cap'n Proto message
// (stream framing), into e and points word p at it.
func (e *cpEncoder) setAnyPointer(p int, msg []byte) error {
	segs, err := splitSegments(msg, Stream)
	if err != nil {
		return failf("AnyPointer bytes are not a Cap'n Proto message: %v", err)
	}
	r := cpReader{segs: segs}
	r.defaultLimits(len(msg))
	if r.words(0) == 0 {
		return failf("AnyPointer bytes are a message with no root pointer")
	}
	return copyObject(&r, 0, 0, e, p)
}

// copyObject copies the object the pointer at (seg, w) of r leads to, and
// everything it points to, into e, and points e's word p at the copy (a
// null pointer stays null). The reads are r's checked ones: bounds, far
// pointers, the traversal budget and the depth limit.
func copyObject(r *cpReader, seg, w int, e *cpEncoder, p int) error {
	_, _, tag, err := r.resolve(seg, w)
	if err != nil || tag == 0 {
		return err
	}
	if err := r.enter(); err != nil {
		return err
	}
	defer func() { r.depth-- }()
	switch tag & 3 {
	case 0:
		var st cpStruct
		if _, err := r.structAt(seg, w, &st); err != nil {
			return err
		}
		dw := st.dataBytes / wordBytes
		s := e.alloc(dw + st.ptrCount)
		e.setPointer(p, s, 0, uint32(dw)|uint32(st.ptrCount)<<16)
		copy(e.buf[8+s*wordBytes:], r.segs[st.seg][st.data:st.data+st.dataBytes])
		for i := range st.ptrCount {
			if err := copyObject(r, st.seg, st.ptrs+i, e, s+dw+i); err != nil {
				return err
			}
		}
	case 1:
		var l cpList
		if _, err := r.listAt(seg, w, &l); err != nil {
			return err
		}
		switch l.size {
		case 7: // composite: a tag word, then the elements as structs
			per, dw := l.stride/64, l.dataBytes/wordBytes
			t := e.alloc(1 + l.count*per)
			binary.LittleEndian.PutUint64(e.word(t), uint64(uint32(l.count)<<2)|uint64(dw)<<32|uint64(l.ptrCount)<<48)
			e.setPointer(p, t, 1, 7|uint32(l.count*per)<<3)
			for i := range l.count {
				el, base := l.element(i), t+1+i*per
				copy(e.buf[8+base*wordBytes:], r.segs[el.seg][el.data:el.data+el.dataBytes])
				for j := range el.ptrCount {
					if err := copyObject(r, el.seg, el.ptrs+j, e, base+dw+j); err != nil {
						return atIndex(err, i)
					}
				}
			}
		case 6: // pointers
			s := e.alloc(l.count)
			e.setPointer(p, s, 1, 6|uint32(l.count)<<3)
			for i := range l.count {
				if err := copyObject(r, l.seg, l.start/wordBytes+i, e, s+i); err != nil {
					return atIndex(err, i)
				}
			}
		default: // data: whole words, as the list's encoding holds them
			words := (l.count*l.stride + 63) / 64
			s := e.alloc(words)
			e.setPointer(p, s, 1, uint32(l.size)|uint32(l.count)<<3)
			copy(e.buf[8+s*wordBytes:], r.segs[l.seg][l.start:l.start+words*wordBytes])
		}
	default: // a capability
		binary.LittleEndian.PutUint64(e.word(p), tag)
	}
	return nil
}
