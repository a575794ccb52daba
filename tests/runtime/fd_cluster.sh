#!/bin/bash
# tests/runtime/fd_cluster.sh COHORT MODE — 5 `cohort node` processes over
# UDP with the phi accrual detector; node 3 is killed with SIGKILL; every
# survivor must suspect it within BOUND_MS of the kill and no live node may
# ever be suspected (read from the per-node traces).
#
# MODE loopback: the nodes run on 127.0.0.1 via `cohort cluster up/kill/
#   down`, which this also tests.
# MODE netns: each node in its own network namespace, joined by veth pairs
#   to a bridge inside one more namespace the test creates, addresses
#   198.18.0.1-5 (RFC 2544 benchmarking range), so traffic crosses a real
#   (virtual) network. Skipped (exit 77) where namespaces cannot be made.
#   The namespaces are always removed (trap).
set -u
cohort=$1
mode=${2:-loopback}
. "$(dirname "$0")/lib.sh"

N=5
DEAD=3
BOUND_MS=${BOUND_MS:-3000}
WARMUP_S=2
dir=$(mktemp -d /tmp/cohort-fd-XXXXXX)
ns_prefix="cohort$$"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  if [ "$mode" = loopback ]; then "$cohort" cluster down --dir "$dir" --grace 1s >/dev/null 2>&1; fi
  if [ "$mode" = netns ]; then
    for i in $(seq 1 $N); do ip netns del "${ns_prefix}n$i" 2>/dev/null; done
    ip netns del "${ns_prefix}br" 2>/dev/null
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# ---- netns set-up ------------------------------------------------------------

netns_setup() {
  if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "SKIP: network namespaces need root and iproute2"
    exit 77
  fi
  if ! ip netns add "${ns_prefix}br" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here (ip netns add failed)"
    exit 77
  fi
  local br="${ns_prefix}br"
  ip -n "$br" link add br0 type bridge || fail "cannot create a bridge"
  ip -n "$br" link set br0 up
  for i in $(seq 1 $N); do
    local ns="${ns_prefix}n$i"
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$br" link add "v$i" type veth peer name eth0 netns "$ns" || fail "veth $i"
    ip -n "$br" link set "v$i" master br0 up
    ip -n "$ns" addr add "198.18.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
}

netns_start() {
  for i in $(seq 1 $N); do
    ip netns exec "${ns_prefix}n$i" "$cohort" node --id "$i" --listen "198.18.0.$i:7400" \
      --peers "$(peers_of "$i" $N 198.18.0)" --proto "$FD_PROTO" --vector-clock \
      --trace "$dir/node-$i.jsonl" --status-interval 1s > "$dir/node-$i.log" 2>&1 &
    pids[$i]=$!
  done
}

# ---- run ----------------------------------------------------------------------

if [ "$mode" = netns ]; then
  netns_setup
  netns_start
else
  base=$(pick_base_port)
  "$cohort" cluster up $N --dir "$dir" --base-port "$base" --proto "$FD_PROTO" \
    --vector-clock --status-interval 1s || fail "cohort cluster up"
fi

sleep $WARMUP_S
# Before the kill every node must have heard from every other (through
# the bridge in netns mode): otherwise the detector is not to blame.
check_all_heard "$dir" $N

t_kill=$(now_ns)
if [ "$mode" = netns ]; then
  kill -9 "${pids[$DEAD]}" || fail "kill node $DEAD"
  wait "${pids[$DEAD]}" 2>/dev/null
else
  "$cohort" cluster kill $DEAD --dir "$dir" || fail "cohort cluster kill"
fi

survivors=""
for i in $(seq 1 $N); do [ "$i" = $DEAD ] || survivors="$survivors $dir/node-$i.jsonl"; done
wait_suspected "$survivors" $((BOUND_MS / 1000 + 2)) $DEAD ||
  echo "not every survivor suspected node $DEAD in time (checked below)"
sleep 0.5 # a little more run after the suspicion: no false suspicion may follow

if [ "$mode" = netns ]; then
  for i in $(seq 1 $N); do [ "$i" = $DEAD ] || kill -TERM "${pids[$i]}"; done
  for i in $(seq 1 $N); do
    [ "$i" = $DEAD ] && continue
    wait "${pids[$i]}" || fail "node $i exited with status $? after SIGTERM"
  done
  pids=()
else
  "$cohort" cluster down --dir "$dir" || fail "cohort cluster down"
  grep -q "shutting down" "$dir/node-1.log" || fail "node 1 did not shut down on SIGTERM"
fi

check_logs_clean "$dir"
check_fd_traces "$dir" $N $DEAD "$t_kill" "$BOUND_MS"
run_trace_checkers "$cohort" "${BOUND_MS}ms" "$dir"/node-*.jsonl
echo "PASS: fd over $mode: survivors suspected node $DEAD within ${BOUND_MS} ms, no false suspicion"
