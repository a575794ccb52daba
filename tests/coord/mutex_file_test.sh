#!/bin/bash
# tests/coord/mutex_file_test.sh COHORT — the mutex over real processes
# with a real critical section. N `cohort node` processes on loopback run
# the mutex workload=file: acquire, append "NODE SEQ enter TOKEN" to one
# shared file, hold, append "NODE SEQ exit TOKEN", release, again. Midway
# the coordinator (centralized: the highest id) or a ring member
# (token-ring) is killed with SIGKILL; the survivors must carry on.
#
# The file must show no interleaving — every enter is followed by the
# exit of the same node, seq and token, except the last enter of the
# killed node — fencing tokens strictly increasing over all enters, and
# entries by the survivors after the kill. Each algorithm runs in turn.
# Skipped (exit 77) if this build's registry has no "mutex" protocol.
set -u
cohort=$1
. "$(dirname "$0")/../runtime/lib.sh"

if ! "$cohort" node --help 2>&1 | grep -qw mutex; then
  echo "SKIP: 'mutex' is not in this build's protocol registry (src/core/registry.c)"
  exit 77
fi

N=4
dir=$(mktemp -d /tmp/cohort-mutex-XXXXXX)
cleanup() {
  "$cohort" cluster down --dir "$dir" --grace 1s >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

. "$(dirname "$0")/cs_file.sh"

run_one() {
  local algo=$1 dead=$2 log="$dir/cs-$1.log" base
  base=$(pick_base_port)
  local spec="mutex algorithm=$algo workload=file path=$log hold=3ms think=15ms start=1s"
  spec="$spec fd_interval=50ms fd_timeout=600ms retry=50ms lost=400ms"
  "$cohort" cluster up $N --dir "$dir" --base-port "$base" --proto "$spec" \
    --status-interval 1s || fail "cohort cluster up ($algo)"
  sleep 3
  [ -s "$log" ] || fail "$algo: nothing written to $log before the kill"
  local at_kill
  at_kill=$(wc -l < "$log")
  if [ "$dead" != 0 ]; then
    "$cohort" cluster kill "$dead" --dir "$dir" >/dev/null || fail "cohort cluster kill $dead"
  fi
  sleep 4
  "$cohort" cluster down --dir "$dir" >/dev/null || fail "cohort cluster down"
  check_logs_clean "$dir"
  echo -n "$algo (node $dead killed after $at_kill lines): "
  check_file "$log" "$dead" "$at_kill" || { tail -20 "$log"; fail "$algo: bad shared file"; }
  rm -f "$dir"/node-*.jsonl "$dir"/node-*.log
}

run_one centralized $N
run_one token-ring 2
run_one ricart-agrawala 0 # nobody killed: the permission algorithms would block
echo "PASS: mutex over $N processes around a shared file"
