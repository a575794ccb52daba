/*
 * tests/coord/test_election.c — the bully and ring elections driven
 * through real nodes (src/core/node.c) by a fake host: one fake clock, a
 * queue of datagrams in flight copied between nodes by the test (quicly
 * t/test.c style), crashes, restarts and cut links as test actions. Each
 * node runs a fixed-timeout failure detector and an election.
 *
 * Covers: election at start elects the highest id; a leader crash gives a
 * new leader in a higher epoch; the old leader restarting takes over
 * (bully) in a newer epoch; a stale COORDINATOR is dropped, counted and
 * answered with a NOTICE; the ring skips a dead successor, and an ELECTED
 * lap tells a node it skipped on a false suspicion; the fallback
 * without a detector; a leader removed from the membership replaced at
 * once, and a ring hop to a removed peer moved on at once; malformed payloads and unknown kinds refused with
 * COHORT_EPROTO and counted by the node; configuration errors; upcalls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/election.h"
#include "election.pb-c.h"

#define NODES_MAX 9
#define INFLIGHT_MAX 8192
#define DGRAM_CAP 512
#define MS COHORT_NS_PER_MS
#define EPOCH0 (INT64_C(1767225600) * COHORT_NS_PER_S)

typedef struct net net_t;

typedef struct host {
  net_t *net;
  cohort_node_id_t id;
  int64_t wake;
} host_t;

typedef struct inflight {
  int64_t at;
  uint64_t order;
  cohort_node_id_t from, to;
  size_t len;
  uint8_t data[DGRAM_CAP];
} inflight_t;

struct net {
  int64_t t;
  uint64_t rng, order;
  uint32_t n;
  cohort_election_algo_t algo;
  bool with_fd;
  host_t hosts[NODES_MAX + 1];
  cohort_node_t *nodes[NODES_MAX + 1]; /* NULL = crashed */
  cohort_fd_t fds[NODES_MAX + 1];
  cohort_election_t els[NODES_MAX + 1];
  cohort_incarnation_t inc[NODES_MAX + 1];
  bool cut[NODES_MAX + 1][NODES_MAX + 1]; /* from -> to blocked */
  uint64_t upcalls[NODES_MAX + 1];
  int last_rc; /* last cohort_node_on_datagram result */
  inflight_t q[INFLIGHT_MAX];
  size_t qlen;
  uint64_t sent;
};

static int64_t host_now(void *h) { return ((host_t *)h)->net->t; }
static int64_t host_wall(void *h) { return EPOCH0 + ((host_t *)h)->net->t; }

static uint64_t host_random(void *h) {
  net_t *net = ((host_t *)h)->net;
  net->rng ^= net->rng << 13, net->rng ^= net->rng >> 7, net->rng ^= net->rng << 17;
  return net->rng;
}

static int host_send(void *h, cohort_node_id_t to, const uint8_t *d, size_t len) {
  host_t *host = h;
  net_t *net = host->net;
  assert_true(len <= DGRAM_CAP);
  assert_true(net->qlen < INFLIGHT_MAX);
  net->sent++;
  if (net->cut[host->id][to]) return 0;
  inflight_t *f = &net->q[net->qlen++];
  f->at = net->t + 1 * MS;
  f->order = net->order++;
  f->from = host->id;
  f->to = to;
  f->len = len;
  memcpy(f->data, d, len);
  return 0;
}

static void host_wake(void *h, int64_t deadline) { ((host_t *)h)->wake = deadline; }
static void host_trace(void *h, const char *line, size_t len) { (void)h, (void)line, (void)len; }

static const cohort_host_ops_t host_ops = {
    .now = host_now, .wall = host_wall, .true_time = host_wall, .random = host_random,
    .send = host_send, .wake = host_wake, .trace = host_trace};

static void on_leader(cohort_election_t *e, cohort_node_id_t leader, uint64_t epoch, void *ud) {
  net_t *net = ud;
  cohort_node_id_t self = cohort_node_id(e->proto.node);
  net->upcalls[self]++;
  assert_int_equal(cohort_election_leader(e), leader);
  assert_int_equal(cohort_election_epoch(e), epoch);
}

