/*
 * tests/group/test_group.c — the group protocol (src/group) driven by the
 * simulator: formation, the application's view of joins and leaves, the
 * state transfer, minority views, merge, and every message kind fed
 * malformed, truncated and absurd payloads (refused, never a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/group.h"
#include "cohort/sim.h"

static cohort_sim_t *run_text(const char *text, uint64_t seed, int64_t until_ns) {
  cohort_scenario_t *sc = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "t.scn", NULL, &sc, err, sizeof err))
    fail_msg("parse: %s", err);
  cohort_sim_config_t cfg = {.seed = seed};
  cohort_sim_t *sim = NULL;
  if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) fail_msg("sim: %s", err);
  if (until_ns) assert_int_equal(cohort_sim_run_until(sim, until_ns), 0);
  else assert_int_equal(cohort_sim_run(sim), 0);
  return sim; /* the scenario is owned by the caller via cohort_sim_scenario */
}

static void done(cohort_sim_t *sim) {
  cohort_scenario_t *sc = (cohort_scenario_t *)cohort_sim_scenario(sim);
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
}

static cohort_group_t *group_at(cohort_sim_t *sim, cohort_node_id_t id) {
  cohort_proto_t *p = cohort_sim_proto(sim, id, "group");
  return p ? cohort_group_from_proto(p) : NULL;
}

/* Little-endian, as the group wire writes integers. */
static void wr_le(uint8_t **p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) *(*p)++ = (uint8_t)(v >> (8 * i));
}

#define BASE                                                                 \
  "nodes 5\nduration 20s\n"                                                  \
  "cluster-key 00112233445566778899aabbccddeeff\n"                          \
  "protocol fd detector=phi threshold=8 interval=100ms\n"                   \
  "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us\n"

static void test_forms_one_primary_view(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 rate=20 state-bytes=70000\n", 1,
                               5 * COHORT_NS_PER_S);
  const cohort_group_view_t *v1 = cohort_group_view(group_at(sim, 1));
  assert_non_null(v1);
  assert_int_equal(v1->members_len, 5);
  assert_true(v1->primary);
  assert_int_equal(v1->members[0].id, 1); /* the founder, oldest, coordinates */
  for (cohort_node_id_t i = 2; i <= 5; i++) {
    cohort_group_t *g = group_at(sim, i);
    const cohort_group_view_t *v = cohort_group_view(g);
    assert_non_null(v);
    assert_true(v->id.epoch == v1->id.epoch && v->id.coord == v1->id.coord);
    assert_int_equal(cohort_group_status(g), COHORT_GROUP_MEMBER);
    const cohort_group_stats_t *st = cohort_group_stats(g);
    assert_int_equal(st->state_transfers, 1); /* each joiner got the state once */
    assert_int_equal(st->state_bytes_received, 70000);
    assert_true(st->delivered > 200); /* ~4 s of 5 x 20 msg/s */
  }
  done(sim);
}

static void test_crash_gives_new_view_and_rejoin(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 rate=10\n"
                                    "at 3s crash 1\nat 6s restart 1\n",
                               2, 0);
  /* the next member in rank took over; node 1 came back as a new
   * incarnation and joined at the end of the rank */
  const cohort_group_view_t *v = cohort_group_view(group_at(sim, 3));
  assert_non_null(v);
  assert_int_equal(v->members_len, 5);
  assert_int_not_equal(v->members[0].id, 1);
  assert_int_equal(v->members[4].id, 1);
  bool one = false;
  for (size_t i = 0; i < v->members_len; i++)
    if (v->members[i].id == 1) {
      one = true;
      assert_int_equal(v->members[i].inc, 2);
    }
  assert_true(one);
  assert_true(cohort_group_stats(group_at(sim, v->members[0].id))->view_changes_led >= 2);
  done(sim);
}

/* The sequencer's per-member scan belongs to one view: a DATA from a
 * member that joined, arriving before the sequencer's first tick in the
 * grown view, must not be looked up in the old, smaller scan (a heap
 * overflow under AddressSanitizer, seen on real sockets). Node 5 crashes
 * and rejoins; the moment node 1 (the sequencer) installs the view of 5,
 * a TOTAL DATA of the new member is fed to it. */
