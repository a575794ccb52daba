#!/bin/bash
# tests/group/group_cluster.sh COHORT MODE — the group membership protocol
# over real UDP with 5 `cohort node` processes that find the group through
# contact points alone (no --peers anywhere):
#
#   1. node 1 founds the group; nodes 2..5 start a moment later with
#      `--join NODE1` only; the test application multicasts (rate,
#      msg-bytes) and state transfer is on (state-bytes). Every trace must
#      show a view of 5 within FORM_S.
#   2. node 3 is killed with SIGKILL: the 4 survivors must install a view
#      of 4 without it within EXCLUDE_MS of the kill.
#   3. node 3 restarts (a new incarnation, trace node-3b.jsonl) with
#      `--join` a survivor other than node 1: every live process must be in
#      a view of 5 holding the new incarnation within REJOIN_S, and the new
#      process must have installed the state (state_installed).
#   4. everything stops on SIGTERM (exit status 0), and the traces are
#      checked by tests/group/group_traces.py check (view agreement, epoch
#      order, view synchrony, integrity, state transfer, deliveries) and by
#      `cohort trace check` (causality and the group checkers, each when
#      this build has it; view-liveness with its default settle judges the
#      end of the run: every live process in one view of exactly them).
#      Not the fd checker: with crashes inferred it takes a node id that
#      restarts for up all along, so the survivors' suspicion of the killed
#      incarnation would count as a false one.
#
# MODE loopback: 127.0.0.1, consecutive ports from pick_base_port; the
#   cluster is keyed and encrypted (--key-file, --security encrypt), so the
#   JOIN to a bare address and the address learning go through AEAD.
# MODE netns: each node in its own network namespace on a bridge
#   (198.18.0.1-5, as tests/runtime/fd_cluster.sh); skipped (exit 77) where
#   namespaces cannot be made. The namespaces are always removed (trap).
# Every wait is bounded in time; KEEP=1 keeps the directory.
set -u
cohort=$1
mode=${2:-loopback}
here=$(dirname "$0")
. "$here/../runtime/lib.sh"

N=5
DEAD=3
REJOIN_VIA=2
FORM_S=${FORM_S:-15}
EXCLUDE_MS=${EXCLUDE_MS:-5000}
REJOIN_S=${REJOIN_S:-15}
GROUP_PROTO=${GROUP_PROTO:-"group rate=20 msg-bytes=200 state-bytes=100000"}
GFD_PROTO=${GFD_PROTO:-"fd detector=phi threshold=8 interval=100ms"}
py=(python3 "$here/group_traces.py")
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the traces"; exit 77; }
dir=$(mktemp -d /tmp/cohort-group-XXXXXX)
ns_prefix="cohortg$$"
pids=()

