/*
 * tests/sim/test_heap.c — the hosts' shared event queue (cohort/heap.h)
 * against a reference: random pushes, pops, removals and re-keys, with
 * many equal times, checked after every step against a plain array kept
 * in (time, seq) order; tracked positions checked after every step; room
 * and allocation failure reported, never asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/heap.h"
#include "cohort/prng.h"
#include "../support/failalloc.h"

#define REFS 512

typedef struct ref_model {
  int64_t time[REFS];
  uint64_t seq[REFS];
  bool in[REFS];
} ref_model_t;

/* The reference's least live ref: what pop must return. */
static int model_min(const ref_model_t *m) {
  int best = -1;
  for (int i = 0; i < REFS; i++) {
    if (!m->in[i]) continue;
    if (best < 0 || m->time[i] < m->time[best] ||
        (m->time[i] == m->time[best] && m->seq[i] < m->seq[best]))
      best = i;
  }
  return best;
}

static void check_positions(const cohort_heap_t *h, const ref_model_t *m, const uint32_t *pos) {
  uint32_t live = 0;
  for (int i = 0; i < REFS; i++) {
    if (!m->in[i]) {
      assert_int_equal(pos[i], COHORT_HEAP_NONE);
      continue;
    }
    live++;
    assert_true(pos[i] < h->len);
    assert_int_equal(h->e[pos[i]].ref, (uint32_t)i);
    assert_int_equal(h->e[pos[i]].time, m->time[i]);
  }
  assert_int_equal(live, h->len);
}

static void test_against_reference(void **state) {
  (void)state;
  uint32_t pos[REFS];
  for (int i = 0; i < REFS; i++) pos[i] = COHORT_HEAP_NONE;
  ref_model_t m;
  memset(&m, 0, sizeof m);
  cohort_heap_t h;
  cohort_heap_init(&h, pos);
  assert_int_equal(cohort_heap_reserve(&h, NULL, REFS, REFS), 0);
  uint64_t rng = 42;
  for (int step = 0; step < 200000; step++) {
    uint64_t r = cohort_splitmix64_next(&rng);
    int ref = (int)((r >> 8) % REFS);
    int64_t t = (int64_t)((r >> 20) % 64); /* many ties */
    switch (r % 4) {
    case 0: /* push or re-key */
      if (m.in[ref]) cohort_heap_rekey(&h, pos[ref], t);
      else cohort_heap_push(&h, t, (uint32_t)ref, COHORT_HEAP_TRACKED | 7u);
      m.in[ref] = true;
      m.time[ref] = t;
      m.seq[ref] = h.seq - 1;
      break;
    case 1: /* remove */
      if (!m.in[ref]) break;
      cohort_heap_remove(&h, pos[ref]);
      m.in[ref] = false;
      break;
    default: { /* pop */
      int want = model_min(&m);
      if (want < 0) {
        assert_true(cohort_heap_empty(&h));
        break;
      }
      cohort_heap_entry_t e = cohort_heap_pop(&h);
      assert_int_equal(e.ref, (uint32_t)want);
      assert_int_equal(e.kind, COHORT_HEAP_TRACKED | 7u);
      m.in[want] = false;
      break;
    }
    }
    if (step % 97 == 0 || h.len < 8) check_positions(&h, &m, pos);
  }
  cohort_heap_close(&h, NULL);
}

/* Untracked entries (the runtime's use): many equal times leave in
 * insertion order. */
static void test_ties_fifo(void **state) {
  (void)state;
  cohort_heap_t h;
  cohort_heap_init(&h, NULL);
  assert_int_equal(cohort_heap_reserve(&h, NULL, 1000, 1000), 0);
  for (uint32_t i = 0; i < 1000; i++) cohort_heap_push(&h, (int64_t)(i % 3), i, 0);
  uint32_t last[3] = {0, 0, 0};
  bool seen[3] = {false, false, false};
  int64_t prev = -1;
  for (int i = 0; i < 1000; i++) {
    cohort_heap_entry_t e = cohort_heap_pop(&h);
    assert_true(e.time >= prev);
    prev = e.time;
    if (seen[e.time]) assert_true(e.ref > last[e.time]);
    seen[e.time] = true;
    last[e.time] = e.ref;
  }
  assert_true(cohort_heap_empty(&h));
  cohort_heap_close(&h, NULL);
}

static void test_reserve_limits(void **state) {
  (void)state;
  cohort_heap_t h;
  cohort_heap_init(&h, NULL);
  assert_int_equal(cohort_heap_reserve(&h, NULL, 11, 10), COHORT_EFULL);
  assert_int_equal(h.cap, 0);
  failalloc_t fa;
  failalloc_init(&fa, 1); /* the first allocation fails */
  assert_int_equal(cohort_heap_reserve(&h, &fa.base, 5, 10), COHORT_ENOMEM);
  assert_int_equal(h.cap, 0);
  assert_int_equal(cohort_heap_reserve(&h, NULL, 5, 10), 0);
  assert_true(h.cap >= 5 && h.cap <= 10);
  assert_int_equal(cohort_heap_reserve(&h, NULL, 10, 10), 0);
  assert_int_equal(h.cap, 10);
  cohort_heap_close(&h, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference),
      cmocka_unit_test(test_ties_fifo),
      cmocka_unit_test(test_reserve_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
