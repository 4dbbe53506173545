#!/usr/bin/env bash
# crossbuf build entry point.
#
#   ./build.sh              build libcrossbuf.so and the C programs (same as `lib`)
#   ./build.sh lib          build build/lib/libcrossbuf.so.1 and copy it into python/crossbuf
#   ./build.sh test         set up .venv and run every test: go vet, go test -race, fuzz
#                           smoke, C tests, pytest, install + pkg-config, bench --quick
#   ./build.sh bench [...]  run the benchmark suite (flags go to bench/run.py; --help)
#   ./build.sh install [PREFIX]   install library, header and crossbuf.pc (default /usr/local)
#   ./build.sh gen          regenerate the committed code from schemas/
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

SOVERSION=1                 # bump with XB_ABI_VERSION in include/crossbuf.h
VERSION=0.1.0
LIB=build/lib/libcrossbuf.so.$SOVERSION
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -Iinclude)
# A count, not a duration: go1.26's fuzz coordinator can fail a -fuzztime
# duration at its deadline under CPU contention (golang/go#75804).
FUZZTIME=${FUZZTIME:-3000x}

log() { printf '\n==> %s\n' "$*" >&2; }

apt_install() { # apt_install CMD PACKAGE: install PACKAGE if CMD is missing
  command -v "$1" >/dev/null && return
  log "installing $2"
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null
}

build_lib() {
  log "building $LIB"
  mkdir -p build/lib build/bin
  go build -buildmode=c-shared -trimpath \
    -ldflags="-s -w -extldflags=-Wl,-soname,libcrossbuf.so.$SOVERSION" \
    -o "$LIB.tmp" ./go/capi
  mv -f "$LIB.tmp" "$LIB"
  rm -f build/lib/libcrossbuf.so.h "$LIB.h" # cgo's generated header; include/crossbuf.h is the contract
  ln -sf "libcrossbuf.so.$SOVERSION" build/lib/libcrossbuf.so
  # copy then rename: overwriting in place would crash processes that have it loaded
  cp "$LIB" python/crossbuf/.libcrossbuf.so.tmp && mv -f python/crossbuf/.libcrossbuf.so.tmp python/crossbuf/libcrossbuf.so
  build_c
}

# C programs: tests, examples, tools and the C benchmark, one binary per file.
build_c() {
  local dir src out
  for dir in c/tests c/examples c/tools bench/c; do
    [ -d "$dir" ] || continue
    for src in "$dir"/*.c; do
      [ -e "$src" ] || continue
      out=build/bin/$(basename "$src" .c)
      gcc "${CFLAGS[@]}" -o "$out" "$src" -Lbuild/lib -lcrossbuf -Wl,-rpath,"$root/build/lib" -lpthread
    done
  done
}

venv() { # venv REQUIREMENTS...: create .venv and install pinned requirements
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  local reqs=() f
  for f in "$@"; do reqs+=(-r "$f"); done
  .venv/bin/python -m pip install -q --disable-pip-version-check "${reqs[@]}"
}

go_tests() {
  log "gofmt and go vet"
  local unformatted
  unformatted=$(gofmt -l go bench 2>/dev/null || true)
  if [ -n "$unformatted" ]; then
    echo "gofmt needed:" >&2; echo "$unformatted" >&2; return 1
  fi
  go vet ./...
  log "go test -race (pure-Go packages)"
  # go/capi is package main of the c-shared library: C and pytest test it.
  go test -race -count=1 $(go list ./... | grep -v /go/capi)
  log "fuzz smoke: each target for $FUZZTIME"
  local pkg target
  for pkg in $(go list ./go/...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      echo "fuzz $pkg $target" >&2
      if ! go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$pkg" >build/fuzz.log 2>&1; then
        cat build/fuzz.log >&2
        return 1
      fi
    done
  done
}

c_tests() {
  log "C tests"
  local t failed=0
  for t in build/bin/test_*; do
    [ -x "$t" ] || continue
    echo "--- $t" >&2
    if ! "$t"; then failed=1; fi
  done
  [ "$failed" = 0 ]
}

install_to() {
  local prefix=${1:-/usr/local}
  log "installing into $prefix"
  install -d "$prefix/lib/pkgconfig" "$prefix/include"
  install -m 0755 "$LIB" "$prefix/lib/libcrossbuf.so.$VERSION"
  ln -sf "libcrossbuf.so.$VERSION" "$prefix/lib/libcrossbuf.so.$SOVERSION"
  ln -sf "libcrossbuf.so.$SOVERSION" "$prefix/lib/libcrossbuf.so"
  install -m 0644 include/crossbuf.h "$prefix/include/crossbuf.h"
  sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$VERSION|" c/crossbuf.pc.in >"$prefix/lib/pkgconfig/crossbuf.pc"
}

# Proves the installed library works the way a C user consumes it.
install_test() {
  log "install + pkg-config"
  apt_install pkg-config pkgconf
  local prefix
  prefix=$(mktemp -d)
  install_to "$prefix" >/dev/null
  PKG_CONFIG_PATH=$prefix/lib/pkgconfig gcc "${CFLAGS[@]}" -o "$prefix/example" c/examples/example.c \
    $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs crossbuf) -Wl,-rpath,"$prefix/lib"
  "$prefix/example" >/dev/null
  readelf -d "$prefix/lib/libcrossbuf.so" | grep -q "SONAME.*libcrossbuf.so.$SOVERSION"
  rm -rf "$prefix"
}

# Proves the wheel a user gets from `pip install .` works outside the tree.
wheel_test() {
  log "pip wheel + install into a fresh venv"
  local tmp whl
  tmp=$(mktemp -d)
  python3 -m pip wheel -q --disable-pip-version-check --no-deps -w "$tmp/dist" . >/dev/null
  whl=$(ls "$tmp"/dist/crossbuf-*-py3-none-*.whl) # the tag says: any Python 3, this platform
  python3 -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$whl"
  (cd "$tmp" && "$tmp/venv/bin/python" -c '
import crossbuf
with crossbuf.Region.anonymous(1 << 20) as r:
    rec = crossbuf.testdata.log_entry(3)
    assert r.decode_record(r.encode(rec, crossbuf.Codec.CAPNP)) == rec
assert "site-packages" in crossbuf.library_path(), crossbuf.library_path()
')
  rm -rf "$tmp"
}

cmd=${1:-lib}
[ $# -gt 0 ] && shift
case "$cmd" in
  lib) build_lib ;;
  test)
    apt_install flatc flatbuffers-compiler && apt_install capnp capnproto # go/schema's conformance tests
    build_lib
    venv python/requirements-test.txt
    go_tests
    c_tests
    install_test
    wheel_test
    log "pytest"
    .venv/bin/python -m pytest -q python/tests
    if [ -f bench/run.py ]; then
      log "bench --quick"
      venv bench/requirements.txt
      .venv/bin/python bench/run.py --quick
    fi
    log "all tests passed"
    ;;
  bench)
    build_lib
    venv python/requirements-test.txt bench/requirements.txt
    XB_BENCH_COMMAND="./build.sh bench $*" .venv/bin/python bench/run.py "$@"
    ;;
  install) build_lib && install_to "${1:-/usr/local}" ;;
  gen) bash scripts/gen.sh ;;
  *) echo "usage: $0 [lib|test|bench|install [PREFIX]|gen]" >&2; exit 2 ;;
esac
