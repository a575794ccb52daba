#!/bin/sh
# The man pages are current and clean: the section-3 pages match the headers
# they are generated from (scripts/gen-man3 --check), and every page formats
# without a single groff warning (-ww), as lintian's man check wants.
set -eu
src=$COHORT_SOURCE_ROOT
python3 "$src/scripts/gen-man3" --check
n=0
for m in "$src"/man/*.[0-9]; do
  out=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$m" 2>&1) || { echo "groff failed on $m" >&2; exit 1; }
  if [ -n "$out" ]; then
    echo "groff warnings in $(basename "$m"):" >&2
    echo "$out" >&2
    exit 1
  fi
  if LC_ALL=C grep -q '[^ -~]' "$m"; then
    echo "$(basename "$m"): non-ASCII bytes (use groff escapes)" >&2
    exit 1
  fi
  n=$((n + 1))
done
[ "$n" -ge 3 ] || { echo "only $n man pages" >&2; exit 1; }
echo "man pages: $n pages current and free of groff warnings"
