/*
 * tests/clock/test_mclock.c — matrix clocks: a worked three-node example
 * of "what does everyone know", bad arguments, random executions checking
 * that the own row is exactly a vector clock and that no knowledge ever
 * exceeds the truth, and a fault loop over init and receive (state
 * unchanged, nothing leaked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cohort/clock.h"
#include "failalloc.h"

static uint64_t rng_state = 7;

static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* 1 → 2 → 3 → 1, one message each; the comments give the matrices. */
static void test_three_nodes(void **state) {
  (void)state;
  cohort_mclock_t m1, m2, m3;
  assert_int_equal(cohort_mclock_init(&m1, 1, NULL), 0);
  assert_int_equal(cohort_mclock_init(&m2, 2, NULL), 0);
  assert_int_equal(cohort_mclock_init(&m3, 3, NULL), 0);
  assert_int_equal(cohort_mclock_get(&m1, 1, 1), 0);
  assert_int_equal(cohort_mclock_tick(&m1), 0); /* send to 2 */
  assert_int_equal(cohort_mclock_get(&m1, 1, 1), 1);
  assert_int_equal(cohort_mclock_recv(&m2, 1, &m1), 0);
  /* m2: row1 {1:1}, row2 {1:1, 2:1} */
  assert_int_equal(cohort_mclock_get(&m2, 1, 1), 1);
  assert_int_equal(cohort_mclock_get(&m2, 2, 2), 1);
  assert_int_equal(cohort_mclock_get(&m2, 1, 2), 0);
  assert_int_equal(cohort_mclock_min_known(&m2, 1), 1);
  assert_int_equal(cohort_mclock_min_known(&m2, 2), 0);
  assert_int_equal(cohort_mclock_tick(&m2), 0); /* send to 3 */
  assert_int_equal(cohort_mclock_recv(&m3, 2, &m2), 0);
  /* m3: row1 {1:1}, row2 {1:1, 2:2}, row3 {1:1, 2:2, 3:1} */
  assert_int_equal(m3.len, 3);
  assert_int_equal(cohort_mclock_min_known(&m3, 1), 1);
  assert_int_equal(cohort_mclock_min_known(&m3, 2), 0); /* 1 knows none */
  assert_int_equal(cohort_mclock_get(&m3, 3, 2), 2);
  assert_int_equal(cohort_mclock_tick(&m3), 0); /* send to 1 */
  assert_int_equal(cohort_mclock_recv(&m1, 3, &m3), 0);
  /* m1: row1 {1:2, 2:2, 3:2}, row2 {1:1, 2:2}, row3 {1:1, 2:2, 3:2} */
  assert_int_equal(cohort_mclock_get(&m1, 1, 1), 2);
  assert_int_equal(cohort_mclock_get(&m1, 1, 3), 2);
  assert_int_equal(cohort_mclock_get(&m1, 2, 2), 2);
  assert_int_equal(cohort_mclock_get(&m1, 3, 3), 2);
  assert_int_equal(cohort_mclock_min_known(&m1, 1), 1);
  assert_int_equal(cohort_mclock_min_known(&m1, 2), 2); /* all saw 2's two */
  assert_int_equal(cohort_mclock_min_known(&m1, 3), 0); /* 2 never heard 3 */
  assert_int_equal(cohort_mclock_min_known(&m1, 99), 0);
  assert_int_equal(cohort_mclock_get(&m1, 99, 1), 0);
  /* Bad arguments. */
  assert_int_equal(cohort_mclock_recv(&m1, 1, &m1), COHORT_EINVAL);
  assert_int_equal(cohort_mclock_recv(&m1, 2, &m3), COHORT_EINVAL);
  cohort_mclock_close(&m1);
  cohort_mclock_close(&m2);
  cohort_mclock_close(&m3);
  cohort_mclock_close(NULL);
}

#define K 6

/* Random immediate exchanges among K nodes, against reference vector
 * clocks: the own row equals the reference, and node i's belief about
 * what `who` knows of `about` never exceeds what `who` really knows. */
