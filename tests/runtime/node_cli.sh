#!/bin/bash
# tests/runtime/node_cli.sh COHORT — the `cohort node` and `cohort cluster`
# command lines: every bad argument is a clear message and exit status 2;
# a port in use is exit 1; SIGINT, SIGTERM and --duration shut down with
# status 0 (under ASan/LSan that also means nothing leaked); --state-dir
# increments the incarnation across restarts; and fault injection end to
# end: node 1 drops everything it sends to node 2, so node 2 (and only
# node 2) suspects node 1, and node 1's trace records the losses.
set -u
cohort=$1
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/cohort-cli-XXXXXX)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
base=$(pick_base_port)
L="127.0.0.1:$base"
checked=0

# expect STATUS PATTERN ARGS...: run cohort ARGS, want exit STATUS and
# PATTERN (grep -E) in its stderr+stdout.
expect() {
  local want=$1 pattern=$2 out rc
  shift 2
  out=$("$cohort" "$@" 2>&1)
  rc=$?
  [ "$rc" = "$want" ] || fail "cohort $* exited $rc, want $want; output: $out"
  echo "$out" | grep -qE -- "$pattern" || fail "cohort $*: no '$pattern' in: $out"
  checked=$((checked + 1))
}

# ---- bad arguments: exit 2 -------------------------------------------------------
expect 2 "--id is required" node
expect 2 "--listen is required" node --id 1
expect 2 "bad or incomplete option '--bogus'" node --bogus
expect 2 "bad or incomplete option" node --id
expect 2 "not a valid number" node --id x --listen "$L"
expect 2 "not a valid number" node --id 4294967295 --listen "$L"
expect 2 "bad address" node --id 1 --listen 127.0.0.1
expect 2 "bad address" node --id 1 --listen localhost:80
expect 2 "bad address" node --id 1 --listen 127.0.0.1:99999
expect 2 "duplicate peer id 2" node --id 1 --listen "$L" --peers 2@127.0.0.1:1,2@127.0.0.1:2
expect 2 "own id" node --id 1 --listen "$L" --peers 1@127.0.0.1:5
expect 2 "bad node id" node --id 1 --listen "$L" --peers x@127.0.0.1:5
expect 2 "bad address" node --id 1 --listen "$L" --peers 2@nohost:5
expect 2 "expected ID@ADDR:PORT" node --id 1 --listen "$L" --peers 127.0.0.1:5
expect 2 "unknown protocol 'nope'" node --id 1 --listen "$L" --proto nope
expect 2 "threshold" node --id 1 --listen "$L" --proto "fd threshold=x"
expect 2 "bogus" node --id 1 --listen "$L" --proto "fd bogus=1"
expect 2 "not KEY=VALUE" node --id 1 --listen "$L" --proto "fd interval"
expect 2 "cannot read key file" node --id 1 --listen "$L" --key-file /nonexistent/key
: > "$dir/empty.key"
chmod 600 "$dir/empty.key"
expect 2 "holds no key" node --id 1 --listen "$L" --key-file "$dir/empty.key"
echo "1 00112233" > "$dir/open.key"
chmod 644 "$dir/open.key"
expect 2 "chmod 600" node --id 1 --listen "$L" --key-file "$dir/open.key"
expect 2 "needs --key-file" node --id 1 --listen "$L" --security encrypt
expect 2 "not none, auth" node --id 1 --listen "$L" --security rot13
expect 2 "not aes-256-gcm" node --id 1 --listen "$L" --cipher des
expect 2 "probability" node --id 1 --listen "$L" --fault 2:drop=7
expect 2 "unknown key 'loss'" node --id 1 --listen "$L" --fault all:loss=0.1
expect 2 "not a peer" node --id 1 --listen "$L" --peers 2@127.0.0.1:5 --fault 9:drop=0.1
expect 2 "not a duration" node --id 1 --listen "$L" --status-interval 5
expect 2 "unexpected argument 'extra'" node --id 1 --listen "$L" extra
expect 2 "--join: empty contact list" node --id 1 --listen "$L" --join ""
expect 2 "--join: contact list ',': empty" node --id 1 --listen "$L" --join ,
expect 2 "--join: contact '127.0.0.1': bad address" node --id 1 --listen "$L" --join 127.0.0.1
expect 2 "--join: contact 'nohost:5': bad address" node --id 1 --listen "$L" --join nohost:5
expect 2 "--join: contact '127.0.0.1:0': bad address" node --id 1 --listen "$L" --join 127.0.0.1:0
expect 2 "--join: duplicate contact '127.0.0.1:5'" node --id 1 --listen "$L" \
  --join 127.0.0.1:5,[::1]:5,127.0.0.1:5
