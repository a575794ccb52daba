/* tools/bench_rpc.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_bench_rpc(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'bench rpc' is not built yet\n");
  return 2;
}
