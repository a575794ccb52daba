#!/bin/bash
# examples/kvstore/test_kvstore.sh KVSTORE — the replicated store under a
# crash, over real UDP on loopback with a cluster key:
#
#   1. replica 1 founds the group, 2 and 3 join through it; all three must
#      be in one primary view of 3 within FORM_S;
#   2. the bounds over the wire: a key of 257 bytes, a value of 4097 bytes
#      and a line of 9000 bytes are refused with a clear error;
#   3. three writers, one per replica at once, push WRITES commands in all
#      (PUT of a key of their own, every tenth a DEL of an earlier one);
#      a write is acknowledged when its replica answers OK / NOTFOUND;
#      every fifth is a PUT to one of HOT keys that all writers race on.
#      "ERR refused" (blocked, not a member yet) is retried at once; an
#      outcome unknown (the replica died, "ERR unknown", a timeout) is
#      retried at another replica — PUT and DEL are idempotent, and a key
#      whose outcome was ever unknown is never deleted later, so the
#      expected state does not depend on where the first try landed;
#   4. when a third of the writes are acknowledged, replica KILL (default
#      1: the coordinator, so the total order's sequencer moves) is killed
#      with SIGKILL; once the survivors are in a view of 2 it restarts (a
#      new incarnation) with --join a survivor and must be back in a view
#      of 3 with the state installed within REJOIN_S;
#   5. at the end every replica's HASH line (hash, keys, applied count) is
#      the same, the HOT keys hold the same value everywhere (one some
#      writer was acknowledged for); once they are deleted, every HASH is
#      equal again and equal to that of the state the acknowledged writes
#      make (kvstore --hash-file), and every acknowledged key reads back
#      at every replica (lost = acknowledged writes missing: must be 0);
#   6. the refusal of a minority: replicas 2 and 3 are killed, replica 1
#      alone must refuse PUT as non-primary (and still answer GET).
# Every wait and retry is bounded. KEEP=1 keeps the directory.
set -u
kv=$1
WRITES=${WRITES:-2000}
KILL=${KILL:-1}
FORM_S=${FORM_S:-15}
REJOIN_S=${REJOIN_S:-20}
HOT=8 # keys every writer writes: only a total order makes replicas agree
dir=$(mktemp -d /tmp/cohort-kvstore-XXXXXX)
base=$((20000 + 16 * ($$ % 2500)))
pids=(0 0 0 0)
wpids=()

fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/r*.log; do [ -f "$f" ] && sed "s/^/  $(basename "$f" .log): /" "$f" | tail -8 >&2; done
  exit 1
}

cleanup() {
  for p in "${wpids[@]}" "${pids[@]}"; do
    [ "$p" != 0 ] && { kill -9 "$p" && wait "$p"; } 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
udp() { echo "127.0.0.1:$((base + $1))"; }
tcp_port() { echo $((base + 8 + $1)); }

start() { # start ID [CONTACT_ID] [LOG_SUFFIX]
  local id=$1 join=() log="$dir/r$1${3:-}.log"
  [ -n "${2:-}" ] && join=(--join "$(udp "$2")")
  "$kv" --id "$id" --listen "$(udp "$id")" "${join[@]}" --key-file "$dir/cluster.key" \
    --serve "127.0.0.1:$(tcp_port "$id")" --expected 3 > "$log" 2>&1 &
  pids[$id]=$!
}

# ask ID LINE...: one connection, one reply line per request ("" if none)
ask() {
  local id=$1 line
  shift
  { exec 4<>"/dev/tcp/127.0.0.1/$(tcp_port "$id")"; } 2>/dev/null || { echo ""; return 1; }
  for line in "$@"; do
    printf '%s\n' "$line" >&4
    IFS= read -r -t 5 line <&4 || line=""
    echo "$line"
  done
  exec 4>&-
}

# wait_status ID PATTERN SECONDS: until ID's STATUS matches (grep -E)
wait_status() {
  local n=0 s
  while [ "$n" -lt $(($3 * 20)) ]; do
    s=$(ask "$1" STATUS)
    echo "$s" | grep -Eq "$2" && return 0
    sleep 0.05
    n=$((n + 1))
  done
  echo "last STATUS of $1: $s" >&2
  return 1
}

# writer W COUNT: ops W-0..W-(COUNT-1) through replica W first
writer() {
  local w=$1 count=$2 r=$1 i op key val reply tries connected=0
  local acked="$dir/w$w.acked" refused=0 unknown=0 given_up=0
  declare -A amb=()
  trap '' PIPE # a write to a killed replica's socket is an error, not our death
  : > "$acked"
  for ((i = 0; i < count; i++)); do
    key="k$w-$i" val="v$w.$i.$RANDOM"
    op="PUT $key $val"
    if [ $((i % 10)) = 9 ] && [ -z "${amb[k$w-$((i - 5))]:-}" ]; then
      key="k$w-$((i - 5))" op="DEL $key"
    elif [ $((i % 5)) = 2 ]; then # contended: the writers race on these
      key="hot$((i / 5 % HOT))" op="PUT $key $val"
    fi
    for ((tries = 0; tries < 400; tries++)); do
      if [ "$connected" = 0 ]; then
        { exec 3<>"/dev/tcp/127.0.0.1/$(tcp_port "$r")"; } 2>/dev/null && connected=1
        if [ "$connected" = 0 ]; then r=$((r % 3 + 1)); sleep 0.02; continue; fi
      fi
      reply=""
      printf '%s\n' "$op" >&3 2>/dev/null && IFS= read -r -t 5 reply <&3
      case "$reply" in
      OK | NOTFOUND) echo "$op" >> "$acked"; break ;;
      "ERR refused: "*) refused=$((refused + 1)); sleep 0.02 ;;
      *) # unknown outcome: died, timed out or "ERR unknown"
        unknown=$((unknown + 1)) amb[$key]=1
        exec 3>&-; connected=0 r=$((r % 3 + 1)) ;;
      esac
    done
    [ "$tries" = 400 ] && given_up=$((given_up + 1)) amb[$key]=1
  done
  echo "$refused $unknown $given_up" > "$dir/w$w.stats"
}

