#!/usr/bin/env bash
# Regenerates the committed code from schemas/: internal/gen, python/refgen, the
# msgp code of bench/go, and go/internal/fbreflect (from the conformance data's
# reflection.fbs; CROSSBUF_CONFORMANCE overrides ../shared/conformance).
# Needs Debian's flatc, capnp and protoc; the Go plugins come from the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

need_apt=()
command -v flatc >/dev/null || need_apt+=(flatbuffers-compiler)
command -v capnp >/dev/null || need_apt+=(capnproto)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
if ((${#need_apt[@]})); then
  echo "==> installing Debian packages (apt-get): ${need_apt[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

gobin=$root/.tools/bin
mkdir -p "$gobin"
echo "==> installing the code generators into .tools/bin (go install): capnpc-go, protoc-gen-go, protoc-gen-go-vtproto, msgp" >&2
GOBIN=$gobin go install capnproto.org/go/capnp/v3/capnpc-go@v3.1.0-alpha.2
GOBIN=$gobin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN=$gobin go install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@v0.6.0
GOBIN=$gobin go install github.com/tinylib/msgp@v1.6.5
export PATH=$gobin:$PATH

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# FlatBuffers (Go): flatc writes crossbuf/fb/*.go for namespace crossbuf.fb.
rm -rf internal/gen/fbgen && mkdir -p internal/gen/fbgen
flatc --go -o "$tmp/fb" schemas/crossbuf.fbs
for f in "$tmp"/fb/crossbuf_fb/*.go; do
  sed 's/^package crossbuf_fb$/package fbgen/' "$f" > "internal/gen/fbgen/$(basename "$f")"
done

# FlatBuffers reflection (Go): the schema of .bfbs files, read by go/schema.
# reflection.fbs comes from the conformance data beside the repository; without
# it the committed code is kept.
conformance=${CROSSBUF_CONFORMANCE:-$root/../shared/conformance}
if [ -f "$conformance/flatbuffers/reflection.fbs" ]; then
  find go/internal/fbreflect -name '*.go' ! -name embed.go -delete
  flatc --go -o "$tmp/refl" "$conformance/flatbuffers/reflection.fbs"
  for f in "$tmp"/refl/reflection/*.go; do
    sed 's/^package reflection$/package fbreflect/' "$f" > "go/internal/fbreflect/$(basename "$f")"
  done
  flatc -b --schema --bfbs-builtins -o go/internal/fbreflect "$conformance/flatbuffers/reflection.fbs"
else
  echo "gen: $conformance/flatbuffers/reflection.fbs not found; keeping go/internal/fbreflect" >&2
fi

# Cap'n Proto (Go).
rm -rf internal/gen/capnpgen && mkdir -p internal/gen/capnpgen
capnp_std=$(go list -m -f '{{.Dir}}' capnproto.org/go/capnp/v3)/std
capnp compile -I "$capnp_std" -ogo:"$tmp" --src-prefix=schemas schemas/crossbuf.capnp
cp "$tmp"/crossbuf.capnp.go internal/gen/capnpgen/

# Protobuf (Go), plus vtprotobuf's fast marshal/unmarshal.
rm -rf internal/gen/pbgen && mkdir -p internal/gen/pbgen
protoc -I schemas --go_out="$tmp" --go_opt=paths=source_relative \
  --go-vtproto_out="$tmp" --go-vtproto_opt=paths=source_relative,features=marshal+unmarshal+size \
  schemas/crossbuf.proto
cp "$tmp"/crossbuf.pb.go "$tmp"/crossbuf_vtproto.pb.go internal/gen/pbgen/

# Python reference-library code (flatc --python, protoc --python_out, and a
# copy of the capnp schema without the Go annotations for pycapnp).
rm -rf python/refgen && mkdir -p python/refgen
flatc --python -o python/refgen schemas/crossbuf.fbs
protoc -I schemas --python_out=python/refgen schemas/crossbuf.proto
grep -v -e '^using Go' -e '^\$Go\.' schemas/crossbuf.capnp > python/refgen/crossbuf.capnp
touch python/refgen/__init__.py

# The bundled schemas in binary form, shipped in the Python package so that
# crossbuf.bundled loads them with no compiler (the capnp copy above has no
# Go annotations, which pycapnp and capnp compile here cannot import).
flatc -b --schema --bfbs-builtins -o python/crossbuf schemas/crossbuf.fbs
(cd python/refgen && capnp compile --no-standard-import -o- crossbuf.capnp) > python/crossbuf/crossbuf.capnp.bin

# MessagePack (tinylib/msgp) code for the benchmark's plain-library mirror structs.
bash bench/go/gen.sh

gofmt -w internal/gen go/internal/fbreflect
echo "generated code updated"
