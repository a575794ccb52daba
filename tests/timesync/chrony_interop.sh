#!/bin/sh
# tests/timesync/chrony_interop.sh COHORT — cohort's NTP against chrony, on
# loopback, both ways. Both ends read the same system clock, so the true
# offset is 0 and every measured offset is error.
#
#  1. chronyd serves (`local stratum 8`, -x: never touches the clock) and
#     `cohort ntp query --samples 1000` must get its replies, with chrony's
#     stratum, and measure a median |offset| within BOUND;
#  2. `cohort ntp serve` serves and chronyd (-x) polls it every 1/16 s,
#     logging its measurements; chrony must select it as a source, and the
#     median |offset| in the measurements log must be within BOUND.
#
# BOUND is functional (10 ms: "synchronised", not "fast"): a test asserts
# no speed figure, since a loaded machine moves microseconds. The
# microsecond figures and issue 4's targets (p50 5 us, p99 50 us) are in
# `cohort bench clock --only chrony`, beside chronyd against itself.
# Exit 77 (skip) when chronyd is not installed.
set -u
COHORT=${1:?usage: chrony_interop.sh PATH/TO/cohort}
CHRONYD=$(command -v chronyd || ls /usr/sbin/chronyd 2>/dev/null || true)
if [ -z "$CHRONYD" ]; then
  echo "SKIP: chronyd not installed (apt-get install chrony)"
  exit 77
fi
dir=$(mktemp -d /tmp/cohort-chrony.XXXXXX)
server_pid=""
cleanup() {
  [ -f "$dir/s/pid" ] && kill "$(cat "$dir/s/pid")" 2>/dev/null
  [ -f "$dir/c/pid" ] && kill "$(cat "$dir/c/pid")" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
user=$(id -un)
fail=0
base=$(( 20000 + $$ % 20000 ))
bound=0.010

# check NAME P50 P99: the median within the functional bound (the figures
# are printed for the log only).
check() {
  echo "$1: |offset| p50 $(awk "BEGIN{printf \"%.2f\", $2*1e6}") us, p99 $(awk "BEGIN{printf \"%.2f\", $3*1e6}") us (bound: p50 <= 10 ms)"
  if awk "BEGIN{exit !($2 >= 0 && $2 <= $bound)}"; then :; else
    echo "FAIL: $1: median |offset| $2 s is not within $bound s (not synchronised)"
    fail=1
  fi
}

# ---- 1. cohort client, chrony server --------------------------------------
mkdir -p "$dir/s"
port=$base
cat > "$dir/s/chrony.conf" <<CONF
port $port
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
pidfile $dir/s/pid
driftfile $dir/s/drift
CONF
"$CHRONYD" -u "$user" -x -d -f "$dir/s/chrony.conf" > "$dir/s/log" 2>&1 &
ok=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  if "$COHORT" ntp query "127.0.0.1:$port" --timeout 200ms > /dev/null 2>&1; then ok=1; break; fi
  sleep 0.25
done
if [ $ok = 0 ]; then
  echo "FAIL: chronyd did not answer on 127.0.0.1:$port"; cat "$dir/s/log"; exit 1
fi
"$COHORT" ntp query "127.0.0.1:$port" > "$dir/q1.txt" || fail=1
cat "$dir/q1.txt"
json=$("$COHORT" ntp query "127.0.0.1:$port" --samples 1000 --interval 1ms --json) || {
  echo "FAIL: cohort ntp query failed"; exit 1; }
echo "$json"
get() { echo "$json" | sed -n "s/.*\"$1\":\([-0-9.e]*\).*/\1/p"; }
samples=$(get samples)
[ "$samples" -ge 990 ] || { echo "FAIL: only $samples of 1000 replies"; fail=1; }
[ "$(get stratum)" = 9 ] || [ "$(get stratum)" = 8 ] || { echo "FAIL: stratum $(get stratum), chrony serves 8"; fail=1; }
check "cohort query -> chronyd ($samples samples)" "$(get abs_offset_p50_s)" "$(get abs_offset_p99_s)"
kill "$(cat "$dir/s/pid")" 2>/dev/null

# ---- 2. chrony client, cohort server ----------------------------------------
port=$((base + 1))
"$COHORT" ntp serve --listen "127.0.0.1:$port" --rate-limit off --duration 40s \
  > "$dir/serve.log" 2>&1 &
server_pid=$!
sleep 0.3
mkdir -p "$dir/c"
cat > "$dir/c/chrony.conf" <<CONF
server 127.0.0.1 port $port iburst minpoll -4 maxpoll -4
port 0
cmdport 0
pidfile $dir/c/pid
driftfile $dir/c/drift
logdir $dir/c
log measurements
CONF
timeout 9 "$CHRONYD" -u "$user" -x -d -f "$dir/c/chrony.conf" > "$dir/c/log" 2>&1
kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
cat "$dir/serve.log"
grep -q "Selected source 127.0.0.1" "$dir/c/log" || {
  echo "FAIL: chronyd did not select cohort's server"; cat "$dir/c/log"; fail=1; }
# Column 12 of measurements.log is the offset; skip the header and the
# first 4 samples (chrony's cold start, before it has a delay estimate).
awk '/^[0-9]/ {print $12}' "$dir/c/measurements.log" | tail -n +5 |
  awk '{ v = $1 < 0 ? -$1 : $1; print v }' | sort -g > "$dir/offsets"
n=$(wc -l < "$dir/offsets")
[ "$n" -ge 20 ] || { echo "FAIL: chronyd logged only $n measurements"; exit 1; }
p50=$(awk -v n="$n" 'NR == int((n + 1) / 2) {print}' "$dir/offsets")
p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999) {print}' "$dir/offsets")
check "chronyd -> cohort serve ($n samples)" "$p50" "$p99"
[ $fail = 0 ] && echo "PASS: chrony interop both ways"
exit $fail