static void node_up(net_t *net, cohort_node_id_t id) {
  cohort_node_id_t peers[NODES_MAX];
  size_t np = 0;
  for (cohort_node_id_t j = 1; j <= net->n; j++)
    if (j != id) peers[np++] = j;
  net->inc[id]++;
  net->hosts[id] = (host_t){.net = net, .id = id, .wake = COHORT_TIME_NEVER};
  cohort_node_config_t cfg = {.cluster_id = 7, .id = id, .incarnation = net->inc[id],
                              .peers = peers, .peers_len = np};
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &net->hosts[id], &net->nodes[id]), 0);
  cohort_fd_config_t fc;
  cohort_fd_config_default(&fc);
  fc.detector = COHORT_FD_FIXED;
  fc.timeout_ns = 300 * MS;
  assert_int_equal(cohort_fd_init(&net->fds[id], net->nodes[id], &fc), 0);
  cohort_election_config_t ec;
  cohort_election_config_default(&ec, net->algo);
  assert_int_equal(cohort_election_init(&net->els[id], net->nodes[id], &ec), 0);
  cohort_election_set_fd(&net->els[id], net->with_fd ? &net->fds[id] : NULL);
  cohort_election_set_callback(&net->els[id], net, on_leader);
  assert_int_equal(cohort_node_attach(net->nodes[id], cohort_fd_proto(&net->fds[id])), 0);
  assert_int_equal(cohort_node_attach(net->nodes[id], cohort_election_proto(&net->els[id])), 0);
  cohort_node_start(net->nodes[id]);
}

static void node_down(net_t *net, cohort_node_id_t id) {
  cohort_node_t *n = net->nodes[id];
  assert_non_null(n);
  cohort_node_detach(n, cohort_election_proto(&net->els[id]));
  cohort_node_detach(n, cohort_fd_proto(&net->fds[id]));
  cohort_election_close(&net->els[id]);
  cohort_fd_close(&net->fds[id]);
  cohort_node_free(n);
  net->nodes[id] = NULL;
}

static net_t *net_new(uint32_t n, cohort_election_algo_t algo, bool with_fd) {
  net_t *net = calloc(1, sizeof *net);
  assert_non_null(net);
  net->n = n;
  net->algo = algo;
  net->with_fd = with_fd;
  net->rng = 0x9e3779b97f4a7c15u;
  for (cohort_node_id_t i = 1; i <= n; i++) node_up(net, i);
  return net;
}

static void net_free(net_t *net) {
  for (cohort_node_id_t i = 1; i <= net->n; i++)
    if (net->nodes[i]) node_down(net, i);
  free(net);
}

/* Run every datagram and wake-up due up to t + dt, in time order. */
static void run_for(net_t *net, int64_t dt) {
  int64_t end = net->t + dt;
  for (;;) {
    int64_t best = INT64_MAX;
    size_t qi = SIZE_MAX;
    cohort_node_id_t wi = 0;
    for (size_t i = 0; i < net->qlen; i++)
      if (net->q[i].at < best || (net->q[i].at == best && net->q[i].order < net->q[qi].order)) {
        best = net->q[i].at;
        qi = i;
      }
    for (cohort_node_id_t i = 1; i <= net->n; i++)
      if (net->nodes[i] && net->hosts[i].wake < best) {
        best = net->hosts[i].wake;
        wi = i;
      }
    if (best > end) break;
    net->t = best;
    if (wi) {
      net->hosts[wi].wake = COHORT_TIME_NEVER;
      cohort_node_on_wake(net->nodes[wi]);
      continue;
    }
    inflight_t f = net->q[qi];
    net->q[qi] = net->q[--net->qlen];
    if (net->nodes[f.to]) net->last_rc = cohort_node_on_datagram(net->nodes[f.to], f.data, f.len);
  }
  net->t = end;
}

static void assert_all_agree(net_t *net, cohort_node_id_t leader) {
  uint64_t epoch = 0;
  for (cohort_node_id_t i = 1; i <= net->n; i++) {
    if (!net->nodes[i]) continue;
    assert_int_equal(cohort_election_leader(&net->els[i]), leader);
    if (!epoch) epoch = cohort_election_epoch(&net->els[i]);
    assert_int_equal(cohort_election_epoch(&net->els[i]), epoch);
  }
  assert_int_equal(COHORT_ELECTION_EPOCH_LEADER(epoch), leader);
  assert_true(cohort_election_is_leader(&net->els[leader]));
}

