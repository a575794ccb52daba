#!/bin/sh
# The library as a user installs it (issue 13 s.3): `meson install` into a
# temporary DESTDIR, then, using nothing of the source or build tree but
# the examples' sources:
#  - the installed file list is complete (library with soname symlinks,
#    static library, every public header, cohort.pc, both programs, man
#    pages) and printed, for the closing note;
#  - libcohort.so's soname is libcohort.so.MAJOR and it exports only
#    cohort_* names, each declared in an installed header;
#  - the README's programs (examples/readme: clock, node, rpc) build with
#    `pkg-config --cflags --libs cohort` as C11 and as C++20, link against
#    the installed shared library (checked with ldd) and run; clock and
#    rpc also link statically against libcohort.a;
#  - the echo service (examples/echo) is generated with the installed
#    protoc-gen-cohort, built against the installed library and run as two
#    processes;
#  - every public header compiles alone from the installed include dir.
#
# usage: install_test.sh BUILD_ROOT SOURCE_ROOT SANITIZE
#        install_test.sh --root DIR SOURCE_ROOT SANITIZE
#   SANITIZE is meson's b_sanitize; a sanitizer build is skipped (77): its
#   library needs the sanitizer runtime, which a user's program lacks.
#   --root checks files already installed under DIR (scripts/build-deb
#   extracts the .debs there) instead of running meson install.
set -eu
preinstalled=""
if [ "$1" = "--root" ]; then preinstalled=$2; shift; fi
build=$1 src=$2 sanitize=$3
if [ "$sanitize" != "none" ]; then
  echo "SKIP: install test runs on the normal build only (b_sanitize=$sanitize)"
  exit 77
fi
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ -n "$preinstalled" ]; then
  ln -s "$(cd "$preinstalled" && pwd)" "$tmp/root"
else
  DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install"; }
fi
pc=$(find "$tmp/root/" -name cohort.pc | head -n 1)
[ -n "$pc" ] || fail "no cohort.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
root="$tmp/root$prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
pkgc() { pkg-config --define-variable=prefix="$root" "$@" cohort; }
libdir=$(pkgc --variable=libdir)
incdir=$(pkgc --variable=includedir)

echo "installed under DESTDIR (prefix $prefix):"
(cd "$tmp/root/" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) |
  grep -v '^/usr/share/man/man3/cohort_' | tee "$tmp/files"
echo "(and $(find "$tmp/root/" -path '*/man3/cohort_*' | wc -l) man3 links, one per function)"

# ---- the file list ------------------------------------------------------
major=$(sed -n "s/^cohort_soversion = '\([0-9]*\)'.*/\1/p" "$src/meson.build")
[ -n "$major" ] || fail "cannot read cohort_soversion from meson.build"
for f in "$libdir/libcohort.so.$major" "$libdir/libcohort.so" "$libdir/libcohort.a" \
         "$root/bin/cohort" "$root/bin/protoc-gen-cohort"; do
  [ -e "$f" ] || fail "not installed: ${f#"$tmp/root"}"
