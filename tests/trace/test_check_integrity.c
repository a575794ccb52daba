/*
 * tests/trace/test_check_integrity.c — the `integrity` checker accepts a
 * clean exchange and rejects, one at a time: a message never sent, one
 * received before its send, a lying peer field, a misdirected message, a
 * changed kind or proto, a send carrying another process's msg id, and
 * (with duplicates=forbid) a duplicate receipt.
 */
#include "tracebuild.h"

#define MSG(type_, node_, tt_, peer_, from_, seq_)                                        \
  (cohort_trace_event_t) {                                                                 \
    .type = (type_), .node = (node_), .inc = 1, .local_ns = (tt_), .true_ns = (tt_),       \
    .has_stamps = true, .lamport = (uint64_t)(tt_), .hlc = {(tt_), 0}, .proto = "fd",     \
    .kind = "hb", .peer = (peer_), .has_msg = true, .msg = {(from_), 1, (seq_)},           \
    .bytes = 8                                                                             \
  }

static void base(cohort_trace_t *t) {
  cohort_trace_init(t);
  tb_add(t, &MSG(COHORT_EV_SEND, 1, 10, 2, 1, 1));
  tb_add(t, &MSG(COHORT_EV_SEND, 1, 11, 3, 1, 2));
  tb_add(t, &MSG(COHORT_EV_RECV, 2, 20, 1, 1, 1));
  tb_add(t, &MSG(COHORT_EV_RECV, 3, 21, 1, 1, 2));
}

static uint64_t run(const cohort_trace_t *t, const char *const *kv, char *first) {
  cohort_check_result_t res;
  assert_int_equal(tb_check(t, "integrity", kv, &res), 0);
  if (first) snprintf(first, 512, "%s", res.first);
  return res.violations;
}

static void expect(cohort_trace_event_t ev, const char *const *kv, const char *why) {
  cohort_trace_t t;
  base(&t);
  tb_add(&t, &ev);
  char first[512];
  uint64_t v = run(&t, kv, first);
  if (v != 1 || !strstr(first, why)) fail_msg("violations %llu, first '%s', want '%s'",
                                              (unsigned long long)v, first, why);
  cohort_trace_close(&t);
}

static void test_clean(void **state) {
  (void)state;
  cohort_trace_t t;
  base(&t);
  const char *const forbid[] = {"duplicates=forbid", NULL};
  assert_int_equal(run(&t, forbid, NULL), 0);
  cohort_check_result_t res;
  tb_check(&t, "integrity", NULL, &res);
  assert_int_equal(res.checked, 2);
  assert_true(cohort_checker_applies(cohort_checker_find("integrity"), &t));
  cohort_trace_close(&t);
}

static void test_broken(void **state) {
  (void)state;
  cohort_trace_event_t ev;
  expect(MSG(COHORT_EV_RECV, 2, 30, 1, 1, 9), NULL,
         "line 5: node 2 received msg 1.1.9 that was never sent");
  ev = MSG(COHORT_EV_RECV, 3, 5, 1, 1, 2); /* before its send at tt 11 */
  expect(ev, NULL, "before its send (line 2)");
  expect(MSG(COHORT_EV_RECV, 2, 30, 4, 1, 1), NULL, "names sender 4");
  expect(MSG(COHORT_EV_RECV, 4, 30, 1, 1, 1), NULL, "sent to node 2");
  ev = MSG(COHORT_EV_RECV, 2, 30, 1, 1, 1);
  ev.kind = "other";
  expect(ev, NULL, "received as fd/other but sent as fd/hb");
  ev = MSG(COHORT_EV_RECV, 2, 30, 1, 1, 1);
  ev.proto = "app";
  expect(ev, NULL, "received as app/hb");
  ev = MSG(COHORT_EV_SEND, 2, 30, 1, 1, 7);
  expect(ev, NULL, "node 2 inc 1 sends msg 1.1.7 of another process");
  const char *const forbid[] = {"duplicates=forbid", NULL};
  expect(MSG(COHORT_EV_RECV, 2, 30, 1, 1, 1), forbid,
         "line 5: node 2 received msg 1.1.1 again (first at line 3)");
  /* duplicates are allowed by default */
  cohort_trace_t t;
  base(&t);
  tb_add(&t, &MSG(COHORT_EV_RECV, 2, 30, 1, 1, 1));
  assert_int_equal(run(&t, NULL, NULL), 0);
  cohort_check_result_t res;
  const char *const bad[] = {"duplicates=maybe", NULL};
  assert_int_equal(tb_check(&t, "integrity", bad, &res), COHORT_EINVAL);
  const char *const unknown[] = {"bound=1s", NULL};
  assert_int_equal(tb_check(&t, "integrity", unknown, &res), COHORT_EINVAL);
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_clean), cmocka_unit_test(test_broken)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
