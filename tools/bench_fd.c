/* tools/bench_fd.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_bench_fd(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'bench_fd' is not built yet\n");
  return 2;
}
