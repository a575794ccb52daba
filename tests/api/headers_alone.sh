#!/bin/sh
# Every public header compiles alone, twice in a row (include guard), as C11
# and as C++17 with warnings as errors, so a user can include any one of them
# first; and every header that declares functions gives them C linkage in
# C++ (extern "C"), or a C++ program would fail to link against libcohort.
#
# usage: headers_alone.sh INCDIR [EXTRA_CFLAGS...]
#   INCDIR holds cohort/*.h (the source tree's include/ or an installed one).
#   CC and CXX may name the compilers (words allowed: "ccache gcc").
# libuv's uv.h needs POSIX types (pthread_rwlock_t) under strict -std=c11,
# so the C compile defines _POSIX_C_SOURCE, as a user of runtime.h must.
set -eu
inc=$1
shift
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-hdr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
deps=$(pkg-config --cflags libuv libprotobuf-c)
n=0
fail=0
for h in "$inc"/cohort/*.h; do
  b=$(basename "$h")
  printf '#include <cohort/%s>\n#include <cohort/%s>\nint main(void) { return 0; }\n' \
    "$b" "$b" > "$tmp/t.c"
  cp "$tmp/t.c" "$tmp/t.cc"
  # shellcheck disable=SC2086
  if ! $CC -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror \
       -fsyntax-only -I"$inc" $deps "$@" "$tmp/t.c" 2> "$tmp/err"; then
    echo "FAIL C: cohort/$b does not compile alone:" >&2
    sed 's/^/  /' "$tmp/err" >&2
    fail=1
  fi
  # shellcheck disable=SC2086
  if ! $CXX -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
       -I"$inc" $deps "$@" "$tmp/t.cc" 2> "$tmp/err"; then
    echo "FAIL C++: cohort/$b does not compile alone:" >&2
    sed 's/^/  /' "$tmp/err" >&2
    fail=1
  fi
  # A non-inline function declaration needs extern "C" for C++ callers.
  if grep -v '^static' "$h" | grep -Eq '^[a-z][a-z_0-9 *]*\bcohort_[a-z0-9_]+[[:space:]]*\(' &&
     ! grep -q 'extern "C"' "$h"; then
    echo "FAIL C++: cohort/$b declares functions without extern \"C\"" >&2
    fail=1
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no headers under $inc/cohort" >&2; exit 1; }
[ "$fail" -eq 0 ] || exit 1
echo "headers alone: $n headers compile alone in C11 and C++17 (-Werror)"
