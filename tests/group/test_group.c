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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms_one_primary_view),
      cmocka_unit_test(test_crash_gives_new_view_and_rejoin),
      cmocka_unit_test(test_minority_blocks_and_merge),
      cmocka_unit_test(test_send_limits),
      cmocka_unit_test(test_malformed_every_kind),
      cmocka_unit_test(test_config_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
