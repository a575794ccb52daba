#!/bin/sh
# The env-contract check covers the RPC core (issue 12): a core file of
# src/rpc that calls libuv or OpenSSL, reads cohort_rpc_now_ns() or includes
# <uv.h> fails it; the named host files (io.c, server.c, channel.c) may.
set -eu
check="$COHORT_SOURCE_ROOT/scripts/check-env-contract"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/rpc"
printf '%s\n' 'int64_t t = uv_hrtime();' '#include <uv.h>' > "$tmp/src/rpc/io.c"
printf '%s\n' '/* uv_hrtime() named in a comment */' 'static int f(rpc_conn_t *c) { return c->now; }' \
  > "$tmp/src/rpc/conn.c"
COHORT_CONTRACT_ROOT="$tmp" "$check" >/dev/null
for bad in 'int64_t t = uv_hrtime();' 'SSL_read(ssl, b, n);' '#include <uv.h>' \
           '#include <openssl/ssl.h>' 'int64_t now = cohort_rpc_now_ns();' 'printf("x");' \
           'BIO_write(b, p, n);'; do
  printf '%s\n' "$bad" > "$tmp/src/rpc/scall.c"
  if COHORT_CONTRACT_ROOT="$tmp" "$check" >/dev/null 2>&1; then
    echo "env-contract check missed in src/rpc: $bad" >&2
    exit 1
  fi
done
echo "env-contract check (src/rpc): catches all 7 violations, passes core and host files"
