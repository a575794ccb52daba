/*
 * bench/multicast/mc_cohort.c — the cohort peer of `cohort bench
 * multicast` (protocol: mc_peer.h): one group member over UDP, the
 * runtime on a libuv loop, as an application embeds it (public headers
 * and libcohort only). Node --index 0 founds the group at --peers[0];
 * the others join through it. READY once the view holds --nodes members.
 *
 * Sending: after GO, a uv_check handle (it runs after every poll of the
 * loop, i.e. after acknowledgements arrived) multicasts until the group's
 * send window is full (COHORT_EAGAIN): the window is the flow control,
 * and the loop sleeps in poll until acknowledgements free it.
 *
 * Invariants: a message is counted sent only when the group accepted it;
 * every delivery (own messages too) is recorded; the peer exits only
 * after --seconds + --drain from GO, or on a fatal error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/group.h"
#include "cohort/runtime.h"
#include "mc_peer.h"

typedef struct peer {
  mc_run_t run;
  uv_loop_t loop;
  uv_poll_t in;
  uv_check_t check;
  uv_timer_t tick;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *rn;
  cohort_node_t *node;
  cohort_group_t *g;
  uint32_t svc;
  bool attached, ready, full;
  uint8_t msg[MC_SIZE_MAX];
  int status;
} peer_t;

static void on_view(void *ud, const cohort_group_view_t *v) {
  peer_t *p = ud;
  if (!p->ready && v->members_len == p->run.o.nodes) {
    p->ready = true;
    mc_ready();
  } else if (p->ready && v->members_len != p->run.o.nodes) {
    fprintf(stderr, "mc_cohort %u: the view changed to %zu members during the run\n",
            p->run.o.index, v->members_len);
    p->status = 1;
  }
}

static void on_deliver(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                       size_t len) {
  (void)from;
  (void)seq;
  peer_t *p = ud;
  mc_record(&p->run, msg, len);
}

static void send_some(peer_t *p) {
  uint64_t now = mc_now_ns();
  if (!mc_sending(&p->run, now)) return;
  /* bounded: the window (at most COHORT_GROUP_WINDOW_MAX) refuses first */
  for (unsigned i = 0; i < COHORT_GROUP_WINDOW_MAX + 1; i++) {
    mc_fill(&p->run, p->msg);
    int rc = cohort_group_send_svc(p->g, p->svc, p->msg, p->run.o.size, NULL);
    if (rc == COHORT_EAGAIN) {
      if (!p->full) p->run.eagain++;
      p->full = true;
      return;
    }
    if (rc != 0) {
      fprintf(stderr, "mc_cohort %u: send: %s\n", p->run.o.index, cohort_strerror(rc));
      p->status = 1;
      uv_stop(&p->loop);
      return;
    }
    p->full = false;
    p->run.sent++;
  }
}

static void on_check(uv_check_t *h) { send_some(h->data); }

static void on_stdin(uv_poll_t *h, int status, int events) {
  (void)events;
  peer_t *p = h->data;
  if (status < 0 || mc_poll_go(&p->run)) {
    uv_poll_stop(h);
    send_some(p);
  }
}

static void on_tick(uv_timer_t *t) {
  peer_t *p = t->data;
  if (p->run.go && mc_now_ns() >= p->run.t_end_ns) uv_stop(&p->loop);
  else send_some(p);
}

static int parse_peers(peer_t *p, struct sockaddr_storage *addrs) {
  char buf[1024];
  if (p->run.o.peers == NULL) return -1;
  snprintf(buf, sizeof buf, "%s", p->run.o.peers);
  unsigned n = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (n >= p->run.o.nodes || cohort_runtime_parse_addr(t, false, &addrs[n]) < 0) return -1;
    n++;
  }
  return n == p->run.o.nodes ? 0 : -1;
}

