/*
 * tests/detect/test_fd.c — the failure detector protocol driven through
 * real nodes (src/core/node.c) by a fake host: one fake true clock, a queue
 * of datagrams in flight copied between nodes by the test (quicly t/test.c
 * style), crash / mute / restart as test actions. Checks push and pull
 * modes, φ staying small under steady heartbeats, a silent peer crossing
 * the threshold at the time the model predicts, recovery, the window reset
 * of a restarted peer, the fixed-timeout detector, the trace records, the
 * refusal of malformed payloads, allocation failures, and the peer table
 * following the node's peers (added, removed, reported failed).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort/detect.h"
#include "detect.pb-c.h"

#define NODES_MAX 4
#define INFLIGHT_MAX 1024
#define DGRAM_CAP 512
#define STATES_MAX 64
#define EVENTS_MAX 64
#define MS COHORT_NS_PER_MS
#define EPOCH (INT64_C(1767225600) * COHORT_NS_PER_S)
/* z where −log10 Q(z) = 8 (mpmath: φ(5.6120) = 7.99999, φ(5.6121) = 8.00002). */
#define Z_PHI8 5.6121

typedef struct net net_t;

typedef struct host {
  net_t *net;
  cohort_node_id_t id;
  int64_t wake;
} host_t;

typedef struct inflight {
  int64_t at;
  uint64_t order;
  cohort_node_id_t to;
  size_t len;
  uint8_t data[DGRAM_CAP];
} inflight_t;

typedef struct fd_event {
  cohort_node_id_t at_node, peer;
  bool suspected;
  double phi;
  int64_t t;
} fd_event_t;

struct net {
  int64_t t;
  int64_t latency;
  uint64_t rng, order;
  size_t n;
  host_t hosts[NODES_MAX + 1];
  cohort_node_t *nodes[NODES_MAX + 1]; /* NULL = crashed */
  cohort_fd_t fds[NODES_MAX + 1];
  bool has_fd[NODES_MAX + 1];
  bool mute[NODES_MAX + 1]; /* alive, but everything it sends is lost */
  cohort_incarnation_t inc[NODES_MAX + 1];
  cohort_fd_config_t cfg;
  const cohort_allocator_t *alloc;
  inflight_t q[INFLIGHT_MAX];
  size_t qlen;
  char states[STATES_MAX][512]; /* fd state trace records */
  size_t states_len;
  fd_event_t events[EVENTS_MAX];
  size_t events_len;
};

/* ---- the fake host --------------------------------------------------------- */

static int64_t host_now(void *h) { return ((host_t *)h)->net->t; }
static int64_t host_wall(void *h) { return EPOCH + ((host_t *)h)->net->t; }

static uint64_t host_random(void *h) {
  net_t *net = ((host_t *)h)->net;
  net->rng ^= net->rng << 13, net->rng ^= net->rng >> 7, net->rng ^= net->rng << 17;
  return net->rng;
}

static int host_send(void *h, cohort_node_id_t to, const uint8_t *d, size_t len) {
  host_t *host = h;
  net_t *net = host->net;
  if (net->mute[host->id]) return 0;
  assert_true(len <= DGRAM_CAP);
  assert_true(net->qlen < INFLIGHT_MAX);
  inflight_t *f = &net->q[net->qlen++];
  f->at = net->t + net->latency;
  f->order = net->order++;
  f->to = to;
  f->len = len;
  memcpy(f->data, d, len);
  return 0;
}

static void host_wake(void *h, int64_t deadline) { ((host_t *)h)->wake = deadline; }

static void host_trace(void *h, const char *line, size_t len) {
  net_t *net = ((host_t *)h)->net;
  if (!strstr(line, "\"ev\":\"state\"") || !strstr(line, "\"proto\":\"fd\"")) return;
  if (net->states_len == STATES_MAX) return;
  assert_true(len < sizeof net->states[0]);
  memcpy(net->states[net->states_len], line, len);
  net->states[net->states_len++][len] = '\0';
}

static const cohort_host_ops_t host_ops = {
    .now = host_now,
    .wall = host_wall,
    .true_time = host_wall,
    .random = host_random,
    .send = host_send,
    .wake = host_wake,
    .trace = host_trace,
};

static void on_fd_event(cohort_fd_t *fd, const cohort_fd_peer_info_t *in, void *ud) {
  net_t *net = ud;
  assert_true(net->events_len < EVENTS_MAX);
  fd_event_t *e = &net->events[net->events_len++];
  e->at_node = cohort_node_id(fd->proto.node);
  e->peer = in->peer;
  e->suspected = in->suspected;
  e->phi = in->phi;
  e->t = net->t;
  assert_int_equal(cohort_fd_is_suspected(fd, in->peer), in->suspected);
}

/* ---- the cluster ------------------------------------------------------------- */

