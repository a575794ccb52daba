/*
 * tests/clock/test_lamport_hlc.c — Lamport clocks and hybrid logical
 * clocks: every branch of the HLC receive rule, monotonicity while the
 * physical clock steps backwards, refusal of far-ahead stamps (clock and
 * output untouched), counter overflow carrying into l, and a random walk
 * checking the HLC invariants after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cohort/clock.h"

static uint64_t rng_state = 42;

static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void assert_ts(cohort_hlc_ts_t t, int64_t l, uint32_t c) {
  assert_int_equal(t.l, l);
  assert_int_equal(t.c, c);
}

/* ---- Lamport ------------------------------------------------------------ */

static void test_lamport(void **state) {
  (void)state;
  cohort_lamport_t c = {0};
  assert_int_equal(cohort_lamport_tick(&c), 1);
  assert_int_equal(cohort_lamport_tick(&c), 2);
  assert_int_equal(cohort_lamport_recv(&c, 10), 11); /* max(2, 10) + 1 */
  assert_int_equal(cohort_lamport_recv(&c, 3), 12);  /* max(11, 3) + 1 */
  assert_int_equal(c.time, 12);
  /* A hostile stamp saturates at COHORT_LAMPORT_MAX instead of wrapping,
   * and the clock stays there: still acceptable to every peer. */
  assert_true(cohort_lamport_recv(&c, COHORT_LAMPORT_MAX - 1) == COHORT_LAMPORT_MAX);
  assert_true(cohort_lamport_tick(&c) == COHORT_LAMPORT_MAX);
  assert_true(cohort_lamport_recv(&c, UINT64_MAX) == COHORT_LAMPORT_MAX);
  /* Total order by (time, node). */
  assert_true(cohort_lamport_compare(1, 9, 2, 1) < 0);
  assert_true(cohort_lamport_compare(2, 1, 1, 9) > 0);
  assert_true(cohort_lamport_compare(5, 1, 5, 2) < 0);
  assert_true(cohort_lamport_compare(5, 2, 5, 1) > 0);
  assert_int_equal(cohort_lamport_compare(5, 2, 5, 2), 0);
}

/* ---- HLC ---------------------------------------------------------------- */

static void test_hlc_now(void **state) {
  (void)state;
  cohort_hlc_t h;
  cohort_hlc_init(&h, 1000);
  assert_ts(h.last, 0, 0);
  assert_ts(cohort_hlc_now(&h, 100), 100, 0);
  assert_ts(cohort_hlc_now(&h, 100), 100, 1); /* same tick: counter */
  assert_ts(cohort_hlc_now(&h, 200), 200, 0); /* pt advanced: reset */
  assert_ts(cohort_hlc_now(&h, 150), 200, 1); /* pt went back: l holds */
  assert_ts(cohort_hlc_now(&h, -5), 200, 2);
  assert_ts(cohort_hlc_now(&h, 201), 201, 0);
}

static void test_hlc_recv_branches(void **state) {
  (void)state;
  cohort_hlc_t h;
  cohort_hlc_ts_t out;
  cohort_hlc_init(&h, 1000);
  cohort_hlc_now(&h, 100); /* (100, 0) */
  /* pt ahead of both: (pt, 0). */
  assert_int_equal(cohort_hlc_recv(&h, 300, (cohort_hlc_ts_t){250, 7}, &out),
                   0);
  assert_ts(out, 300, 0);
  /* remote ahead (within the offset): (remote.l, remote.c + 1). */
  assert_int_equal(cohort_hlc_recv(&h, 310, (cohort_hlc_ts_t){900, 4}, &out),
                   0);
  assert_ts(out, 900, 5);
  /* ours ahead of remote and pt: (l, c + 1). */
  assert_int_equal(cohort_hlc_recv(&h, 320, (cohort_hlc_ts_t){800, 40}, &out),
                   0);
  assert_ts(out, 900, 6);
  /* ours == remote.l, both ahead of pt: max(c) + 1. */
  assert_int_equal(cohort_hlc_recv(&h, 330, (cohort_hlc_ts_t){900, 20}, &out),
                   0);
  assert_ts(out, 900, 21);
  assert_int_equal(cohort_hlc_recv(&h, 330, (cohort_hlc_ts_t){900, 3}, &out),
                   0);
  assert_ts(out, 900, 22);
  assert_ts(h.last, 900, 22);
  assert_true(cohort_hlc_compare(out, (cohort_hlc_ts_t){900, 22}) == 0);
}

