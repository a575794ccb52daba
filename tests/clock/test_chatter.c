/*
 * tests/clock/test_chatter.c — the chatter protocol driven on three nodes
 * by the in-test fake host: parameter validation, message and local-event
 * counts, fanout to distinct peers, the exponential mean gap, rounds=N,
 * malformed payloads refused and counted, and determinism by seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/chatter.h"
#include "failalloc.h"
#include "fakehost.h"

typedef struct rig {
  fh_world_t w;
  cohort_proto_t *p[FH_NODES_MAX];
} rig_t;

static void rig_up(rig_t *r, uint64_t seed, double loss, double dup,
                   const cohort_param_t *params, size_t np) {
  fh_config_t cfg = {.nodes = 3, .seed = seed,
                     .delay_min_ns = 1 * COHORT_NS_PER_MS,
                     .delay_max_ns = 20 * COHORT_NS_PER_MS,
                     .loss = loss, .dup = dup,
                     .offset_max_ns = 5 * COHORT_NS_PER_MS,
                     .drift_max_ppm = 100,
                     .hlc_max_offset_ns = 500 * COHORT_NS_PER_MS,
                     .trace = true};
  assert_int_equal(fh_init(&r->w, &cfg), 0);
  for (size_t i = 0; i < cfg.nodes; i++) {
    char err[128] = "";
    assert_int_equal(cohort_chatter_factory.create(r->w.n[i].node, params, np,
                                                   &r->p[i], err, sizeof err),
                     0);
    assert_int_equal(cohort_node_attach(r->w.n[i].node, r->p[i]), 0);
    cohort_node_start(r->w.n[i].node);
  }
}

static void rig_down(rig_t *r) {
  for (size_t i = 0; i < r->w.cfg.nodes; i++) {
    cohort_node_detach(r->w.n[i].node, r->p[i]);
    cohort_chatter_factory.destroy(r->p[i]);
  }
  assert_int_equal(r->w.trace_errors, 0);
  fh_close(&r->w);
}

static cohort_chatter_stats_t rig_sum(rig_t *r) {
  cohort_chatter_stats_t sum = {0};
  for (size_t i = 0; i < r->w.cfg.nodes; i++) {
    cohort_chatter_stats_t s;
    cohort_chatter_stats(r->p[i], &s);
    sum.rounds += s.rounds;
    sum.sent += s.sent;
    sum.send_errors += s.send_errors;
    sum.received += s.received;
    sum.malformed += s.malformed;
    sum.locals += s.locals;
  }
  return sum;
}

static size_t count_events(const rig_t *r, cohort_ev_type_t type,
                           const char *what) {
  size_t n = 0;
  for (size_t i = 0; i < r->w.trace.len; i++) {
    const cohort_trace_rec_t *e = &r->w.trace.recs[i];
    if (e->type == type && (!what || (e->what && !strcmp(e->what, what))))
      n++;
  }
  return n;
}

static void test_bad_params(void **state) {
  (void)state;
  rig_t r;
  rig_up(&r, 1, 0, 0, NULL, 0);
  const struct {
    cohort_param_t p;
    const char *msg;
  } bad[] = {
      {{"intervl", "1s"}, "intervl"},  {{"interval", "5"}, "interval"},
      {{"interval", "0s"}, "interval"}, {{"fanout", "0"}, "fanout"},
      {{"fanout", "-1"}, "fanout"},    {{"fanout", "99999"}, "fanout"},
      {{"local", "1.5"}, "local"},     {{"local", "x"}, "local"},
      {{"rounds", "2.5"}, "rounds"},
  };
  for (size_t i = 0; i < COHORT_ARRAY_LEN(bad); i++) {
    char err[128] = "";
    cohort_proto_t *p = (cohort_proto_t *)&r; /* must stay untouched */
    assert_int_equal(cohort_chatter_factory.create(r.w.n[0].node, &bad[i].p, 1,
                                                   &p, err, sizeof err),
                     COHORT_EINVAL);
    assert_ptr_equal(p, (cohort_proto_t *)&r);
    assert_non_null(strstr(err, bad[i].msg));
  }
  assert_ptr_equal(cohort_proto_factory_find("chatter"),
                   &cohort_chatter_factory);
  rig_down(&r);
}

/* No loss: every message sent is delivered once, traced as a deliver, and
 * rounds happen at the configured mean rate. */
static void test_three_nodes_lossless(void **state) {
  (void)state;
  rig_t r;
  cohort_param_t params[] = {{"interval", "10ms"}, {"local", "0.25"},
                             {"fanout", "2"}};
  rig_up(&r, 42, 0, 0, params, 3);
  fh_run(&r.w, FH_T0 + 20 * COHORT_NS_PER_S);
  for (size_t i = 0; i < 3; i++)
    cohort_node_timer_cancel(r.w.n[i].node, r.p[i], 1); /* stop chatting */
  fh_run(&r.w, INT64_MAX); /* drain the network */
  cohort_chatter_stats_t s = rig_sum(&r);
  /* 3 nodes × 20 s / 10 ms = 6000 rounds expected; a Poisson count. */
  assert_in_range(s.rounds, 5600, 6400);
  assert_int_equal(s.send_errors, 0);
  assert_int_equal(s.sent, 2 * (s.rounds - s.locals)); /* fanout 2 of 2 */
  assert_in_range(s.locals * 100 / s.rounds, 22, 28);
  assert_int_equal(s.received, s.sent);
  assert_int_equal(s.malformed, 0);
  assert_int_equal(count_events(&r, COHORT_EV_DELIVER, NULL), s.received);
  assert_int_equal(count_events(&r, COHORT_EV_STATE, "local"), s.locals);
  assert_int_equal(count_events(&r, COHORT_EV_SEND, NULL), s.sent);
  char buf[128];
  assert_true(cohort_chatter_factory.status(r.p[0], buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "sent="));
  rig_down(&r);
}

