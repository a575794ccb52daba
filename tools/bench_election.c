/* tools/bench_election.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_bench_election(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'bench_election' is not built yet\n");
  return 2;
}
