#!/usr/bin/env bash
# Regenerates bench/go's generated code (scripts/gen.sh calls it):
#   mirror_gen.go  tinylib/msgp code for the mirror structs;
#   vtpb/          protobuf-go + vtprotobuf code of schemas/crossbuf.proto with
#                  every vtprotobuf feature the benchmarks compare (unmarshal_unsafe,
#                  pool). The proto package is renamed so it does not clash with
#                  internal/gen/pbgen, which the same test binary links; the wire
#                  format is the same.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
gobin=$root/.tools/bin
mkdir -p "$gobin"
[ -x "$gobin/msgp" ] || GOBIN=$gobin go install github.com/tinylib/msgp@v1.6.5
[ -x "$gobin/protoc-gen-go" ] || GOBIN=$gobin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
[ -x "$gobin/protoc-gen-go-vtproto" ] ||
  GOBIN=$gobin go install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@v0.6.0
export PATH=$gobin:$PATH

"$gobin/msgp" -file mirror.go -o mirror_gen.go -tests=false -unexported=false
gofmt -w mirror_gen.go

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pkg=github.com/crossbuf/crossbuf/bench/go/vtpb
mkdir -p "$tmp/in/benchpb"
sed -e 's/^package crossbuf\.pb;/package crossbuf.benchpb;/' \
    -e "s|^option go_package = .*|option go_package = \"$pkg\";|" \
    "$root/schemas/crossbuf.proto" >"$tmp/in/benchpb/crossbuf.proto"
grep -q 'package crossbuf.benchpb;' "$tmp/in/benchpb/crossbuf.proto"
pools=()
for m in Attribute Http LogEntry Sample Tensor; do pools+=(--go-vtproto_opt=pool="$pkg.$m"); done
mkdir -p "$tmp/out"
protoc -I "$tmp/in" --go_out="$tmp/out" --go_opt=paths=source_relative \
  --go-vtproto_out="$tmp/out" --go-vtproto_opt=paths=source_relative \
  --go-vtproto_opt=features=marshal+unmarshal+unmarshal_unsafe+size+pool "${pools[@]}" \
  benchpb/crossbuf.proto
rm -rf vtpb && mkdir -p vtpb
cp "$tmp"/out/benchpb/crossbuf.pb.go "$tmp"/out/benchpb/crossbuf_vtproto.pb.go vtpb/
gofmt -w vtpb
