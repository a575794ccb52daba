#!/bin/bash
# The diagrams as a person sees them (issue 13 s.5), in headless Chromium:
#  1. the demo's diagram: `scripts/demo` runs five real `cohort node`
#     processes (on ports picked from this PID), kills the leader, merges
#     and draws the traces; the page must open and draw all its events;
#  2. a 1,006,080-event diagram (heartbeat-64.scn cut to 12 s): it must be
#     at most a few tens of MB, open within 30 s, and zoom from the whole
#     run (density) to single messages in a 2 ms window, and filter nodes;
#  3. the same trace sliced with `cohort trace draw --from --to --nodes`.
# Screenshots go to $COHORT_BUILD_ROOT/browser-shots/ for a look. Skips
# (77) when Chromium or python3-websocket is missing, saying which.
set -u
cohort=$1
src=$COHORT_SOURCE_ROOT
out=${COHORT_BUILD_ROOT:-/tmp}/browser-shots
py=/usr/bin/python3
[ -x "$py" ] || py=python3
command -v chromium > /dev/null || [ -x /usr/bin/chromium ] ||
  { echo "SKIP: no chromium (Debian package 'chromium'; scripts/install-deps installs it)"; exit 77; }
"$py" -c 'import websocket' 2> /dev/null ||
  { echo "SKIP: no python3-websocket (scripts/install-deps installs it)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-browser.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the demo, on ports of our own
port=$((30000 + 8 * ($$ % 3000)))
COHORT_BIN=$cohort DEMO_DIR="$tmp/demo" DEMO_HTML="$tmp/demo.html" DEMO_BASE_PORT=$port \
  "$src/scripts/demo" > "$tmp/demo.log" 2>&1 || { tail -n 30 "$tmp/demo.log"; fail "scripts/demo"; }
demo_events=$("$cohort" trace stats "$tmp/demo/merged.jsonl" --json |
  sed -n 's/^{"events":\([0-9]*\),.*/\1/p')
[ -n "$demo_events" ] || fail "cannot count the demo's events"
cp "$tmp/demo.html" "$out/demo.html"

# 2. a million events
sed 's/^duration 60s/duration 12s/' "$src/scenarios/heartbeat-64.scn" > "$tmp/hb12.scn"
"$cohort" sim "$tmp/hb12.scn" --seed 1 -o "$tmp/hb12.jsonl.gz" > /dev/null || fail "sim hb12"
t0=$(date +%s.%N)
"$cohort" trace diagram "$tmp/hb12.jsonl.gz" -o "$tmp/million.html" 2> "$tmp/draw.log" ||
  { cat "$tmp/draw.log"; fail "diagram of 1M events"; }
t1=$(date +%s.%N)
cat "$tmp/draw.log"
million_events=$(sed -n 's/.*: \([0-9]*\) of [0-9]* events drawn.*/\1/p' "$tmp/draw.log")
[ "${million_events:-0}" -gt 900000 ] || fail "the 1M-event trace has ${million_events:-no} events"
size=$(stat -c %s "$tmp/million.html")
echo "1M-event page: $size bytes, written in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
[ "$size" -lt $((40 * 1024 * 1024)) ] || fail "the 1M-event page is $size bytes (> 40 MiB)"

# 3. a slice of it: 2 s, nodes 1 and 3
"$cohort" trace draw "$tmp/hb12.jsonl.gz" -o "$tmp/slice.html" --from 4 --to 6 --nodes 1,3 \
  2> "$tmp/slice.log" || { cat "$tmp/slice.log"; fail "draw a slice"; }
slice_events=$(sed -n 's/.*: \([0-9]*\) of [0-9]* events drawn.*/\1/p' "$tmp/slice.log")

"$py" "$src/tests/browser/diagram_browser.py" "$out" \
  "$tmp/demo.html" "$demo_events" 5 \
  "$tmp/million.html" "$million_events" 64 --zoom --max-load 30 \
  "$tmp/slice.html" "$slice_events" 2 || exit 1
