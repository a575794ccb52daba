#!/bin/sh
# The env-contract check must catch what it exists to catch: a protocol
# file that reads the clock, draws randomness, prints or includes a socket
# header fails it; a clean one and comments that merely mention time() pass.
set -eu
check="$COHORT_SOURCE_ROOT/scripts/check-env-contract"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/detect"
cat > "$tmp/src/detect/ok.c" <<'C'
/* Asks the node for time (never calls time() itself). */
static long f(struct node *n) { return n->host_ops->random(n) + cohort_node_now(n); }
C
COHORT_CONTRACT_ROOT="$tmp" "$check" >/dev/null
for bad in 'long t = time(NULL);' 'clock_gettime(CLOCK_MONOTONIC, &ts);' 'int r = rand();' \
           'printf("x");' '#include <sys/socket.h>' '#include <stdio.h>' 'srandom(4);'; do
  printf '%s\n' "$bad" > "$tmp/src/detect/bad.c"
  if COHORT_CONTRACT_ROOT="$tmp" "$check" >/dev/null 2>&1; then
    echo "env-contract check missed: $bad" >&2
    exit 1
  fi
done
rm "$tmp/src/detect/bad.c"
echo "env-contract check: catches all 7 violations, passes the clean file"
