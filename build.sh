#!/usr/bin/env bash
# crossbuf build entry point. Run `./build.sh help` for the commands.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

usage() {
  cat <<'USAGE'
usage: ./build.sh [COMMAND] [ARGS]

  lib                 build build/lib/libcrossbuf.so.N and the C programs, and copy
                      the library into python/crossbuf (the default command)
  test                set up .venv and run every test: go vet, staticcheck,
                      go test -race, fuzz smoke, C tests, pytest, install +
                      pkg-config, sdist and wheel in fresh venvs, bench --quick
  bench [FLAGS]       run the benchmark suite (./build.sh bench --help lists FLAGS)
  install [PREFIX]    install library, header, crossbuf.pc and the bundled schema
                      binaries (share/crossbuf) into PREFIX (default $PREFIX or
                      /usr/local), under $DESTDIR if set
  dist [aarch64]      build the sdist and a manylinux wheel into dist/ (aarch64:
                      cross-build the wheel for 64-bit Arm with Debian's cross gcc)
  gen                 regenerate the committed code from schemas/
  version             print the library version (from include/crossbuf.h)
  golib OUT [-asan]   build only the Go library into OUT (used by setup.py);
                      -asan: for C programs built with -fsanitize=address
  help                print this text

Set-up steps say what they install: Debian packages (apt-get), Python packages
(.venv, from the requirements files) and Go modules (the Go module cache).
USAGE
}

# include/crossbuf.h is the one place versions are written. The SONAME's
# number is XB_ABI_VERSION: it changes exactly when the ABI breaks.
header_define() {
  local v
  v=$(sed -n "s/^#define $1 \([0-9][0-9]*\)\$/\1/p" include/crossbuf.h)
  [ -n "$v" ] || { echo "build.sh: no '#define $1 <number>' in include/crossbuf.h" >&2; exit 1; }
  echo "$v"
}
VERSION=$(header_define XB_VERSION_MAJOR).$(header_define XB_VERSION_MINOR).$(header_define XB_VERSION_PATCH)
SOVERSION=$(header_define XB_ABI_VERSION)
SONAME=libcrossbuf.so.$SOVERSION
LIB=build/lib/$SONAME
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -Iinclude)
# A count, not a duration: go1.26's fuzz coordinator can fail a -fuzztime
# duration at its deadline under CPU contention (golang/go#75804).
FUZZTIME=${FUZZTIME:-3000x}
STATICCHECK=v0.8.2

log() { printf '\n==> %s\n' "$*" >&2; }

apt_install() { # apt_install CMD PACKAGE: install PACKAGE if CMD is missing
  command -v "$1" >/dev/null && return
  log "installing Debian package $2 (apt-get), for $1"
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null
}

go_modules() {
  log "downloading the Go modules in go.sum into $(go env GOMODCACHE) (if not there yet)"
  go mod download
}

# go_lib OUT: the c-shared library alone, written next to OUT and renamed onto
# it (overwriting a loaded library in place would crash processes using it).
go_lib() { # go_lib OUT [GO BUILD FLAGS...]
  local out=$1; shift
  mkdir -p "$(dirname "$out")"
  # The version script comes from the headers: only what they declare is exported.
  local map; map=$(realpath -m "$out.map")
  scripts/symbols.sh map "$SOVERSION" >"$map"
  go build "$@" -buildmode=c-shared -trimpath \
    -ldflags="-s -w -extldflags=-Wl,-soname,$SONAME,--version-script,$map" \
    -o "$out.tmp" ./go/capi
  rm -f "$out.h" "$map" # cgo's generated header; include/crossbuf.h is the contract
  mv -f "$out.tmp" "$out"
}

build_so() {
  log "building $LIB"
  go_lib "$LIB"
  ln -sf "$SONAME" build/lib/libcrossbuf.so
}

build_lib() {
  build_so
  cp "$LIB" python/crossbuf/.libcrossbuf.so.tmp && mv -f python/crossbuf/.libcrossbuf.so.tmp python/crossbuf/libcrossbuf.so
  build_c
}