/* ---- scenarios ---------------------------------------------------------------- */

static void elect_crash_restart(cohort_election_algo_t algo) {
  net_t *net = net_new(5, algo, true);
  run_for(net, 2000 * MS);
  assert_all_agree(net, 5);
  uint64_t e1 = cohort_election_epoch(&net->els[1]);
  assert_int_equal(COHORT_ELECTION_EPOCH_ROUND(e1), 1);
  for (cohort_node_id_t i = 1; i <= 5; i++) assert_true(net->upcalls[i] >= 1);

  node_down(net, 5);
  run_for(net, 3000 * MS);
  assert_all_agree(net, 4);
  uint64_t e2 = cohort_election_epoch(&net->els[1]);
  assert_true(e2 > e1);
  assert_true(cohort_election_stats(&net->els[3])->elections >= 1);

  node_up(net, 5);
  run_for(net, 3000 * MS);
  if (algo == COHORT_ELECTION_BULLY) {
    assert_all_agree(net, 5); /* the old leader takes over in a newer epoch */
    assert_true(cohort_election_epoch(&net->els[1]) > e2);
    assert_true(cohort_election_stats(&net->els[4])->stepdowns >= 1);
  } else {
    /* The ring elects the highest id on the lap the restart starts. */
    assert_all_agree(net, 5);
    assert_true(cohort_election_epoch(&net->els[1]) > e2);
  }
  net_free(net);
}

static void test_bully_elect_crash_restart(void **state) {
  (void)state;
  elect_crash_restart(COHORT_ELECTION_BULLY);
}

static void test_ring_elect_crash_restart(void **state) {
  (void)state;
  elect_crash_restart(COHORT_ELECTION_RING);
}

/* Node 3 is dead from the start, before anyone suspects it: the lap must
 * skip it after the hop timeouts. */
/* A ring of n nodes of which `dead` never starts. */
static net_t *ring_without(uint32_t n, cohort_node_id_t dead, uint64_t rng) {
  net_t *net = calloc(1, sizeof *net);
  assert_non_null(net);
  net->n = n;
  net->algo = COHORT_ELECTION_RING;
  net->with_fd = true;
  net->rng = rng;
  for (cohort_node_id_t i = 1; i <= n; i++)
    if (i != dead) node_up(net, i);
  return net;
}

static void test_ring_dead_successor(void **state) {
  (void)state;
  net_t *net = ring_without(5, 3, 12345);
  run_for(net, 2000 * MS);
  assert_all_agree(net, 5);
  assert_true(cohort_election_stats(&net->els[2])->skipped >= 1);
  net_free(net);
}

/* Node 4 falsely suspects the live leader 5 (5's datagrams to 4 are cut):
 * its lap skips 5 and elects 4 in a newer epoch through 1, 2, 3. The
 * ELECTED lap must tell the skipped node 5 (NOTICE), so 5 steps down at
 * once instead of holding its older epoch until its next announcement
 * (seeds 3250, 3759, 8670 of scenarios/election-ring.scn). */
static void test_ring_skipped_node_told(void **state) {
  (void)state;
  net_t *net = net_new(5, COHORT_ELECTION_RING, true);
  run_for(net, 1000 * MS);
  assert_all_agree(net, 5);
  uint64_t old = cohort_election_epoch(&net->els[5]);
  net->cut[5][4] = true;
  for (int i = 0; i < 200 && !cohort_election_is_leader(&net->els[4]); i++) run_for(net, 5 * MS);
  assert_true(cohort_election_is_leader(&net->els[4]));
  assert_true(cohort_election_epoch(&net->els[4]) > old);
  assert_true(cohort_election_stats(&net->els[4])->skipped >= 1);
  /* Well before 5's next announcement (every 1s): only the NOTICE of the
   * skipped lap can have told it. */
  run_for(net, 20 * MS);
  assert_all_agree(net, 4);
  assert_int_equal(cohort_election_stats(&net->els[5])->stepdowns, 1);
  assert_true(cohort_election_stats(&net->els[4])->tx[COHORT_ELECTION_KIND_NOTICE] >= 1);
  /* The link heals: 5's stale announcements are answered, nobody moves. */
  net->cut[5][4] = false;
  run_for(net, 2000 * MS);
  assert_all_agree(net, 4);
  net_free(net);
}

