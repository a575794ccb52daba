#!/bin/bash
# tests/coord/mutex_kill_trace.sh COHORT — a trace line is written before
# the effect it records leaves the process (issue 9 item 7). Three
# `cohort node` processes on loopback run the centralized mutex with
# workload=file: each appends "NODE SEQ enter TOKEN" to a shared file when
# granted, holds 300 ms, appends the exit and releases. The test watches
# the file and SIGKILLs a holder (node 1 or 2: node 3 is the coordinator)
# just after its enter line appears, then restarts it as a new
# incarnation with a trace file of its own, KILLS times.
#
# Every enter in the shared file must have its lock_grant (same node,
# same token) in that node's traces: the host flushes the node's trace
# before the recorder writes the file (tools/mutex_workload.c), so a kill
# cannot leave an effect without its record. The heartbeats are slow
# (500 ms) so that no send flushes the trace by chance in between; before
# the flush was added, kills inside the critical section lost their grants.
# Bounded: at most KILLS kills and 60 s of watching.
set -u
cohort=$1
. "$(dirname "$0")/../runtime/lib.sh"

if ! "$cohort" node --help 2>&1 | grep -qw mutex; then
  echo "SKIP: 'mutex' is not in this build's protocol registry"
  exit 77
fi

N=3
KILLS=${KILLS:-6}
dir=$(mktemp -d "/tmp/cohort$$-killtrace-XXXXXX")
declare -a pids incs
cleanup() {
  for i in $(seq 1 $N); do
    [ -n "${pids[$i]:-}" ] && kill -9 "${pids[$i]}" 2>/dev/null
  done
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

base=$(pick_base_port)
log="$dir/cs.log"
spec="mutex algorithm=centralized workload=file path=$log hold=300ms think=20ms start=1s"
spec="$spec fd_interval=500ms fd_timeout=3s retry=100ms lost=1s"

start_node() {
  local i=$1
  incs[$i]=$(( ${incs[$i]:-0} + 1 ))
  "$cohort" node --id "$i" --listen "127.0.0.1:$((base + i - 1))" \
    --peers "$(peers_of "$i" $N lo "$base")" --proto "$spec" --status-interval 0s \
    --trace "$dir/node-$i.${incs[$i]}.jsonl" > "$dir/node-$i.${incs[$i]}.log" 2>&1 &
  pids[$i]=$!
}

for i in $(seq 1 $N); do start_node "$i"; done

# Watch the shared file: when its last line is an enter by node 1 or 2,
# kill that node at once and start it again.
kills=0
seen=0
deadline=$(( $(date +%s) + 60 ))
while [ "$kills" -lt "$KILLS" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 0.005
  [ -s "$log" ] || continue
  lines=$(wc -l < "$log")
  [ "$lines" -gt "$seen" ] || continue
  seen=$lines
  last=$(sed -n "${lines}p" "$log") # the line counted, whatever was appended since
  set -- $last
  [ "$#" = 4 ] && [ "$3" = enter ] && { [ "$1" = 1 ] || [ "$1" = 2 ]; } || continue
  victim=$1
  kill -9 "${pids[$victim]}" 2>/dev/null
  wait "${pids[$victim]}" 2>/dev/null
  kills=$((kills + 1))
  echo "killed node $victim inside its critical section (token $4)"
  sleep 0.2
  start_node "$victim"
done
[ "$kills" -ge 3 ] || fail "only $kills holders killed in 60 s (the workload did not run)"
sleep 1
for i in $(seq 1 $N); do kill "${pids[$i]}" 2>/dev/null; done
wait 2>/dev/null
pids=()

# Every enter of the shared file, matched against the grants of the node's
# traces (all its incarnations): "NODE TOKEN" pairs on both sides.
awk '$3 == "enter" { print $1, $4 }' "$log" | sort -u > "$dir/enters"
for i in $(seq 1 $N); do
  cat "$dir"/node-"$i".*.jsonl |
    sed -n "s/.*\"what\":\"lock_grant\",\"data\":{\"req\":[0-9]*,\"token\":\([0-9]*\)}.*/$i \1/p"
done | sort -u > "$dir/grants"
enters=$(wc -l < "$dir/enters")
[ "$enters" -ge 5 ] || fail "only $enters critical-section entries"
missing=$(comm -23 "$dir/enters" "$dir/grants")
if [ -n "$missing" ]; then
  echo "enters in $log without their lock_grant in the trace (node token):"
  echo "$missing"
  fail "$(echo "$missing" | wc -l) of $enters entries have no lock_grant record"
fi
echo "PASS: $kills holders killed; all $enters entries have their lock_grant in the trace"
