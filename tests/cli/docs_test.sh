#!/bin/sh
# The docs agree with the program: every sub-command has its section in
# cohort(1); every bench is named in cohort(1) and the README; every checker
# (as `cohort trace --help` lists them) is in docs/trace-tools.md,
# docs/scenario-format.md and cohort(1); every `cohort trace` sub-command is
# in docs/trace-tools.md; every shipped scenario is in
# docs/scenario-format.md. The lists come from the program and the tree, so
# adding a command, checker or scenario without its docs fails here.
set -eu
cohort=$1
src=$COHORT_SOURCE_ROOT
man="$src/man/cohort.1"
missing=""
miss() { missing="$missing
  $1"; }
lists=$("$cohort" help --list)
for name in $(echo "$lists" | awk '$1 == "command" {print $2}'); do
  grep -q "^\.SS $name\$" "$man" || miss "cohort(1) has no '.SS $name' section"
done
for name in $(echo "$lists" | awk '$1 == "bench" && $2 != "all" {print $2}'); do
  grep -q "^\.B $name\$" "$man" || miss "cohort(1) does not name bench '$name'"
  grep -q "bench $name\`" "$src/README.md" || miss "README.md does not name 'bench $name'"
done
checkers=$("$cohort" trace --help | sed -n '/^checkers:/,$p' | awk 'NR > 1 && NF {print $1}')
[ -n "$checkers" ] || { echo "no checkers listed by 'cohort trace --help'" >&2; exit 1; }
for c in $checkers; do
  grep -q "\`$c\`" "$src/docs/trace-tools.md" || miss "docs/trace-tools.md lacks checker '$c'"
  grep -q "\`$c\`" "$src/docs/scenario-format.md" || miss "docs/scenario-format.md lacks checker '$c'"
  manname=$(echo "$c" | sed 's/-/\\\\-/g') # groff spells - as \-
  grep -q "^\.BR* $manname\( [,;]\)\?\$" "$man" || miss "cohort(1) lacks checker '$c'"
done
subs=$("$cohort" trace --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')
for s in $subs; do
  grep -q "cohort trace $s" "$src/docs/trace-tools.md" || miss "docs/trace-tools.md lacks 'cohort trace $s'"
done
for f in "$src"/scenarios/*.scn; do
  b=$(basename "$f")
  grep -q "scenarios/$b" "$src/docs/scenario-format.md" || miss "docs/scenario-format.md lacks scenarios/$b"
done
if [ -n "$missing" ]; then
  echo "docs disagree with the program:$missing" >&2
  exit 1
fi
echo "docs: $(echo "$lists" | wc -l) commands and benches, $(echo "$checkers" | wc -l) checkers," \
  "$(echo "$subs" | wc -l) trace commands, $(ls "$src"/scenarios/*.scn | wc -l) scenarios all documented"
