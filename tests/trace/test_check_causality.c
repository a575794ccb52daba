/*
 * tests/trace/test_check_causality.c — happened-before rebuilt from trace
 * structure, and the `causality` checker.
 *
 * A tiny random executor (local events, sends, receives, drops and
 * duplicates over N nodes, with correct Lamport, vector and HLC stamps)
 * produces traces that must pass and whose recomputed vector timestamps
 * must equal the executor's own; then single faults are injected and
 * each must be rejected.
 */
#include <stdlib.h>

#include "cohort/trace_hb.h"
#include "tracebuild.h"

#define NODES 5
#define FLIGHT_MAX 64

typedef struct proc {
  uint64_t lamport;
  cohort_hlc_ts_t hlc;
  uint64_t vc[NODES + 1]; /* node ids 1..NODES */
  int64_t offset;         /* local clock offset from true time */
} proc_t;

typedef struct flight {
  int from, to;
  uint64_t seq, lamport;
  cohort_hlc_ts_t hlc;
  uint64_t vc[NODES + 1];
} flight_t;

typedef struct exec {
  proc_t p[NODES + 1];
  flight_t fl[FLIGHT_MAX];
  int nfl;
  uint64_t seq[NODES + 1];
  int64_t tt;
  /* the executor's own vector per record, for comparing with hb */
  uint64_t (*truth)[NODES + 1];
  size_t ntruth;
} exec_t;

static cohort_hlc_ts_t hlc_local(cohort_hlc_ts_t h, int64_t pt) {
  if (pt > h.l) return (cohort_hlc_ts_t){pt, 0};
  return (cohort_hlc_ts_t){h.l, h.c + 1};
}

static cohort_hlc_ts_t hlc_recv(cohort_hlc_ts_t h, cohort_hlc_ts_t m, int64_t pt) {
  int64_t l = h.l > m.l ? h.l : m.l;
  if (pt > l) return (cohort_hlc_ts_t){pt, 0};
  uint32_t c = h.l == m.l ? (h.c > m.c ? h.c : m.c) + 1 : (l == h.l ? h.c + 1 : m.c + 1);
  return (cohort_hlc_ts_t){l, c};
}

static void emit(exec_t *x, cohort_trace_t *t, int n, cohort_trace_event_t ev) {
  proc_t *p = &x->p[n];
  cohort_vc_entry_t ents[NODES];
  size_t len = 0;
  for (int k = 1; k <= NODES; k++)
    if (p->vc[k]) ents[len++] = (cohort_vc_entry_t){(cohort_node_id_t)k, p->vc[k], 0};
  cohort_vclock_t vc = {ents, len, len, NULL};
  ev.node = (cohort_node_id_t)n;
  ev.inc = 1;
  ev.true_ns = x->tt;
  ev.local_ns = x->tt + p->offset;
  ev.has_stamps = true;
  ev.lamport = p->lamport;
  ev.hlc = p->hlc;
  ev.vc = &vc;
  if (!ev.proto) ev.proto = "app";
  tb_add(t, &ev);
  memcpy(x->truth[x->ntruth++], p->vc, sizeof p->vc);
}