done
for h in "$src"/include/cohort/*.h; do
  [ -f "$incdir/cohort/$(basename "$h")" ] || fail "header not installed: $(basename "$h")"
done
n_inst=$(find "$incdir/cohort" -name '*.h' | wc -l)
n_src=$(find "$src/include/cohort" -name '*.h' | wc -l)
[ "$n_inst" -eq "$n_src" ] || fail "$n_inst headers installed, $n_src in the tree"
for m in "$src"/man/*.[0-9]; do
  [ -e "$m" ] || continue
  sect=${m##*.}
  [ -f "$root/share/man/man$sect/$(basename "$m")" ] ||
    [ -f "$root/share/man/man$sect/$(basename "$m").gz" ] ||
    fail "man page not installed: $(basename "$m")"
done

# `man cohort`, `man 3 cohort`, and a function's name leading to its header's page.
for q in "1 cohort" "3 cohort" "3 cohort_rpc_server_create" "1 protoc-gen-cohort"; do
  # shellcheck disable=SC2086
  MANPATH="$root/share/man" MANWIDTH=80 man -P cat $q > "$tmp/man.txt" 2>&1 ||
    fail "man $q: $(head -n 2 "$tmp/man.txt")"
done
grep -q 'COHORT-RPC(3)' "$tmp/man.txt" 2>/dev/null || {
  MANPATH="$root/share/man" man -P cat 3 cohort_rpc_server_create | grep -q 'COHORT-RPC(3)' ||
    fail "man cohort_rpc_server_create does not show cohort-rpc(3)"
}

# ---- soname and exported symbols ---------------------------------------
so=$(readlink -f "$libdir/libcohort.so")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcohort.so.$major" ] || fail "soname is '$soname', want libcohort.so.$major"
nm -D --defined-only "$so" | awk '{print $3}' | sort > "$tmp/exports"
[ -s "$tmp/exports" ] || fail "libcohort exports nothing"
bad=$(grep -v '^cohort_[a-z0-9]' "$tmp/exports" || true)
[ -z "$bad" ] || fail "exported beyond cohort_*: $(echo "$bad" | head -n 5 | tr '\n' ' ')"
undeclared=""
for s in $(cat "$tmp/exports"); do
  grep -qw "$s" "$incdir"/cohort/*.h || undeclared="$undeclared $s"
done
[ -z "$undeclared" ] || fail "exported but in no installed header:$undeclared"
echo "libcohort: soname $soname, $(wc -l < "$tmp/exports") symbols, all cohort_* and declared"

# ---- the README's programs, C and C++, shared and static ----------------
cflags=$(pkgc --cflags)
libs=$(pkgc --libs)
static_libs=$(pkgc --static --libs | sed 's/-lcohort\b/-l:libcohort.a/')
run() { LD_LIBRARY_PATH="$libdir" "$@"; }
for ex in clock node rpc; do
  # shellcheck disable=SC2086
  $CC -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/readme/$ex.c" $libs \
    -o "$tmp/$ex-c" || fail "$ex.c does not build as C against the installed library"
  # shellcheck disable=SC2086
  $CXX -std=c++20 -Wall -Wextra -Werror -x c++ $cflags "$src/examples/readme/$ex.c" \
    -x none $libs -o "$tmp/$ex-cxx" || fail "$ex.c does not build as C++"
  resolved=$(run ldd "$tmp/$ex-c" | sed -n 's/.*libcohort\.so[^ ]* => \([^ ]*\).*/\1/p')
  case $resolved in
    "$libdir"/*) ;;
    *) fail "$ex-c resolves libcohort to '$resolved', not the installed copy" ;;
  esac
  for v in c cxx; do
    echo "--- $ex ($v)"
    run "$tmp/$ex-$v" || fail "$ex ($v) exited $?"
  done
done
for ex in clock rpc; do
  # shellcheck disable=SC2086
  $CC -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/readme/$ex.c" $static_libs \
    -o "$tmp/$ex-static" || fail "$ex.c does not link against libcohort.a"
  if ldd "$tmp/$ex-static" | grep -q libcohort; then fail "$ex-static links libcohort.so"; fi
  echo "--- $ex (static)"
  "$tmp/$ex-static" || fail "$ex (static) exited $?"
done

# ---- the echo service with the installed protoc plugin ------------------
mkdir "$tmp/echo"
cp "$src"/examples/echo/*.c "$src"/examples/echo/*.h "$src"/examples/echo/echo.proto "$tmp/echo/"
(
  cd "$tmp/echo"
  protoc-c --c_out=. echo.proto
  protoc --plugin=protoc-gen-cohort="$root/bin/protoc-gen-cohort" --cohort_out=. echo.proto
  # shellcheck disable=SC2086
  $CC -Wall -Wextra -Werror $cflags -I. -o echo_server server.c echo_service.c \
    echo.pb-c.c echo.cohort.c $libs
  # shellcheck disable=SC2086
  $CC -Wall -Wextra -Werror $cflags -I. -o echo_client client.c echo.pb-c.c echo.cohort.c $libs
) || fail "examples/echo does not build with the installed protoc-gen-cohort and library"
echo "--- echo service (two processes)"
run sh "$src/examples/echo/run-example.sh" "$tmp/echo/echo_server" "$tmp/echo/echo_client" ||
  fail "examples/echo against the installed library"

# ---- each installed header alone ----------------------------------------
CC="$CC" CXX="$CXX" sh "$src/tests/api/headers_alone.sh" "$incdir"
echo "install test: ok"
