/*
 * tests/coord/test_check_mutex.c — the mutex checkers on hand-written
 * traces: each accepts a good trace and rejects a deliberately broken one
 * (overlapping critical sections, tokens out of order, a late or missing
 * grant, a grant after the run should have stalled, too many bypasses),
 * and refuses malformed events and bad parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/check.h"
#include "cohort/mutex.h"
#include "cohort/trace.h"

#define T0 INT64_C(1767225600000000000)
#define MS INT64_C(1000000)

/* One lock event: what at node n (incarnation 1) at ms after T0. */
static void ev(cohort_trace_t *t, int64_t ms, unsigned node, const char *what,
               const char *data) {
  char line[512];
  int n;
  if (!strcmp(what, "crash") || !strcmp(what, "partition") || !strcmp(what, "heal"))
    n = snprintf(line, sizeof line,
                 "{\"ev\":\"state\",\"node\":%u,\"inc\":1,\"lt\":%lld,\"tt\":%lld,"
                 "\"proto\":\"sim\",\"what\":\"%s\"}",
                 node, (long long)(T0 + ms * MS), (long long)(T0 + ms * MS), what);
  else
    n = snprintf(line, sizeof line,
                 "{\"ev\":\"state\",\"node\":%u,\"inc\":1,\"lt\":%lld,\"tt\":%lld,"
                 "\"proto\":\"mutex\",\"what\":\"%s\",\"data\":%s}",
                 node, (long long)(T0 + ms * MS), (long long)(T0 + ms * MS), what, data);
  char err[128];
  if (cohort_trace_parse_line(t, line, (size_t)n, t->len + 1, err, sizeof err))
    fail_msg("parse: %s: %s", err, line);
}

/* Any other record of node n at ms (a heartbeat), incarnation inc. */
static void other(cohort_trace_t *t, int64_t ms, unsigned node, unsigned inc) {
  char line[256];
  int n = snprintf(line, sizeof line,
                   "{\"ev\":\"timer\",\"node\":%u,\"inc\":%u,\"lt\":%lld,\"tt\":%lld,"
                   "\"proto\":\"fd\",\"what\":\"1\"}",
                   node, inc, (long long)(T0 + ms * MS), (long long)(T0 + ms * MS));
  char err[128];
  if (cohort_trace_parse_line(t, line, (size_t)n, t->len + 1, err, sizeof err))
    fail_msg("parse: %s: %s", err, line);
}

static uint64_t check(const cohort_checker_t *c, cohort_trace_t *t, const char *k,
                      const char *v) {
  cohort_param_t p = {k, v};
  cohort_check_result_t res;
  char err[256] = "";
  cohort_trace_sort(t);
  int rc = c->run(t, &p, k ? 1 : 0, &res, err, sizeof err);
  if (rc) fail_msg("checker %s: %s", c->name, err);
  assert_true(res.summary[0] != '\0');
  if (res.violations) assert_true(res.first[0] != '\0');
  return res.violations;
}

/* A: request 0, grant 1 (token 1), release 10; B: request 2, grant 11
 * (token 2), release 20. */
static void good_pair(cohort_trace_t *t) {
  ev(t, 0, 1, "lock_request", "{\"req\":1}");
  ev(t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  ev(t, 2, 2, "lock_request", "{\"req\":1}");
  ev(t, 10, 1, "lock_release", "{\"req\":1,\"token\":1}");
  ev(t, 11, 2, "lock_grant", "{\"req\":1,\"token\":2}");
  ev(t, 20, 2, "lock_release", "{\"req\":1,\"token\":2}");
}

/* Real processes leave no crash record: crashes=inferred ends the CS of a
 * node whose records stop (killed), or of an incarnation followed by a
 * newer one; the default keeps it open, and a node that keeps tracing is
 * inside until it releases either way. */
static void test_safety_inferred_crashes(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  other(&t, 5, 1, 1); /* node 1's last record: killed inside */
  ev(&t, 100, 2, "lock_grant", "{\"req\":1,\"token\":2}");
  ev(&t, 110, 2, "lock_release", "{\"req\":1,\"token\":2}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, "crashes", "recorded"), 1);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, "crashes", "inferred"), 0);
  /* node 1 still alive (tracing) after node 2 entered: overlap */
  other(&t, 120, 1, 1);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, "crashes", "inferred"), 1);
  cohort_trace_close(&t);

  /* a restart: incarnation 2 speaking ends incarnation 1's CS */
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  other(&t, 50, 1, 2);
  ev(&t, 100, 2, "lock_grant", "{\"req\":1,\"token\":2}");
  ev(&t, 110, 2, "lock_release", "{\"req\":1,\"token\":2}");
  other(&t, 200, 1, 2);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, "crashes", "inferred"), 0);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  cohort_check_result_t res;
  char err[128] = "";
  cohort_param_t bad = {"crashes", "guessed"};
  assert_int_equal(cohort_check_mutex_safety.run(&t, &bad, 1, &res, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "crashes"));
  cohort_param_t other_checker = {"crashes", "inferred"};
  assert_int_equal(cohort_check_mutex_fencing.run(&t, &other_checker, 1, &res, err, sizeof err),
                   COHORT_EINVAL);
  cohort_trace_close(&t);
}