# msgpack-c, the C MessagePack library with which the C tests and the C
# benchmark write the bundled records xb_encode takes (the tests use only its
# header-only packer), and the benchmark reads what xb_decode gives back.
# Only programs that include <msgpack.h> get its flags, it is linked only into
# those that call it (--as-needed), and never into libcrossbuf. Debian 12 ships it as libmsgpack-dev
# (pkg-config msgpack, -lmsgpackc), Debian 13 as libmsgpack-c-dev
# (pkg-config msgpack-c, -lmsgpack-c).
MSGPACK_CFLAGS=() MSGPACK_LIBS=()
msgpack_c() {
  [ ${#MSGPACK_LIBS[@]} = 0 ] || return 0
  apt_install pkg-config pkgconf
  local pc pkg=libmsgpack-dev
  if ! pkg-config --exists msgpack-c && ! pkg-config --exists msgpack; then
    apt-cache show libmsgpack-c-dev >/dev/null 2>&1 && pkg=libmsgpack-c-dev
    apt_install msgpack.h "$pkg"
  fi
  for pc in msgpack-c msgpack; do
    if pkg-config --exists "$pc"; then
      read -ra MSGPACK_CFLAGS <<<"$(pkg-config --cflags "$pc")"
      read -ra MSGPACK_LIBS <<<"$(pkg-config --libs "$pc")"
      return 0
    fi
  done
  echo "build.sh: msgpack-c is not installed (Debian: libmsgpack-c-dev or libmsgpack-dev)" >&2
  return 1
}

# c_flags SRC: what a C program needs beyond CFLAGS and libcrossbuf: where
# the tree's bundled schema binaries are (the installed example is given
# pkg-config's schemadir instead), and msgpack-c, linked as needed, when SRC
# includes it.
c_flags() {
  printf '%s\n' "-DXB_SCHEMA_DIR=\"$root/python/crossbuf\""
  if grep -q '^#include <msgpack.h>' "$1"; then
    printf '%s\n' "${MSGPACK_CFLAGS[@]}" -Wl,--as-needed "${MSGPACK_LIBS[@]}" -Wl,--no-as-needed
  fi
}

# C programs: tests, examples, tools and the C benchmark, one binary per file.
build_c() {
  local dir src out extra
  msgpack_c
  mkdir -p build/bin
  for dir in c/tests c/examples c/tools bench/c; do
    [ -d "$dir" ] || continue
    for src in "$dir"/*.c; do
      [ -e "$src" ] || continue
      out=build/bin/$(basename "$src" .c)
      mapfile -t extra < <(c_flags "$src")
      gcc "${CFLAGS[@]}" -o "$out" "$src" "${extra[@]}" -Lbuild/lib -lcrossbuf -Wl,-rpath,"$root/build/lib" -lpthread
    done
  done
}

venv() { # venv REQUIREMENTS...: create .venv and install pinned requirements
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv (python3 -m venv)"
    python3 -m venv .venv
  fi
  local reqs=() f
  for f in "$@"; do reqs+=(-r "$f"); done
  log "installing into .venv: $(cat "$@" | sed 's/#.*//' | xargs)"
  .venv/bin/python -m pip install -q --disable-pip-version-check "${reqs[@]}"
}

go_tests() {
  log "gofmt and go vet"
  local unformatted
  unformatted=$(gofmt -l go internal bench 2>/dev/null || true)
  if [ -n "$unformatted" ]; then
    echo "gofmt needed:" >&2; echo "$unformatted" >&2; return 1
  fi
  go vet ./...
  log "staticcheck (honnef.co/go/tools $STATICCHECK, from the Go module proxy)"
  go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK" ./...
  log "cross-builds of the pure-Go packages: darwin/arm64, linux/arm64"
  local pure
  pure=$(go list ./go/... ./internal/... | grep -v /go/capi)
  CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 go build $pure
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $pure
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

# Each C test runs plain, then rebuilt with AddressSanitizer and
# UndefinedBehaviorSanitizer against a library built with Go's -asan (which
# instruments the cgo side and reports Go's own memory to ASan). Arguments
# come from C_TEST_ARGS_<name>.
C_TEST_ARGS_test_hardening="2000"
C_TEST_ARGS_asan_test_hardening="400"
SANITIZE=(-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)

c_tests() {
  log "C tests"
  local t src name failed=0 args extra
  msgpack_c
  mkdir -p build/bin/asan
  log "building the AddressSanitizer library build/asan/$SONAME (go build -asan)"
  go_lib "build/asan/$SONAME" -asan
  ln -sf "$SONAME" build/asan/libcrossbuf.so
  for src in c/tests/*.c; do
    name=$(basename "$src" .c)
    mapfile -t extra < <(c_flags "$src")
    gcc "${CFLAGS[@]}" "${SANITIZE[@]}" -o "build/bin/asan/$name" "$src" "${extra[@]}" -Lbuild/asan -lcrossbuf \
      -Wl,-rpath,"$root/build/asan" -lpthread
  done
  for t in build/bin/test_* build/bin/asan/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t"); [ "$(dirname "$t")" = build/bin/asan ] && name=asan_$name
    args="C_TEST_ARGS_$name"
    echo "--- $t ${!args:-}" >&2
    # Go's runtime owns SIGSEGV/SIGBUS handling inside the library
    if ! ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:detect_leaks=0 "$t" ${!args:-}; then failed=1; fi
  done
  [ "$failed" = 0 ]
}

# install_to PREFIX: the library (real file named by its SONAME, plus the
# link-time libcrossbuf.so), the header, crossbuf.pc and the bundled schema
# binaries (PREFIX/share/crossbuf: crossbuf.pc's schemadir), under $DESTDIR
# if set. crossbuf.pc's Libs carry an rpath to PREFIX/lib, so programs built
# with it find the library at run time without LD_LIBRARY_PATH or ldconfig.
install_to() {
  local prefix=$1 dest=${DESTDIR:-}
  case "$prefix" in /*) ;; *) echo "build.sh install: PREFIX must be an absolute path, not '$prefix'" >&2; return 2 ;; esac
  log "installing libcrossbuf $VERSION into ${dest}$prefix"
  install -d "$dest$prefix/lib/pkgconfig" "$dest$prefix/include" "$dest$prefix/share/crossbuf"
  install -m 0755 "$LIB" "$dest$prefix/lib/$SONAME.tmp"
  mv -f "$dest$prefix/lib/$SONAME.tmp" "$dest$prefix/lib/$SONAME" # never overwrite a mapped library in place
  ln -sfn "$SONAME" "$dest$prefix/lib/libcrossbuf.so"
  install -m 0644 include/crossbuf.h "$dest$prefix/include/crossbuf.h"
  install -m 0644 python/crossbuf/crossbuf.bfbs python/crossbuf/crossbuf.capnp.bin "$dest$prefix/share/crossbuf/"
  sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$VERSION|" c/crossbuf.pc.in >"$dest$prefix/lib/pkgconfig/crossbuf.pc"
}

# listing DIR: every path under DIR with its type and link target;
# tree DIR: the same with each file's content hash.
listing() { (cd "$1" && find . -printf '%p %y %l\n' | sed 's/ $//' | LC_ALL=C sort); }
tree() {
  listing "$1" | while read -r p y l; do
    if [ "$y" = f ]; then echo "$p f $(sha256sum <"$1/$p" | cut -c1-16)"; else echo "$p $y $l"; fi
  done
}

# Proves the installed library works the way a C user consumes it: built with
# pkg-config alone (the bundled schema's directory compiled in from its
# schemadir variable), run with an empty environment. A DESTDIR install puts
# the same tree under its root, and nothing else.
install_test() {
  log "install into a PREFIX, pkg-config, and DESTDIR"
  apt_install pkg-config pkgconf
  local tmp prefix schemadir
  tmp=$(mktemp -d)
  prefix=$tmp/prefix
  install_to "$prefix" 2>/dev/null
  schemadir=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=schemadir crossbuf)
  [ "$schemadir" = "$prefix/share/crossbuf" ]
  gcc "${CFLAGS[@]}" -o "$tmp/example" c/examples/example.c -DXB_SCHEMA_DIR="\"$schemadir\"" \
    $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs crossbuf)
  env -i "$tmp/example" >/dev/null
  readelf -d "$prefix/lib/libcrossbuf.so" | grep -q "SONAME.*\[$SONAME\]"
  [ "$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion crossbuf)" = "$VERSION" ]
  local want got
  want=". d
./include d
./include/crossbuf.h f
./lib d
./lib/libcrossbuf.so l $SONAME
./lib/$SONAME f
./lib/pkgconfig d
./lib/pkgconfig/crossbuf.pc f
./share d
./share/crossbuf d
./share/crossbuf/crossbuf.bfbs f
./share/crossbuf/crossbuf.capnp.bin f"
  got=$(listing "$prefix")
  [ "$got" = "$want" ] || { echo "installed tree:"; echo "$got"; echo "want:"; echo "$want"; return 1; } >&2
  DESTDIR=$tmp/stage install_to "$prefix" 2>/dev/null
  # DESTDIR holds PREFIX's tree and nothing else
  [ -z "$(find "$tmp/stage" -not -type d -not -path "$tmp/stage$prefix/*")" ]
  diff <(tree "$prefix") <(tree "$tmp/stage$prefix") >&2
  rm -rf "$tmp"
}

# dist OUTDIR [aarch64]: sdist and wheel into OUTDIR, each wheel's manylinux tag
# confirmed by auditwheel. The native wheel is built from the sdist, which
# proves the sdist builds; the aarch64 wheel is cross-built from the tree.
dist() {
  local out=$1 arch=${2:-} whl claimed
  case "$arch" in
    "")
      log "building the sdist, and a wheel from it, into $out (python -m build)"
      .venv/bin/python -m build --outdir "$out" . >&2
      ;;
    aarch64)
      apt_install aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
      log "cross-building the aarch64 wheel into $out (GOARCH=arm64, CC=aarch64-linux-gnu-gcc)"
      CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc .venv/bin/python -m build --wheel --outdir "$out" . >&2
      ;;
    *) echo "build.sh dist: unknown architecture '$arch' (only aarch64 is cross-built)" >&2; return 2 ;;
  esac
  for whl in "$out"/*.whl; do
    claimed=${whl##*-}; claimed=${claimed%.whl}
    if ! .venv/bin/auditwheel show "$whl" | tr -s ' \n' ' ' | grep -qF "consistent with the following platform tag: \"$claimed\""; then
      .venv/bin/auditwheel show "$whl" >&2
      echo "build.sh dist: auditwheel does not confirm $claimed for $whl" >&2
      return 1
    fi
    echo "$(basename "$whl"): auditwheel confirms $claimed ($(du -k "$whl" | cut -f1) KiB)" >&2
  done
  [ "$arch" != aarch64 ] || aarch64_c_tests "$out"/crossbuf-"$VERSION"-*_aarch64.whl
}

# aarch64_c_tests WHEEL: the C tests, cross-compiled against the wheel's
# library and run under qemu-user, prove the Arm library works, not just links.
aarch64_c_tests() {
  apt_install qemu-aarch64 qemu-user
  msgpack_c # the tests use only its header-only packer: no arm64 library needed
  log "C tests against $(basename "$1")'s library, under qemu-aarch64"
  local tmp t failed=0
  tmp=$(mktemp -d)
  (cd "$tmp" && python3 -m zipfile -e "$1" wheel)
  ln -s wheel/crossbuf/libcrossbuf.so "$tmp/$SONAME"
  ln -s "$SONAME" "$tmp/libcrossbuf.so"
  scripts/symbols.sh check "$tmp/$SONAME" "$SOVERSION"
  for t in c/tests/test_*.c; do
    aarch64-linux-gnu-gcc "${CFLAGS[@]}" -o "$tmp/$(basename "$t" .c)" "$t" -L"$tmp" -lcrossbuf -lpthread -Wl,-rpath,"$tmp"
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp/$(basename "$t" .c)" || failed=1
  done
  rm -rf "$tmp"
  [ "$failed" = 0 ]
}

# readme_example PYTHON DIR: the README's Python examples, run from DIR by an
# installed crossbuf (not the tree's), whose version is the header's.
readme_example() {
  (cd "$2" && "$1" - "$root/README.md" "$VERSION" <<'PY'
import importlib.metadata
import re
import sys

import crossbuf

readme, version = sys.argv[1], sys.argv[2]
assert "site-packages" in crossbuf.library_path(), crossbuf.library_path()
assert crossbuf.__version__ == importlib.metadata.version("crossbuf") == version, (crossbuf.__version__, version)
blocks = re.findall(r"```python\n(.*?)```", open(readme).read(), re.S)
assert blocks, "README has no python example"
for block in blocks:
    exec(compile(block, readme, "exec"), {})
PY
  )
}

# Proves what a Python user gets: the sdist installs (building libcrossbuf from
# source) and the wheel installs, each into a fresh venv, and both run the
# README example outside the tree; `pip install .` leaves the tree untouched.
dist_test() {
  local tmp sdist whl t status marker changed
  tmp=$(mktemp -d)
  dist "$tmp/dist"
  sdist=$tmp/dist/crossbuf-$VERSION.tar.gz
  tar tzf "$sdist" >"$tmp/sdist.txt"
  for f in build.sh go.mod go.sum include/crossbuf.h c/crossbuf.pc.in go/capi/main.go scripts/symbols.sh internal/gen/pbgen/crossbuf.pb.go LICENSE README.md CHANGELOG.md; do
    grep -qx "crossbuf-$VERSION/$f" "$tmp/sdist.txt" || { echo "sdist lacks $f" >&2; return 1; }
  done
  if grep -E '\.so(\.|$)' "$tmp/sdist.txt" >&2; then echo "sdist carries a built library" >&2; return 1; fi

  log "pip install the sdist into a fresh venv (builds libcrossbuf from source)"
  python3 -m venv "$tmp/sdist-venv"
  t=$SECONDS
  "$tmp/sdist-venv/bin/pip" install -q --disable-pip-version-check "$sdist"
  echo "sdist install: $((SECONDS - t)) s" >&2
  readme_example "$tmp/sdist-venv/bin/python" "$tmp"

  log "pip install the wheel into a fresh venv"
  whl=$(ls "$tmp"/dist/crossbuf-"$VERSION"-py3-none-manylinux_*.whl)
  python3 -m venv "$tmp/wheel-venv"
  t=$SECONDS
  "$tmp/wheel-venv/bin/pip" install -q --disable-pip-version-check "$whl"
  echo "wheel install: $((SECONDS - t)) s" >&2
  readme_example "$tmp/wheel-venv/bin/python" "$tmp"

  log "pip install . leaves the source tree as it was"
  status=$(git status --porcelain --ignored)
  marker=$tmp/marker
  touch "$marker"
  "$tmp/wheel-venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall .
  changed=$(find . -path ./.git -prune -o -newer "$marker" -print)
  if [ -n "$changed" ] || [ "$(git status --porcelain --ignored)" != "$status" ]; then
    echo "pip install . wrote into the source tree:" >&2
    echo "$changed" >&2
    git status --porcelain >&2
    return 1
  fi
  [ -z "${CI:-}" ] || [ -z "$(git status --porcelain)" ] || { git status --porcelain >&2; return 1; }
  rm -rf "$tmp"
}

wants_help() { local a; for a in "$@"; do case "$a" in -h|--help) return 0 ;; esac; done; return 1; }

cmd=${1:-lib}
[ $# -gt 0 ] && shift
case "$cmd" in
  lib) go_modules; build_lib ;;
  test)
    go_modules
    apt_install flatc flatbuffers-compiler && apt_install capnp capnproto && apt_install protoc protobuf-compiler # go/schema tests
    build_lib
    venv python/requirements-test.txt python/requirements-dist.txt
    go_tests
    c_tests
    log "exported symbols against include/crossbuf.h and go/capi/crossbuf_private.h"
    scripts/symbols.sh check "$LIB" "$SOVERSION"
    scripts/symbols.sh check "build/asan/$SONAME" "$SOVERSION"
    install_test
    dist_test
    log "ruff, and mypy --strict on python/crossbuf and the README's Python examples"
    .venv/bin/ruff check python/crossbuf
    readme_py=$(mktemp -d)
    .venv/bin/python scripts/readme_examples.py "$readme_py"
    .venv/bin/mypy -p crossbuf  # strict, with python/ on the path: pyproject.toml
    .venv/bin/mypy "$readme_py"
    rm -rf "$readme_py"
    log "pytest (with faulthandler on from the start)"
    .venv/bin/python -X faulthandler -m pytest -q python/tests
    log "pytest under AddressSanitizer (libasan preloaded, the go build -asan library)"
    # libstdc++ is preloaded too, so ASan finds the real __cxa_throw that
    # C++ extensions (pycapnp) throw through.
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
      ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:detect_leaks=0 \
      CROSSBUF_LIBRARY=$root/build/asan/$SONAME .venv/bin/python -X faulthandler -m pytest -q python/tests
    if [ -f bench/run.py ]; then
      log "bench --quick"
      venv bench/requirements.txt
      .venv/bin/python bench/run.py --quick
    fi
    log "all tests passed"
    ;;
  bench)
    if wants_help "$@"; then
      # the flags are bench/run.py's; it parses them before importing anything
      # outside the standard library, so no venv or library is built for this
      py=.venv/bin/python; [ -x "$py" ] || py=python3
      exec "$py" bench/run.py --help
    fi
    go_modules
    apt_install flatc flatbuffers-compiler && apt_install capnp capnproto && apt_install protoc protobuf-compiler # any-schema records
    build_lib
    venv python/requirements-test.txt bench/requirements.txt
    XB_BENCH_COMMAND="./build.sh bench $*" .venv/bin/python bench/run.py "$@"
    ;;
  install)
    go_modules
    build_so
    install_to "${1:-${PREFIX:-/usr/local}}"
    ;;
  dist)
    venv python/requirements-dist.txt
    go_modules
    dist "$root/dist" "$@"
    ;;
  gen) bash scripts/gen.sh ;;
  version) echo "$VERSION" ;;
  golib)
    [ $# = 1 ] || [ $# = 2 -a "${2:-}" = -asan ] || { echo "usage: ./build.sh golib OUT [-asan]" >&2; exit 2; }
    go_modules
    go_lib "$@"
    ;;
  help|-h|--help) usage ;;
  *) echo "build.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