static void step(exec_t *x, cohort_trace_t *t) {
  x->tt += 1 + rand() % 1000;
  int n = 1 + rand() % NODES, r = rand() % 10;
  proc_t *p = &x->p[n];
  int64_t pt = x->tt + p->offset;
  if (r < 4 && x->nfl) { /* receive (sometimes a duplicate, sometimes lost) */
    int i = rand() % x->nfl;
    flight_t f = x->fl[i];
    bool dup = rand() % 8 == 0, lost = rand() % 10 == 0;
    if (!dup) x->fl[i] = x->fl[--x->nfl];
    cohort_trace_event_t ev = {.kind = "m", .peer = (cohort_node_id_t)f.from, .has_msg = true,
                               .msg = {(cohort_node_id_t)f.from, 1, f.seq}, .bytes = 10};
    if (lost) { /* the network loses it: no process event */
      ev.type = COHORT_EV_DROP;
      ev.node = (cohort_node_id_t)f.to;
      ev.true_ns = x->tt;
      ev.reason = "loss";
      ev.proto = "app";
      tb_add(t, &ev);
      memset(x->truth[x->ntruth++], 0, sizeof x->truth[0]);
      return;
    }
    p = &x->p[f.to];
    pt = x->tt + p->offset;
    p->lamport = (p->lamport > f.lamport ? p->lamport : f.lamport) + 1;
    p->hlc = hlc_recv(p->hlc, f.hlc, pt);
    for (int k = 1; k <= NODES; k++)
      if (f.vc[k] > p->vc[k]) p->vc[k] = f.vc[k];
    p->vc[f.to]++;
    ev.type = COHORT_EV_RECV;
    emit(x, t, f.to, ev);
    return;
  }
  p->lamport++;
  p->hlc = hlc_local(p->hlc, pt);
  p->vc[n]++;
  if (r < 8 && x->nfl < FLIGHT_MAX) {
    int to = 1 + rand() % NODES;
    flight_t f = {n, to, ++x->seq[n], p->lamport, p->hlc, {0}};
    memcpy(f.vc, p->vc, sizeof f.vc);
    x->fl[x->nfl++] = f;
    emit(x, t, n, (cohort_trace_event_t){.type = COHORT_EV_SEND, .kind = "m",
                                         .peer = (cohort_node_id_t)to, .has_msg = true,
                                         .msg = {(cohort_node_id_t)n, 1, f.seq}, .bytes = 10});
  } else {
    emit(x, t, n, (cohort_trace_event_t){.type = COHORT_EV_TIMER, .what = "tick",
                                         .peer = COHORT_NODE_NONE});
  }
}

static void run_exec(exec_t *x, cohort_trace_t *t, int steps, unsigned seed) {
  srand(seed);
  memset(x, 0, sizeof *x);
  x->truth = calloc((size_t)steps, sizeof *x->truth);
  for (int n = 1; n <= NODES; n++) x->p[n].offset = (rand() % 2000) - 1000;
  x->tt = 1000000;
  cohort_trace_init(t);
  for (int i = 0; i < steps; i++) step(x, t);
}

typedef struct truth_cmp {
  exec_t *x;
  const cohort_hb_t *hb;
  size_t visited;
} truth_cmp_t;

static int compare_truth(void *ctx, size_t rec, const uint32_t *vec) {
  truth_cmp_t *tc = ctx;
  for (uint32_t q = 0; q < tc->hb->nproc; q++) {
    cohort_node_id_t node = tc->hb->procs[q].node;
    if (vec[q] != tc->x->truth[rec][node])
      fail_msg("record %zu: node %u: hb %u, executor %llu", rec, node, vec[q],
               (unsigned long long)tc->x->truth[rec][node]);
  }
  tc->visited++;
  return 0;
}

static void test_random_executions_pass(void **state) {
  (void)state;
  for (unsigned seed = 1; seed <= 60; seed++) {
    exec_t x;
    cohort_trace_t t;
    run_exec(&x, &t, 400, seed);
    cohort_hb_t hb;
    assert_int_equal(cohort_hb_build(&hb, &t, NULL), 0);
    assert_int_equal(hb.broken, 0);
    truth_cmp_t tc = {&x, &hb, 0};
    assert_int_equal(cohort_hb_walk(&hb, compare_truth, &tc), 0);
    assert_int_equal(tc.visited, hb.ntopo);
    cohort_check_result_t res;
    assert_int_equal(tb_check(&t, "causality", NULL, &res), 0);
    if (res.violations) fail_msg("seed %u: %s", seed, res.first);
    assert_true(res.checked > 300);
    /* the same trace shuffled by a sort on true time stays valid */
    cohort_trace_sort(&t);
    assert_int_equal(tb_check(&t, "causality", NULL, &res), 0);
    assert_int_equal(res.violations, 0);
    cohort_hb_close(&hb);
    cohort_trace_close(&t);
    free(x.truth);
  }
}

/* Find a recv record in t (the first after `from`). */
static size_t find_type(const cohort_trace_t *t, cohort_ev_type_t type, size_t from) {
  for (size_t i = from; i < t->len; i++)
    if (t->recs[i].type == type) return i;
  fail_msg("no event of type %d", type);
  return 0;
}

