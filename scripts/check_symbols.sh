#!/usr/bin/env bash
# check_symbols.sh LIB ABI_VERSION: the dynamic symbols LIB defines are
# exactly the functions include/crossbuf.h declares, at version
# CROSSBUF_<ABI_VERSION>, plus those go/capi/crossbuf_private.h declares, at
# CROSSBUF_PRIVATE_<ABI_VERSION>, and nothing else (no _cgo_*, crosscall2 or
# other internals of the Go toolchain and the library).
set -euo pipefail
cd "$(dirname "$0")/.."
lib=$1 abi=$2

# declared LABEL HEADER NODE: "name@@NODE" per function prototype of HEADER
# (a line opening with a return type and the name; static inline helpers are
# not symbols).
declared() {
  grep -E '^[A-Za-z_][A-Za-z0-9_ ]*[ *]xbp?_[a-z0-9_]+\(' "$1" | grep -v '^static' |
    sed -E 's/^[^(]*[ *](xbp?_[a-z0-9_]+)\(.*/\1/' | sed "s/\$/@@$2/"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  declared include/crossbuf.h "CROSSBUF_$abi"
  declared go/capi/crossbuf_private.h "CROSSBUF_PRIVATE_$abi"
} | LC_ALL=C sort >"$tmp/want"
# Every defined global or weak dynamic symbol with its version, less the
# version nodes' own names (GNU ld defines one absolute symbol per node).
readelf --dyn-syms --wide "$lib" |
  awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $7 != "UND" && $8 != "" && !($7 == "ABS" && $3 == 0 && $8 ~ /^CROSSBUF_/) { print $8 }' |
  LC_ALL=C sort >"$tmp/got"

fail=0
[ "$(grep -c "@@CROSSBUF_$abi\$" "$tmp/want")" -gt 50 ] || { echo "check_symbols: too few prototypes parsed from include/crossbuf.h" >&2; fail=1; }
grep -q "@@CROSSBUF_PRIVATE_$abi\$" "$tmp/want" || { echo "check_symbols: no prototypes parsed from go/capi/crossbuf_private.h" >&2; fail=1; }
if grep '^xbp_.*@@CROSSBUF_[0-9]' "$tmp/want" >&2 || grep '^xb_.*@@CROSSBUF_PRIVATE' "$tmp/want" >&2; then
  echo "check_symbols: private calls are named xbp_ and only they (the names above break it)" >&2
  fail=1
fi
if ! diff -u --label "declared in the headers" --label "exported by $lib" "$tmp/want" "$tmp/got" >&2; then
  echo "check_symbols: $lib exports other symbols than the headers declare (fix go/capi/crossbuf.map or the headers)" >&2
  fail=1
fi
[ "$fail" = 0 ] && echo "$lib: $(grep -c . "$tmp/got") symbols, as the headers declare" >&2
exit "$fail"
