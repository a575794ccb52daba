/*
 * tests/coord/test_check_election.c — the election checkers on small
 * hand-written traces: each accepts a good trace and rejects a
 * deliberately broken one (two leaders in one epoch, a node going back to
 * an older epoch, live nodes disagreeing, a dead leader, a lower id
 * leading), and refuses bad parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/check.h"
#include "cohort/election.h"

#define S 1000000000LL

/* One state record at true time `s` seconds. */
static void add(cohort_trace_t *t, double s, unsigned node, unsigned inc, const char *proto,
                const char *what, const char *data) {
  char line[512];
  long long tt = 1767225600LL * S + (long long)(s * 1e9);
  int n = snprintf(line, sizeof line,
                   "{\"ev\":\"state\",\"node\":%u,\"inc\":%u,\"lt\":%lld,\"tt\":%lld,"
                   "\"proto\":\"%s\",\"what\":\"%s\"%s%s}",
                   node, inc, tt, tt, proto, what, data ? ",\"data\":" : "", data ? data : "");
  char err[128] = "";
  int rc = cohort_trace_parse_line(t, line, (size_t)n, t->len + 1, err, sizeof err);
  if (rc) fprintf(stderr, "%s: %s\n", line, err);
  assert_int_equal(rc, 0);
}

static void leader(cohort_trace_t *t, double s, unsigned node, unsigned inc, unsigned l,
                   unsigned round) {
  char data[128];
  snprintf(data, sizeof data, "{\"leader\":%u,\"epoch\":%llu,\"round\":%u}", l,
           (unsigned long long)COHORT_ELECTION_EPOCH(round, l), round);
  add(t, s, node, inc, "bully", "leader", data);
}

static uint64_t check(const cohort_checker_t *c, cohort_trace_t *t, const char *settle) {
  cohort_param_t p[] = {{"settle", settle}};
  cohort_check_result_t r;
  char err[256] = "";
  cohort_trace_sort(t);
  assert_int_equal(c->run(t, p, settle ? 1 : 0, &r, err, sizeof err), 0);
  if (r.violations) printf("  %s rejects: %s\n", c->name, r.first);
  return r.violations;
}

/* Three nodes elect 3, 3 crashes, 2 takes over, 3 restarts and takes over. */
static void good_run(cohort_trace_t *t) {
  for (unsigned n = 1; n <= 3; n++) leader(t, 0.1, n, 1, 3, 1);
  add(t, 5, 3, 1, "sim", "crash", NULL);
  leader(t, 6, 2, 1, 2, 2);
  leader(t, 6.001, 1, 1, 2, 2);
  add(t, 10, 3, 2, "sim", "restart", "{\"stable\":false}");
  leader(t, 10.01, 3, 2, 3, 3);
  add(t, 10.02, 2, 1, "bully", "stepdown", "{\"epoch\":2,\"by\":3,\"round\":3}");
  leader(t, 10.02, 2, 1, 3, 3);
  leader(t, 10.03, 1, 1, 3, 3);
  add(t, 30, 1, 1, "fd", "suspect", "{\"peer\":9}"); /* the end of the trace */
}

static void test_unique(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_run(&t);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 0);
  /* Two leaders claim the same epoch. */
  add(&t, 31, 1, 1, "bully", "leader", "{\"leader\":2,\"epoch\":12884901891}"); /* 3<<32|3 */
  assert_true(check(&cohort_check_election_unique, &t, NULL) >= 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t);
  good_run(&t);
  leader(&t, 31, 1, 1, 2, 2); /* node 1 goes back to an older epoch */
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t);
  add(&t, 1, 1, 1, "bully", "leader", "{\"leader\":2}"); /* no epoch */
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 1);
  cohort_trace_close(&t);
}

/* Two leaders in one epoch in the forms the epoch check alone missed: an
 * event whose leader or round is not the one its epoch encodes, and a
 * leader nobody elected (an epoch adopted before, or without, its leader's
 * declaration). Two leaders in one round are flagged with rounds=unique
 * only: with loss or partitions, two sides may lead one round in different
 * epochs. */