acked_count() { cat "$dir"/w*.acked 2>/dev/null | wc -l; }

echo "1 $(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$dir/cluster.key"
chmod 600 "$dir/cluster.key"

# 1. formation
start 1
sleep 0.3
start 2 1
start 3 1
for i in 1 2 3; do
  wait_status "$i" "members=3 .* primary member" "$FORM_S" || fail "replica $i not in a view of 3"
done
echo "formed: 3 replicas in one primary view"

# 2. bounds over the wire
long_key=$(printf 'k%.0s' $(seq 1 257))
long_value=$(printf 'v%.0s' $(seq 1 4097))
long_line=$(printf 'x%.0s' $(seq 1 9000))
r=$(ask 2 "PUT $long_key 1")
echo "$r" | grep -q "^ERR refused: key longer than 256 bytes" || fail "257-byte key: '$r'"
r=$(ask 2 "PUT k $long_value")
echo "$r" | grep -q "^ERR refused: value longer than 4096 bytes" || fail "4097-byte value: '$r'"
r=$(ask 2 "PUT k${long_line}")
echo "$r" | grep -q "^ERR refused: line longer than" || fail "9000-byte line: '$r'"
r=$(ask 3 "PUT $(printf 'k%.0s' $(seq 1 256)) $(printf 'v%.0s' $(seq 1 4096))" "DEL $(printf 'k%.0s' $(seq 1 256))")
[ "$r" = "OK
OK" ] || fail "a key and value at the limits: '$r'"
echo "bounds: 257-byte key, 4097-byte value, 9000-byte line refused; at the limits accepted"

# 3. the writers, 4. the crash and the rejoin
per=$(((WRITES + 2) / 3))
t_start=$(now_ms)
for w in 1 2 3; do
  writer "$w" "$per" &
  wpids+=($!)
done
n=0
while [ "$(acked_count)" -lt $((WRITES / 3)) ] && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
[ "$(acked_count)" -ge $((WRITES / 3)) ] || fail "only $(acked_count) writes acknowledged in 30 s"
{ kill -9 "${pids[$KILL]}"; wait "${pids[$KILL]}"; } 2>/dev/null
pids[$KILL]=0
t_kill=$(now_ms)
echo "killed replica $KILL (SIGKILL) after $(acked_count) acknowledged writes"
survivor=$((KILL % 3 + 1))
wait_status "$survivor" "members=2 .* primary member" 15 || fail "no view of 2 after the kill"
t_excluded=$(now_ms)
start "$KILL" "$survivor" b
wait_status "$KILL" "members=3 .* primary member" "$REJOIN_S" || fail "replica $KILL did not rejoin"
t_rejoined=$(now_ms)
grep -q "state installed" "$dir/r${KILL}b.log" || fail "the new incarnation installed no state"
echo "view of 2 $((t_excluded - t_kill)) ms after the kill; new incarnation in a view of 3" \
  "$((t_rejoined - t_excluded)) ms after its start ($(acked_count) acknowledged by then)"
for p in "${wpids[@]}"; do wait "$p"; done
wpids=()
t_end=$(now_ms)

# 5. convergence, the contended keys, the expected state
refused=0 unknown=0 given_up=0
for w in 1 2 3; do
  read -r a b c < "$dir/w$w.stats"
  refused=$((refused + a)) unknown=$((unknown + b)) given_up=$((given_up + c))
done
acked=$(acked_count)
converged() { # until the three HASH lines are equal (bounded): h1 h2 h3
  local n=0
  while :; do
    h1=$(ask 1 HASH) h2=$(ask 2 HASH) h3=$(ask 3 HASH)
    [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && return 0
    n=$((n + 1))
    [ "$n" -lt 100 ] || fail "replicas differ: '$h1' / '$h2' / '$h3'"
    sleep 0.1
  done
}
converged
hot_gets=()
for ((k = 0; k < HOT; k++)); do hot_gets+=("GET hot$k"); done
for id in 1 2 3; do ask "$id" "${hot_gets[@]}" > "$dir/hot-$id.txt"; done
cmp -s "$dir/hot-1.txt" "$dir/hot-2.txt" && cmp -s "$dir/hot-2.txt" "$dir/hot-3.txt" ||
  fail "the contended keys differ between replicas"
k=0
while read -r word val; do # each holds a value some writer was acknowledged for
  grep -qx "PUT hot$k $val" "$dir"/w*.acked || fail "hot$k holds '$word $val', never written"
  k=$((k + 1))
done < "$dir/hot-1.txt"
dels=()
for ((k = 0; k < HOT; k++)); do dels+=("DEL hot$k"); done
[ "$(ask 2 "${dels[@]}" | grep -c '^OK$')" = "$HOT" ] || fail "cannot delete the contended keys"
declare -A want=()
for w in 1 2 3; do
  while read -r op key val; do
    case "$key" in hot*) continue ;; esac
    if [ "$op" = PUT ]; then want[$key]=$val; else unset "want[$key]"; fi
  done < "$dir/w$w.acked"
done
for key in "${!want[@]}"; do echo "$key ${want[$key]}"; done > "$dir/expected.txt"
expected=$("$kv" --hash-file "$dir/expected.txt" | awk '{print $2}')
converged
lost=0
gets=()
for key in "${!want[@]}"; do gets+=("GET $key"); done
for id in 1 2 3; do
  i=0
  while IFS= read -r line; do
    [ "$line" = "VALUE ${want[${gets[$i]#GET }]}" ] || lost=$((lost + 1))
    i=$((i + 1))
  done < <(ask "$id" "${gets[@]}")
done
echo "writes: $acked acknowledged of $((per * 3)) in $((t_end - t_start)) ms," \
  "$lost lost, $given_up given up; retried: $refused refused (blocked / joining)," \
  "$unknown of unknown outcome (replica killed)"
echo "contended keys: $HOT, equal at every replica; every replica: $h1;" \
  "expected state: $expected, ${#want[@]} keys"
[ "$acked" = $((per * 3)) ] || fail "$((per * 3 - acked)) writes were never acknowledged"
[ "$lost" = 0 ] || fail "$lost acknowledged writes missing or wrong at a replica"
[ "$(echo "$h1" | awk '{print $2}')" = "$expected" ] ||
  fail "the replicas' state is not the expected state"

# 6. a minority refuses writes, still reads
{ kill -9 "${pids[2]}" "${pids[3]}"; wait "${pids[2]}" "${pids[3]}"; } 2>/dev/null
pids[2]=0 pids[3]=0
n=0
while :; do
  r=$(ask 1 "PUT after-minority 1")
  echo "$r" | grep -q "^ERR refused: non-primary" && break
  n=$((n + 1))
  [ "$n" -lt 150 ] || fail "replica 1 alone still answers PUT with '$r'"
  sleep 0.1
done
g=$(ask 1 "GET k1-0")
[ "${g#VALUE }" != "$g" ] || [ "$g" = NOTFOUND ] || fail "GET in a minority: '$g'"
echo "minority: replica 1 alone refuses writes ('$r'), reads answer locally"
kill -TERM "${pids[1]}"
wait "${pids[1]}"
st=$?
pids[1]=0
[ "$st" = 0 ] || fail "replica 1 exited with status $st on SIGTERM"
echo "PASS"
