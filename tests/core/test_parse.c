/*
 * tests/core/test_parse.c — strict parsing of durations, numbers and
 * protocol parameters: good values, and bad ones refused with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/registry.h"

static void test_durations(void **state) {
  (void)state;
  int64_t ns = -1;
  assert_int_equal(cohort_parse_duration("250ms", &ns), 0);
  assert_int_equal(ns, 250000000);
  assert_int_equal(cohort_parse_duration("1.5s", &ns), 0);
  assert_int_equal(ns, 1500000000);
  assert_int_equal(cohort_parse_duration("40ns", &ns), 0);
  assert_int_equal(ns, 40);
  assert_int_equal(cohort_parse_duration("100us", &ns), 0);
  assert_int_equal(ns, 100000);
  assert_int_equal(cohort_parse_duration("2m", &ns), 0);
  assert_int_equal(ns, 120000000000);
  const char *bad[] = {"", "10", "ms", "-1s", "+1s", "1x", "1 s", "nan s", "1e30h", "1sec"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ns = 77;
    assert_int_equal(cohort_parse_duration(bad[i], &ns), COHORT_EINVAL);
    assert_int_equal(ns, 77); /* untouched on failure */
  }
}

static void test_numbers(void **state) {
  (void)state;
  uint64_t u = 0;
  double d = 0;
  assert_int_equal(cohort_parse_u64("18446744073709551615", &u), 0);
  assert_true(u == UINT64_MAX);
  assert_int_equal(cohort_parse_u64("18446744073709551616", &u), COHORT_EINVAL);
  assert_int_equal(cohort_parse_u64("-1", &u), COHORT_EINVAL);
  assert_int_equal(cohort_parse_u64("12a", &u), COHORT_EINVAL);
  assert_int_equal(cohort_parse_double("8.5", &d), 0);
  assert_true(d == 8.5);
  assert_int_equal(cohort_parse_double("inf", &d), COHORT_EINVAL);
  assert_int_equal(cohort_parse_double("", &d), COHORT_EINVAL);
}

static void test_params(void **state) {
  (void)state;
  cohort_param_t p[] = {{"interval", "100ms"}, {"threshold", "x"}, {"flag", "on"},
                        {"count", "3"}};
  char err[128] = "";
  int64_t ns = 0;
  double d = 1.0;
  bool b = false;
  uint64_t c = 0;
  assert_int_equal(cohort_param_duration(p, 4, "interval", &ns, "fd", err, sizeof err), 0);
  assert_int_equal(ns, 100000000);
  assert_int_equal(cohort_param_double(p, 4, "threshold", &d, "fd", err, sizeof err),
                   COHORT_EINVAL);
  assert_string_equal(err, "fd: threshold: not a number: 'x'");
  assert_true(d == 1.0);
  assert_int_equal(cohort_param_bool(p, 4, "flag", &b, "fd", err, sizeof err), 0);
  assert_true(b);
  assert_int_equal(cohort_param_u64(p, 4, "count", &c, "fd", err, sizeof err), 0);
  assert_int_equal(c, 3);
  assert_int_equal(cohort_param_u64(p, 4, "absent", &c, "fd", err, sizeof err), 0);
  assert_int_equal(c, 3);
  const char *const known[] = {"interval", "threshold", "flag", NULL};
  assert_int_equal(cohort_param_check_known(p, 4, known, "fd", err, sizeof err),
                   COHORT_EINVAL);
  assert_string_equal(err, "fd: unknown parameter 'count'");
}

static void test_strerror(void **state) {
  (void)state;
  assert_string_equal(cohort_strerror(COHORT_ESTALE), "stale incarnation, epoch or token");
  assert_non_null(cohort_strerror(-2));
  assert_string_equal(cohort_strerror(-99999), "unknown error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_strerror),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