static void test_unique_names_and_rounds(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_run(&t);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 0);
  /* node 1 says leader 2, with leader 3's epoch of round 3 */
  add(&t, 31, 1, 1, "bully", "leader", "{\"leader\":2,\"epoch\":12884901891,\"round\":3}");
  assert_true(check(&cohort_check_election_unique, &t, NULL) >= 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* the right leader, the wrong round */
  good_run(&t);
  add(&t, 31, 1, 1, "bully", "leader", "{\"leader\":3,\"epoch\":17179869187,\"round\":5}");
  assert_true(check(&cohort_check_election_unique, &t, NULL) >= 1); /* and 3 never declared */
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* node 1 follows 2 in round 4, which 2 never declared */
  good_run(&t);
  leader(&t, 31, 1, 1, 2, 4);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 1);
  leader(&t, 32, 2, 1, 2, 4); /* ... declared, but only after node 1 followed */
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 1);
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* a leader whose node left no record: not judged */
  leader(&t, 1, 1, 1, 7, 1);
  leader(&t, 1, 2, 1, 7, 1);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 0);
  cohort_trace_close(&t);

  cohort_trace_init(&t); /* epochs above 2^63 (round >= 2^31) are uint64 */
  leader(&t, 1, 2, 1, 2, 0x80000000u);
  leader(&t, 2, 1, 1, 2, 0x80000000u);
  leader(&t, 3, 3, 1, 3, 0xfffffffeu);
  leader(&t, 4, 1, 1, 3, 0xfffffffeu);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 0);
  leader(&t, 5, 1, 1, 2, 0x80000000u); /* back to an older one: caught */
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 1);
  cohort_trace_close(&t);

  /* Round 2: 2 leads on one side, 3 on the other (a partition). */
  cohort_trace_init(&t);
  leader(&t, 1, 2, 1, 2, 2);
  leader(&t, 1.1, 1, 1, 2, 2);
  leader(&t, 1.2, 3, 1, 3, 2);
  assert_int_equal(check(&cohort_check_election_unique, &t, NULL), 0);
  cohort_param_t p[] = {{"rounds", "unique"}};
  cohort_check_result_t r;
  char err[128] = "";
  cohort_trace_sort(&t);
  assert_int_equal(cohort_check_election_unique.run(&t, p, 1, &r, err, sizeof err), 0);
  assert_int_equal(r.violations, 1);
  assert_non_null(strstr(r.first, "round 2 has two leaders"));
  p[0].value = "any";
  assert_int_equal(cohort_check_election_unique.run(&t, p, 1, &r, err, sizeof err), 0);
  assert_int_equal(r.violations, 0);
  p[0].value = "some";
  assert_int_equal(cohort_check_election_unique.run(&t, p, 1, &r, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "rounds"));
  cohort_trace_close(&t);
}

static void test_agreement(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  good_run(&t);
  assert_int_equal(check(&cohort_check_election_agreement, &t, "5s"), 0);
  assert_int_equal(check(&cohort_check_election_highest, &t, "5s"), 0);
  cohort_trace_close(&t);

  /* Node 1 never hears of epoch 3. */
  cohort_trace_init(&t);
  for (unsigned n = 1; n <= 3; n++) leader(&t, 0.1, n, 1, 3, 1);
  add(&t, 5, 3, 1, "sim", "crash", NULL);
  leader(&t, 6, 2, 1, 2, 2);
  leader(&t, 6.001, 1, 1, 2, 2);
  add(&t, 10, 3, 2, "sim", "restart", "{\"stable\":false}");
  leader(&t, 10.01, 3, 2, 3, 3);
  leader(&t, 10.02, 2, 1, 3, 3);
  add(&t, 30, 1, 1, "fd", "suspect", "{\"peer\":9}");
  assert_true(check(&cohort_check_election_agreement, &t, "5s") >= 1);
  cohort_trace_close(&t);

  /* Everyone agrees on a leader that is dead. */
  cohort_trace_init(&t);
  for (unsigned n = 1; n <= 3; n++) leader(&t, 0.1, n, 1, 3, 1);
  add(&t, 5, 3, 1, "sim", "crash", NULL);
  add(&t, 30, 1, 1, "fd", "suspect", "{\"peer\":9}");
  assert_true(check(&cohort_check_election_agreement, &t, "5s") >= 1);
  cohort_trace_close(&t);

  /* Too short after the last fault: nothing to check, and it says so. */
  cohort_trace_init(&t);
  good_run(&t);
  cohort_param_t p[] = {{"settle", "60s"}};
  cohort_check_result_t r;
  char err[128];
  cohort_trace_sort(&t);
  assert_int_equal(cohort_check_election_agreement.run(&t, p, 1, &r, err, sizeof err), 0);
  assert_int_equal(r.violations, 0);
  assert_non_null(strstr(r.summary, "not checked"));
  cohort_trace_close(&t);
}

static void test_highest(void **state) {
  (void)state;
  /* 2 leads and all agree, but 3 is alive and higher. */
  cohort_trace_t t;
  cohort_trace_init(&t);
  for (unsigned n = 1; n <= 3; n++) leader(&t, 0.1, n, 1, 2, 1);
  add(&t, 30, 1, 1, "fd", "suspect", "{\"peer\":9}");
  assert_int_equal(check(&cohort_check_election_agreement, &t, "5s"), 0);
  assert_true(check(&cohort_check_election_highest, &t, "5s") >= 1);
  cohort_trace_close(&t);
}

static void test_params(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_check_result_t r;
  char err[128] = "";
  cohort_param_t bad[] = {{"settle", "x"}};
  assert_int_equal(cohort_check_election_agreement.run(&t, bad, 1, &r, err, sizeof err),
                   COHORT_EINVAL);
  cohort_param_t unknown[] = {{"settle", "1s"}};
  assert_int_equal(cohort_check_election_unique.run(&t, unknown, 1, &r, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "settle"));
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unique),
      cmocka_unit_test(test_unique_names_and_rounds),
      cmocka_unit_test(test_agreement),
      cmocka_unit_test(test_highest),
      cmocka_unit_test(test_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
