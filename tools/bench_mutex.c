/* tools/bench_mutex.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_bench_mutex(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'bench_mutex' is not built yet\n");
  return 2;
}
