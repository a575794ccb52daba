#!/bin/sh
# Compressed traces and diagram slices from the command line (issue 13 s.5):
#  - the simulator writes NAME.gz compressed (gzip magic) with exactly the
#    bytes of the plain trace inside; every `cohort trace` command reads it
#    and answers as for the plain one (check --json, stats --json, merge,
#    diagram with the same title);
#  - `merge -o X.gz` writes compressed and reads back equal;
#  - a corrupt compressed trace is a clear error (exit 2), a truncated one
#    (a writer killed) reads up to where it stops, never crashes;
#  - slices: --from/--to/--nodes/--protos/--kinds cut the event count,
#    bad values and an empty slice exit 2 with a message.
set -eu
cohort=$1
src=$COHORT_SOURCE_ROOT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-gz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
scn="$src/scenarios/election-bully.scn"
"$cohort" sim "$scn" --seed 3 -o plain.jsonl > /dev/null || fail "sim plain"
"$cohort" sim "$scn" --seed 3 -o packed.jsonl.gz > /dev/null || fail "sim gz"
[ "$(od -An -tx1 -N2 packed.jsonl.gz | tr -d ' ')" = 1f8b ] || fail "not gzip"
zcat packed.jsonl.gz | cmp - plain.jsonl || fail "the compressed trace holds other bytes"
echo "trace: $(wc -c < plain.jsonl) bytes plain, $(wc -c < packed.jsonl.gz) gzip," \
  "$(wc -l < plain.jsonl) records"
for c in "check --json" "stats --json" "merge" "shiviz"; do
  # shellcheck disable=SC2086
  "$cohort" trace $c plain.jsonl > a.out 2>&1 || [ $? -eq 1 ] || fail "trace $c plain"
  # shellcheck disable=SC2086
  "$cohort" trace $c packed.jsonl.gz > b.out 2>&1 || [ $? -eq 1 ] || fail "trace $c gz"
  cmp a.out b.out || fail "trace $c answers differently for the compressed trace"
done
"$cohort" trace check plain.jsonl --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
# auto mode runs fd with accuracy=strict, which a lossy network may fail
# (the scenario itself checks only the election); the election must hold
assert r and {"checker", "violations", "first"} <= set(r[0]), r
assert all(c["ok"] for c in r if c["checker"].startswith("election")), r'
"$cohort" trace diagram plain.jsonl -o a.html --title t 2> /dev/null || fail "diagram plain"
"$cohort" trace draw packed.jsonl.gz -o b.html --title t 2> /dev/null || fail "draw gz"
cmp a.html b.html || fail "diagram of the compressed trace differs"
"$cohort" trace merge plain.jsonl -o m.jsonl.gz || fail "merge -o .gz"
[ "$(od -An -tx1 -N2 m.jsonl.gz | tr -d ' ')" = 1f8b ] || fail "merge -o .gz not compressed"
"$cohort" trace merge plain.jsonl > m.plain
"$cohort" trace merge m.jsonl.gz | cmp - m.plain || fail "merge round trip through .gz"

# corrupt: flip bytes in the middle of the deflate data
size=$(wc -c < packed.jsonl.gz)
cp packed.jsonl.gz bad.jsonl.gz
printf '\377\377\377\377\377\377\377\377' | dd of=bad.jsonl.gz bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
set +e
"$cohort" trace check bad.jsonl.gz > /dev/null 2> err.txt
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "bad.jsonl.gz" err.txt || fail "corrupt gz: exit $rc, $(cat err.txt)"
echo "corrupt: $(cat err.txt)"
# truncated: half the file, as a killed writer leaves it
head -c $((size / 2)) packed.jsonl.gz > cut.jsonl.gz
set +e
"$cohort" trace stats cut.jsonl.gz > cut.out 2> err.txt
rc=$?
set -e
[ $rc -eq 0 ] || { [ $rc -eq 2 ] && grep -q "cut.jsonl.gz:[0-9]*:" err.txt; } ||
  fail "truncated gz: exit $rc, $(cat err.txt)"
echo "truncated: exit $rc $(head -n 1 cut.out) $(cat err.txt)"

# slices
all=$("$cohort" trace draw plain.jsonl -o s.html 2>&1 | sed -n 's/.*: \([0-9]*\) of .*/\1/p')
some=$("$cohort" trace draw plain.jsonl -o s.html --from 5 --to 15 --nodes 1,3-4 \
  --protos bully --kinds send,state 2>&1 | sed -n 's/.*: \([0-9]*\) of .*/\1/p')
[ -n "$some" ] && [ "$some" -gt 0 ] && [ "$some" -lt "$all" ] || fail "slice: $some of $all"
for bad in "--nodes x" "--nodes 3-1" "--kinds send,nope" "--from 5 --to 2" "--from -1" \
           "--protos nosuch" "--from 1000"; do
  set +e
  # shellcheck disable=SC2086
  "$cohort" trace draw plain.jsonl -o s.html $bad > /dev/null 2> err.txt
  rc=$?
  set -e
  [ $rc -eq 2 ] && [ -s err.txt ] || fail "draw $bad: exit $rc"
done
echo "trace gz and slices: ok ($some of $all events in the slice)"
