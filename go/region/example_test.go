package region_test

import (
	"fmt"

	"github.com/crossbuf/crossbuf/go/region"
)

func Example() {
	r, err := region.CreateAnon(1 << 16)
	if err != nil {
		panic(err)
	}
	defer r.Close()

	s, err := r.Reserve(3 /* codec */, 1 /* type id */, 64)
	if err != nil {
		panic(err)
	}
	n := copy(s.Buf, `{"message":"hello"}`)
	f, err := s.Commit(s.Buf[:n])
	if err != nil {
		panic(err)
	}

	for fr, err := range r.Frames() {
		if err != nil {
			panic(err)
		}
		fmt.Println(fr.Offset == f.Offset, fr.Codec, fr.TypeID, string(fr.Payload))
	}
	st, _ := r.Stats()
	fmt.Println(st.FrameCount, st.Used, st.Generation)
	// Output:
	// true json 1 {"message":"hello"}
	// 1 128 1
}
