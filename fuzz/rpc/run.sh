#!/bin/sh
# fuzz/rpc/run.sh SECONDS — build the RPC fuzz target with clang's libFuzzer
# (+ ASan/UBSan) and fuzz for SECONDS (default 30), starting from the
# committed corpus in fuzz/rpc/corpus. New inputs go to a scratch
# directory, so the committed corpus only changes by hand (-merge=1 into
# it when a run finds something worth keeping). Exit status non-zero when
# the fuzzer finds a crash, leak or sanitizer report; the reproducer is
# left in $OUT (printed).
set -eu
SECONDS_BUDGET=${1:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$(mktemp -d /tmp/cohort-fuzz-rpc.XXXXXX)}
CC=${CLANG:-clang}
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I$ROOT/include -I$OUT"
protoc-c --proto_path="$ROOT/proto" --c_out="$OUT" "$ROOT/proto/rpc_status.proto" \
  "$ROOT/proto/grpc_health_v1.proto"
SRC="$OUT/rpc_status.pb-c.c $OUT/grpc_health_v1.pb-c.c $ROOT/src/rpc/health.c $ROOT/src/rpc/details.c $ROOT/src/rpc/gzip.c $ROOT/src/rpc/sim/stream.c $ROOT/src/core/pbc.c $ROOT/src/rpc/wire.c $ROOT/src/rpc/conn.c $ROOT/src/rpc/call.c $ROOT/src/rpc/scall.c \
  $ROOT/src/rpc/ccall.c $ROOT/src/rpc/io.c $ROOT/src/rpc/server.c $ROOT/src/rpc/channel.c \
  $ROOT/src/core/alloc.c $ROOT/src/core/error.c"
echo "building fuzz_rpc in $OUT"
# shellcheck disable=SC2086
$CC $CFLAGS $SRC "$ROOT/fuzz/rpc/fuzz_rpc.c" -o "$OUT/fuzz_rpc" \
  $(pkg-config --libs libnghttp2 libuv openssl libprotobuf-c zlib)
mkdir -p "$OUT/new"
echo "fuzzing for ${SECONDS_BUDGET}s"
"$OUT/fuzz_rpc" -max_total_time="$SECONDS_BUDGET" -timeout=10 -rss_limit_mb=1024 \
  -artifact_prefix="$OUT/" -print_final_stats=1 "$OUT/new" "$ROOT/fuzz/rpc/corpus"
echo "ok: no crash in ${SECONDS_BUDGET}s (scratch: $OUT)"
