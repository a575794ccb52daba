/*
 * tests/detect/test_phi.c — the phi accrual arithmetic and the sliding
 * window, against values computed by hand (and with mpmath at 40 digits),
 * plus the configuration checks and parameter parsing of the detector.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort/detect.h"

#define MS 1e6

/* cmocka 1.1 compares floats only in single precision. */
#define assert_double_equal(a, b, eps)                                          \
  do {                                                                          \
    double a_ = (a), b_ = (b);                                                  \
    if (!(fabs(a_ - b_) <= (eps)))                                              \
      fail_msg("%s = %.17g, expected %.17g (±%g)", #a, a_, b_, (double)(eps));  \
  } while (0)

/* φ for a silence z standard deviations past the mean. */
static double phi_at_z(double z) {
  return cohort_fd_phi_compute(100 * MS + z * 10 * MS, 100 * MS, 10 * MS);
}

static void test_phi_reference_values(void **state) {
  (void)state;
  /* At the mean, 1 − F = ½: φ = log10(2). */
  assert_double_equal(phi_at_z(0), 0.30102999566398120, 1e-12);
  /* −log10(Q(z)) for the standard normal tail Q, mpmath at 40 digits. */
  assert_double_equal(phi_at_z(1), 0.79954554149197050, 1e-9);
  assert_double_equal(phi_at_z(3), 2.86969903592936908, 1e-9);
  assert_double_equal(phi_at_z(5), 6.54264567239065450, 1e-9);
  assert_double_equal(phi_at_z(5.612), 7.99999687665929352, 1e-9);
  assert_double_equal(phi_at_z(10), 23.1180534054860759, 1e-8);
  assert_double_equal(phi_at_z(20), 88.5600953430755919, 1e-7);
  /* Past erfc's range: the asymptotic branch (z/√2 ≥ 26). */
  assert_double_equal(phi_at_z(37), 299.242181178609922, 1e-6);
  assert_double_equal(phi_at_z(40), 349.437006459345842, 1e-6);
  assert_double_equal(phi_at_z(60), 783.907429164110710, 1e-6);
}

static void test_phi_shape(void **state) {
  (void)state;
  /* Long before the mean φ is ~0, never negative, never NaN. */
  double early = cohort_fd_phi_compute(0, 100 * MS, 10 * MS);
  assert_true(early >= 0.0 && early < 1e-20);
  assert_true(cohort_fd_phi_compute(-1e12, 100 * MS, 10 * MS) == 0.0);
  assert_true(cohort_fd_phi_compute(NAN, 100 * MS, 10 * MS) == 0.0);
  /* Capped and finite however long the silence. */
  assert_true(cohort_fd_phi_compute(1e18, 100 * MS, 10 * MS) == COHORT_FD_PHI_MAX);
  assert_true(cohort_fd_phi_compute(INFINITY, 100 * MS, 1) == COHORT_FD_PHI_MAX);
  /* Non-decreasing across both branches, continuous at the switch. */
  double prev = -1;
  for (double z = -10; z < 80; z += 0.01) {
    double phi = phi_at_z(z);
    assert_true(isfinite(phi));
    assert_true(phi >= prev - 1e-9);
    assert_true(phi - prev < 2.0); /* no jump anywhere */
    prev = phi;
  }
  /* A wider distribution is less surprised by the same silence. */
  assert_true(cohort_fd_phi_compute(200 * MS, 100 * MS, 50 * MS) <
              cohort_fd_phi_compute(200 * MS, 100 * MS, 10 * MS));
}

static void test_window_stats(void **state) {
  (void)state;
  cohort_fd_window_t w;
  assert_int_equal(cohort_fd_window_init(&w, 4, NULL), 0);
  assert_true(cohort_fd_window_mean_ns(&w) == 0.0);
  assert_true(cohort_fd_window_stddev_ns(&w) == 0.0);
  cohort_fd_window_push(&w, 90 * COHORT_NS_PER_MS);
  cohort_fd_window_push(&w, 110 * COHORT_NS_PER_MS);
  assert_int_equal(w.len, 2);
  assert_double_equal(cohort_fd_window_mean_ns(&w), 100 * MS, 1e-6);
  assert_double_equal(cohort_fd_window_stddev_ns(&w), 10 * MS, 1e-6);
  /* 90 110 100 100: mean 100, population variance (100+100)/4 ms². */
  cohort_fd_window_push(&w, 100 * COHORT_NS_PER_MS);
  cohort_fd_window_push(&w, 100 * COHORT_NS_PER_MS);
  assert_double_equal(cohort_fd_window_stddev_ns(&w), sqrt(50.0) * MS, 1e-3);
  /* Full: 90 and 110 slide out; four equal samples have no spread. */
  cohort_fd_window_push(&w, 100 * COHORT_NS_PER_MS);
  cohort_fd_window_push(&w, 100 * COHORT_NS_PER_MS);
  assert_int_equal(w.len, 4);
  assert_double_equal(cohort_fd_window_mean_ns(&w), 100 * MS, 1e-6);
  assert_true(cohort_fd_window_stddev_ns(&w) == 0.0);
  cohort_fd_window_reset(&w);
  assert_int_equal(w.len, 0);
  assert_true(w.sum_us == 0 && w.sumsq_us2 == 0);
  cohort_fd_window_close(&w, NULL);
  cohort_fd_window_close(NULL, NULL);
}

static void test_window_clamps(void **state) {
  (void)state;
  cohort_fd_window_t w;
  assert_int_equal(cohort_fd_window_init(&w, 2, NULL), 0);
  cohort_fd_window_push(&w, -5 * COHORT_NS_PER_S);
  cohort_fd_window_push(&w, INT64_MAX);
  assert_int_equal(w.samples_us[0], 0);
  assert_int_equal(w.samples_us[1], COHORT_FD_SAMPLE_MAX_NS / 1000);
  assert_double_equal(cohort_fd_window_mean_ns(&w), COHORT_FD_SAMPLE_MAX_NS / 2.0, 1);
  /* Sub-µs samples round to the nearest µs. */
  cohort_fd_window_push(&w, 1499);
  cohort_fd_window_push(&w, 1500);
  assert_int_equal(w.sum_us, 1 + 2);
  cohort_fd_window_close(&w, NULL);
}

static void test_window_bounds(void **state) {
  (void)state;
  cohort_fd_window_t w;
  memset(&w, 0x5a, sizeof w);
  assert_int_equal(cohort_fd_window_init(&w, 1, NULL), COHORT_EINVAL);
  assert_int_equal(cohort_fd_window_init(&w, 0, NULL), COHORT_EINVAL);
  assert_int_equal(cohort_fd_window_init(&w, COHORT_FD_WINDOW_MAX + 1, NULL), COHORT_EINVAL);
  assert_int_equal(cohort_fd_window_init(&w, COHORT_FD_WINDOW_MAX, NULL), 0);
  /* Many more samples than fit: length stays at the bound, and the running
   * sums equal the sums recomputed over exactly the last cap samples. */
  uint64_t x = 88172645463325252ull;
  static int64_t all[5 * COHORT_FD_WINDOW_MAX];
  for (size_t i = 0; i < COHORT_ARRAY_LEN(all); i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    all[i] = (int64_t)(x % (uint64_t)(2 * COHORT_FD_SAMPLE_MAX_NS)); /* some clamp */
    cohort_fd_window_push(&w, all[i]);
    assert_true(w.len <= COHORT_FD_WINDOW_MAX);
  }
  assert_int_equal(w.len, COHORT_FD_WINDOW_MAX);
  long double sum = 0, sumsq = 0;
  for (size_t i = COHORT_ARRAY_LEN(all) - COHORT_FD_WINDOW_MAX; i < COHORT_ARRAY_LEN(all); i++) {
    int64_t v = all[i] > COHORT_FD_SAMPLE_MAX_NS ? COHORT_FD_SAMPLE_MAX_NS : all[i];
    long double us = (long double)((v + 500) / 1000);
    sum += us;
    sumsq += us * us;
  }
  assert_true((long double)w.sum_us == sum);
  long double mean = sum / COHORT_FD_WINDOW_MAX;
  double sd = (double)sqrtl(sumsq / COHORT_FD_WINDOW_MAX - mean * mean) * 1000;
  assert_double_equal(cohort_fd_window_stddev_ns(&w), sd, sd * 1e-9);
  cohort_fd_window_close(&w, NULL);
}

static void test_window_nomem(void **state) {
  (void)state;
  failalloc_t fa;
  failalloc_init(&fa, 1);
  cohort_fd_window_t w;
  memset(&w, 0, sizeof w);
  assert_int_equal(cohort_fd_window_init(&w, 10, &fa.base), COHORT_ENOMEM);
  assert_null(w.samples_us); /* untouched on error */
  assert_int_equal(fa.live, 0);
  failalloc_init(&fa, 0);
  assert_int_equal(cohort_fd_window_init(&w, 10, &fa.base), 0);
  assert_int_equal(fa.live, 1);
  cohort_fd_window_close(&w, &fa.base);
  assert_int_equal(fa.live, 0);
}

/* ---- configuration ------------------------------------------------------- */

static int parse(cohort_fd_config_t *c, char *err, size_t cap, size_t n, ...) {
  cohort_param_t p[16];
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    p[i].key = va_arg(ap, const char *);
    p[i].value = va_arg(ap, const char *);
  }
  va_end(ap);
  return cohort_fd_config_parse(c, p, n, err, cap);
}

