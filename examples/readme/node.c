/*
 * examples/readme/node.c — the README's node program: two cohort nodes
 * hosted by the libuv runtime in one process, on loopback UDP ports the
 * kernel picks, each running the phi accrual failure detector on the
 * other. After about a second of heartbeats each prints φ for its peer.
 * Builds against the installed library in C and in C++:
 *   cc node.c $(pkg-config --cflags --libs cohort)
 * Exit status 0 when both nodes heard each other and suspect nobody.
 */
/* uv.h needs POSIX types (pthread_rwlock_t) when built as strict ISO C. */
#define _POSIX_C_SOURCE 200809L
#include <cohort/detect.h>
#include <cohort/runtime.h>
#include <stdio.h>
#include <string.h>

static void stop_loop(uv_timer_t *t) { uv_stop(t->loop); }

/* Node `id` listening on an ephemeral port, with one peer (address set
 * once both sockets are bound). */
static int add_node(cohort_runtime_t *rt, cohort_node_id_t id, cohort_node_id_t peer,
                    cohort_runtime_node_t **out) {
  cohort_runtime_peer_t p;
  cohort_runtime_node_config_t cfg;
  char err[256];
  memset(&cfg, 0, sizeof cfg);
  memset(&p, 0, sizeof p);
  p.id = peer;
  if (cohort_runtime_parse_addr("127.0.0.1:9", false, &p.addr) != 0) return -1;
  if (cohort_runtime_parse_addr("127.0.0.1:0", true, &cfg.listen) != 0) return -1;
  cfg.cluster_id = 0xC0FFEE;
  cfg.id = id;
  cfg.peers = &p; /* copied by the runtime */
  cfg.peers_len = 1;
  cfg.vector_clock = true;
  int rc = cohort_runtime_node_add(rt, &cfg, out, err, sizeof err);
  if (rc != 0) fprintf(stderr, "node %u: %s\n", (unsigned)id, err);
  return rc;
}

int main(void) {
  uv_loop_t loop;
  cohort_runtime_t *rt; /* we own it: cohort_runtime_free */
  cohort_runtime_node_t *rn[2];
  cohort_fd_t fd[2];    /* caller-allocated detectors */
  struct sockaddr_storage addr[2];
  cohort_fd_config_t cfg;
  int ok = 1;
  if (uv_loop_init(&loop) != 0 || cohort_runtime_new(&loop, NULL, &rt) != 0) return 1;
  if (add_node(rt, 1, 2, &rn[0]) != 0 || add_node(rt, 2, 1, &rn[1]) != 0) return 1;
  cohort_fd_config_default(&cfg);
  cfg.interval_ns = 50 * COHORT_NS_PER_MS;
  cfg.min_stddev_ns = 5 * COHORT_NS_PER_MS;
  for (int i = 0; i < 2; i++) {
    cohort_runtime_node_address(rn[i], &addr[i]);
    cohort_node_t *node = cohort_runtime_node(rn[i]); /* owned by rn[i] */
    if (cohort_fd_init(&fd[i], node, &cfg) != 0) return 1;
    cohort_node_attach(node, cohort_fd_proto(&fd[i])); /* borrowed */
  }
  cohort_runtime_node_set_peer(rn[0], 2, &addr[1]);
  cohort_runtime_node_set_peer(rn[1], 1, &addr[0]);
  for (int i = 0; i < 2; i++) cohort_node_start(cohort_runtime_node(rn[i]));
  uv_timer_t stop;
  uv_timer_init(&loop, &stop);
  uv_timer_start(&stop, stop_loop, 1200, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (int i = 0; i < 2; i++) {
    cohort_fd_peer_info_t info;
    cohort_node_id_t peer = (cohort_node_id_t)(2 - i);
    if (cohort_fd_peer_info(&fd[i], peer, &info) != 0) return 1;
    printf("node %d: peer %u phi=%.2f heartbeats=%llu suspected=%s\n", i + 1,
           (unsigned)peer, info.phi, (unsigned long long)info.arrivals,
           info.suspected ? "yes" : "no");
    ok = ok && info.arrivals >= 5 && !info.suspected;
  }
  for (int i = 0; i < 2; i++) {
    cohort_node_detach(cohort_runtime_node(rn[i]), cohort_fd_proto(&fd[i]));
    cohort_fd_close(&fd[i]);
  }
  uv_close((uv_handle_t *)&stop, NULL);
  cohort_runtime_free(rt);
  uv_loop_close(&loop);
  return ok ? 0 : 1;
}
