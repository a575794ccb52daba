/* tools/cmd_ntp.c — placeholder until its owner lands it. */
#include <stdio.h>

#include "cmd.h"

int cohort_cmd_ntp(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cohort: 'cmd_ntp' is not built yet\n");
  return 2;
}
