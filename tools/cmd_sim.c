/* tools/cmd_sim.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_cmd_sim(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'cmd_sim' is not built yet\n");
  return 2;
}