static uint64_t violations(const cohort_trace_t *t, const char *const *kv, char *first) {
  cohort_check_result_t res;
  assert_int_equal(tb_check(t, "causality", kv, &res), 0);
  if (first) snprintf(first, 512, "%s", res.first);
  return res.violations;
}

static void test_injected_faults(void **state) {
  (void)state;
  char first[512];
  for (unsigned seed = 100; seed < 110; seed++) {
    exec_t x;
    cohort_trace_t t;
    run_exec(&x, &t, 300, seed);
    assert_int_equal(violations(&t, NULL, NULL), 0);
    size_t r = find_type(&t, COHORT_EV_RECV, 20);
    cohort_trace_rec_t saved = t.recs[r];
    /* 1. Lamport does not step past the message's stamp */
    size_t hbs = r;
    cohort_hb_t hb;
    assert_int_equal(cohort_hb_build(&hb, &t, NULL), 0);
    hbs = hb.send_of[r];
    assert_true(hbs != COHORT_HB_NONE);
    cohort_hb_close(&hb);
    t.recs[r].lamport = t.recs[hbs].lamport;
    assert_true(violations(&t, NULL, first) >= 1);
    assert_non_null(strstr(first, "lamport"));
    t.recs[r] = saved;
    /* 2. HLC goes backwards along the process */
    t.recs[r].hlc.l = t.recs[hbs].hlc.l - 1;
    assert_true(violations(&t, NULL, first) >= 1);
    assert_non_null(strstr(first, "hlc"));
    t.recs[r] = saved;
    /* 3. the vc forgets the message (recv vc = own previous vc) */
    t.recs[r].vc = t.recs[hbs].vc; /* vc equal to the send's: not above it */
    t.recs[r].vc_len = t.recs[hbs].vc_len;
    assert_true(violations(&t, NULL, first) >= 1);
    assert_non_null(strstr(first, "vc"));
    t.recs[r] = saved;
    assert_int_equal(violations(&t, NULL, NULL), 0);
    cohort_trace_close(&t);
    free(x.truth);
  }
}

#define NONE_ COHORT_NODE_NONE
#define EV(type_, node_, tt_, lam_, peer_, ...)                                                  \
  (cohort_trace_event_t) {                                                                 \
    .type = (type_), .node = (node_), .inc = 1, .local_ns = (tt_), .true_ns = (tt_),       \
    .has_stamps = true, .lamport = (lam_), .hlc = {(tt_), 0}, .peer = (peer_),             \
    __VA_ARGS__                                                                            \
  }

static cohort_vclock_t *vc_of(cohort_vc_entry_t *e, size_t n, cohort_vclock_t *holder) {
  *holder = (cohort_vclock_t){e, n, n, NULL};
  return holder;
}

static void test_vc_converse(void **state) {
  (void)state;
  /* two nodes, no messages: concurrent events must have incomparable vcs */
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_vc_entry_t a1[] = {{1, 1, 0}}, b1[] = {{1, 1, 0}, {2, 1, 0}}, b1ok[] = {{2, 1, 0}};
  cohort_vclock_t h1, h2;
  tb_add(&t, &EV(COHORT_EV_TIMER, 1, 10, 1, NONE_, .vc = vc_of(a1, 1, &h1), .what = "t"));
  tb_add(&t, &EV(COHORT_EV_TIMER, 2, 20, 1, NONE_, .vc = vc_of(b1, 2, &h2), .what = "t"));
  char first[512];
  assert_int_equal(violations(&t, NULL, first), 1);
  assert_non_null(strstr(first, "line 2: node 2 vc is above the vc of line 1"));
  cohort_trace_close(&t);
  cohort_trace_init(&t);
  tb_add(&t, &EV(COHORT_EV_TIMER, 1, 10, 1, NONE_, .vc = vc_of(a1, 1, &h1), .what = "t"));
  tb_add(&t, &EV(COHORT_EV_TIMER, 2, 20, 1, NONE_, .vc = vc_of(b1ok, 1, &h2), .what = "t"));
  assert_int_equal(violations(&t, NULL, NULL), 0);
  cohort_trace_close(&t);
}

