package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const benchTypes = 100

// benchFBS is a schema of 100 tables (plus a struct and an enum) that refer
// to each other, the shape of a large real schema.
func benchFBS() string {
	var b strings.Builder
	b.WriteString("namespace bench.load;\nenum Level:byte { Debug, Info, Warn, Error }\nstruct Point { x:double; y:double; z:int; }\n")
	for i := 0; i < benchTypes; i++ {
		fmt.Fprintf(&b, "table T%d {\n  id:ulong (key);\n  name:string;\n  level:Level = Info;\n  at:Point;\n  tags:[string];\n  values:[int];\n  ratio:float = 0.5;\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  parent:T%d;\n  children:[T%d];\n", i-1, i-1)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "root_type T%d;\n", benchTypes-1)
	return b.String()
}

func benchCapnp() string {
	var b strings.Builder
	b.WriteString("@0xd3a0f1c2b3e4a5f6;\nenum Level { debug @0; info @1; warn @2; error @3; }\nstruct Point { x @0 :Float64; y @1 :Float64; z @2 :Int32; }\n")
	for i := 0; i < benchTypes; i++ {
		fmt.Fprintf(&b, "struct T%d {\n  id @0 :UInt64;\n  name @1 :Text;\n  level @2 :Level = info;\n  at @3 :Point;\n  tags @4 :List(Text);\n  values @5 :List(Int32);\n  ratio @6 :Float32 = 0.5;\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  parent @7 :T%d;\n  children @8 :List(T%d);\n  union { none @9 :Void; code @10 :UInt16; text @11 :Text; }\n", i-1, i-1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func BenchmarkLoadBFBS100Types(b *testing.B) {
	needTool(b, "flatc")
	path := filepath.Join(b.TempDir(), "load.fbs")
	require.NoError(b, os.WriteFile(path, []byte(benchFBS()), 0o644))
	s, err := CompileFBS(path, nil)
	require.NoError(b, err)
	require.Len(b, s.Types(), benchTypes+2)
	bfbs := runTool(b, b.TempDir(), "sh", "-c", "flatc -b --schema -o . "+path+" && cat load.bfbs")
	b.SetBytes(int64(len(bfbs)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBFBS(bfbs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadCapnpRequest100Types(b *testing.B) {
	needTool(b, "capnp")
	path := filepath.Join(b.TempDir(), "load.capnp")
	require.NoError(b, os.WriteFile(path, []byte(benchCapnp()), 0o644))
	req, err := CompileCapnpRequest(path, nil)
	require.NoError(b, err)
	s, err := LoadCapnpRequest(req)
	require.NoError(b, err)
	require.GreaterOrEqual(b, len(s.Types()), benchTypes+2)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadCapnpRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOp(b *testing.B, ty *Type, msg []byte, opts *Options, op string) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		switch op {
		case "verify":
			err = ty.Verify(msg, opts)
		case "decode":
			_, err = ty.Decode(msg, opts)
		case "json":
			_, err = ty.JSON(msg, opts)
		case "msgpack":
			_, err = ty.MsgPack(msg, opts)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMonster(b *testing.B) {
	s, mon := loadMonster(b)
	for _, op := range []string{"verify", "decode", "json", "msgpack"} {
		b.Run(op, func(b *testing.B) { benchOp(b, s.Root, mon, nil, op) })
	}
}

func BenchmarkTestAllTypes(b *testing.B) {
	dir, ty := loadTestAllTypes(b)
	for _, name := range []string{"binary", "segmented"} {
		msg := readFile(b, filepath.Join(dir, "capnp", "testdata", name))
		for _, op := range []string{"verify", "decode", "json", "msgpack"} {
			b.Run(name+"/"+op, func(b *testing.B) { benchOp(b, ty, msg, nil, op) })
		}
	}
}
