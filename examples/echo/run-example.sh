#!/bin/sh
# examples/echo/run-example.sh — the README's walkthrough as a test: start
# echo_server on a free port, run echo_client against it, stop the server
# with SIGTERM (graceful shutdown) and check both exit statuses.
#
# usage: run-example.sh ECHO_SERVER ECHO_CLIENT
set -u
server=$1 client=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$server" 127.0.0.1:0 > "$out" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$out")
  [ -n "$port" ] && break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "echo_server did not start"; kill "$pid" 2>/dev/null; exit 1
fi
"$client" "127.0.0.1:$port" "hello there"
crc=$?
kill -TERM "$pid"
wait "$pid"
src=$?
echo "client exit $crc, server exit $src"
[ "$crc" -eq 0 ] && [ "$src" -eq 0 ]
