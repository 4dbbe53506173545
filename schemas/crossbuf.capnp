# crossbuf data model, Cap'n Proto edition (see crossbuf.fbs).
@0xc5f1a7d2e3b40911;

using Go = import "/go.capnp";
$Go.package("capnpgen");
$Go.import("github.com/crossbuf/crossbuf/internal/gen/capnpgen");

enum Level { trace @0; debug @1; info @2; warn @3; error @4; fatal @5; }

enum DType { u8 @0; i8 @1; u16 @2; i16 @3; u32 @4; i32 @5; u64 @6; i64 @7; f16 @8; f32 @9; f64 @10; }

struct Attribute {
  key @0 :Text;
  value @1 :Text;
}

struct Http {
  method @0 :Text;
  path @1 :Text;
  status @2 :UInt32;
  latencyNs @3 :Int64;
}

struct LogEntry {
  timestampNs @0 :Int64;
  level @1 :Level;
  service @2 :Text;
  host @3 :Text;
  message @4 :Text;
  traceId @5 :Data;            # always 16 bytes
  tags @6 :List(Text);
  attributes @7 :List(Attribute);
  http @8 :Http;
}

struct Sample {
  timestampNs @0 :Int64;
  features @1 :List(Float32);  # always 16 values
  label @2 :Int32;
}

struct Tensor {
  name @0 :Text;
  dtype @1 :DType;
  shape @2 :List(Int64);
  data @3 :Data;               # row-major, little-endian
}