static void test_data_of_a_joiner_before_the_tick(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 rate=50 order=total\n"
                                    "at 2s crash 5\nat 3s restart 5\n",
                               3, 2500 * COHORT_NS_PER_MS);
  cohort_group_t *g = group_at(sim, 1);
  assert_int_equal(cohort_group_view(g)->members_len, 4);
  int64_t t = 2500 * COHORT_NS_PER_MS;
  while (cohort_group_view(g)->members_len < 5 && t < 8 * COHORT_NS_PER_S) {
    t += COHORT_NS_PER_MS / 10;
    assert_int_equal(cohort_sim_run_until(sim, t), 0);
  }
  const cohort_group_view_t *v = cohort_group_view(g);
  assert_int_equal(v->members_len, 5);
  assert_int_equal(v->members[0].id, 1); /* node 1 is the sequencer */
  uint8_t buf[128], *w = buf;
  wr_le(&w, v->id.epoch, 8);
  wr_le(&w, v->id.coord, 4);
  wr_le(&w, v->id.coord_inc, 8);
  wr_le(&w, v->members[4].id, 4);  /* sender: the joiner, rank 4 */
  wr_le(&w, v->members[4].inc, 8); /* its incarnation */
  for (int k = 0; k < 3; k++) wr_le(&w, k == 0 ? 400 : 0, 8); /* seq far ahead, stable, base */
  wr_le(&w, COHORT_MCAST_TOTAL, 1);
  memset(w, 7, 16);
  w += 16;
  cohort_msg_t m = {.from = v->members[4].id, .from_incarnation = v->members[4].inc, .kind = 10,
                    .payload = buf, .payload_len = (size_t)(w - buf), .from_peer = true};
  cohort_proto_t *p = cohort_group_proto(g);
  int rc = p->ops->recv(p, &m);
  assert_true(rc == 0 || rc == COHORT_EPROTO);
  assert_int_equal(cohort_sim_run_until(sim, t + 3 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_view(g)->members_len, 5);
  done(sim);
}

static void test_minority_blocks_and_merge(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 minority=block merge-interval=300ms\n"
                                    "at 3s partition 1,2 | 3,4,5\nat 9s heal\n",
                               3, 7 * COHORT_NS_PER_S);
  cohort_group_t *g1 = group_at(sim, 1), *g4 = group_at(sim, 4);
  assert_false(cohort_group_view(g1)->primary);
  assert_true(cohort_group_view(g4)->primary);
  uint8_t b = 1;
  assert_int_equal(cohort_group_send(g1, &b, 1, NULL), COHORT_ESTATE);
  assert_int_equal(cohort_group_send(g4, &b, 1, NULL), 0);
  assert_true(cohort_group_stats(g1)->non_primary_views >= 1);
  assert_int_equal(cohort_sim_run_until(sim, 16 * COHORT_NS_PER_S), 0);
  const cohort_group_view_t *v = cohort_group_view(g1);
  assert_int_equal(v->members_len, 5);
  assert_true(v->primary);
  bool merged = cohort_group_stats(g1)->merges + cohort_group_stats(g4)->merges > 0;
  assert_true(merged);
  done(sim);
}

