# tests/runtime/lib.sh — bash helpers shared by the multi-process runtime tests
# (sourced, not run). Reads per-node JSON Lines traces with grep and sed:
# the records are one object per line with fields in a fixed order
# (docs/trace-format.md), so no JSON parser is needed for the few fields
# used here. All arithmetic is on 64-bit integers (ns since the epoch).

FD_PROTO=${FD_PROTO:-"fd detector=phi threshold=8 interval=100ms pause=500ms"}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

now_ns() { date +%s%N; }

# A base port unlikely to collide with another test running at the same
# time (meson runs tests in parallel): 20000 + 16 * (pid mod 2500).
pick_base_port() { echo $((20000 + 16 * ($$ % 2500))); }

# "1@127.0.0.1:P1,2@..." for nodes 1..N except $1; $2 = N, $3 = address
# prefix (or "lo" for 127.0.0.1 with consecutive ports from $4).
peers_of() {
  local self=$1 n=$2 mode=$3 base=${4:-0} out="" i=1 a
  while [ "$i" -le "$n" ]; do
    if [ "$i" != "$self" ]; then
      if [ "$mode" = lo ]; then a="127.0.0.1:$((base + i - 1))"; else a="$mode.$i:7400"; fi
      out="${out:+$out,}$i@$a"
    fi
    i=$((i + 1))
  done
  echo "$out"
}

# "TT PEER" for every suspect record in trace $1 ("recover" with $2).
state_events() {
  local what=${2:-suspect}
  sed -n "s/.*\"tt\":\([0-9]*\),.*\"what\":\"$what\",\"data\":{\"peer\":\([0-9]*\).*/\1 \2/p" "$1"
}

# Time (tt) of node's first suspicion of $2 in trace $1, or empty.
first_suspect_of() {
  state_events "$1" suspect | awk -v p="$2" '$2 == p { print $1; exit }'
}

# Every node of 1..$2 has received at least one message from every other.
check_all_heard() {
  local dir=$1 n=$2 i j
  for i in $(seq 1 "$n"); do
    for j in $(seq 1 "$n"); do
      [ "$i" = "$j" ] && continue
      grep -q "\"ev\":\"recv\".*\"peer\":$j," "$dir/node-$i.jsonl" ||
        fail "node $i received nothing from node $j"
    done
  done
}

# Wait up to $2 seconds until every trace in $1 (space-separated list)
# contains a suspicion of node $3.
wait_suspected() {
  local traces=$1 limit=$2 dead=$3 waited=0 all t
  while [ "$waited" -lt $((limit * 10)) ]; do
    all=1
    for t in $traces; do
      [ -n "$(first_suspect_of "$t" "$dead")" ] || all=0
    done
    [ "$all" = 1 ] && return 0
    sleep 0.1
    waited=$((waited + 1))
  done
  return 1
}

# The checks of the failure-detector test on the final traces:
#   completeness: every survivor suspects the dead node within bound_ms of
#                 the kill;
#   strict accuracy: no suspicion of a live node, none of the dead node
#                 before the kill.
# $1 = dir with node-ID.jsonl, $2 = N, $3 = dead id, $4 = kill time ns,
# $5 = bound in ms.
check_fd_traces() {
  local dir=$1 n=$2 dead=$3 t_kill=$4 bound_ms=$5 i=1 t tt peer ms
  while [ "$i" -le "$n" ]; do
    t="$dir/node-$i.jsonl"
    [ -s "$t" ] || fail "node $i wrote no trace ($t)"
    state_events "$t" suspect > "$dir/suspects-$i.txt"
    while read -r tt peer; do
      [ "$peer" = "$dead" ] || fail "node $i suspected live node $peer (tt $tt)"
      [ "$tt" -ge "$t_kill" ] || fail "node $i suspected $dead before it was killed"
    done < "$dir/suspects-$i.txt"
    if [ "$i" != "$dead" ]; then
      tt=$(first_suspect_of "$t" "$dead")
      [ -n "$tt" ] || fail "node $i never suspected the killed node $dead"
      ms=$(((tt - t_kill) / 1000000))
      [ "$ms" -le "$bound_ms" ] || fail "node $i suspected $dead after $ms ms > $bound_ms ms"
      echo "node $i suspected node $dead ${ms} ms after the kill"
    fi
    i=$((i + 1))
  done
}

# The trace engineer's checkers over the merged per-node traces: fd
# (completeness within the bound after the inferred crash, strict
# accuracy) and causality (Lamport, HLC and vector stamps agree with
# happened-before). $1 = cohort, $2 = bound, then the trace files.
run_trace_checkers() {
  local cohort=$1 bound=$2
  shift 2
  if ! "$cohort" trace check --help 2>&1 | grep -qw fd; then
    echo "note: this build's 'cohort trace check' has no fd checker; traces checked here only"
    return 0
  fi
  "$cohort" trace check "$@" --checker fd,causality "fd.bound=$bound" fd.accuracy=strict ||
    fail "cohort trace check (fd, causality) rejected the traces"
}

# No node may have reported a sanitizer error or failed to shut down.
check_logs_clean() {
  local dir=$1 log
  for log in "$dir"/node-*.log; do
    if grep -q "Sanitizer" "$log"; then
      cat "$log" >&2
      fail "sanitizer report in $log"
    fi
  done
}
