#!/bin/bash
# Looking at running nodes (issue 13 s.4), over real processes on loopback:
# three `cohort node` processes with fd, bully, a centralized mutex and NTP,
# each with --metrics on an ephemeral port and a control socket in a
# scratch state dir. Checks:
#  - /metrics scraped with curl is valid exposition format (promfmt.py, and
#    promtool when installed) and has datagrams in/out, every drop reason,
#    phi per peer, leader, lock state, clock offset and error bound;
#  - a malformed datagram sent to a node shows up in drops{reason=malformed};
#  - bad requests get HTTP errors (400, 404, 405, 431 for one byte over
#    COHORT_OBSERVE_REQUEST_MAX, while a head of exactly the limit is
#    served); clients beyond COHORT_OBSERVE_CLIENTS_MAX get 503; a client
#    that sends nothing is closed after COHORT_OBSERVE_IDLE_MS, and the node
#    keeps answering throughout;
#  - `cohort status` (human and --json) names every node's peers with phi,
#    the leader and the lock; after SIGKILL of node 3 the survivors report
#    it suspected, asking node 3 fails with exit 1 and "no node answers",
#    a restarted node 3 replaces its stale socket, and a second node on a
#    live socket is refused.
set -u
cohort=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../runtime/lib.sh
. "$COHORT_SOURCE_ROOT/tests/runtime/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-observe.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
base=$(( $(pick_base_port) + 3 ))
N=3
PROTOS=(--proto "fd interval=50ms threshold=8" --proto "bully"
        --proto "mutex algorithm=centralized workload=loop hold=5ms think=50ms"
        --proto "ntp ref=1 servers=1 poll=1s")

start_node() {
  local i=$1
  "$cohort" node --id "$i" --listen "127.0.0.1:$((base + i - 1))" \
    --peers "$(peers_of "$i" $N lo "$base")" --state-dir "$tmp" \
    --metrics 127.0.0.1:0 --status-interval 0s --duration 60s "${PROTOS[@]}" \
    > "$tmp/node-$i.log" 2>&1 &
  pids[i]=$!
}
metrics_port() { sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$tmp/node-$1.log" | tail -n 1; }
scrape() { curl -s --max-time 5 "http://127.0.0.1:$(metrics_port "$1")/metrics"; }
value_of() { grep "^$2 " "$1" | awk '{print $2}'; }

for i in 1 2 3; do start_node "$i"; done
for _ in $(seq 1 100); do
  ok=1
  for i in 1 2 3; do [ -n "$(metrics_port "$i")" ] && [ -S "$tmp/node-$i.sock" ] || ok=0; done
  [ $ok = 1 ] && break
  sleep 0.1
done
[ $ok = 1 ] || { cat "$tmp"/node-*.log >&2; fail "nodes did not start serving"; }

# ---- every node heard every other, and elected someone -------------------
for _ in $(seq 1 100); do
  "$cohort" status --state-dir "$tmp" --json > "$tmp/all.json" 2> "$tmp/status.err" &&
    python3 - "$tmp/all.json" 2>/dev/null <<'PY' && break
import json, sys
nodes = json.load(open(sys.argv[1]))
assert len(nodes) == 3
for n in nodes:
    assert len(n["peers"]) == 2 and all(p["heartbeats"] > 3 and not p["suspected"] for p in n["peers"])
    assert n["leader"]["id"] is not None
PY
  sleep 0.1
done
python3 - "$tmp/all.json" <<'PY' || fail "status --json: nodes did not all hear each other and agree on a leader"
import json, sys
nodes = json.load(open(sys.argv[1]))
ids = sorted(n["id"] for n in nodes)
assert ids == [1, 2, 3], ids
leaders = {n["leader"]["id"] for n in nodes}
assert leaders == {3}, leaders                    # bully: the highest id
for n in nodes:
    assert {p["id"] for p in n["peers"]} == set(ids) - {n["id"]}
    assert all(p["phi"] is not None and p["phi"] < 8 for p in n["peers"])
    assert n["lock"]["state"] in ("idle", "pending", "held")
    assert n["clock"] is not None and "error_bound_s" in n["clock"]
    assert set(n["drops"]) >= {"malformed", "auth", "stale", "fault"}
print("status --json: 3 nodes, leader 3, every peer heard")
PY

"$cohort" status --state-dir "$tmp" --id 1 > "$tmp/human.txt" || fail "cohort status --id 1"
for want in "node 1 " "peers:" "leader: 3" "lock:" "clock:" "datagrams:"; do
  grep -q "$want" "$tmp/human.txt" || { cat "$tmp/human.txt"; fail "status output lacks '$want'"; }
done

# ---- a malformed datagram is counted by reason ---------------------------
python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5): s.sendto(b'\xff\x00garbage', ('127.0.0.1', $base))"
sleep 0.3

# ---- the exposition format ------------------------------------------------
scrape 1 > "$tmp/m1.txt" || fail "curl /metrics of node 1"
req=(--require 'cohort_datagrams_total{direction="in"}' --require 'cohort_datagrams_total{direction="out"}'
     --require 'cohort_fd_phi{peer="2"}' --require 'cohort_fd_phi{peer="3"}'
     --require 'cohort_fd_last_heard_seconds{peer="2"}' --require cohort_election_leader
     --require 'cohort_mutex_state{state="held"}' --require cohort_mutex_token
     --require cohort_clock_offset_seconds --require cohort_clock_error_bound_seconds)
for r in malformed cluster version auth stale unknown_peer unknown_proto proto clock self nomem \
         fault delay_overflow; do
  req+=(--require "cohort_drops_total{reason=\"$r\"}")
