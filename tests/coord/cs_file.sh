# tests/coord/cs_file.sh — the check of a shared critical-section file
# written by the mutex workload=file (sourced by the multi-process mutex
# tests): "NODE SEQ enter TOKEN" and "NODE SEQ exit|expire TOKEN" lines.
# No enter may come while another node is inside (except after an enter of
# the node DEAD, which may have died inside), fencing tokens strictly
# increase over all enters, at least 10 entries, and at least 5 entries by
# nodes other than DEAD after line LINES_AT_KILL.
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