static void node_boot(net_t *net, cohort_node_id_t id, bool with_fd) {
  cohort_node_id_t peers[NODES_MAX];
  size_t np = 0;
  for (cohort_node_id_t j = 1; j <= net->n; j++)
    if (j != id) peers[np++] = j;
  net->inc[id]++;
  net->hosts[id] = (host_t){.net = net, .id = id, .wake = COHORT_TIME_NEVER};
  cohort_node_config_t nc = {.cluster_id = 7, .id = id, .incarnation = net->inc[id],
                             .peers = peers, .peers_len = np,
                             .hlc_max_offset_ns = COHORT_NS_PER_S, .alloc = net->alloc};
  assert_int_equal(cohort_node_new(&nc, &host_ops, &net->hosts[id], &net->nodes[id]), 0);
  net->has_fd[id] = with_fd;
  if (with_fd) {
    assert_int_equal(cohort_fd_init(&net->fds[id], net->nodes[id], &net->cfg), 0);
    cohort_fd_set_callback(&net->fds[id], net, on_fd_event);
    assert_int_equal(cohort_node_attach(net->nodes[id], cohort_fd_proto(&net->fds[id])), 0);
  }
  cohort_node_start(net->nodes[id]);
}

static void node_crash(net_t *net, cohort_node_id_t id) {
  assert_non_null(net->nodes[id]);
  if (net->has_fd[id]) {
    cohort_node_detach(net->nodes[id], cohort_fd_proto(&net->fds[id]));
    cohort_fd_close(&net->fds[id]);
  }
  cohort_node_free(net->nodes[id]);
  net->nodes[id] = NULL;
}

static void net_init(net_t *net, size_t n, const cohort_fd_config_t *cfg) {
  memset(net, 0, sizeof *net);
  net->n = n;
  net->latency = 1 * MS;
  net->rng = 0x9e3779b97f4a7c15ull;
  if (cfg) net->cfg = *cfg;
  else cohort_fd_config_default(&net->cfg);
}

static void net_boot_all(net_t *net) {
  for (cohort_node_id_t i = 1; i <= net->n; i++) node_boot(net, i, true);
}

static void net_close(net_t *net) {
  for (cohort_node_id_t i = 1; i <= net->n; i++)
    if (net->nodes[i]) node_crash(net, i);
}

/* Process every datagram and wake-up up to true time `until`, in order. */
static void net_run_until(net_t *net, int64_t until) {
  for (;;) {
    int64_t best = until + 1;
    size_t best_q = SIZE_MAX;
    cohort_node_id_t best_wake = 0;
    for (size_t i = 0; i < net->qlen; i++)
      if (net->q[i].at < best || (net->q[i].at == best && best_q != SIZE_MAX &&
                                  net->q[i].order < net->q[best_q].order))
        best = net->q[i].at, best_q = i;
    for (cohort_node_id_t i = 1; i <= net->n; i++)
      if (net->nodes[i] && net->hosts[i].wake < best)
        best = net->hosts[i].wake, best_wake = i, best_q = SIZE_MAX;
    if (best > until) break;
    net->t = best;
    if (best_wake) {
      net->hosts[best_wake].wake = COHORT_TIME_NEVER;
      cohort_node_on_wake(net->nodes[best_wake]);
    } else {
      inflight_t f = net->q[best_q];
      net->q[best_q] = net->q[--net->qlen]; /* order kept by `order` */
      if (net->nodes[f.to]) (void)cohort_node_on_datagram(net->nodes[f.to], f.data, f.len);
    }
  }
  net->t = until;
}

static cohort_fd_peer_info_t info_of(net_t *net, cohort_node_id_t at, cohort_node_id_t peer) {
  cohort_fd_peer_info_t in;
  assert_int_equal(cohort_fd_peer_info(&net->fds[at], peer, &in), 0);
  return in;
}

static const fd_event_t *find_event(const net_t *net, cohort_node_id_t at, cohort_node_id_t peer,
                                    bool suspected) {
  for (size_t i = 0; i < net->events_len; i++)
    if (net->events[i].at_node == at && net->events[i].peer == peer &&
        net->events[i].suspected == suspected)
      return &net->events[i];
  return NULL;
}

static const char *find_state(const net_t *net, cohort_node_id_t at, const char *what,
                              cohort_node_id_t peer) {
  char node_s[32], what_s[64], data_s[64];
  snprintf(node_s, sizeof node_s, "\"node\":%u,", (unsigned)at);
  snprintf(what_s, sizeof what_s, "\"what\":\"%s\"", what);
  snprintf(data_s, sizeof data_s, "\"data\":{\"peer\":%u", (unsigned)peer);
  for (size_t i = 0; i < net->states_len; i++) {
    const char *d = strstr(net->states[i], data_s);
    if (strstr(net->states[i], node_s) && strstr(net->states[i], what_s) && d &&
        (d[strlen(data_s)] == ',' || d[strlen(data_s)] == '}'))
      return net->states[i];
  }
  return NULL;
}

static double json_number(const char *line, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = strstr(line, k);
  assert_non_null(p);
  return strtod(p + strlen(k), NULL);
}

/* ---- push mode ------------------------------------------------------------- */