static void test_cycle_and_hlc_bound(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  /* A receives m2 before sending m1; B receives m1 before sending m2 */
  tb_add(&t, &EV(COHORT_EV_RECV, 1, 10, 5, 2, .kind = "k", .has_msg = true,
                 .msg = {2, 1, 1}));
  tb_add(&t, &EV(COHORT_EV_SEND, 1, 11, 6, 2, .kind = "k", .has_msg = true,
                 .msg = {1, 1, 1}));
  tb_add(&t, &EV(COHORT_EV_RECV, 2, 12, 7, 1, .kind = "k", .has_msg = true,
                 .msg = {1, 1, 1}));
  tb_add(&t, &EV(COHORT_EV_SEND, 2, 13, 8, 1, .kind = "k", .has_msg = true,
                 .msg = {2, 1, 1}));
  char first[512];
  assert_true(violations(&t, NULL, first) >= 1);
  assert_non_null(strstr(first, "cycle"));
  cohort_hb_t hb;
  assert_int_equal(cohort_hb_build(&hb, &t, NULL), 0);
  assert_int_equal(hb.broken, 1);
  assert_int_equal(hb.ntopo, 4); /* still a complete order */
  cohort_hb_close(&hb);
  cohort_trace_close(&t);

  /* hlc.l within the bound of true time */
  cohort_trace_init(&t);
  tb_add(&t, &EV(COHORT_EV_TIMER, 1, 1000, 1, COHORT_NODE_NONE, .what = "t"));
  cohort_trace_event_t far = EV(COHORT_EV_TIMER, 1, 2000, 2, COHORT_NODE_NONE, .what = "t");
  far.hlc.l = 2000 + 5000000; /* 5 ms ahead */
  tb_add(&t, &far);
  const char *const loose[] = {"hlc_bound=10ms", NULL};
  const char *const tight[] = {"hlc_bound=1ms", NULL};
  assert_int_equal(violations(&t, loose, NULL), 0);
  assert_int_equal(violations(&t, tight, first), 1);
  assert_non_null(strstr(first, "line 2: node 1 hlc.l is 0.005000s"));
  /* bad parameters are refused */
  cohort_check_result_t res;
  const char *const bad1[] = {"hlc_bound=5", NULL};
  const char *const bad2[] = {"bound=5ms", NULL};
  assert_int_equal(tb_check(&t, "causality", bad1, &res), COHORT_EINVAL);
  assert_int_equal(tb_check(&t, "causality", bad2, &res), COHORT_EINVAL);
  cohort_trace_close(&t);
}

/* Times from a trace file span the whole int64 range: hlc.l − true time
 * used to overflow (wrapping to -1, "within the bound"); it saturates. */
static void test_hlc_bound_extreme_times(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_trace_event_t far = EV(COHORT_EV_TIMER, 1, INT64_MIN, 1, COHORT_NODE_NONE, .what = "t");
  far.hlc.l = INT64_MAX;
  tb_add(&t, &far);
  far = EV(COHORT_EV_TIMER, 2, INT64_MAX, 1, COHORT_NODE_NONE, .what = "t");
  far.hlc.l = INT64_MIN;
  tb_add(&t, &far);
  const char *const tight[] = {"hlc_bound=1ms", NULL};
  char first[512];
  assert_int_equal(violations(&t, tight, first), 2);
  assert_non_null(strstr(first, "hlc.l is"));
  cohort_trace_close(&t);
}

