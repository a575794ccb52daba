/* tools/bench_clock.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_bench_clock(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'bench_clock' is not built yet\n");
  return 2;
}