static void test_push_steady(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  net_run_until(net, 20 * COHORT_NS_PER_S + 37 * MS);
  for (cohort_node_id_t a = 1; a <= 3; a++) {
    for (cohort_node_id_t b = 1; b <= 3; b++) {
      if (a == b) continue;
      cohort_fd_peer_info_t in = info_of(net, a, b);
      assert_true(in.phi < 1.0);
      assert_true(cohort_fd_phi(&net->fds[a], b) == in.phi);
      assert_false(in.suspected);
      assert_in_range(in.samples, 195, 200);
      assert_true(fabs(in.mean_ns - 100.0 * MS) < 0.01 * MS);
      assert_true(in.stddev_ns == (double)net->cfg.min_stddev_ns); /* floored */
      assert_int_equal(in.incarnation, 1);
    }
    const cohort_fd_stats_t *st = cohort_fd_stats(&net->fds[a]);
    assert_in_range(st->tx_heartbeats, 2 * 199, 2 * 201);
    assert_int_equal(st->tx_pings + st->rx_malformed + st->rx_stale + st->suspicions, 0);
    assert_int_equal(cohort_node_stats(net->nodes[a])->drop_proto, 0);
  }
  assert_int_equal(net->events_len, 0);
  assert_true(cohort_fd_phi(&net->fds[1], 1) == -1.0); /* self: not monitored */
  assert_true(cohort_fd_phi(&net->fds[1], 99) == -1.0);
  assert_false(cohort_fd_is_suspected(&net->fds[1], 99));
  cohort_fd_peer_info_t in;
  assert_int_equal(cohort_fd_peer_info(&net->fds[1], 99, &in), COHORT_EUNKNOWN);
  net_close(net);
  free(net);
}

/* A crashed peer is suspected when φ crosses 8: with a constant latency the
 * window has mean 100ms and no spread, σ is floored at 10ms and the pause
 * is 100ms, so at 200ms + 5.612·10ms ≈ 256.1ms after its last heartbeat,
 * give or take one check period. */
static void test_push_silent_peer_crosses_threshold(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  net_run_until(net, 10 * COHORT_NS_PER_S);
  node_crash(net, 3);
  int64_t last[3];
  for (cohort_node_id_t a = 1; a <= 2; a++) {
    cohort_fd_peer_info_t in = info_of(net, a, 3);
    last[a] = net->t - in.since_ns;
  }
  int64_t cross = 200 * MS + (int64_t)(Z_PHI8 * 10 * MS);
  /* One millisecond before the predicted crossing φ is still below 8. */
  int64_t first = last[1] < last[2] ? last[1] : last[2];
  net_run_until(net, first + cross - 1 * MS);
  assert_true(cohort_fd_phi(&net->fds[1], 3) < 8.0 || net->t - last[1] < cross - MS);
  assert_null(find_event(net, 1, 3, true));
  net_run_until(net, net->t + 2 * COHORT_NS_PER_S);
  for (cohort_node_id_t a = 1; a <= 2; a++) {
    const fd_event_t *e = find_event(net, a, 3, true);
    assert_non_null(e);
    assert_in_range(e->t - last[a], cross, cross + net->cfg.check_ns);
    /* φ is evaluated every check period: at most that much past 8. */
    double z_late = Z_PHI8 + (double)net->cfg.check_ns / (10.0 * MS);
    assert_true(e->phi >= 8.0);
    assert_true(e->phi <= cohort_fd_phi_compute(z_late, 0, 1));
    assert_true(cohort_fd_is_suspected(&net->fds[a], 3));
    const char *line = find_state(net, a, "suspect", 3);
    assert_non_null(line);
    assert_true(json_number(line, "phi") >= 8.0);
    assert_true(fabs(json_number(line, "mean_ms") - 100.0) < 0.01);
    assert_true(fabs(json_number(line, "stddev_ms") - 10.0) < 0.01);
    assert_in_range((uint64_t)json_number(line, "samples"), 95, 100);
    assert_true(json_number(line, "since_ms") >= 256.0);
    assert_non_null(strstr(line, "\"detector\":\"phi\""));
    /* Still alive: nobody suspects 1 or 2. */
    assert_false(cohort_fd_is_suspected(&net->fds[a], a == 1 ? 2 : 1));
  }
  assert_int_equal(net->events_len, 2); /* once each: no repeated upcalls */
  char buf[64];
  int len = cohort_fd_status(&net->fds[1], buf, sizeof buf);
  assert_int_equal(len, (int)strlen(buf));
  assert_non_null(strstr(buf, "2:0."));
  assert_int_equal(buf[len - 1], '!');
  net_close(net);
  free(net);
}

static void test_push_recovery(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  net_run_until(net, 5 * COHORT_NS_PER_S);
  net->mute[3] = true; /* a partition: 3 is alive, nothing it sends arrives */
  net_run_until(net, 6 * COHORT_NS_PER_S);
  assert_true(cohort_fd_is_suspected(&net->fds[1], 3));
  assert_true(cohort_fd_phi(&net->fds[1], 3) > 100);
  assert_false(cohort_fd_is_suspected(&net->fds[3], 1)); /* 3 still hears 1 */
  net->mute[3] = false;
  net_run_until(net, 6 * COHORT_NS_PER_S + 150 * MS);
  for (cohort_node_id_t a = 1; a <= 2; a++) {
    const fd_event_t *s = find_event(net, a, 3, true), *r = find_event(net, a, 3, false);
    assert_non_null(s);
    assert_non_null(r);
    assert_true(r->t > s->t);
    assert_true(r->t <= 6 * COHORT_NS_PER_S + 101 * MS); /* the next heartbeat */
    assert_true(r->phi < 1.0);
    assert_false(cohort_fd_is_suspected(&net->fds[a], 3));
    const char *line = find_state(net, a, "recover", 3);
    assert_non_null(line);
    assert_true(json_number(line, "gap_ms") > 900); /* the silence that ended */
    const cohort_fd_stats_t *st = cohort_fd_stats(&net->fds[a]);
    assert_int_equal(st->suspicions, 1);
    assert_int_equal(st->recoveries, 1);
  }
  net_close(net);
  free(net);
}