static void test_hlc_refuses_far_ahead(void **state) {
  (void)state;
  cohort_hlc_t h;
  cohort_hlc_ts_t out = {-1, 77};
  cohort_hlc_init(&h, 1000);
  cohort_hlc_now(&h, 5000);
  /* Exactly max_offset ahead is accepted, one more ns is refused. */
  assert_int_equal(cohort_hlc_recv(&h, 5000, (cohort_hlc_ts_t){6001, 0}, &out),
                   COHORT_ECLOCK);
  assert_ts(out, -1, 77); /* output untouched */
  assert_ts(h.last, 5000, 0); /* clock unchanged */
  assert_int_equal(cohort_hlc_recv(&h, 5000, (cohort_hlc_ts_t){6000, 0}, &out),
                   0);
  assert_ts(out, 6000, 1);
  /* Extremes do not overflow the comparison. */
  assert_int_equal(
      cohort_hlc_recv(&h, INT64_MIN, (cohort_hlc_ts_t){INT64_MAX, 0}, &out),
      COHORT_ECLOCK);
  assert_int_equal(
      cohort_hlc_recv(&h, 7000, (cohort_hlc_ts_t){INT64_MIN, 9}, &out), 0);
  assert_ts(out, 7000, 0);
  /* A negative max offset means 0: no lead at all is accepted. */
  cohort_hlc_init(&h, -5);
  assert_int_equal(h.max_offset_ns, 0);
  assert_int_equal(cohort_hlc_recv(&h, 10, (cohort_hlc_ts_t){11, 0}, &out),
                   COHORT_ECLOCK);
  assert_int_equal(cohort_hlc_recv(&h, 10, (cohort_hlc_ts_t){10, 0}, &out), 0);
  assert_ts(out, 10, 1);
}

static void test_hlc_counter_overflow(void **state) {
  (void)state;
  cohort_hlc_t h;
  cohort_hlc_ts_t out;
  cohort_hlc_init(&h, 1000);
  h.last = (cohort_hlc_ts_t){500, UINT32_MAX - 1};
  assert_ts(cohort_hlc_now(&h, 400), 500, UINT32_MAX);
  assert_ts(cohort_hlc_now(&h, 400), 501, 0); /* carries into l */
  assert_int_equal(
      cohort_hlc_recv(&h, 400, (cohort_hlc_ts_t){501, UINT32_MAX}, &out), 0);
  assert_ts(out, 502, 0);
  assert_int_equal(
      cohort_hlc_recv(&h, 400, (cohort_hlc_ts_t){900, UINT32_MAX}, &out), 0);
  assert_ts(out, 901, 0);
  /* At the end of int64 the counter saturates rather than overflow. */
  h.last = (cohort_hlc_ts_t){INT64_MAX, UINT32_MAX};
  assert_ts(cohort_hlc_now(&h, 0), INT64_MAX, UINT32_MAX);
}

/* Random walk: physical clocks that jitter backwards, remote stamps from
 * behind, equal and ahead (some refused). Every accepted event's stamp is
 * strictly after the previous one and after the remote stamp, and l is
 * exactly the largest physical time seen: ours or an accepted remote's. */
static void test_hlc_random_walk(void **state) {
  (void)state;
  const int64_t max_offset = 5000;
  for (int run = 0; run < 200; run++) {
    cohort_hlc_t h;
    cohort_hlc_init(&h, max_offset);
    cohort_hlc_ts_t prev = h.last;
    int64_t pt = 1000000, seen = 0;
    for (int i = 0; i < 2000; i++) {
      pt += (int64_t)(rng() % 300) - 100; /* drifts up, sometimes back */
      cohort_hlc_ts_t t;
      if (rng() % 2) {
        t = cohort_hlc_now(&h, pt);
      } else {
        cohort_hlc_ts_t r = {pt + (int64_t)(rng() % 12000) - 6000,
                             (uint32_t)(rng() % 4)};
        if (rng() % 4 == 0) r = prev;
        int rc = cohort_hlc_recv(&h, pt, r, &t);
        if (r.l - pt > max_offset) {
          assert_int_equal(rc, COHORT_ECLOCK);
          assert_int_equal(cohort_hlc_compare(h.last, prev), 0);
          continue;
        }
        assert_int_equal(rc, 0);
        assert_true(cohort_hlc_compare(r, t) < 0);
        if (r.l > seen) seen = r.l;
      }
      if (pt > seen) seen = pt;
      assert_true(cohort_hlc_compare(prev, t) < 0);
      assert_true(t.l >= pt);
      assert_int_equal(t.l, seen);
      prev = t;
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lamport),
      cmocka_unit_test(test_hlc_now),
      cmocka_unit_test(test_hlc_recv_branches),
      cmocka_unit_test(test_hlc_refuses_far_ahead),
      cmocka_unit_test(test_hlc_counter_overflow),
      cmocka_unit_test(test_hlc_random_walk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
