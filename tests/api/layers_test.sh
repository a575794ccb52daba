#!/bin/sh
# scripts/check-layers must catch what it exists to catch, on a scratch tree:
# a protocol including a trace-analysis or host header, the clock folder
# including a protocol header, a folder reaching into another's private
# header, the core naming a protocol factory, and a public header without a
# rank; a clean tree passes.
set -eu
check="$COHORT_SOURCE_ROOT/scripts/check-layers"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/include/cohort" "$tmp/src/detect" "$tmp/src/clock" "$tmp/src/core"
for h in core.h node.h detect.h clock.h; do : > "$tmp/include/cohort/$h"; done
printf '#include "cohort/detect.h"\n#include "cohort/node.h"\n#include <string.h>\n' \
  > "$tmp/src/detect/ok.c"
"$check" "$tmp" > /dev/null
n=0
for bad in 'src/detect/bad.c:#include "cohort/trace_util.h"' \
           'src/detect/bad.c:#include "cohort/runtime.h"' \
           'src/detect/bad.c:#include "cohort/sim.h"' \
           'src/clock/bad.c:#include "cohort/detect.h"' \
           'src/core/bad.c:#include "cohort/election.h"' \
           'src/detect/bad.c:#include "../coord/mutex_internal.h"' \
           'src/core/bad.c:extern const cohort_proto_factory_t cohort_fd_factory;' \
           'include/cohort/newthing.h:/* no rank */' \
           'include/cohort/node.h:#include "cohort/detect.h"'; do
  file=${bad%%:*}
  line=${bad#*:}
  cp "$tmp/$file" "$tmp/keep" 2>/dev/null || : > "$tmp/keep"
  printf '%s\n' "$line" > "$tmp/$file"
  if "$check" "$tmp" > /dev/null 2>&1; then
    echo "check-layers missed: $file: $line" >&2
    exit 1
  fi
  case $file in
    */bad.c|*/newthing.h) rm "$tmp/$file" ;;
    *) cp "$tmp/keep" "$tmp/$file" ;;
  esac
  n=$((n + 1))
done
"$check" "$tmp" > /dev/null
echo "check-layers: catches all $n crossings, passes the clean tree"
