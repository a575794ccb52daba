#!/bin/sh
# The command line is safe: `--help` on every sub-command and every bench,
# alone or after other options, prints help and exits 0 within seconds,
# without running anything, opening a port or writing a file (checked in an
# empty working directory); `cohort --version` prints the project version;
# an unknown command or bench exits 2. The lists come from the program
# itself (`cohort help --list`), so a new sub-command is covered at once.
set -eu
cohort=$1
version=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cohort$$-help.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$("$cohort" --version)" = "cohort $version" ] || fail "--version: $("$cohort" --version)"
"$cohort" help --list > "$tmp/../cohort$$-list" || fail "help --list"
list=$(cat "$tmp/../cohort$$-list"); rm -f "$tmp/../cohort$$-list"
n=0
check() { # WHAT ARGS...: help for WHAT
  what=$1; shift
  out=$(timeout 10 "$cohort" "$@" 2>&1) || fail "'cohort $*' exited $?: $out"
  case $out in *"usage: cohort $what"*) ;; *) fail "'cohort $*' printed no 'usage: cohort $what'" ;; esac
  [ -z "$(ls -A .)" ] || fail "'cohort $*' wrote $(ls -A . | tr '\n' ' ')"
  n=$((n + 1))
}
echo "$list" | while read -r kind name; do
  if [ "$kind" = command ]; then
    check "$name" "$name" --help
    check "$name" "$name" -h
    [ "$name" = bench ] || check "$name" "$name" --duration 1s --help
  else
    check "bench $name" bench "$name" --help
    check "bench $name" bench "$name" --quick --help
  fi
done
for sub in check diagram draw shiviz merge stats; do check trace trace "$sub" x.jsonl --help; done
for sub in up down kill status; do check cluster cluster "$sub" --help; done
"$cohort" nosuchcommand > /dev/null 2>&1 && fail "unknown command exits 0"
[ $? -eq 2 ] || fail "unknown command: want exit 2"
set +e
"$cohort" bench nosuchbench > /dev/null 2>&1
[ $? -eq 2 ] || fail "unknown bench: want exit 2"
echo "help: --help of every sub-command and bench ($(echo "$list" | wc -l) of them) only prints help"
