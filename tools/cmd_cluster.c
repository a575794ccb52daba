/* tools/cmd_cluster.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_cmd_cluster(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'cmd_cluster' is not built yet\n");
  return 2;
}