static void test_config_defaults_and_parse(void **state) {
  (void)state;
  cohort_fd_config_t c;
  char err[200] = "";
  cohort_fd_config_default(&c);
  assert_int_equal(cohort_fd_config_check(&c, err, sizeof err), 0);
  assert_int_equal(c.interval_ns, 100 * COHORT_NS_PER_MS);
  assert_int_equal(c.window, COHORT_FD_WINDOW_MAX);
  assert_int_equal(parse(&c, err, sizeof err, 5, "mode", "pull", "detector", "fixed",
                         "interval", "1s", "threshold", "3.5", "timeout", "250ms"),
                   0);
  assert_int_equal(c.mode, COHORT_FD_PULL);
  assert_int_equal(c.detector, COHORT_FD_FIXED);
  assert_true(c.threshold == 3.5);
  assert_int_equal(c.timeout_ns, 250 * COHORT_NS_PER_MS);
  /* Derived defaults follow a given interval... */
  assert_int_equal(c.min_stddev_ns, 100 * COHORT_NS_PER_MS);
  assert_int_equal(c.pause_ns, COHORT_NS_PER_S);
  assert_int_equal(c.check_ns, 250 * COHORT_NS_PER_MS);
  /* ...unless given themselves, in any order. */
  assert_int_equal(parse(&c, err, sizeof err, 5, "pause", "0s", "check", "10ms", "interval",
                         "50ms", "window", "2", "min_stddev", "1ms"),
                   0);
  assert_int_equal(c.pause_ns, 0);
  assert_int_equal(c.check_ns, 10 * COHORT_NS_PER_MS);
  assert_int_equal(c.min_stddev_ns, COHORT_NS_PER_MS);
  assert_int_equal(c.window, 2);
}