/* A restarted peer is a new process: its window starts empty. */
static void test_push_restart_resets_window(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  net_run_until(net, 10 * COHORT_NS_PER_S);
  assert_true(info_of(net, 1, 3).samples > 90);
  node_crash(net, 3);
  net_run_until(net, 11 * COHORT_NS_PER_S);
  assert_true(cohort_fd_is_suspected(&net->fds[1], 3));
  node_boot(net, 3, true);
  net_run_until(net, 11 * COHORT_NS_PER_S + 350 * MS);
  for (cohort_node_id_t a = 1; a <= 2; a++) {
    cohort_fd_peer_info_t in = info_of(net, a, 3);
    assert_int_equal(in.incarnation, 2);
    assert_in_range(in.samples, 1, 3); /* only the new incarnation's gaps */
    assert_false(in.suspected);
    assert_int_equal(cohort_fd_stats(&net->fds[a])->resets, 1);
    assert_non_null(find_state(net, a, "reset", 3));
    assert_non_null(find_event(net, a, 3, false));
  }
  /* The restarted node, for its part, learns the others from scratch. */
  assert_false(cohort_fd_is_suspected(&net->fds[3], 1));
  net_close(net);
  free(net);
}

static void test_fixed_detector(void **state) {
  (void)state;
  cohort_fd_config_t cfg;
  cohort_fd_config_default(&cfg);
  cfg.detector = COHORT_FD_FIXED;
  cfg.timeout_ns = 300 * MS;
  net_t *net = malloc(sizeof *net);
  net_init(net, 2, &cfg);
  net_boot_all(net);
  net_run_until(net, 3 * COHORT_NS_PER_S);
  node_crash(net, 2);
  int64_t last = net->t - info_of(net, 1, 2).since_ns;
  net_run_until(net, 5 * COHORT_NS_PER_S);
  const fd_event_t *e = find_event(net, 1, 2, true);
  assert_non_null(e);
  assert_in_range(e->t - last, 300 * MS + 1, 300 * MS + cfg.check_ns);
  const char *line = find_state(net, 1, "suspect", 2);
  assert_non_null(line);
  assert_non_null(strstr(line, "\"detector\":\"fixed\",\"timeout_ms\":300.000"));
  net_close(net);
  free(net);
}

/* A peer that never speaks is suspected too (the prior: the interval). */
static void test_never_heard_peer(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 2, NULL);
  node_boot(net, 1, true); /* node 2 never boots */
  net_run_until(net, 300 * MS);
  assert_null(find_event(net, 1, 2, true));
  net_run_until(net, 400 * MS);
  /* mean 100 + pause 100 + 5.612 · σ 25 (interval/4) ≈ 340ms */
  const fd_event_t *e = find_event(net, 1, 2, true);
  assert_non_null(e);
  assert_in_range(e->t, 340 * MS, 340 * MS + net->cfg.check_ns);
  assert_int_equal(info_of(net, 1, 2).incarnation, 0);
  net_close(net);
  free(net);
}

/* ---- dynamic membership ------------------------------------------------------ */

static size_t count_states(const net_t *net, cohort_node_id_t at, const char *what,
                           cohort_node_id_t peer) {
  char node_s[32], what_s[64], data_s[64];
  snprintf(node_s, sizeof node_s, "\"node\":%u,", (unsigned)at);
  snprintf(what_s, sizeof what_s, "\"what\":\"%s\"", what);
  snprintf(data_s, sizeof data_s, "\"data\":{\"peer\":%u", (unsigned)peer);
  size_t n = 0;
  for (size_t i = 0; i < net->states_len; i++)
    if (strstr(net->states[i], node_s) && strstr(net->states[i], what_s) &&
        strstr(net->states[i], data_s))
      n++;
  return n;
}

/* A peer removed from the node is no longer monitored (no suspicion when
 * it then crashes); added back, it is monitored from the moment it is
 * added, with the prior model, and suspected while it is down; its next
 * incarnation recovers it. The table stays sorted through it all. */