static int start(peer_t *p) {
  static struct sockaddr_storage addrs[MC_NODES_MAX];
  static cohort_runtime_keys_t keys;
  char err[512];
  const mc_opts_t *o = &p->run.o;
  if (parse_peers(p, addrs) != 0) {
    fprintf(stderr, "mc_cohort: --peers must list --nodes addresses (ADDR:PORT,...)\n");
    return 2;
  }
  if (cohort_mcast_service_parse(o->service ? o->service : "total", &p->svc) != 0) {
    fprintf(stderr, "mc_cohort: unknown --service '%s'\n", o->service);
    return 2;
  }
  cohort_runtime_node_config_t cfg = {.cluster_id = 1, .id = (cohort_node_id_t)(o->index + 1)};
  cfg.listen = addrs[o->index];
  if (o->index > 0) {
    cfg.contacts = &addrs[0];
    cfg.contacts_len = 1;
  }
  if (o->key_file != NULL) {
    if (cohort_runtime_read_keys(o->key_file, &keys, err, sizeof err) < 0) {
      fprintf(stderr, "mc_cohort: --key-file: %s\n", err);
      return 2;
    }
    cfg.keys = &keys;
  }
  int rc = cohort_runtime_new(&p->loop, NULL, &p->rt);
  if (rc == 0) rc = cohort_runtime_node_add(p->rt, &cfg, &p->rn, err, sizeof err);
  if (rc) {
    fprintf(stderr, "mc_cohort: %s\n", p->rt ? err : cohort_strerror(rc));
    return 1;
  }
  p->node = cohort_runtime_node(p->rn);
  cohort_group_config_t gc;
  cohort_group_config_default(&gc);
  gc.founder = o->index == 0;
  if (o->window) gc.window = o->window;
  cohort_group_callbacks_t cb = {.view = on_view, .deliver = on_deliver};
  rc = cohort_group_new(p->node, &gc, &cb, p, &p->g);
  if (rc == 0) rc = cohort_node_attach(p->node, cohort_group_proto(p->g));
  if (rc) {
    fprintf(stderr, "mc_cohort: group: %s\n", cohort_strerror(rc));
    return 1;
  }
  p->attached = true;
  uv_poll_init(&p->loop, &p->in, 0);
  uv_check_init(&p->loop, &p->check);
  uv_timer_init(&p->loop, &p->tick);
  p->in.data = p->check.data = p->tick.data = p;
  uv_poll_start(&p->in, UV_READABLE, on_stdin);
  uv_check_start(&p->check, on_check);
  uv_timer_start(&p->tick, on_tick, 10, 10);
  cohort_node_start(p->node);
  return 0;
}

static void stop(peer_t *p) {
  uv_handle_t *hs[] = {(uv_handle_t *)&p->in, (uv_handle_t *)&p->check, (uv_handle_t *)&p->tick};
  for (size_t i = 0; i < 3; i++)
    if (hs[i]->loop == &p->loop && !uv_is_closing(hs[i])) uv_close(hs[i], NULL);
  if (p->rt) cohort_runtime_stop(p->rt);
  if (p->attached) cohort_node_detach(p->node, cohort_group_proto(p->g));
  cohort_group_free(p->g);
  cohort_runtime_free(p->rt);
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  static peer_t p;
  mc_opts_t o;
  mc_parse(argc, argv, "mc_cohort", &o);
  mc_run_open(&p.run, &o);
  if (uv_loop_init(&p.loop)) {
    fprintf(stderr, "mc_cohort: cannot create the event loop\n");
    return 1;
  }
  int rc = start(&p);
  if (rc == 0) uv_run(&p.loop, UV_RUN_DEFAULT);
  if (rc == 0 && !p.run.go) {
    fprintf(stderr, "mc_cohort %u: stopped before GO\n", o.index);
    rc = 1;
  }
  if (p.g != NULL) {
    const cohort_group_stats_t *gs = cohort_group_stats(p.g);
    printf("INFO tx_data=%llu tx_retransmits=%llu tx_acks=%llu tx_stable=%llu tx_order=%llu "
           "rx_dup=%llu views=%llu\n",
           (unsigned long long)gs->tx_data, (unsigned long long)gs->tx_retransmits,
           (unsigned long long)gs->tx_acks, (unsigned long long)gs->tx_stable,
           (unsigned long long)gs->tx_order, (unsigned long long)gs->rx_dup,
           (unsigned long long)gs->views);
  }
  stop(&p);
  (void)uv_loop_close(&p.loop);
  if (rc) return rc;
  int frc = mc_finish(&p.run);
  return p.status ? p.status : frc;
}