/* ---- dynamic membership --------------------------------------------------------- */

/* Remove `gone` from every other live node's peers. */
static void remove_everywhere(net_t *net, cohort_node_id_t gone) {
  for (cohort_node_id_t i = 1; i <= net->n; i++)
    if (net->nodes[i] && i != gone)
      assert_int_equal(cohort_node_peer_remove(net->nodes[i], gone), 0);
}

/* The leader is removed from the membership (it is alive, and keeps
 * announcing to nodes that no longer take it as a peer): the others elect
 * the next highest at once, without waiting for a detector or a silence
 * timeout (the detector no longer watches a removed peer). */
static void leader_removed(cohort_election_algo_t algo) {
  net_t *net = net_new(5, algo, true);
  run_for(net, 1500 * MS);
  assert_all_agree(net, 5);
  uint64_t before = cohort_election_epoch(&net->els[1]);
  remove_everywhere(net, 5);
  run_for(net, 400 * MS); /* well below leader_timeout (3s) */
  for (cohort_node_id_t i = 1; i <= 4; i++) {
    assert_int_equal(cohort_election_leader(&net->els[i]), 4);
    assert_true(cohort_election_epoch(&net->els[i]) > before);
  }
  net_free(net);
}

static void test_bully_leader_removed(void **state) {
  (void)state;
  leader_removed(COHORT_ELECTION_BULLY);
}

static void test_ring_leader_removed(void **state) {
  (void)state;
  leader_removed(COHORT_ELECTION_RING);
}

/* A ring lap is waiting for the ACK of node 3 (dead, not yet suspected)
 * when 3 is removed from the membership: the hop moves to the next node
 * at once instead of after its retries, and no datagram goes to 3 again;
 * a node added during the election takes part in the next. */
static void test_ring_hop_to_removed_peer(void **state) {
  (void)state;
  net_t *net = ring_without(5, 3, 4242);
  /* Run until node 2 has a hop in flight to 3. */
  cohort_election_t *e2 = &net->els[2];
  for (int i = 0; i < 400; i++) {
    if ((e2->hops[0].active && e2->hops[0].to == 3) || (e2->hops[1].active && e2->hops[1].to == 3))
      break;
    run_for(net, 1 * MS);
  }
  assert_true((e2->hops[0].active && e2->hops[0].to == 3) ||
              (e2->hops[1].active && e2->hops[1].to == 3));
  remove_everywhere(net, 3);
  uint64_t skipped = e2->stats.skipped;
  run_for(net, 1 * MS); /* the hop timer fires now, not after `answer` */
  assert_true(e2->stats.skipped > skipped);
  for (size_t slot = 0; slot < 2; slot++)
    assert_false(e2->hops[slot].active && e2->hops[slot].to == 3);
  uint64_t errors = e2->stats.tx_errors;
  run_for(net, 2000 * MS);
  assert_int_equal(e2->stats.tx_errors, errors); /* nothing sent to the removed node */
  for (cohort_node_id_t i = 1; i <= 5; i++)
    if (i != 3) assert_int_equal(cohort_election_leader(&net->els[i]), 5);
  net_free(net);
}

/* Without a failure detector the leader's silence starts the election. */
static void test_no_detector_fallback(void **state) {
  (void)state;
  net_t *net = net_new(4, COHORT_ELECTION_BULLY, false);
  run_for(net, 1000 * MS);
  assert_all_agree(net, 4);
  node_down(net, 4);
  run_for(net, 2000 * MS);
  assert_int_equal(cohort_election_leader(&net->els[1]), 4); /* not yet: timeout is 3s */
  run_for(net, 3000 * MS);
  assert_all_agree(net, 3);
  net_free(net);
}