static void expect_bad(const char *key, const char *value, const char *needle) {
  cohort_fd_config_t c, before;
  char err[200] = "";
  cohort_fd_config_default(&c);
  before = c;
  assert_int_equal(parse(&c, err, sizeof err, 1, key, value), COHORT_EINVAL);
  assert_memory_equal(&c, &before, sizeof c); /* written only on success */
  if (!strstr(err, needle)) fail_msg("%s=%s: message '%s' lacks '%s'", key, value, err, needle);
  assert_non_null(strstr(err, "fd: "));
}

static void test_config_bad(void **state) {
  (void)state;
  expect_bad("mode", "shove", "mode: must be push or pull");
  expect_bad("detector", "tarot", "detector: must be phi or fixed");
  expect_bad("interval", "100", "interval");
  expect_bad("interval", "0ms", "interval: must be");
  expect_bad("interval", "2d", "interval");
  expect_bad("threshold", "x", "threshold: not a number");
  expect_bad("threshold", "0", "threshold: must be");
  expect_bad("threshold", "-3", "threshold: must be");
  expect_bad("threshold", "1e9", "threshold: must be");
  expect_bad("timeout", "-1s", "timeout");
  expect_bad("window", "1", "window: must be in 2..");
  expect_bad("window", "1001", "window: must be in 2..");
  expect_bad("window", "18446744073709551616", "window");
  expect_bad("window", "-2", "window");
  expect_bad("min_stddev", "0s", "min_stddev: must be");
  expect_bad("check", "0ns", "check: must be");
  expect_bad("pause", "25h", "pause: must be");
  expect_bad("thresold", "8", "unknown parameter 'thresold'");
  /* Check without a message buffer still refuses. */
  cohort_fd_config_t c;
  cohort_fd_config_default(&c);
  c.window = 0;
  assert_int_equal(cohort_fd_config_check(&c, NULL, 0), COHORT_EINVAL);
  cohort_fd_config_default(&c);
  c.threshold = NAN;
  assert_int_equal(cohort_fd_config_check(&c, NULL, 0), COHORT_EINVAL);
  cohort_fd_config_default(&c);
  c.mode = (cohort_fd_mode_t)7;
  assert_int_equal(cohort_fd_config_check(&c, NULL, 0), COHORT_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_phi_reference_values),
      cmocka_unit_test(test_phi_shape),
      cmocka_unit_test(test_window_stats),
      cmocka_unit_test(test_window_clamps),
      cmocka_unit_test(test_window_bounds),
      cmocka_unit_test(test_window_nomem),
      cmocka_unit_test(test_config_defaults_and_parse),
      cmocka_unit_test(test_config_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