static void test_peer_remove_add(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 4, NULL);
  net_boot_all(net);
  net_run_until(net, 2 * COHORT_NS_PER_S);
  cohort_fd_t *fd = &net->fds[1];
  assert_int_equal(cohort_node_peer_remove(net->nodes[1], 3), 0);
  assert_int_equal(fd->peers_len, 2);
  assert_true(cohort_fd_phi(fd, 3) == -1.0);
  assert_int_equal(cohort_fd_stats(fd)->peers_removed, 1);
  assert_int_equal(count_states(net, 1, "unmonitor", 3), 1);
  uint64_t hb = cohort_fd_stats(fd)->tx_heartbeats;
  node_crash(net, 3);
  net_run_until(net, 4 * COHORT_NS_PER_S);
  assert_null(find_event(net, 1, 3, true)); /* not monitored: not suspected */
  assert_non_null(find_event(net, 2, 3, true));
  /* Heartbeats go to the two remaining peers only. */
  assert_in_range(cohort_fd_stats(fd)->tx_heartbeats - hb, 2 * 19, 2 * 21);
  /* Added back (while it is down): monitored from now, suspected once the
   * prior model says the silence is too long (≈ 340 ms). */
  int64_t added = net->t;
  assert_int_equal(cohort_node_peer_add(net->nodes[1], 3, 0, NULL, 0), 0);
  assert_int_equal(fd->peers_len, 3);
  char buf[64];
  assert_true(cohort_fd_status(fd, buf, sizeof buf) > 0);
  assert_true(strncmp(buf, "2:", 2) == 0); /* sorted: 2, 3, 4 */
  assert_non_null(strstr(buf, " 3:"));
  assert_true(strstr(buf, " 3:") < strstr(buf, " 4:"));
  assert_int_equal(cohort_fd_stats(fd)->peers_added, 1);
  assert_int_equal(count_states(net, 1, "monitor", 3), 1);
  cohort_fd_peer_info_t in = info_of(net, 1, 3);
  assert_int_equal(in.samples, 0);
  assert_int_equal(in.since_ns, 0);
  net_run_until(net, added + 300 * MS);
  assert_null(find_event(net, 1, 3, true));
  net_run_until(net, added + 400 * MS);
  const fd_event_t *e = find_event(net, 1, 3, true);
  assert_non_null(e);
  assert_in_range(e->t - added, 340 * MS, 340 * MS + net->cfg.check_ns);
  /* A second add is no event. */
  assert_int_equal(cohort_node_peer_add(net->nodes[1], 3, 0, NULL, 0), COHORT_EEXIST);
  assert_int_equal(cohort_fd_stats(fd)->peers_added, 1);
  node_boot(net, 3, true);
  net_run_until(net, net->t + 300 * MS);
  assert_false(cohort_fd_is_suspected(fd, 3));
  assert_int_equal(info_of(net, 1, 3).incarnation, 2);
  net_close(net);
  free(net);
}

/* A peer added to a node that has no other: the table grows from empty. */
static void test_peer_add_from_empty(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  assert_int_equal(cohort_node_peer_remove(net->nodes[1], 2), 0);
  assert_int_equal(cohort_node_peer_remove(net->nodes[1], 3), 0);
  assert_int_equal(net->fds[1].peers_len, 0);
  net_run_until(net, 1 * COHORT_NS_PER_S);
  assert_int_equal(cohort_node_peer_add(net->nodes[1], 3, 0, NULL, 0), 0);
  assert_int_equal(cohort_node_peer_add(net->nodes[1], 2, 0, NULL, 0), 0);
  net_run_until(net, 3 * COHORT_NS_PER_S);
  assert_int_equal(net->fds[1].peers_len, 2);
  char buf[64];
  assert_true(cohort_fd_status(&net->fds[1], buf, sizeof buf) > 0);
  assert_true(strncmp(buf, "2:", 2) == 0 && strstr(buf, " 3:"));
  assert_in_range(info_of(net, 1, 2).samples, 15, 20);
  assert_in_range(info_of(net, 1, 3).samples, 15, 20);
  assert_false(cohort_fd_is_suspected(&net->fds[1], 2));
  net_close(net);
  free(net);
}

/* With allocation failing, an added peer is counted and left unmonitored;
 * nothing leaks. */
static void test_peer_add_nomem(void **state) {
  (void)state;
  failalloc_t fa;
  failalloc_init(&fa, 0);
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net->alloc = &fa.base;
  net_boot_all(net);
  assert_int_equal(cohort_node_peer_remove(net->nodes[1], 3), 0);
  /* The node's own table has room (it does not shrink): the fd's window
   * is the first allocation. */
  fa.fail_at = fa.count + 1;
  assert_int_equal(cohort_node_peer_add(net->nodes[1], 3, 0, NULL, 0), 0);
  fa.fail_at = 0;
  assert_int_equal(cohort_fd_stats(&net->fds[1])->peers_nomem, 1);
  assert_true(cohort_fd_phi(&net->fds[1], 3) == -1.0);
  net_run_until(net, 1 * COHORT_NS_PER_S);
  net_close(net);
  assert_int_equal(fa.live, 0);
  free(net);
}

/* Fail-stop: the host reports 3 crashed; 1 suspects it at once (traced
 * with "reason":"failed"), 2 (not told) only when its model says so. A
 * late heartbeat of the dead incarnation does not recover it; its next
 * incarnation does. */