/* Encode an Election payload as a test forger would. */
static size_t forge(uint8_t *buf, uint64_t epoch, uint32_t leader) {
  Cohort__Election__Election pb = COHORT__ELECTION__ELECTION__INIT;
  pb.epoch = epoch;
  pb.leader = leader;
  return cohort__election__election__pack(&pb, buf);
}

/* Send `payload` from node `from` to node `to` as the election protocol
 * of `from`, and deliver it at once; returns the receiver's verdict. */
static int inject(net_t *net, cohort_node_id_t from, cohort_node_id_t to, uint32_t kind,
                  const uint8_t *payload, size_t len) {
  size_t before = net->qlen;
  assert_int_equal(cohort_node_send(net->nodes[from], cohort_election_proto(&net->els[from]), to,
                                    kind, payload, len), 0);
  assert_int_equal(net->qlen, before + 1);
  inflight_t f = net->q[--net->qlen];
  return cohort_node_on_datagram(net->nodes[f.to], f.data, f.len);
}

static void test_stale_coordinator(void **state) {
  (void)state;
  net_t *net = net_new(5, COHORT_ELECTION_BULLY, true);
  run_for(net, 1000 * MS);
  node_down(net, 5);
  run_for(net, 3000 * MS);
  assert_all_agree(net, 4);
  uint64_t cur = cohort_election_epoch(&net->els[1]);
  /* Node 3 replays an old epoch of its own: stale at node 1. */
  uint8_t buf[64];
  size_t len = forge(buf, COHORT_ELECTION_EPOCH(1, 3), 3);
  uint64_t stale = cohort_election_stats(&net->els[1])->rx_stale;
  uint64_t notices = cohort_election_stats(&net->els[1])->tx[COHORT_ELECTION_KIND_NOTICE];
  assert_int_equal(inject(net, 3, 1, COHORT_ELECTION_KIND_COORDINATOR, buf, len), 0);
  assert_int_equal(cohort_election_stats(&net->els[1])->rx_stale, stale + 1);
  assert_int_equal(cohort_election_stats(&net->els[1])->tx[COHORT_ELECTION_KIND_NOTICE],
                   notices + 1);
  assert_int_equal(cohort_election_leader(&net->els[1]), 4);
  assert_int_equal(cohort_election_epoch(&net->els[1]), cur);
  run_for(net, 500 * MS);
  assert_all_agree(net, 4);
  net_free(net);
}

/* A leader that learns of a newer epoch steps down (ring: adopts it). */
static void test_stale_leader_steps_down(void **state) {
  (void)state;
  net_t *net = net_new(3, COHORT_ELECTION_RING, true);
  run_for(net, 1000 * MS);
  assert_all_agree(net, 3);
  uint64_t cur = cohort_election_epoch(&net->els[3]);
  uint8_t buf[64];
  uint64_t newer = COHORT_ELECTION_EPOCH(COHORT_ELECTION_EPOCH_ROUND(cur) + 5, 2);
  size_t len = forge(buf, newer, 2);
  assert_int_equal(inject(net, 1, 3, COHORT_ELECTION_KIND_NOTICE, buf, len), 0);
  assert_int_equal(cohort_election_stats(&net->els[3])->stepdowns, 1);
  assert_int_equal(cohort_election_leader(&net->els[3]), 2);
  assert_int_equal(cohort_election_epoch(&net->els[3]), newer);
  net_free(net);
}