static void test_send_limits(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 window=4\n", 4, 4 * COHORT_NS_PER_S);
  cohort_group_t *g = group_at(sim, 2);
  static uint8_t big[COHORT_GROUP_MSG_MAX + 1];
  assert_int_equal(cohort_group_send(g, big, 0, NULL), COHORT_EINVAL);
  assert_int_equal(cohort_group_send(g, big, COHORT_GROUP_MSG_MAX + 1, NULL), COHORT_EINVAL);
  uint64_t seq = 0;
  assert_int_equal(cohort_group_send(g, big, COHORT_GROUP_MSG_MAX, &seq), 0); /* the largest */
  assert_int_equal(seq, 1);
  int rc = 0;
  for (int i = 0; i < 4 && rc == 0; i++) rc = cohort_group_send(g, big, 10, NULL);
  assert_int_equal(rc, COHORT_EAGAIN); /* the window of 4 is full until acknowledged */
  assert_int_equal(cohort_sim_run_until(sim, 5 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_send(g, big, 10, NULL), 0);
  assert_int_equal(cohort_group_leave(g), 0);
  assert_int_equal(cohort_group_leave(g), COHORT_ESTATE);
  assert_int_equal(cohort_group_send(g, big, 10, NULL), COHORT_ESTATE);
  assert_int_equal(cohort_sim_run_until(sim, 9 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_status(g), COHORT_GROUP_LEFT);
  assert_int_equal(cohort_group_view(group_at(sim, 1))->members_len, 4);
  done(sim);
}

/* The byte bound of the send window: at its least (one largest message)
 * a second message waits for the first to be stable, whatever its size. */
static void test_window_bytes(void **state) {
  (void)state;
  cohort_sim_t *sim =
      run_text(BASE "protocol group expected=5 window-bytes=30000\n", 4, 4 * COHORT_NS_PER_S);
  cohort_group_t *g = group_at(sim, 2);
  static uint8_t big[COHORT_GROUP_MSG_MAX];
  assert_int_equal(cohort_group_send(g, big, COHORT_GROUP_MSG_MAX, NULL), 0);
  assert_int_equal(cohort_group_send(g, big, 1, NULL), COHORT_EAGAIN); /* 30000 + 1 bytes */
  assert_int_equal(cohort_sim_run_until(sim, 5 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_send(g, big, 1, NULL), 0);        /* stable: room again */
  assert_int_equal(cohort_group_send(g, big, 29999, NULL), 0);    /* exactly full */
  assert_int_equal(cohort_group_send(g, big, 1, NULL), COHORT_EAGAIN);
  assert_int_equal(cohort_sim_run_until(sim, 6 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_stats(g)->sent, 3);
  assert_int_equal(cohort_group_stats(group_at(sim, 1))->delivered, 3);
  done(sim);
  cohort_group_config_t c;
  char err[128];
  cohort_group_config_default(&c);
  c.window_bytes = COHORT_GROUP_MSG_MAX - 1; /* the largest message would never fit */
  assert_int_equal(cohort_group_config_check(&c, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "window-bytes"));
  c.window_bytes = (1u << 30) + 1;
  assert_int_equal(cohort_group_config_check(&c, err, sizeof err), COHORT_EINVAL);
}

/* Under loss a receiver asks for a gap at once (FETCH) and gets it; a
 * FETCH asking for everything is answered with at most a window from the
 * ring, and one from a stranger, for another view or from another
 * incarnation of a member is ignored. */
static void test_gaps_fetched(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text("nodes 5\nduration 20s\n"
                               "cluster-key 00112233445566778899aabbccddeeff\n"
                               "protocol fd detector=phi threshold=12 interval=100ms\n"
                               "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us "
                               "loss=0.05\n"
                               "protocol group expected=5 rate=50\n",
                               7, 6 * COHORT_NS_PER_S);
  uint64_t nacks = 0;
  for (cohort_node_id_t id = 1; id <= 5; id++)
    nacks += cohort_group_stats(group_at(sim, id))->tx_nacks;
  assert_true(nacks > 0);
  cohort_group_t *g = group_at(sim, 1);
  const cohort_group_view_t *v = cohort_group_view(g);
  assert_int_equal(v->members_len, 5);
  cohort_proto_t *p = cohort_group_proto(g);
  uint8_t buf[64], *w;
  /* member 2; a stranger; member 2 for the next view; member 2's next
   * incarnation (restarted, not in this view) */
  struct { cohort_node_id_t from; cohort_incarnation_t inc; uint64_t epoch; } asks[] = {
      {2, 1, v->id.epoch}, {77, 1, v->id.epoch}, {2, 1, v->id.epoch + 1}, {2, 2, v->id.epoch}};
  for (size_t k = 0; k < sizeof asks / sizeof asks[0]; k++) {
    uint64_t before = cohort_group_stats(g)->tx_retransmits;
    w = buf;
    wr_le(&w, asks[k].epoch, 8);
    wr_le(&w, v->id.coord, 4);
    wr_le(&w, v->id.coord_inc, 8);
    wr_le(&w, 1, 4); /* node 1's messages */
    wr_le(&w, 1, 8);
    wr_le(&w, UINT64_MAX, 8); /* all of them */
    cohort_msg_t m = {.from = asks[k].from, .from_incarnation = asks[k].inc, .kind = 13,
                      .payload = buf,
                      .payload_len = (size_t)(w - buf), .from_peer = true};
    int rc = p->ops->recv(p, &m);
    assert_true(rc == 0 || rc == COHORT_EPROTO);
    uint64_t resent = cohort_group_stats(g)->tx_retransmits - before;
    if (k == 0) assert_true(resent <= 256); /* the default window: the ring holds no more */
    else assert_int_equal(resent, 0);
  }
  assert_int_equal(cohort_sim_run_until(sim, 9 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_view(g)->members_len, 5);
  done(sim);
}

/* Every kind, fed garbage: refused or ignored, the group still works. */
static void test_malformed_every_kind(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5 rate=10\n", 5, 3 * COHORT_NS_PER_S);
  cohort_group_t *g = group_at(sim, 1);
  cohort_proto_t *p = cohort_group_proto(g);
  uint8_t buf[512];
  uint64_t x = 88172645463325252ull;
  for (uint32_t kind = 0; kind <= 24; kind++)
    for (int round = 0; round < 200; round++) {
      size_t len = (size_t)(round % 97);
      for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = round % 3 == 0 ? 0xff : round % 3 == 1 ? 0 : (uint8_t)x;
      }
      cohort_msg_t m = {.from = 2, .from_incarnation = 1, .kind = kind, .payload = buf,
                        .payload_len = len, .from_peer = true};
      int rc = p->ops->recv(p, &m);
      assert_true(rc == 0 || rc == COHORT_EPROTO);
    }
  assert_int_equal(cohort_sim_run_until(sim, 8 * COHORT_NS_PER_S), 0);
  assert_int_equal(cohort_group_view(g)->members_len, 5);
  assert_int_equal(cohort_group_status(g), COHORT_GROUP_MEMBER);
  done(sim);
}

static void test_config_errors(void **state) {
  (void)state;
  cohort_group_config_t c;
  char err[128];
  cohort_group_config_default(&c);
  assert_int_equal(cohort_group_config_check(&c, err, sizeof err), 0);
  c.window = 0;
  assert_int_equal(cohort_group_config_check(&c, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "window"));
  cohort_group_config_default(&c);
  c.retransmit_ns = 1;
  assert_int_equal(cohort_group_config_check(&c, err, sizeof err), COHORT_EINVAL);
  const char *bad[] = {"protocol group window=5000\n", "protocol group minority=maybe\n",
                       "protocol group votes=1:x\n", "protocol group msg-bytes=0\n",
                       "protocol group bogus=1\n", "protocol group rate=-1\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, BASE "%s", bad[i]);
    cohort_scenario_t *sc = NULL;
    char e[512] = "";
    int rc = cohort_scenario_parse(text, strlen(text), "t.scn", NULL, &sc, e, sizeof e);
    cohort_sim_t *sim = NULL;
    cohort_sim_config_t cfg = {.seed = 1};
    if (rc == 0) rc = cohort_sim_new(sc, &cfg, &sim, e, sizeof e);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(e) > 0);
    cohort_sim_free(sim);
    cohort_scenario_free(sc);
  }
}


/* ---- ordering services ------------------------------------------------------ */

/* Per node, the total messages it delivered, in order (mid packed as
 * sender << 40 | incarnation << 32 | n), from the trace callback. */
typedef struct tord {
  uint64_t *seq[6];
  size_t len[6], cap[6];
  uint64_t last_gseq[6];
  bool gseq_order;
} tord_t;

static void tord_line(void *ud, const char *line, size_t len) {
  (void)len;
  tord_t *t = ud;
  if (!strstr(line, "\"what\":\"gdeliver\"") || !strstr(line, "\"svc\":\"total\"")) return;
  const char *n = strstr(line, "\"node\":"), *m = strstr(line, "\"mid\":\""),
             *gs = strstr(line, "\"gseq\":"), *v = strstr(line, "\"epoch\"");
  (void)v;
  assert_non_null(n);
  assert_non_null(m);
  assert_non_null(gs); /* every total delivery says its gseq */
  unsigned node = (unsigned)strtoul(n + 7, NULL, 10);
  char *e;
  unsigned long long sender = strtoull(m + 7, &e, 10), inc = strtoull(e + 1, &e, 10),
                     num = strtoull(e + 1, NULL, 10);
  assert_true(node >= 1 && node <= 5);
  if (t->len[node] == t->cap[node]) {
    t->cap[node] = t->cap[node] ? 2 * t->cap[node] : 1024;
    t->seq[node] = realloc(t->seq[node], t->cap[node] * sizeof *t->seq[node]);
    assert_non_null(t->seq[node]);
  }
  t->seq[node][t->len[node]++] = sender << 40 | inc << 32 | num;
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The sequence of `a` restricted to the messages `b` also delivered. */
static size_t common(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, uint64_t *out) {
  uint64_t *sorted = malloc((nb + 1) * sizeof *sorted);
  assert_non_null(sorted);
  memcpy(sorted, b, nb * sizeof *b);
  qsort(sorted, nb, sizeof *sorted, u64_cmp);
  size_t k = 0;
  for (size_t i = 0; i < na; i++)
    if (bsearch(&a[i], sorted, nb, sizeof *sorted, u64_cmp)) out[k++] = a[i];
  free(sorted);
  return k;
}

static void test_total_order_identical_everywhere(void **state) {
  (void)state;
  /* five concurrent senders, 40 msg/s each, over a lossy reordering
   * network, and a crash of the sequencer half way */
  const char *text = BASE "protocol group expected=5 rate=40 order=total\n"
                          "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us "
                          "loss=0.02 dup=0.01 reorder=0.05\n"
                          "at 4s crash 1\n";
  cohort_scenario_t *sc = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "t.scn", NULL, &sc, err, sizeof err))
    fail_msg("parse: %s", err);
  tord_t t = {0};
  cohort_sim_config_t cfg = {.seed = 7, .trace_fn = tord_line, .trace_ud = &t};
  cohort_sim_t *sim = NULL;
  if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) fail_msg("sim: %s", err);
  assert_int_equal(cohort_sim_run_until(sim, 8 * COHORT_NS_PER_S), 0);
  for (unsigned a = 2; a <= 5; a++) {
    assert_true(t.len[a] > 500);
    unsigned senders = 0;
    for (unsigned s = 1; s <= 5; s++)
      for (size_t i = 0; i < t.len[a]; i++)
        if (t.seq[a][i] >> 40 == s) {
          senders++;
          break;
        }
    assert_int_equal(senders, 5); /* concurrent senders, all of them */
    for (unsigned b = 1; b <= 5; b++) {
      if (a == b) continue;
      uint64_t *x = malloc((t.len[a] + 1) * 8), *y = malloc((t.len[b] + 1) * 8);
      assert_true(x && y);
      size_t nx = common(t.seq[a], t.len[a], t.seq[b], t.len[b], x);
      size_t ny = common(t.seq[b], t.len[b], t.seq[a], t.len[a], y);
      assert_int_equal(nx, ny);
      assert_true(nx > 100);
      assert_memory_equal(x, y, nx * 8); /* the same relative order */
      free(x);
      free(y);
    }
  }
  const cohort_group_stats_t *st = cohort_group_stats(group_at(sim, 2));
  assert_true(st->held_back > 0); /* stable messages did wait for their number */
  assert_int_equal(st->order_forced, 0);
  uint64_t orders = 0;
  for (cohort_node_id_t i = 2; i <= 5; i++) orders += cohort_group_stats(group_at(sim, i))->tx_order;
  assert_true(orders > 0); /* the next coordinator took over as sequencer */
  for (int i = 0; i < 6; i++) free(t.seq[i]);
  done(sim);
}

/* Causal and total (and every level mixed) under loss and a crash: the
 * trace checkers for the three orders find nothing. */
static void test_orders_respected(void **state) {
  (void)state;
  static const char *const orders[] = {"causal", "mix", "causal-total"};
  for (size_t k = 0; k < 3; k++) {
    char text[1024];
    snprintf(text, sizeof text,
             BASE "protocol group expected=5 rate=40 order=%s\n"
                  "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us loss=0.02 "
                  "reorder=0.05\nat 3s crash 3\nat 5s restart 3\n"
                  "check group-fifo\ncheck group-causal\ncheck total-order\n"
                  "check vs-agreement\n",
             orders[k]);
    cohort_scenario_t *sc = NULL;
    char err[512];
    if (cohort_scenario_parse(text, strlen(text), "t.scn", NULL, &sc, err, sizeof err))
      fail_msg("parse: %s", err);
    cohort_sim_config_t cfg = {.seed = 11 + k, .run_checks = true};
    cohort_sim_t *sim = NULL;
    if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) fail_msg("sim: %s", err);
    assert_int_equal(cohort_sim_run_until(sim, 9 * COHORT_NS_PER_S), 0);
    assert_int_equal(cohort_sim_check(sim), 0);
    const cohort_sim_results_t *r = cohort_sim_results(sim);
    assert_int_equal(r->checks_len, 4);
    for (size_t i = 0; i < r->checks_len; i++) {
      assert_int_equal(r->checks[i].rc, 0);
      if (r->checks[i].result.violations)
        fail_msg("%s %s: %s", orders[k], r->checks[i].text, r->checks[i].result.first);
    }
    assert_true(r->checks[0].result.checked > 100); /* group-fifo */
    assert_true(r->checks[1].result.checked > 100); /* group-causal: causal in all three */
    if (k > 0) assert_true(r->checks[2].result.checked > 100); /* total-order */
    {
    }
    done(sim);
  }
}

