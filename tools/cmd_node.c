/* tools/cmd_node.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_cmd_node(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'cmd_node' is not built yet\n");
  return 2;
}