static void test_peer_failed(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  net_boot_all(net);
  net_run_until(net, 2 * COHORT_NS_PER_S);
  int64_t t = net->t;
  cohort_node_peer_failed(net->nodes[1], 3, net->inc[3]);
  const fd_event_t *e = find_event(net, 1, 3, true);
  assert_non_null(e);
  assert_int_equal(e->t, t);
  assert_true(cohort_fd_is_suspected(&net->fds[1], 3));
  const char *line = find_state(net, 1, "suspect", 3);
  assert_non_null(line);
  assert_non_null(strstr(line, "\"reason\":\"failed\""));
  assert_int_equal(cohort_fd_stats(&net->fds[1])->failures_reported, 1);
  /* Reported again: no second suspicion. */
  cohort_node_peer_failed(net->nodes[1], 3, 0);
  assert_int_equal(cohort_fd_stats(&net->fds[1])->suspicions, 1);
  /* 3 is in fact still sending (a false report, or its last heartbeats
   * in flight): they are stale, not a recovery. */
  uint64_t stale = cohort_fd_stats(&net->fds[1])->rx_stale;
  net_run_until(net, t + 500 * MS);
  assert_true(cohort_fd_is_suspected(&net->fds[1], 3));
  assert_null(find_event(net, 1, 3, false));
  assert_true(cohort_fd_stats(&net->fds[1])->rx_stale >= stale + 4);
  assert_null(find_event(net, 2, 3, true));
  /* Its next incarnation is heard: recovered. */
  node_crash(net, 3);
  node_boot(net, 3, true);
  net_run_until(net, net->t + 300 * MS);
  assert_false(cohort_fd_is_suspected(&net->fds[1], 3));
  assert_non_null(find_event(net, 1, 3, false));
  assert_int_equal(info_of(net, 1, 3).incarnation, 2);
  /* A report about an older incarnation than the one heard is ignored. */
  cohort_node_peer_failed(net->nodes[1], 3, 1);
  assert_false(cohort_fd_is_suspected(&net->fds[1], 3));
  net_close(net);
  free(net);
}

/* ---- pull mode ------------------------------------------------------------- */

static void test_pull_mode(void **state) {
  (void)state;
  cohort_fd_config_t cfg;
  cohort_fd_config_default(&cfg);
  cfg.mode = COHORT_FD_PULL;
  net_t *net = malloc(sizeof *net);
  net_init(net, 2, &cfg);
  net->latency = 2 * MS;
  net_boot_all(net);
  net_run_until(net, 10 * COHORT_NS_PER_S);
  for (cohort_node_id_t a = 1; a <= 2; a++) {
    cohort_node_id_t b = 3 - a;
    cohort_fd_peer_info_t in = info_of(net, a, b);
    assert_true(in.phi < 1.0);
    assert_in_range(in.samples, 95, 100);
    assert_int_equal(in.rtt_ns, 4 * MS);
    assert_true(fabs(in.mean_ns - 100.0 * MS) < 0.01 * MS);
    const cohort_fd_stats_t *st = cohort_fd_stats(&net->fds[a]);
    assert_int_equal(st->tx_heartbeats, 0);
    assert_in_range(st->tx_pings, 99, 101);
    assert_in_range(st->tx_pongs, 98, 101);
    assert_in_range(st->rx_pongs, 98, 101);
  }
  node_crash(net, 2);
  int64_t last = net->t - info_of(net, 1, 2).since_ns;
  net_run_until(net, 12 * COHORT_NS_PER_S);
  const fd_event_t *e = find_event(net, 1, 2, true);
  assert_non_null(e);
  int64_t cross = 200 * MS + (int64_t)(Z_PHI8 * 10 * MS);
  assert_in_range(e->t - last, cross, cross + cfg.check_ns);
  net_close(net);
  free(net);
}

/* ---- bad input ----------------------------------------------------------- */

static int direct_recv(net_t *net, cohort_node_id_t at, cohort_node_id_t from, uint32_t kind,
                       const uint8_t *payload, size_t len) {
  cohort_msg_t m = {.from = from, .from_incarnation = net->inc[from], .kind = kind,
                    .payload = payload, .payload_len = len};
  cohort_proto_t *p = cohort_fd_proto(&net->fds[at]);
  return p->ops->recv(p, &m);
}

static size_t heartbeat_bytes(uint64_t seq, uint8_t *buf) {
  Cohort__Detect__Heartbeat hb = COHORT__DETECT__HEARTBEAT__INIT;
  hb.seq = seq;
  hb.sent_mono_ns = 123456789;
  hb.interval_ns = 100 * MS;
  return protobuf_c_message_pack(&hb.base, buf);
}