static void test_safety(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_pair(&t);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 0);
  /* Touching intervals (release and grant at the same instant) are fine,
   * whatever order the records come in. */
  ev(&t, 30, 1, "lock_grant", "{\"req\":2,\"token\":3}");
  ev(&t, 40, 2, "lock_grant", "{\"req\":2,\"token\":4}");
  ev(&t, 40, 1, "lock_release", "{\"req\":2,\"token\":3}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 0);
  /* A crash ends the crashed node's critical section. */
  ev(&t, 50, 2, "crash", NULL);
  ev(&t, 51, 3, "lock_grant", "{\"req\":1,\"token\":5}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 0);
  /* Broken: node 1 enters while node 3 is inside. */
  ev(&t, 55, 1, "lock_grant", "{\"req\":3,\"token\":6}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* the same node granted twice */
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  ev(&t, 2, 1, "lock_grant", "{\"req\":2,\"token\":2}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* a malformed lock event is a violation */
  ev(&t, 1, 1, "lock_grant", "{\"token\":1}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  cohort_trace_close(&t);
}

/* A release ends the holder's critical section only if it names the held
 * request (and token, when it carries one): a stray release is itself a
 * violation and must not hide the overlap that follows it. */
static void test_safety_release_matching(void **state) {
  (void)state;
  static const char *const stray[] = {
      "{\"req\":7,\"token\":1}", /* another request of the holder */
      "{\"req\":1,\"token\":9}", /* the request, another token */
      "{\"req\":7}",             /* another request, no token */
  };
  for (size_t i = 0; i < sizeof stray / sizeof stray[0]; i++) {
    cohort_trace_t t;
    cohort_trace_init(&t);
    ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
    ev(&t, 5, 1, "lock_release", stray[i]);
    assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
    ev(&t, 10, 2, "lock_grant", "{\"req\":1,\"token\":2}"); /* node 1 still inside */
    assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 2);
    cohort_trace_close(&t);
  }
  /* A release naming the held request without a token ends it. */
  cohort_trace_t t;
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  ev(&t, 5, 1, "lock_release", "{\"req\":1}");
  ev(&t, 10, 2, "lock_grant", "{\"req\":1,\"token\":2}");
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 0);
  cohort_trace_close(&t);
  /* A release by a later incarnation does not end an earlier one's. */
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1}");
  char line[256];
  int n = snprintf(line, sizeof line,
                   "{\"ev\":\"state\",\"node\":1,\"inc\":2,\"lt\":%lld,\"tt\":%lld,"
                   "\"proto\":\"mutex\",\"what\":\"lock_release\",\"data\":{\"req\":1,\"token\":1}}",
                   (long long)(T0 + 5 * MS), (long long)(T0 + 5 * MS));
  assert_int_equal(cohort_trace_parse_line(&t, line, (size_t)n, t.len + 1, NULL, 0), 0);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 1);
  cohort_trace_close(&t);
}

static void test_fencing(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_pair(&t);
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 0);
  ev(&t, 30, 3, "lock_grant", "{\"req\":1,\"token\":2}"); /* equal: refused */
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 1);
  ev(&t, 40, 1, "lock_grant", "{\"req\":2,\"token\":1}"); /* smaller */
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 2);
  ev(&t, 50, 2, "lock_grant", "{\"req\":2}"); /* no token */
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 3);
  cohort_trace_close(&t);
  /* HLC-sized tokens (Lamport, Ricart-Agrawala) compare exactly. */
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":1767225600000000001}");
  ev(&t, 2, 2, "lock_grant", "{\"req\":1,\"token\":1767225600000000002}");
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 0);
  cohort_trace_close(&t);
  /* Tokens above 2^63 are uint64 end to end: increasing ones pass, ... */
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":9223372036854775807}");
  ev(&t, 2, 1, "lock_release", "{\"req\":1,\"token\":9223372036854775807}");
  ev(&t, 3, 2, "lock_grant", "{\"req\":1,\"token\":9223372036854775808}");
  ev(&t, 4, 2, "lock_release", "{\"req\":1,\"token\":9223372036854775808}");
  ev(&t, 5, 3, "lock_grant", "{\"req\":1,\"token\":18446744073709551614}");
  ev(&t, 6, 3, "lock_release", "{\"req\":1,\"token\":18446744073709551614}");
  ev(&t, 7, 1, "lock_grant", "{\"req\":2,\"token\":18446744073709551615}");
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 0);
  assert_int_equal(check(&cohort_check_mutex_safety, &t, NULL, NULL), 0);
  /* ... one that does not increase above 2^63 is caught, ... */
  ev(&t, 8, 2, "lock_grant", "{\"req\":2,\"token\":18446744073709551615}");
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 1);
  cohort_trace_close(&t);
  /* ... and one past 2^64 - 1 (or negative) is malformed, not clamped. */
  cohort_trace_init(&t);
  ev(&t, 1, 1, "lock_grant", "{\"req\":1,\"token\":18446744073709551616}");
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 1);
  ev(&t, 2, 2, "lock_grant", "{\"req\":1,\"token\":-5}");
  assert_int_equal(check(&cohort_check_mutex_fencing, &t, NULL, NULL), 2);
  cohort_trace_close(&t);
}