static void test_random_against_vclock(void **state) {
  (void)state;
  for (int run = 0; run < 200; run++) {
    cohort_mclock_t m[K];
    cohort_vclock_t ref[K];
    for (cohort_node_id_t i = 0; i < K; i++) {
      assert_int_equal(cohort_mclock_init(&m[i], 10 + i, NULL), 0);
      cohort_vclock_init(&ref[i], NULL);
    }
    for (int step = 0; step < 60; step++) {
      size_t s = (size_t)(rng() % K), r = (size_t)(rng() % K);
      assert_int_equal(cohort_mclock_tick(&m[s]), 0);
      assert_int_equal(cohort_vclock_tick(&ref[s], m[s].self, 0), 0);
      if (s == r) continue; /* a local event */
      assert_int_equal(cohort_mclock_recv(&m[r], m[s].self, &m[s]), 0);
      /* r now knows at least everything s knew, and s's row exactly. */
      for (size_t w = 0; w < K; w++)
        for (size_t a = 0; a < K; a++) {
          cohort_node_id_t who = m[w].self, about = m[a].self;
          uint64_t mine = cohort_mclock_get(&m[r], who, about);
          uint64_t theirs = cohort_mclock_get(&m[s], who, about);
          if (w == s) assert_int_equal(mine, theirs);
          if (w != r) assert_true(mine >= theirs);
        }
      assert_int_equal(cohort_vclock_merge(&ref[r], &ref[s]), 0);
      assert_int_equal(cohort_vclock_tick(&ref[r], m[r].self, 0), 0);
    }
    for (size_t i = 0; i < K; i++)
      for (size_t w = 0; w < K; w++)
        for (size_t a = 0; a < K; a++) {
          cohort_node_id_t who = m[w].self, about = m[a].self;
          uint64_t belief = cohort_mclock_get(&m[i], who, about);
          assert_true(belief <= cohort_vclock_get(&ref[w], about, 0));
          if (i == w) assert_int_equal(belief, cohort_vclock_get(&ref[w], about, 0));
          if (w == 0) {
            uint64_t mk = cohort_mclock_min_known(&m[i], about);
            for (size_t k = 0; k < K; k++)
              assert_true(mk <= cohort_vclock_get(&ref[k], about, 0));
          }
        }
    for (size_t i = 0; i < K; i++) {
      cohort_mclock_close(&m[i]);
      cohort_vclock_close(&ref[i]);
    }
  }
}

static bool mclock_same(const cohort_mclock_t *a, const cohort_mclock_t *b) {
  if (a->len != b->len || a->self != b->self) return false;
  for (size_t i = 0; i < a->len; i++) {
    if (a->nodes[i] != b->nodes[i]) return false;
    if (cohort_vclock_compare(&a->rows[i], &b->rows[i]) != COHORT_ORDER_EQUAL)
      return false;
  }
  return true;
}

/* Builds the same matrix twice: with `alloc` (failing) and a reference. */
static int build(cohort_mclock_t *m, cohort_node_id_t self,
                 const cohort_allocator_t *a, const cohort_mclock_t *peer) {
  int rc = cohort_mclock_init(m, self, a);
  if (rc) return rc;
  COHORT_ASSERT(cohort_mclock_tick(m) == 0);
  if (peer) COHORT_ASSERT(cohort_mclock_recv(m, peer->self, peer) == 0);
  return 0;
}

static void test_alloc_failure(void **state) {
  (void)state;
  /* init fails cleanly at every allocation */
  for (long n = 1;; n++) {
    failalloc_t fa;
    failalloc_init(&fa, n);
    cohort_mclock_t m;
    int rc = cohort_mclock_init(&m, 1, &fa.base);
    cohort_mclock_close(&m);
    assert_int_equal(fa.live, 0);
    if (rc == 0) break;
    assert_int_equal(rc, COHORT_ENOMEM);
  }
  /* A sender that knows of many nodes, so the receive adds rows and grows
   * rows: a chain 20 → 21 → ... → 39. */
  cohort_mclock_t chain[20];
  assert_int_equal(build(&chain[0], 20, NULL, NULL), 0);
  for (size_t i = 1; i < 20; i++)
    assert_int_equal(
        build(&chain[i], (cohort_node_id_t)(20 + i), NULL, &chain[i - 1]), 0);
  cohort_mclock_t *sender = &chain[19];
  for (long n = 1;; n++) {
    failalloc_t fa;
    failalloc_init(&fa, 0);
    cohort_mclock_t m, before;
    assert_int_equal(build(&m, 5, &fa.base, &chain[3]), 0);
    assert_int_equal(build(&before, 5, NULL, &chain[3]), 0);
    fa.fail_at = fa.count + n;
    int rc = cohort_mclock_recv(&m, sender->self, sender);
    if (rc) {
      assert_int_equal(rc, COHORT_ENOMEM);
      assert_true(mclock_same(&m, &before));
    } else {
      assert_int_equal(m.len, 21);
      assert_int_equal(cohort_mclock_get(&m, 5, 39), 2); /* tick + recv */
      assert_int_equal(cohort_mclock_get(&m, 39, 20), 1);
      assert_int_equal(cohort_mclock_min_known(&m, 20), 1); /* every row */
      assert_int_equal(cohort_mclock_min_known(&m, 39), 0); /* 38 can't */
    }
    cohort_mclock_close(&m);
    cohort_mclock_close(&before);
    assert_int_equal(fa.live, 0);
    if (!rc) break;
    assert_true(n < 200);
  }
  for (size_t i = 0; i < 20; i++) cohort_mclock_close(&chain[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_nodes),
      cmocka_unit_test(test_random_against_vclock),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