static void test_malformed_direct(void **state) {
  (void)state;
  net_t *net = malloc(sizeof *net);
  net_init(net, 2, NULL);
  net_boot_all(net);
  net_run_until(net, 1 * COHORT_NS_PER_S);
  cohort_fd_t *fd = &net->fds[1];
  uint64_t arrivals = info_of(net, 1, 2).arrivals;
  uint8_t good[64], junk[64];
  size_t good_len = heartbeat_bytes(1000, good);
  memset(junk, 0xff, sizeof junk);
  static const uint8_t seq_zero[] = {0x08, 0x00}; /* seq = 0 */
  struct {
    uint32_t kind;
    const uint8_t *p;
    size_t len;
  } bad[] = {
      {COHORT_FD_KIND_HEARTBEAT, junk, sizeof junk},
      {COHORT_FD_KIND_HEARTBEAT, good, good_len - 1}, /* truncated */
      {COHORT_FD_KIND_HEARTBEAT, good, 0},            /* empty: seq 0 */
      {COHORT_FD_KIND_HEARTBEAT, seq_zero, sizeof seq_zero},
      {COHORT_FD_KIND_PONG, junk, 3},
      {COHORT_FD_KIND_PONG, seq_zero, sizeof seq_zero},
      {COHORT_FD_KIND_PING, junk, 5},
      {COHORT_FD_KIND_PING, NULL, 0},
      {99, good, good_len}, /* unknown kind */
  };
  for (size_t i = 0; i < COHORT_ARRAY_LEN(bad); i++) {
    assert_int_equal(direct_recv(net, 1, 2, bad[i].kind, bad[i].p, bad[i].len), COHORT_EPROTO);
    assert_int_equal(cohort_fd_stats(fd)->rx_malformed, i + 1);
  }
  assert_int_equal(info_of(net, 1, 2).arrivals, arrivals); /* no state changed */
  assert_int_equal(cohort_fd_stats(fd)->tx_pongs, 0);      /* none for bad pings */
  /* Unknown fields from a newer schema are skipped: tag 15, varint 1. */
  uint8_t newer[72];
  size_t newer_len = heartbeat_bytes(1000, newer);
  newer[newer_len++] = 15 << 3;
  newer[newer_len++] = 1;
  assert_int_equal(direct_recv(net, 1, 2, COHORT_FD_KIND_HEARTBEAT, newer, newer_len), 0);
  assert_int_equal(info_of(net, 1, 2).arrivals, arrivals + 1);
  /* Duplicates and reordered heartbeats are not arrivals. */
  assert_int_equal(direct_recv(net, 1, 2, COHORT_FD_KIND_HEARTBEAT, good, good_len), 0);
  good_len = heartbeat_bytes(999, good);
  assert_int_equal(direct_recv(net, 1, 2, COHORT_FD_KIND_HEARTBEAT, good, good_len), 0);
  assert_int_equal(cohort_fd_stats(fd)->rx_stale, 2);
  assert_int_equal(info_of(net, 1, 2).arrivals, arrivals + 1);
  /* A pong for a ping never sent (seq beyond ours). */
  Cohort__Detect__Pong pong = COHORT__DETECT__PONG__INIT;
  pong.seq = 1u << 30;
  uint8_t pb[64];
  size_t pl = protobuf_c_message_pack(&pong.base, pb);
  assert_int_equal(direct_recv(net, 1, 2, COHORT_FD_KIND_PONG, pb, pl), 0);
  assert_int_equal(cohort_fd_stats(fd)->rx_stale, 3);
  /* A sender that is not a monitored peer. */
  assert_int_equal(direct_recv(net, 1, 1, COHORT_FD_KIND_HEARTBEAT, good, good_len),
                   COHORT_EUNKNOWN);
  net_close(net);
  free(net);
}

/* The same through the node: a rogue protocol on node 2 that speaks the fd
 * protocol id but sends junk; node 1 counts the drops. */
static int rogue_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  (void)p, (void)m;
  return 0;
}

static void test_malformed_through_node(void **state) {
  (void)state;
  static const cohort_proto_ops_t rogue_ops = {.name = "rogue", .proto_id = COHORT_PROTO_FD,
                                               .recv = rogue_recv};
  cohort_proto_t rogue = {.ops = &rogue_ops};
  net_t *net = malloc(sizeof *net);
  net_init(net, 2, NULL);
  node_boot(net, 1, true);
  node_boot(net, 2, false);
  assert_int_equal(cohort_node_attach(net->nodes[2], &rogue), 0);
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x07, 0x42};
  for (int i = 0; i < 5; i++)
    assert_int_equal(cohort_node_send(net->nodes[2], &rogue, 1, COHORT_FD_KIND_HEARTBEAT, junk,
                                      sizeof junk),
                     0);
  assert_int_equal(cohort_node_send(net->nodes[2], &rogue, 1, 77, junk, 1), 0);
  net_run_until(net, 50 * MS);
  assert_int_equal(cohort_node_stats(net->nodes[1])->drop_proto, 6);
  assert_int_equal(cohort_fd_stats(&net->fds[1])->rx_malformed, 6);
  assert_int_equal(info_of(net, 1, 2).arrivals, 0);
  cohort_node_detach(net->nodes[2], &rogue);
  net_close(net);
  free(net);
}

/* ---- allocation failures --------------------------------------------------- */