static void test_liveness(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_pair(&t);
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "20ms"), 0);
  /* Broken: node 2 waited 9ms for a grant, bound 5ms. */
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "5ms"), 1);
  /* ... unless its request comes after `until`. */
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "until", "1ms"), 0);
  /* A request never granted, with the trace going on past the bound. */
  ev(&t, 30, 3, "lock_request", "{\"req\":1}");
  ev(&t, 100, 1, "lock_request", "{\"req\":2}");
  ev(&t, 101, 1, "lock_grant", "{\"req\":2,\"token\":3}");
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "50ms"), 1);
  /* Excused when its node crashes first. */
  ev(&t, 60, 3, "crash", NULL);
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "50ms"), 0);
  /* stall_after: no grant may come after 50ms (the one at 101ms does). */
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "stall_after", "50ms"), 1);
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "stall_after", "200ms"), 0);
  /* Bad parameters are refused. */
  cohort_param_t p = {"bound", "0s"};
  cohort_check_result_t res;
  char err[256] = "";
  assert_int_equal(cohort_check_mutex_liveness.run(&t, &p, 1, &res, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "bound"));
  p = (cohort_param_t){"bogus", "1"};
  assert_int_equal(cohort_check_mutex_liveness.run(&t, &p, 1, &res, err, sizeof err),
                   COHORT_EINVAL);
  cohort_trace_close(&t);
}

/* Liveness in runs whose faults heal: the bound runs from the last fault
 * that happened while the request waited; faults=ignore restores the plain
 * bound, and a wait that outlasts the bound after the last fault fails. */
static void test_liveness_after_faults(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  ev(&t, 0, 1, "lock_request", "{\"req\":1}");
  ev(&t, 30, 4, "partition", NULL);
  ev(&t, 45, 4, "heal", NULL);
  ev(&t, 70, 1, "lock_grant", "{\"req\":1,\"token\":1}"); /* 70ms wait, 25ms after heal */
  ev(&t, 200, 2, "lock_request", "{\"req\":1}");
  ev(&t, 210, 2, "lock_grant", "{\"req\":1,\"token\":2}");
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "40ms"), 0);
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "faults", "ignore"), 0); /* 10s */
  cohort_param_t p[] = {{"bound", "40ms"}, {"faults", "ignore"}};
  cohort_check_result_t res;
  char err[256] = "";
  assert_int_equal(cohort_check_mutex_liveness.run(&t, p, 2, &res, err, sizeof err), 0);
  assert_int_equal(res.violations, 1);
  assert_int_equal(check(&cohort_check_mutex_liveness, &t, "bound", "20ms"), 1); /* 25 > 20 */
  p[1] = (cohort_param_t){"faults", "sometimes"};
  assert_int_equal(cohort_check_mutex_liveness.run(&t, p, 2, &res, err, sizeof err),
                   COHORT_EINVAL);
  cohort_trace_close(&t);
}

static void test_bypass(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  ev(&t, 0, 3, "lock_request", "{\"req\":1}");
  for (int i = 0; i < 3; i++) {
    char d[64];
    snprintf(d, sizeof d, "{\"req\":%d,\"token\":%d}", i + 1, 2 * i + 1);
    ev(&t, 1 + 10 * i, 1, "lock_grant", d);
    ev(&t, 5 + 10 * i, 1, "lock_release", d);
  }
  ev(&t, 40, 3, "lock_grant", "{\"req\":1,\"token\":9}");
  /* Node 1 entered 3 times while node 3 waited. */
  assert_int_equal(check(&cohort_check_mutex_bypass, &t, "bound", "3"), 0);
  assert_int_equal(check(&cohort_check_mutex_bypass, &t, "bound", "2"), 1);
  /* Default bound: nodes - 1 = 2. */
  assert_int_equal(check(&cohort_check_mutex_bypass, &t, NULL, NULL), 1);
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_safety),
      cmocka_unit_test(test_safety_inferred_crashes),
      cmocka_unit_test(test_safety_release_matching),
      cmocka_unit_test(test_fencing),
      cmocka_unit_test(test_liveness),
      cmocka_unit_test(test_liveness_after_faults),
      cmocka_unit_test(test_bypass),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
