/* tools/cmd_trace.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_cmd_trace(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'cmd_trace' is not built yet\n");
  return 2;
}