/* fanout=1 of 2 peers: each round's one message goes to a random peer,
 * both peers get a fair share. */
static void test_fanout_spread(void **state) {
  (void)state;
  rig_t r;
  cohort_param_t params[] = {{"interval", "5ms"}, {"local", "0"}};
  rig_up(&r, 7, 0, 0, params, 2);
  fh_run(&r.w, FH_T0 + 10 * COHORT_NS_PER_S);
  size_t to[4] = {0};
  for (size_t i = 0; i < r.w.trace.len; i++) {
    const cohort_trace_rec_t *e = &r.w.trace.recs[i];
    if (e->type == COHORT_EV_SEND && e->node == 1) to[e->peer]++;
  }
  assert_int_equal(to[1], 0);
  assert_in_range(to[2], 800, 1200); /* 2000 sends, about half each */
  assert_in_range(to[3], 800, 1200);
  assert_int_equal(count_events(&r, COHORT_EV_STATE, "local"), 0);
  rig_down(&r);
}

static void test_rounds_limit_and_all_local(void **state) {
  (void)state;
  rig_t r;
  cohort_param_t params[] = {{"rounds", "7"}, {"local", "1"}};
  rig_up(&r, 3, 0, 0, params, 2);
  fh_run(&r.w, INT64_MAX); /* stops by itself */
  cohort_chatter_stats_t s = rig_sum(&r);
  assert_int_equal(s.rounds, 21);
  assert_int_equal(s.locals, 21);
  assert_int_equal(s.sent, 0);
  rig_down(&r);
}

/* A chatter message with a bad payload is refused: EPROTO from the node,
 * counted by chatter and by the node. */
static void test_malformed_payload(void **state) {
  (void)state;
  rig_t r;
  cohort_param_t params[] = {{"rounds", "1"}, {"local", "1"}};
  rig_up(&r, 5, 0, 0, params, 2);
  const uint8_t three[3] = {1, 2, 3};
  assert_int_equal(cohort_node_send(r.w.n[0].node, r.p[0], 2,
                                    COHORT_CHATTER_KIND_CHAT, three, 3), 0);
  const uint8_t eight[8] = {0};
  assert_int_equal(cohort_node_send(r.w.n[0].node, r.p[0], 2, 9, eight, 8), 0);
  assert_int_equal(cohort_node_send(r.w.n[0].node, r.p[0], 2,
                                    COHORT_CHATTER_KIND_CHAT, eight, 8), 0);
  fh_run(&r.w, INT64_MAX);
  cohort_chatter_stats_t s;
  cohort_chatter_stats(r.p[1], &s);
  assert_int_equal(s.malformed, 2);
  assert_int_equal(s.received, 1);
  assert_int_equal(cohort_node_stats(r.w.n[1].node)->drop_proto, 2);
  rig_down(&r);
}

/* The same seed gives the same trace; another seed another one. Loss and
 * duplication are on, so the trace covers those paths too. */
static void test_deterministic(void **state) {
  (void)state;
  uint64_t h[3];
  uint64_t seeds[3] = {11, 11, 12};
  cohort_param_t params[] = {{"interval", "20ms"}};
  for (size_t k = 0; k < 3; k++) {
    rig_t r;
    rig_up(&r, seeds[k], 0.2, 0.1, params, 1);
    fh_run(&r.w, FH_T0 + 2 * COHORT_NS_PER_S);
    assert_true(r.w.lost > 0 && r.w.duplicated > 0);
    h[k] = r.w.trace_hash;
    rig_down(&r);
  }
  assert_true(h[0] == h[1]);
  assert_true(h[0] != h[2]);
}

/* create through the node's allocator: a failure is COHORT_ENOMEM, *out
 * untouched, nothing leaked; destroy frees what create took. */
static void test_create_alloc_failure(void **state) {
  (void)state;
  failalloc_t fa;
  failalloc_init(&fa, 0);
  fh_world_t *w = calloc(1, sizeof *w);
  assert_non_null(w);
  fh_config_t cfg = {.nodes = 2, .seed = 1, .alloc = &fa.base};
  assert_int_equal(fh_init(w, &cfg), 0);
  long live = fa.live;
  fa.fail_at = fa.count + 1;
  cohort_proto_t *p = NULL;
  char err[64];
  assert_int_equal(
      cohort_chatter_factory.create(w->n[0].node, NULL, 0, &p, err, sizeof err),
      COHORT_ENOMEM);
  assert_null(p);
  assert_int_equal(fa.live, live);
  assert_int_equal(
      cohort_chatter_factory.create(w->n[0].node, NULL, 0, &p, err, sizeof err),
      0);
  assert_int_equal(fa.live, live + 1);
  cohort_chatter_factory.destroy(p);
  assert_int_equal(fa.live, live);
  fh_close(w);
  free(w);
  assert_int_equal(fa.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_params),
      cmocka_unit_test(test_three_nodes_lossless),
      cmocka_unit_test(test_fanout_spread),
      cmocka_unit_test(test_rounds_limit_and_all_local),
      cmocka_unit_test(test_malformed_payload),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_create_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