many=$(seq -f "127.0.0.1:%g" 7001 7017 | paste -sd,)
expect 2 "--join: too many contact points \(max 16\)" node --id 1 --listen "$L" --join "$many"
expect 2 "--join given twice" node --id 1 --listen "$L" --join 127.0.0.1:5 --join 127.0.0.1:6
expect 2 "bad or incomplete option" node --id 1 --listen "$L" --join
# A joiner needs no --peers: it starts with its contacts alone.
expect 0 "0 peers, 2 contacts" node --id 1 --listen "$L" --join "127.0.0.1:5,[::1]:6" \
  --proto group --duration 100ms
expect 2 "missing sub-command" cluster
expect 2 "unknown sub-command 'frob'" cluster frob
expect 2 "usage: cohort cluster up" cluster up
expect 2 "not a number from 1" cluster up 0
expect 2 "not a number from 1" cluster up x
expect 2 "not a port" cluster up 2 --base-port 70000
expect 2 "usage: cohort cluster kill" cluster kill
expect 2 "unexpected argument" cluster down extra
expect 0 "usage: cohort node" node --help
expect 0 "cohort cluster up N" cluster --help
expect 1 "no cluster" cluster status --dir "$dir/none"
expect 1 "no node 4" cluster kill 4 --dir "$dir/none"

# ---- operating errors and clean shutdown --------------------------------------------
"$cohort" node --id 1 --listen "$L" --duration 3s > "$dir/holder.log" 2>&1 &
holder=$!
sleep 0.3
expect 1 "cannot listen on 127.0.0.1 port $base" node --id 2 --listen "$L"
kill -INT $holder
wait $holder || fail "node exited with status $? after SIGINT"
grep -q "signal 2, shutting down" "$dir/holder.log" || fail "no clean SIGINT shutdown"

"$cohort" node --id 1 --listen "$L" --proto "$FD_PROTO" --trace "$dir/t.jsonl" \
  > "$dir/term.log" 2>&1 &
p=$!
sleep 0.3
kill -TERM $p
wait $p || fail "node exited with status $? after SIGTERM"
grep -q "signal 15, shutting down" "$dir/term.log" || fail "no clean SIGTERM shutdown"

# Incarnations grow across restarts, and the durable floor in the state
# directory wins over the wall clock (a clock stepped back cannot reuse one).
prev=0
for i in 1 2; do
  expect 0 "incarnation [0-9]+ listening" node --id 5 --listen "$L" --state-dir "$dir" \
    --duration 100ms
  inc=$(cat "$dir/node-5.incarnation")
  [ "$inc" -gt "$prev" ] || fail "incarnation $inc after $prev did not grow"
  prev=$inc
done
echo 4000000000000000000 > "$dir/node-5.incarnation"
expect 0 "incarnation 4000000000000000001 listening" node --id 5 --listen "$L" \
  --state-dir "$dir" --duration 100ms
echo "ok: $checked command lines behaved"

# ---- fault injection end to end ---------------------------------------------------------
P1=$((base + 1)) P2=$((base + 2)) P3=$((base + 3))
peers="1@127.0.0.1:$P1,2@127.0.0.1:$P2,3@127.0.0.1:$P3"
for i in 1 2 3; do
  fault=()
  [ "$i" = 1 ] && fault=(--fault 2:drop=1.0 --fault all:delay=2ms,jitter=1ms)
  port_var="P$i"
  "$cohort" node --id "$i" --listen "127.0.0.1:${!port_var}" \
    --peers "$(echo "$peers" | tr , '\n' | grep -v "^$i@" | paste -sd,)" \
    --proto "$FD_PROTO" --trace "$dir/node-$i.jsonl" --duration 3s \
    --status-interval 1s "${fault[@]}" > "$dir/node-$i.log" 2>&1 &
  pids[$i]=$!
done
for i in 1 2 3; do wait "${pids[$i]}" || fail "node $i exited with status $?"; done
check_logs_clean "$dir"

[ -n "$(first_suspect_of "$dir/node-2.jsonl" 1)" ] ||
  fail "node 2 did not suspect node 1, whose datagrams to it were all dropped"
for i in 1 3; do
  [ -z "$(state_events "$dir/node-$i.jsonl" suspect)" ] || fail "node $i suspected someone"
done
[ -z "$(state_events "$dir/node-2.jsonl" suspect | awk '$2 != 1')" ] ||
  fail "node 2 suspected a node other than 1"
losses=$(grep -c '"ev":"drop","node":2,"inc":0,.*"peer":1,.*"reason":"loss"' "$dir/node-1.jsonl")
[ "$losses" -ge 10 ] || fail "node 1's trace has $losses losses to node 2, want >= 10"
grep -q "fault_loss=" "$dir/node-1.log" || fail "node 1's status lines do not count losses"
grep -q "fault_delayed=" "$dir/node-1.log" || fail "node 1's status lines do not count delays"
grep -q '"ev":"recv".*"peer":1,' "$dir/node-3.jsonl" || fail "node 3 heard nothing from 1"
echo "ok: drop=1.0 from node 1 to node 2: only node 2 suspects node 1 ($losses losses traced)"
echo "PASS"