done
python3 "$here/promfmt.py" "$tmp/m1.txt" "${req[@]}" || { cat "$tmp/m1.txt"; fail "format"; }
malformed=$(value_of "$tmp/m1.txt" 'cohort_drops_total{reason="malformed"}')
[ "${malformed:-0}" -ge 5 ] || fail "5 malformed datagrams sent, drops{malformed} = '$malformed'"
[ "$(value_of "$tmp/m1.txt" cohort_election_leader)" = 3 ] || fail "metrics: leader is not 3"
if command -v promtool > /dev/null; then
  promtool check metrics < "$tmp/m1.txt" || fail "promtool check metrics"
else
  echo "(promtool not installed: promfmt.py alone checked the format)"
fi
scrape 2 > "$tmp/m2.txt" && python3 "$here/promfmt.py" "$tmp/m2.txt" > /dev/null ||
  fail "node 2 metrics"

# ---- bad requests, limits, idle and too many clients ----------------------
port=$(metrics_port 1)
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
[ "$(code "http://127.0.0.1:$port/nope")" = 404 ] || fail "/nope is not 404"
[ "$(code -X POST "http://127.0.0.1:$port/metrics")" = 405 ] || fail "POST is not 405"
[ "$(code -I "http://127.0.0.1:$port/metrics")" = 200 ] || fail "HEAD is not 200"
python3 - "$port" <<'PY' || fail "raw HTTP requests"
import socket, sys, time
port = int(sys.argv[1])
LIMIT = 8192  # COHORT_OBSERVE_REQUEST_MAX

def ask(data, wait=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    s.sendall(data)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    s.close()
    return out

def head_of(size):  # a GET whose head is exactly `size` bytes
    start, end = b"GET /metrics HTTP/1.1\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end

assert ask(b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400"), "garbage"
assert ask(head_of(LIMIT)).startswith(b"HTTP/1.1 200"), "a head of exactly the limit"
assert ask(head_of(LIMIT + 1)).startswith(b"HTTP/1.1 431"), "one byte over the limit"
# 20 silent clients (> 16 allowed): the extra ones are refused with 503
# at once; the node still answers a scrape while they hang on.
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
time.sleep(0.3)
refused = 0
for s in silent:
    s.settimeout(0.2)
    try:
        if s.recv(100).startswith(b"HTTP/1.1 503"):
            refused += 1
    except socket.timeout:
        pass
assert refused >= 4, "refused %d of 20 silent clients" % refused
for s in silent[:14]:
    s.close()
time.sleep(0.3)  # let the node see those closes
assert ask(b"GET /metrics HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200"), "served meanwhile"
# The rest stay silent: closed by the node after the idle limit (5 s).
t0 = time.time()
for s in silent[14:]:
    s.settimeout(8)
    while s.recv(4096):  # a late 503, then the close
        pass
assert time.time() - t0 < 7.5
print("http: 400 404 405 431 503, exactly-the-limit served, idle clients closed")
PY
python3 - "$tmp/node-1.sock" <<'PY' || fail "control socket: unknown request"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"reboot\n")
assert b'"error"' in s.recv(4096)
PY

# ---- node 3 dies ------------------------------------------------------------
kill -9 "${pids[3]}"
wait "${pids[3]}" 2>/dev/null
for _ in $(seq 1 60); do
  "$cohort" status --state-dir "$tmp" --id 1 --json > "$tmp/n1.json" 2>/dev/null &&
    python3 -c "
import json,sys; n=json.load(open('$tmp/n1.json'))
sys.exit(0 if [p for p in n['peers'] if p['id']==3 and p['suspected']] else 1)" && break
  sleep 0.1
done
grep -q '"id":3,[^}]*"suspected":true' "$tmp/n1.json" || fail "node 1 does not report 3 suspected"
"$cohort" status --state-dir "$tmp" --id 3 > "$tmp/dead.out" 2> "$tmp/dead.err"
rc=$?
[ $rc = 1 ] && grep -q "no node answers" "$tmp/dead.err" ||
  fail "status of a dead node: exit $rc, '$(cat "$tmp/dead.err")'"
"$cohort" status --state-dir "$tmp" > /dev/null 2>&1
[ $? = 1 ] || fail "status of all nodes with one dead must exit 1"
"$cohort" status --state-dir "$tmp/empty-$$" 2> "$tmp/none.err"
[ $? = 1 ] && grep -q "no node found" "$tmp/none.err" || fail "no nodes: want exit 1"

# ---- restart over the stale socket; refuse a second node on a live one ----
start_node 3
for _ in $(seq 1 50); do
  "$cohort" status --state-dir "$tmp" --id 3 > /dev/null 2>&1 && break
  sleep 0.1
done
"$cohort" status --state-dir "$tmp" --id 3 > /dev/null || fail "restarted node 3 does not answer"
"$cohort" node --id 3 --listen 127.0.0.1:0 --peers "1@127.0.0.1:$base" --state-dir "$tmp" \
  --status-interval 0s --duration 5s > "$tmp/dup.log" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "already answers" "$tmp/dup.log" ||
  fail "a second node on a live control socket: exit $rc, $(cat "$tmp/dup.log")"
"$cohort" status --state-dir "$tmp" --id 3 > /dev/null || fail "node 3's socket was taken over"

for i in 1 2 3; do kill -TERM "${pids[i]}" 2>/dev/null; done
for i in 1 2 3; do wait "${pids[i]}"; done
for i in 1 2 3; do [ ! -e "$tmp/node-$i.sock" ] || fail "node $i left its socket behind"; done
echo "observe: metrics, status, limits and failures over 3 real nodes ok"
