#!/usr/bin/env bash
# Regenerates mirror_gen.go (tinylib/msgp code for the mirror structs).
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
gobin=$root/.tools/bin
[ -x "$gobin/msgp" ] || GOBIN=$gobin go install github.com/tinylib/msgp@v1.6.5
"$gobin/msgp" -file mirror.go -o mirror_gen.go -tests=false -unexported=false
gofmt -w mirror_gen.go
