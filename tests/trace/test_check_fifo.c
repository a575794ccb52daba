/*
 * tests/trace/test_check_fifo.c — the `fifo` checker: in-order receipt
 * per channel passes, a reordering on one channel fails, channels and
 * protos are kept apart, and duplicates are not reorderings.
 */
#include "tracebuild.h"

static void recv(cohort_trace_t *t, cohort_node_id_t node, cohort_node_id_t from,
                 uint64_t seq, const char *proto, cohort_ev_type_t type) {
  int64_t tt = (int64_t)t->len * 10;
  cohort_trace_event_t ev = {.type = type, .node = node, .inc = 1, .local_ns = tt,
                             .true_ns = tt, .has_stamps = true, .lamport = t->len + 1,
                             .hlc = {tt, 0}, .proto = proto, .kind = "m", .peer = from,
                             .has_msg = true, .msg = {from, 1, seq}};
  tb_add(t, &ev);
}

static uint64_t run(const cohort_trace_t *t, const char *const *kv, char *first) {
  cohort_check_result_t res;
  assert_int_equal(tb_check(t, "fifo", kv, &res), 0);
  if (first) snprintf(first, 512, "%s", res.first);
  return res.violations;
}

static void test_fifo(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  recv(&t, 2, 1, 1, "a", COHORT_EV_RECV);
  recv(&t, 3, 1, 2, "a", COHORT_EV_RECV);
  recv(&t, 2, 1, 3, "a", COHORT_EV_RECV);
  recv(&t, 2, 4, 1, "a", COHORT_EV_RECV); /* another sender */
  recv(&t, 2, 1, 3, "a", COHORT_EV_RECV); /* duplicate: not a reordering */
  recv(&t, 2, 1, 2, "b", COHORT_EV_RECV); /* another proto */
  recv(&t, 2, 1, 1, "a", COHORT_EV_DELIVER);
  assert_false(cohort_checker_applies(cohort_checker_find("fifo"), &t));
  assert_int_equal(run(&t, NULL, NULL), 0);
  recv(&t, 2, 1, 2, "a", COHORT_EV_RECV); /* late: 3 came first */
  char first[512];
  assert_int_equal(run(&t, NULL, first), 1);
  assert_string_equal(first, "line 8: node 2 gets seq 2 from node 1 after seq 3 (line 3)");
  const char *const only_b[] = {"proto=b", NULL};
  assert_int_equal(run(&t, only_b, NULL), 0);
  const char *const deliver[] = {"ev=deliver", NULL};
  assert_int_equal(run(&t, deliver, NULL), 0);
  recv(&t, 2, 1, 0, "a", COHORT_EV_DELIVER);
  assert_int_equal(run(&t, deliver, NULL), 1);
  cohort_check_result_t res;
  const char *const bad[] = {"ev=send", NULL};
  assert_int_equal(tb_check(&t, "fifo", bad, &res), COHORT_EINVAL);
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fifo)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