static void test_network_drops_and_incarnations(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  /* a restarted node is a new process: its Lamport may start over */
  tb_add(&t, &EV(COHORT_EV_TIMER, 1, 10, 7, COHORT_NODE_NONE, .what = "t"));
  cohort_trace_event_t e2 = EV(COHORT_EV_TIMER, 1, 20, 1, COHORT_NODE_NONE, .what = "t");
  e2.inc = 2;
  tb_add(&t, &e2);
  /* a network drop carries no stamps and is no process event */
  tb_add(&t, &(cohort_trace_event_t){.type = COHORT_EV_DROP, .node = 1, .true_ns = 25,
                                      .peer = 2, .has_msg = true, .msg = {2, 1, 9},
                                      .reason = "loss"});
  cohort_hb_t hb;
  assert_int_equal(cohort_hb_build(&hb, &t, NULL), 0);
  assert_int_equal(hb.nproc, 2);
  assert_int_equal(hb.ntopo, 2);
  assert_int_equal(hb.proc_of[2], COHORT_HB_NONE);
  assert_int_equal(cohort_hb_proc_find(&hb, 1, 2), 1);
  assert_int_equal(cohort_hb_proc_find(&hb, 3, 1), COHORT_HB_NONE);
  cohort_hb_close(&hb);
  assert_int_equal(violations(&t, NULL, NULL), 0);
  /* but within one incarnation it must not */
  tb_add(&t, &EV(COHORT_EV_TIMER, 1, 30, 7, COHORT_NODE_NONE, .what = "t"));
  char first[512];
  assert_int_equal(violations(&t, NULL, first), 1);
  assert_non_null(strstr(first, "line 4: node 1 lamport 7 not above 7 of line 1"));
  cohort_trace_close(&t);
}

/* An old-format trace (vc keyed by node id alone): a restarted node's
 * Lamport clock starts over and its fresh vc collides with its past, so
 * vc=auto skips vector clocks; forcing vc=on reports the collision. */
static void test_vc_across_restart(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_vc_entry_t s1[] = {{1, 1, 0}}, r1[] = {{1, 1, 0}, {2, 1, 0}}, zero[] = {{1, 1, 0}};
  cohort_vclock_t h1, h2, h3;
  tb_add(&t, &EV(COHORT_EV_SEND, 1, 10, 1, 2, .vc = vc_of(s1, 1, &h1), .kind = "k",
                 .has_msg = true, .msg = {1, 1, 1}));
  tb_add(&t, &EV(COHORT_EV_RECV, 2, 20, 2, 1, .vc = vc_of(r1, 2, &h2), .kind = "k",
                 .has_msg = true, .msg = {1, 1, 1}));
  cohort_trace_event_t f1 = EV(COHORT_EV_TIMER, 1, 30, 1, COHORT_NODE_NONE, .what = "t",
                               .vc = vc_of(zero, 1, &h3));
  f1.inc = 2;
  tb_add(&t, &f1);
  assert_int_equal(violations(&t, NULL, NULL), 0);
  const char *const on[] = {"vc=on", NULL};
  assert_true(violations(&t, on, NULL) >= 1);
  const cohort_checker_t *c = cohort_checker_find("causality");
  cohort_param_t bad[] = {{"vc", "maybe"}};
  cohort_check_result_t r;
  char err[128];
  assert_int_equal(c->run(&t, bad, 1, &r, err, sizeof err), COHORT_EINVAL);
  cohort_trace_close(&t);
}

/* ---- vector clocks keyed by (node, incarnation): "ID.INC" ------------------- */

/* One literal record of node/inc at tt with lamport and a vc text. */
static void vline(cohort_trace_t *t, const char *ev, unsigned node, unsigned inc, int tt,
                  int lamport, const char *vc, const char *rest) {
  char line[512];
  snprintf(line, sizeof line,
           "{\"ev\":\"%s\",\"node\":%u,\"inc\":%u,\"lt\":%d,\"tt\":%d,\"lamport\":%d,"
           "\"hlc\":[%d,0],\"vc\":%s,\"proto\":\"app\"%s}",
           ev, node, inc, tt, tt, lamport, tt, vc, rest);
  tb_line(t, line);
}

#define TO2 ",\"kind\":\"k\",\"peer\":2"
#define FROM1 ",\"kind\":\"k\",\"peer\":1"

/* Node 1 sends to 2, restarts (inc 2, a fresh clock under its own key),
 * sends to 2 again. vc_b/vc_c/vc_d: node 1 inc 2's first event, its send,
 * and node 2's receive of it. */