static void test_malformed(void **state) {
  (void)state;
  net_t *net = net_new(3, COHORT_ELECTION_BULLY, true);
  run_for(net, 1000 * MS);
  assert_all_agree(net, 3);
  const cohort_node_stats_t *ns = cohort_node_stats(net->nodes[1]);
  const cohort_election_stats_t *es = cohort_election_stats(&net->els[1]);
  uint64_t drops = ns->drop_proto, bad = es->rx_malformed;
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  uint8_t buf[64];
  /* Undecodable bytes. */
  assert_int_equal(inject(net, 2, 1, COHORT_ELECTION_KIND_COORDINATOR, junk, sizeof junk),
                   COHORT_EPROTO);
  /* Unknown kind, and a ring kind sent to a bully. */
  size_t len = forge(buf, COHORT_ELECTION_EPOCH(9, 2), 2);
  assert_int_equal(inject(net, 2, 1, 99, buf, len), COHORT_EPROTO);
  assert_int_equal(inject(net, 2, 1, COHORT_ELECTION_KIND_ELECTED, buf, len), COHORT_EPROTO);
  /* An epoch that does not name its leader; round 0; COORDINATOR from a
   * node that is not the leader it names; OK from a lower id. */
  len = forge(buf, COHORT_ELECTION_EPOCH(9, 3), 2);
  assert_int_equal(inject(net, 2, 1, COHORT_ELECTION_KIND_COORDINATOR, buf, len), COHORT_EPROTO);
  len = forge(buf, COHORT_ELECTION_EPOCH(0, 2), 2);
  assert_int_equal(inject(net, 2, 1, COHORT_ELECTION_KIND_COORDINATOR, buf, len), COHORT_EPROTO);
  len = forge(buf, COHORT_ELECTION_EPOCH(9, 3), 3);
  assert_int_equal(inject(net, 2, 1, COHORT_ELECTION_KIND_COORDINATOR, buf, len), COHORT_EPROTO);
  len = forge(buf, 0, 0);
  assert_int_equal(inject(net, 1, 2, COHORT_ELECTION_KIND_OK, buf, len), COHORT_EPROTO);
  assert_int_equal(inject(net, 3, 2, COHORT_ELECTION_KIND_ELECTION, buf, len), COHORT_EPROTO);
  assert_int_equal(ns->drop_proto, drops + 6);
  assert_int_equal(es->rx_malformed, bad + 6);
  /* Nothing changed. */
  run_for(net, 500 * MS);
  assert_all_agree(net, 3);
  assert_int_equal(COHORT_ELECTION_EPOCH_ROUND(cohort_election_epoch(&net->els[1])), 1);
  net_free(net);
}

static void test_config(void **state) {
  (void)state;
  cohort_election_config_t c;
  cohort_election_config_default(&c, COHORT_ELECTION_BULLY);
  char err[128] = "";
  assert_int_equal(cohort_election_config_check(&c, err, sizeof err), 0);
  cohort_param_t bad1[] = {{"answer", "0ms"}};
  assert_int_equal(cohort_election_config_parse(&c, bad1, 1, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "answer"));
  cohort_param_t bad2[] = {{"bogus", "1"}};
  assert_int_equal(cohort_election_config_parse(&c, bad2, 1, err, sizeof err), COHORT_EINVAL);
  cohort_param_t bad3[] = {{"announce", "5s"}};
  assert_int_equal(cohort_election_config_parse(&c, bad3, 1, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "leader_timeout"));
  cohort_param_t bad4[] = {{"retries", "x"}};
  assert_int_equal(cohort_election_config_parse(&c, bad4, 1, err, sizeof err), COHORT_EINVAL);
  cohort_param_t good[] = {{"answer", "20ms"}, {"retries", "2"}, {"announce", "500ms"}};
  assert_int_equal(cohort_election_config_parse(&c, good, 3, err, sizeof err), 0);
  assert_int_equal(c.answer_timeout_ns, 20 * MS);
  assert_int_equal(c.retries, 2);
  assert_null(cohort_election_kind_name(0));
  assert_string_equal(cohort_election_kind_name(COHORT_ELECTION_KIND_OK), "ok");
  /* Before start, an explicit election request is refused. */
  cohort_election_t e;
  memset(&e, 0, sizeof e);
  e.leader = COHORT_NODE_NONE;
  assert_int_equal(cohort_election_start(&e), COHORT_ESTATE);
  assert_null(cohort_election_from_proto(NULL));
  cohort_election_close(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bully_leader_removed),
      cmocka_unit_test(test_ring_leader_removed),
      cmocka_unit_test(test_ring_hop_to_removed_peer),
      cmocka_unit_test(test_bully_elect_crash_restart),
      cmocka_unit_test(test_ring_elect_crash_restart),
      cmocka_unit_test(test_ring_dead_successor),
      cmocka_unit_test(test_ring_skipped_node_told),
      cmocka_unit_test(test_no_detector_fallback),
      cmocka_unit_test(test_stale_coordinator),
      cmocka_unit_test(test_stale_leader_steps_down),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
