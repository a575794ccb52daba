/*
 * tools/node_observe.c — `cohort node --metrics ADDR --control PATH`: make
 * the node's observer (include/cohort/observe.h) and say where it serves.
 * Kept out of cmd_node.c so that file needs only two calls.
 */
#include <stdio.h>

#include "cmd.h"
#include "cohort/observe.h"

int node_observe_start(uv_loop_t *loop, cohort_runtime_node_t *rn, const char *metrics_addr,
                       const char *control_path, const char *state_dir,
                       cohort_observe_t **out) {
  char path[512], err[512];
  *out = NULL;
  if (!control_path && state_dir) {
    snprintf(path, sizeof path, "%s/node-%u.sock", state_dir,
             (unsigned)cohort_node_id(cohort_runtime_node(rn)));
    control_path = path;
  }
  if (!metrics_addr && !control_path) return 0;
  if (cohort_observe_new(loop, rn, NULL, out) != 0) {
    fprintf(stderr, "cohort node: out of memory\n");
    return 1;
  }
  int port = 0;
  if (metrics_addr && cohort_observe_metrics_listen(*out, metrics_addr, &port, err,
                                                    sizeof err) != 0) {
    fprintf(stderr, "cohort node: --metrics: %s\n", err);
    return 1;
  }
  if (metrics_addr) printf("cohort node: metrics on http://%s/metrics (port %d)\n",
                           metrics_addr, port);
  if (control_path && cohort_observe_control_listen(*out, control_path, err, sizeof err) != 0) {
    fprintf(stderr, "cohort node: --control: %s\n", err);
    return 1;
  }
  if (control_path) printf("cohort node: control socket %s\n", control_path);
  fflush(stdout);
  return 0;
}