static void restart_trace(cohort_trace_t *t, const char *vc_b, const char *vc_c,
                          const char *vc_d) {
  cohort_trace_init(t);
  vline(t, "send", 1, 1, 10, 1, "{\"1.1\":1}", TO2 ",\"msg\":\"1.1.1\"");
  vline(t, "recv", 2, 1, 20, 2, "{\"1.1\":1,\"2.1\":1}", FROM1 ",\"msg\":\"1.1.1\"");
  vline(t, "timer", 1, 2, 30, 1, vc_b, ",\"what\":\"t\"");
  vline(t, "send", 1, 2, 40, 2, vc_c, TO2 ",\"msg\":\"1.2.1\"");
  vline(t, "recv", 2, 1, 50, 3, vc_d, FROM1 ",\"msg\":\"1.2.1\"");
}

static void test_vc_keyed_by_incarnation(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_check_result_t res;
  /* correct: checked by default (vc=auto), although node 1 restarted */
  restart_trace(&t, "{\"1.2\":1}", "{\"1.2\":2}", "{\"1.1\":1,\"1.2\":2,\"2.1\":2}");
  assert_int_equal(tb_check(&t, "causality", NULL, &res), 0);
  assert_int_equal(res.violations, 0);
  assert_null(strstr(res.summary, "not checked"));
  assert_int_equal(t.recs[4].vc_len, 3);
  assert_int_equal(t.recs[4].vc[1].node, 1);
  assert_int_equal(t.recs[4].vc[1].inc, 2);
  cohort_trace_close(&t);
  /* the receive does not dominate its send: inc 2's entry is missing */
  char first[512];
  restart_trace(&t, "{\"1.2\":1}", "{\"1.2\":2}", "{\"1.1\":1,\"2.1\":2}");
  assert_true(violations(&t, NULL, first) >= 1);
  assert_non_null(strstr(first, "line 5: node 2 vc not above the vc of line 4 (message)"));
  cohort_trace_close(&t);
  /* inc 2 claims to know node 2's receive (and inc 1's send), neither of
   * which is before it: no edge links incarnations (trace_hb.h) */
  restart_trace(&t, "{\"1.1\":1,\"1.2\":1,\"2.1\":1}", "{\"1.1\":1,\"1.2\":2,\"2.1\":1}",
                "{\"1.1\":1,\"1.2\":2,\"2.1\":2}");
  assert_true(violations(&t, NULL, first) >= 1);
  assert_non_null(strstr(first, "line 3: node 1 vc is above the vc of line"));
  cohort_trace_close(&t);
  /* inc 2 keeps ticking inc 1's entry (the collision old traces had):
   * node 2's first receive then looks as if it followed inc 2's events */
  restart_trace(&t, "{\"1.1\":1}", "{\"1.1\":2}", "{\"1.1\":2,\"2.1\":2}");
  assert_true(violations(&t, NULL, first) >= 1);
  cohort_trace_close(&t);
  /* process order within the new incarnation must still increase */
  restart_trace(&t, "{\"1.2\":2}", "{\"1.2\":2}", "{\"1.1\":1,\"1.2\":2,\"2.1\":2}");
  assert_true(violations(&t, NULL, first) >= 1); /* equal clocks at two events */
  assert_non_null(strstr(first, "node 1 vc"));
  cohort_trace_close(&t);
  /* vc=off skips vector clocks (and says so) */
  restart_trace(&t, "{\"1.2\":2}", "{\"1.2\":2}", "{\"1.1\":1,\"2.1\":2}");
  const char *const off[] = {"vc=off", NULL};
  assert_int_equal(tb_check(&t, "causality", off, &res), 0);
  assert_int_equal(res.violations, 0);
  assert_non_null(strstr(res.summary, "vc=off"));
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_executions_pass),
      cmocka_unit_test(test_injected_faults),
      cmocka_unit_test(test_vc_converse),
      cmocka_unit_test(test_cycle_and_hlc_bound),
      cmocka_unit_test(test_hlc_bound_extreme_times),
      cmocka_unit_test(test_network_drops_and_incarnations),
      cmocka_unit_test(test_vc_across_restart),
      cmocka_unit_test(test_vc_keyed_by_incarnation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
