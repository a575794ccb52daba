#!/bin/sh
# tools/protoc-gen-cohort/tests/run-errors.sh — protoc-gen-cohort refuses
# bad input with a clear message and never crashes: each case runs protoc
# (or the plugin directly) and checks the exit status and the message.
#
# usage: run-errors.sh PROTOC PLUGIN TESTS_DIR SCRATCH_DIR
set -u
protoc=$1 plugin=$2 dir=$3 out=$4
rm -rf "$out" && mkdir -p "$out"
fails=0

# expect_fail NAME EXPECTED-TEXT COMMAND...: the command must fail and its
# stderr contain the text.
expect_fail() {
  name=$1 want=$2
  shift 2
  if "$@" > "$out/stdout" 2> "$out/stderr"; then
    echo "FAIL $name: succeeded"; fails=$((fails + 1)); return
  fi
  if ! grep -qF -- "$want" "$out/stderr"; then
    echo "FAIL $name: stderr lacks '$want':"; cat "$out/stderr"; fails=$((fails + 1)); return
  fi
  echo "ok   $name"
}

gen() { "$protoc" --plugin=protoc-gen-cohort="$plugin" -I"$dir" -I/usr/include "$@"; }

expect_fail "clashing method names" \
  "would both define the C name clash_s_say_blocking" gen --cohort_out="$out" clash.proto
expect_fail "method named like the service's register function" \
  "would both define the C name clash_s2_register" sh -c \
  "sed '/rpc SayBlocking/d' '$dir/clash.proto' > '$out/clash2.proto' && \
   '$protoc' --plugin=protoc-gen-cohort='$plugin' -I'$out' --cohort_out='$out' clash2.proto"
expect_fail "server struct member clash" \
  "would both define the C name ud" gen --cohort_out="$out" member_clash.proto
expect_fail "protobuf-c c_package option" \
  "(pb_c_file).c_package is not supported" gen --cohort_out="$out" pbc_option.proto
expect_fail "plugin options" \
  "takes no options (got 'verbose=1')" gen --cohort_out=verbose=1:"$out" no_service.proto
expect_fail "garbage on stdin" "is not a CodeGeneratorRequest" \
  sh -c "printf '\377\377\377\377garbage' | '$plugin'"
expect_fail "unknown argument" "usage:" "$plugin" --bogus

# A file without services still gets both files; --help succeeds.
if gen --cohort_out="$out" no_service.proto && [ -s "$out/no_service.cohort.h" ] &&
   [ -s "$out/no_service.cohort.c" ] && "$plugin" --help > /dev/null; then
  echo "ok   no services, --help"
else
  echo "FAIL no services or --help"; fails=$((fails + 1))
fi
# An empty request (no files) is answered with an empty response.
if "$plugin" < /dev/null > "$out/empty.bin"; then
  echo "ok   empty request"
else
  echo "FAIL empty request"; fails=$((fails + 1))
fi
exit $((fails != 0))
