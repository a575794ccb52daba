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

# check_file FILE DEAD LINES_AT_KILL
check_file() {
  awk -v dead="$2" -v at_kill="$3" '
    function bad(msg) { printf "FAIL: %s line %d: %s\n", FILENAME, NR, msg; err = 1; exit 1 }
    # Tokens are 64-bit: compare them as digit strings, not as doubles.
    function above(a, b) { return length(a) != length(b) ? length(a) > length(b) : (a "") > (b "") }
    NF != 4 { bad("malformed: " $0) }
    $3 == "enter" {
      if (open != "" && open_node != dead) bad("enter of node " $1 " inside " open)
      if ($4 !~ /^[0-9]+$/) bad("token " $4 " is not a number")
      if (NR > 1 && !above($4, last_token)) bad("token " $4 " not above " last_token)
      last_token = $4; open = $1 " " $2 " " $4; open_node = $1; enters++
      if (NR > at_kill && $1 != dead) after++
      next
    }
    $3 == "exit" || $3 == "expire" {
      if (open != $1 " " $2 " " $4) bad($3 " " $1 " " $2 " " $4 " but inside: " open)
      open = ""; next
    }
    { bad("unknown record: " $0) }
    END {
      if (err) exit 1
      if (enters < 10) { printf "FAIL: only %d entries\n", enters; exit 1 }
      if (after < 5) { printf "FAIL: only %d entries after the kill\n", after; exit 1 }
      printf "%d entries, %d by survivors after the kill, tokens increasing, no interleaving\n",
             enters, after
    }' "$1"
}

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