static void test_nomem(void **state) {
  (void)state;
  failalloc_t fa;
  failalloc_init(&fa, 0);
  net_t *net = malloc(sizeof *net);
  net_init(net, 4, NULL);
  net->alloc = &fa.base;
  node_boot(net, 2, false);
  node_boot(net, 3, false);
  node_boot(net, 4, false);
  cohort_node_id_t peers[] = {2, 3, 4};
  net->hosts[1] = (host_t){.net = net, .id = 1, .wake = COHORT_TIME_NEVER};
  cohort_node_config_t nc = {.cluster_id = 7, .id = 1, .incarnation = 1, .peers = peers,
                             .peers_len = 3, .hlc_max_offset_ns = COHORT_NS_PER_S,
                             .alloc = &fa.base};
  assert_int_equal(cohort_node_new(&nc, &host_ops, &net->hosts[1], &net->nodes[1]), 0);
  net->inc[1] = 1;
  /* Fail each allocation of init in turn: nothing leaks, nothing written. */
  cohort_fd_t *fd = &net->fds[1];
  int rc = COHORT_ENOMEM;
  long k;
  for (k = 1; rc == COHORT_ENOMEM; k++) {
    long live = fa.live;
    fa.fail_at = fa.count + k;
    memset(fd, 0x5a, sizeof *fd);
    rc = cohort_fd_init(fd, net->nodes[1], &net->cfg);
    if (rc == COHORT_ENOMEM) {
      assert_int_equal(fa.live, live);
      assert_int_equal(((uint8_t *)fd)[0], 0x5a); /* untouched */
    }
  }
  assert_int_equal(rc, 0);
  assert_int_equal(k - 1, 5); /* the table and three windows: 4 failure points */
  fa.fail_at = 0;
  net->has_fd[1] = true;
  assert_int_equal(cohort_node_attach(net->nodes[1], cohort_fd_proto(fd)), 0);
  cohort_node_start(net->nodes[1]);
  /* Decoding allocates nothing (src/detect/fd_wire.c): with every
   * allocation refused, a heartbeat is still received and counted. */
  uint8_t hb[64];
  size_t len = heartbeat_bytes(1, hb);
  long before = fa.count;
  fa.fail_at = fa.count + 1;
  assert_int_equal(direct_recv(net, 1, 2, COHORT_FD_KIND_HEARTBEAT, hb, len), 0);
  assert_int_equal(fa.count, before);
  assert_int_equal(cohort_fd_stats(fd)->rx_nomem, 0);
  assert_int_equal(info_of(net, 1, 2).arrivals, 1);
  fa.fail_at = 0;
  net_close(net);
  assert_int_equal(fa.live, 0);
  cohort_fd_close(NULL);
  free(net);
}

/* ---- the factory -------------------------------------------------------------- */

static void test_factory(void **state) {
  (void)state;
  assert_ptr_equal(cohort_proto_factory_find("fd"), &cohort_fd_factory);
  net_t *net = malloc(sizeof *net);
  net_init(net, 3, NULL);
  node_boot(net, 1, false);
  char err[160] = "";
  cohort_proto_t *p = NULL;
  cohort_param_t bad[] = {{"mode", "push"}, {"threshold", "eight"}};
  assert_int_equal(cohort_fd_factory.create(net->nodes[1], bad, 2, &p, err, sizeof err),
                   COHORT_EINVAL);
  assert_null(p);
  assert_string_equal(err, "fd: threshold: not a number: 'eight'");
  cohort_param_t unknown[] = {{"treshold", "8"}};
  assert_int_equal(cohort_fd_factory.create(net->nodes[1], unknown, 1, &p, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "unknown parameter 'treshold'"));
  cohort_param_t good[] = {{"mode", "pull"}, {"interval", "50ms"}, {"detector", "phi"},
                           {"threshold", "4"}};
  assert_int_equal(cohort_fd_factory.create(net->nodes[1], good, 4, &p, err, sizeof err), 0);
  cohort_fd_t *fd = cohort_fd_from_proto(p);
  assert_non_null(fd);
  assert_int_equal(fd->cfg.mode, COHORT_FD_PULL);
  assert_int_equal(fd->cfg.interval_ns, 50 * MS);
  assert_true(fd->cfg.threshold == 4.0);
  assert_int_equal(cohort_node_attach(net->nodes[1], p), 0);
  node_boot(net, 2, true);
  node_boot(net, 3, true);
  net_run_until(net, 2 * COHORT_NS_PER_S);
  char buf[64];
  int len = cohort_fd_factory.status(p, buf, sizeof buf);
  assert_int_equal(len, (int)strlen(buf));
  assert_true(strncmp(buf, "2:0.", 4) == 0);
  assert_non_null(strstr(buf, " 3:0."));
  assert_null(strchr(buf, '!'));
  node_crash(net, 3);
  net_run_until(net, 3 * COHORT_NS_PER_S);
  len = cohort_fd_factory.status(p, buf, sizeof buf);
  assert_int_equal(buf[len - 1], '!');
  /* A short buffer: truncated, terminated, the full length returned. */
  char tiny[5];
  assert_int_equal(cohort_fd_factory.status(p, tiny, sizeof tiny), len);
  assert_int_equal(strlen(tiny), 4);
  assert_int_equal(cohort_fd_factory.status(p, NULL, 0), len);
  cohort_proto_t other = {0};
  assert_null(cohort_fd_from_proto(&other));
  assert_null(cohort_fd_from_proto(NULL));
  cohort_node_detach(net->nodes[1], p);
  cohort_fd_factory.destroy(p);
  net->has_fd[1] = false;
  net_close(net);
  free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_push_steady),
      cmocka_unit_test(test_push_silent_peer_crosses_threshold),
      cmocka_unit_test(test_push_recovery),
      cmocka_unit_test(test_push_restart_resets_window),
      cmocka_unit_test(test_fixed_detector),
      cmocka_unit_test(test_never_heard_peer),
      cmocka_unit_test(test_pull_mode),
      cmocka_unit_test(test_malformed_direct),
      cmocka_unit_test(test_malformed_through_node),
      cmocka_unit_test(test_nomem),
      cmocka_unit_test(test_factory),
      cmocka_unit_test(test_peer_remove_add),
      cmocka_unit_test(test_peer_add_from_empty),
      cmocka_unit_test(test_peer_add_nomem),
      cmocka_unit_test(test_peer_failed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