static void test_bad_services_refused(void **state) {
  (void)state;
  cohort_sim_t *sim = run_text(BASE "protocol group expected=5\n", 4, 3 * COHORT_NS_PER_S);
  cohort_group_t *g = group_at(sim, 2);
  uint8_t b[4] = {1, 2, 3, 4};
  static const uint32_t bad[] = {
      COHORT_MCAST_UNRELIABLE | COHORT_MCAST_TOTAL,   /* total needs agreement */
      COHORT_MCAST_UNRELIABLE | COHORT_MCAST_FIFO,    /* ordered needs reliable */
      COHORT_MCAST_BEST_EFFORT | COHORT_MCAST_TOTAL,
      COHORT_MCAST_RELIABLE | COHORT_MCAST_UNRELIABLE, /* two reliabilities */
      COHORT_MCAST_UNRELIABLE,                        /* not built yet */
      COHORT_MCAST_BEST_EFFORT | COHORT_MCAST_CAUSAL,
      1u << 5,                                        /* unknown ordering bit */
      1u << 20,                                       /* unknown bit */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(cohort_group_send_svc(g, bad[i], b, sizeof b, NULL), COHORT_EINVAL);
    assert_non_null(cohort_mcast_service_check(bad[i]));
    assert_string_equal(cohort_mcast_service_name(bad[i]), "?");
  }
  assert_non_null(strstr(cohort_mcast_service_check(COHORT_MCAST_UNRELIABLE | COHORT_MCAST_TOTAL),
                         "reliable"));
  static const struct {
    uint32_t svc;
    const char *name;
  } good[] = {
      {COHORT_MCAST_UNORDERED, "unordered"},
      {COHORT_MCAST_FIFO | COHORT_MCAST_RELIABLE, "fifo"},
      {COHORT_MCAST_CAUSAL, "causal"},
      {COHORT_MCAST_CAUSAL | COHORT_MCAST_FIFO, "causal"},
      {COHORT_MCAST_TOTAL | COHORT_MCAST_RELIABLE, "total"},
      {COHORT_MCAST_TOTAL | COHORT_MCAST_CAUSAL, "causal-total"},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_null(cohort_mcast_service_check(good[i].svc));
    assert_string_equal(cohort_mcast_service_name(good[i].svc), good[i].name);
    assert_int_equal(cohort_group_send_svc(g, good[i].svc, b, sizeof b, NULL), 0);
    uint32_t parsed = 0;
    assert_int_equal(cohort_mcast_service_parse(good[i].name, &parsed), 0);
    assert_string_equal(cohort_mcast_service_name(parsed), good[i].name);
  }
  uint32_t x;
  assert_int_equal(cohort_mcast_service_parse("agreed", &x), COHORT_EINVAL);
  done(sim);
  /* the test application refuses an unknown order= with a clear message */
  const char *text = BASE "protocol group expected=5 order=sorted\n";
  cohort_scenario_t *sc = NULL;
  char err[512] = "";
  int rc = cohort_scenario_parse(text, strlen(text), "t.scn", NULL, &sc, err, sizeof err);
  cohort_sim_t *s2 = NULL;
  if (!rc) {
    cohort_sim_config_t cfg = {.seed = 1};
    rc = cohort_sim_new(sc, &cfg, &s2, err, sizeof err);
    cohort_sim_free(s2);
    cohort_scenario_free(sc);
  }
  assert_int_equal(rc, COHORT_EINVAL);
  assert_non_null(strstr(err, "order=unordered|fifo|causal|total|causal-total|mix"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_total_order_identical_everywhere),
      cmocka_unit_test(test_orders_respected),
      cmocka_unit_test(test_bad_services_refused),
      cmocka_unit_test(test_forms_one_primary_view),
      cmocka_unit_test(test_crash_gives_new_view_and_rejoin),
      cmocka_unit_test(test_data_of_a_joiner_before_the_tick),
      cmocka_unit_test(test_minority_blocks_and_merge),
      cmocka_unit_test(test_send_limits),
      cmocka_unit_test(test_window_bytes),
      cmocka_unit_test(test_gaps_fetched),
      cmocka_unit_test(test_malformed_every_kind),
      cmocka_unit_test(test_config_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