cleanup() {
  for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
  if [ "$mode" = netns ]; then
    for i in $(seq 1 $N); do ip netns del "${ns_prefix}n$i" 2>/dev/null; done
    ip netns del "${ns_prefix}br" 2>/dev/null
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

netns_setup() {
  if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "SKIP: network namespaces need root and iproute2"
    exit 77
  fi
  if ! ip netns add "${ns_prefix}br" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here (ip netns add failed)"
    exit 77
  fi
  local br="${ns_prefix}br" i ns
  ip -n "$br" link add br0 type bridge || fail "cannot create a bridge"
  ip -n "$br" link set br0 up
  for i in $(seq 1 $N); do
    ns="${ns_prefix}n$i"
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$br" link add "v$i" type veth peer name eth0 netns "$ns" || fail "veth $i"
    ip -n "$br" link set "v$i" master br0 up
    ip -n "$ns" addr add "198.18.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
}

security=()
if [ "$mode" = netns ]; then
  netns_setup
else
  base=$(pick_base_port)
  echo "1 $(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$dir/cluster.key"
  chmod 600 "$dir/cluster.key"
  security=(--key-file "$dir/cluster.key" --security encrypt)
fi

addr_of() {
  if [ "$mode" = netns ]; then echo "198.18.0.$1:7400"; else echo "127.0.0.1:$((base + $1 - 1))"; fi
}

# start_node ID TRACE [JOIN]: node ID in the background (pids[ID]).
start_node() {
  local id=$1 trace=$2 join=${3:-} wrap=()
  [ "$mode" = netns ] && wrap=(ip netns exec "${ns_prefix}n$id")
  "${wrap[@]}" "$cohort" node --id "$id" --listen "$(addr_of "$id")" ${join:+--join "$join"} \
    "${security[@]}" --proto "$GFD_PROTO" --proto "$GROUP_PROTO" --vector-clock \
    --trace "$dir/$trace.jsonl" \
    --status-interval 1s > "$dir/$trace.log" 2>&1 &
  pids[$id]=$!
}

traces_of() { # the traces of the live processes, given the dead node's state
  local out="" i
  for i in $(seq 1 $N); do
    if [ "$i" = $DEAD ]; then
      [ "$1" = with-dead ] && out="$out $dir/node-3b.jsonl"
    else
      out="$out $dir/node-$i.jsonl"
    fi
  done
  echo "$out"
}

# ---- 1. form the group through contact points ---------------------------------

t_start=$(now_ns)
start_node 1 node-1
sleep 0.3
for i in $(seq 2 $N); do start_node "$i" "node-$i" "$(addr_of 1)"; done
all=""
for i in $(seq 1 $N); do all="$all $dir/node-$i.jsonl"; done
# shellcheck disable=SC2086
ms=$("${py[@]}" wait "$FORM_S" $N --since "$t_start" $all) ||
  fail "no view of $N in every trace within ${FORM_S}s"
echo "formed: every process in a view of $N, ${ms} ms after node 1 started"
sleep 2 # multicast traffic in the full view

# ---- 2. SIGKILL node 3: the survivors exclude it --------------------------------

old_inc=$(sed -n 's/^cohort node 3 incarnation \([0-9]*\) .*/\1/p' "$dir/node-3.log")
[ -n "$old_inc" ] || fail "node 3 printed no incarnation"
t_kill=$(now_ns)
{ kill -9 "${pids[$DEAD]}" && wait "${pids[$DEAD]}"; } 2>/dev/null
kill -0 "${pids[$DEAD]}" 2>/dev/null && fail "node $DEAD survived SIGKILL"
unset "pids[$DEAD]"
# shellcheck disable=SC2046
ms=$("${py[@]}" wait $(((EXCLUDE_MS + 999) / 1000)) $((N - 1)) --without $DEAD --since "$t_kill" \
  $(traces_of without-dead)) || fail "the survivors did not exclude node $DEAD"
[ "$ms" -le "$EXCLUDE_MS" ] || fail "node $DEAD excluded after $ms ms > $EXCLUDE_MS ms"
echo "excluded: the survivors installed a view of $((N - 1)) without node $DEAD ${ms} ms after the kill"
sleep 1

# ---- 3. node 3 comes back as a new incarnation, through another contact ------

t_restart=$(now_ns)
start_node $DEAD node-3b "$(addr_of $REJOIN_VIA)"
# shellcheck disable=SC2046
ms=$("${py[@]}" wait "$REJOIN_S" $N --with $DEAD --not-inc "$DEAD:$old_inc" \
  --state-from "$dir/node-3b.jsonl" --since "$t_restart" $(traces_of with-dead)) ||
  fail "node $DEAD's new incarnation is not back in a view of $N with the state"
echo "rejoined: node $DEAD (new incarnation, via node $REJOIN_VIA) in a view of $N with the state, ${ms} ms after its restart"
sleep 1

# ---- 4. stop cleanly and check the traces ------------------------------------------

for i in $(seq 1 $N); do kill -TERM "${pids[$i]}" 2>/dev/null; done
for i in $(seq 1 $N); do
  wait "${pids[$i]}" || fail "node $i exited with status $? after SIGTERM"
done
pids=()
for log in "$dir"/node-*.log; do
  [ "$log" = "$dir/node-3.log" ] && continue
  grep -q "shutting down" "$log" || fail "$log: no clean shutdown"
done
check_logs_clean "$dir"

"${py[@]}" check "$dir"/node-*.jsonl || fail "the group traces violate a group property"

# The python check is seen to fail: node 2's copy of its 5-member view
# with one incarnation changed, and a delivery duplicated.
mkdir "$dir/broken"
cp "$dir"/node-*.jsonl "$dir/broken/"
python3 - "$dir/broken/node-2.jsonl" <<'PY' || fail "could not break a trace"
import sys
path = sys.argv[1]
lines = open(path).read().splitlines(True)
out, broke_view, dup = [], False, False
for l in lines:
    if not broke_view and '"what":"view"' in l and l.count('],[') >= 4:
        l = l.replace('"members":[[1,', '"members":[[1,1', 1)
        broke_view = True
    out.append(l)
    if not dup and '"what":"gdeliver"' in l:
        out.append(l)
        dup = True
assert broke_view and dup
open(path, "w").writelines(out)
PY
broken=$("${py[@]}" check "$dir"/broken/node-*.jsonl)
echo "$broken" | grep -q "VIOLATION view-agreement" || fail "group_traces.py missed a broken view"
echo "$broken" | grep -q "VIOLATION integrity: .* twice" || fail "group_traces.py missed a duplicate"

checkers=causality
for c in view-agreement view-order view-synchrony vs-agreement group-integrity self-delivery \
         primary-unique state-transfer view-liveness; do
  if "$cohort" trace check --help 2>&1 | grep -qw -- "$c"; then checkers="$checkers,$c"; fi
done
[ "$checkers" = causality ] && echo "note: this build's 'cohort trace check' has no group checkers"
"$cohort" trace check "$dir"/node-*.jsonl --checker "$checkers" ||
  fail "cohort trace check ($checkers) rejected the traces"
echo "PASS: group over $mode: formed through contact points, excluded the killed node, took its new incarnation back with the state"
