/*
 * tests/clock/test_vclock.c — unit tests for sparse vector clocks: every
 * operation against a dense model, the four compare outcomes, the codec
 * (round trip, every malformed form, 100k random buffers), capacity limits
 * and a fault loop failing every allocation of every growing operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/clock.h"
#include "failalloc.h"

#define MODEL_NODES 48

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void) { /* splitmix64: deterministic test data */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static int entry_node_cmp(const void *a, const void *b) {
  cohort_node_id_t x = ((const cohort_vc_entry_t *)a)->node;
  cohort_node_id_t y = ((const cohort_vc_entry_t *)b)->node;
  return (x > y) - (x < y);
}

static void vc_set_pairs(cohort_vclock_t *vc, size_t n, const uint64_t *p) {
  for (size_t i = 0; i < n; i++)
    assert_int_equal(cohort_vclock_set(vc, (cohort_node_id_t)p[2 * i], 0,
                                       p[2 * i + 1]), 0);
}

/* Field by field: entries have padding, so memcmp would compare junk. */
static bool vc_same(const cohort_vclock_t *a, const cohort_vclock_t *b) {
  if (a->len != b->len) return false;
  for (size_t i = 0; i < a->len; i++)
    if (a->entries[i].node != b->entries[i].node || a->entries[i].inc != b->entries[i].inc ||
        a->entries[i].counter != b->entries[i].counter)
      return false;
  return true;
}

static void vc_check_invariants(const cohort_vclock_t *vc) {
  assert_true(vc->len <= vc->cap);
  assert_true(vc->cap <= COHORT_VCLOCK_ENTRIES_MAX);
  for (size_t i = 0; i < vc->len; i++) {
    assert_true(vc->entries[i].counter != 0);
    if (i)
      assert_true(vc->entries[i - 1].node < vc->entries[i].node ||
                  (vc->entries[i - 1].node == vc->entries[i].node &&
                   vc->entries[i - 1].inc < vc->entries[i].inc));
  }
}

/* A random sparse clock over MODEL_NODES nodes, mirrored in `model`. */
static void vc_random(cohort_vclock_t *vc, uint64_t *model) {
  for (cohort_node_id_t k = 0; k < MODEL_NODES; k++) {
    model[k] = rng() % 3 == 0 ? rng() % 5 : 0;
    assert_int_equal(cohort_vclock_set(vc, k * 7, 0, model[k]), 0);
  }
}

static void vc_assert_model(const cohort_vclock_t *vc, const uint64_t *model) {
  vc_check_invariants(vc);
  size_t nonzero = 0;
  for (cohort_node_id_t k = 0; k < MODEL_NODES; k++) {
    assert_int_equal(cohort_vclock_get(vc, k * 7, 0), model[k]);
    nonzero += model[k] != 0;
  }
  assert_int_equal(vc->len, nonzero);
}

static cohort_order_t model_compare(const uint64_t *a, const uint64_t *b) {
  bool a_less = false, b_less = false;
  for (size_t k = 0; k < MODEL_NODES; k++) {
    if (a[k] < b[k]) a_less = true;
    if (b[k] < a[k]) b_less = true;
  }
  if (a_less && b_less) return COHORT_ORDER_CONCURRENT;
  if (a_less) return COHORT_ORDER_BEFORE;
  return b_less ? COHORT_ORDER_AFTER : COHORT_ORDER_EQUAL;
}

static void test_get_set_tick(void **state) {
  (void)state;
  cohort_vclock_t vc;
  cohort_vclock_init(&vc, NULL);
  assert_int_equal(cohort_vclock_get(&vc, 3, 0), 0);
  assert_int_equal(cohort_vclock_set(&vc, 9, 0, 4), 0);
  assert_int_equal(cohort_vclock_set(&vc, 2, 0, 1), 0);
  assert_int_equal(cohort_vclock_set(&vc, 5, 0, 7), 0);
  assert_int_equal(cohort_vclock_set(&vc, 0, 0, 0), 0); /* absent stays absent */
  assert_int_equal(vc.len, 3);
  vc_check_invariants(&vc);
  assert_int_equal(cohort_vclock_get(&vc, 5, 0), 7);
  assert_int_equal(cohort_vclock_set(&vc, 5, 0, 0), 0); /* 0 removes */
  assert_int_equal(vc.len, 2);
  assert_int_equal(cohort_vclock_get(&vc, 5, 0), 0);
  assert_int_equal(cohort_vclock_tick(&vc, 2, 0), 0);
  assert_int_equal(cohort_vclock_tick(&vc, UINT32_MAX, 0), 0);
  assert_int_equal(cohort_vclock_get(&vc, 2, 0), 2);
  assert_int_equal(cohort_vclock_get(&vc, UINT32_MAX, 0), 1);
  vc_check_invariants(&vc);
  /* Counter overflow is refused, clock unchanged. */
  assert_int_equal(cohort_vclock_set(&vc, 9, 0, UINT64_MAX), 0);
  assert_int_equal(cohort_vclock_tick(&vc, 9, 0), COHORT_EFULL);
  assert_int_equal(cohort_vclock_get(&vc, 9, 0), UINT64_MAX);
  cohort_vclock_close(&vc);
  cohort_vclock_close(&vc); /* idempotent */
  cohort_vclock_close(NULL);
}

/* A restarted node is a new process: its counter starts again under its
 * new incarnation, and its events stay ordered against the old ones only
 * through messages — the old process's events are not "before" the new
 * one's just because the counter is smaller. */
static void test_incarnations_are_processes(void **state) {
  (void)state;
  cohort_vclock_t old, peer, fresh;
  cohort_vclock_init(&old, NULL);
  cohort_vclock_init(&peer, NULL);
  cohort_vclock_init(&fresh, NULL);
  for (int i = 0; i < 5; i++) assert_int_equal(cohort_vclock_tick(&old, 1, 7), 0); /* 1.7: 5 */
  assert_int_equal(cohort_vclock_merge(&peer, &old), 0); /* 2 heard from 1.7 */
  assert_int_equal(cohort_vclock_tick(&peer, 2, 1), 0);
  assert_int_equal(cohort_vclock_tick(&fresh, 1, 8), 0); /* 1 restarted as 1.8 */
  assert_int_equal(cohort_vclock_get(&fresh, 1, 7), 0);
  assert_int_equal(cohort_vclock_get(&fresh, 1, 8), 1);
  assert_int_equal(cohort_vclock_compare(&old, &fresh), COHORT_ORDER_CONCURRENT);
  /* 1.8 hears from 2: now after everything 2 knew, 1.7 included. */
  assert_int_equal(cohort_vclock_merge(&fresh, &peer), 0);
  assert_int_equal(cohort_vclock_tick(&fresh, 1, 8), 0);
  assert_int_equal(fresh.len, 3);
  assert_int_equal(cohort_vclock_compare(&old, &fresh), COHORT_ORDER_BEFORE);
  assert_int_equal(cohort_vclock_compare(&peer, &fresh), COHORT_ORDER_BEFORE);
  /* Round trip keeps both incarnations, in (node, inc) order. */
  uint8_t buf[128];
  int len = cohort_vclock_encode(&fresh, buf, sizeof buf);
  assert_true(len > 0);
  cohort_vclock_t back;
  cohort_vclock_init(&back, NULL);
  assert_int_equal(cohort_vclock_decode(&back, buf, (size_t)len), len);
  assert_true(vc_same(&fresh, &back));
  assert_int_equal(back.entries[0].inc, 7);
  assert_int_equal(back.entries[1].inc, 8);
  cohort_vclock_close(&old);
  cohort_vclock_close(&peer);
  cohort_vclock_close(&fresh);
  cohort_vclock_close(&back);
}

static void test_compare_four_outcomes(void **state) {
  (void)state;
  cohort_vclock_t a, b;
  cohort_vclock_init(&a, NULL);
  cohort_vclock_init(&b, NULL);
  assert_int_equal(cohort_vclock_compare(&a, &b), COHORT_ORDER_EQUAL);
  vc_set_pairs(&a, 2, (uint64_t[]){1, 2, 3, 1});
  assert_int_equal(cohort_vclock_compare(&b, &a), COHORT_ORDER_BEFORE);
  assert_int_equal(cohort_vclock_compare(&a, &b), COHORT_ORDER_AFTER);
  vc_set_pairs(&b, 2, (uint64_t[]){1, 2, 3, 1});
  assert_int_equal(cohort_vclock_compare(&a, &b), COHORT_ORDER_EQUAL);
  vc_set_pairs(&b, 1, (uint64_t[]){7, 1}); /* b gains a node a lacks */
  assert_int_equal(cohort_vclock_compare(&a, &b), COHORT_ORDER_BEFORE);
  assert_int_equal(cohort_vclock_compare(&b, &a), COHORT_ORDER_AFTER);
  vc_set_pairs(&a, 1, (uint64_t[]){1, 3}); /* a ahead at 1, behind at 7 */
  assert_int_equal(cohort_vclock_compare(&a, &b), COHORT_ORDER_CONCURRENT);
  assert_int_equal(cohort_vclock_compare(&b, &a), COHORT_ORDER_CONCURRENT);
  /* Disjoint node sets are concurrent. */
  cohort_vclock_t c, d;
  cohort_vclock_init(&c, NULL);
  cohort_vclock_init(&d, NULL);
  vc_set_pairs(&c, 1, (uint64_t[]){4, 1});
  vc_set_pairs(&d, 1, (uint64_t[]){5, 1});
  assert_int_equal(cohort_vclock_compare(&c, &d), COHORT_ORDER_CONCURRENT);
  cohort_vclock_close(&a);
  cohort_vclock_close(&b);
  cohort_vclock_close(&c);
  cohort_vclock_close(&d);
}

/* Merge, merge_entries (sorted, unsorted, duplicates, zeros), copy and
 * compare against the dense model over many random clocks. */
static void test_ops_against_model(void **state) {
  (void)state;
  for (int iter = 0; iter < 3000; iter++) {
    uint64_t ma[MODEL_NODES], mb[MODEL_NODES];
    cohort_vclock_t a, b, c;
    cohort_vclock_init(&a, NULL);
    cohort_vclock_init(&b, NULL);
    cohort_vclock_init(&c, NULL);
    vc_random(&a, ma);
    vc_random(&b, mb);
    vc_assert_model(&a, ma);
    assert_int_equal(cohort_vclock_compare(&a, &b), model_compare(ma, mb));
    assert_int_equal(cohort_vclock_copy(&c, &a), 0);
    assert_true(vc_same(&c, &a));
    /* merge_entries from an unsorted array with duplicates and zeros */
    size_t n = (size_t)(rng() % 100);
    cohort_vc_entry_t e[100];
    uint64_t mc[MODEL_NODES];
    memcpy(mc, ma, sizeof mc);
    for (size_t i = 0; i < n; i++) {
      size_t k = (size_t)(rng() % MODEL_NODES);
      e[i] = (cohort_vc_entry_t){(cohort_node_id_t)(k * 7), rng() % 6, 0};
      if (e[i].counter > mc[k]) mc[k] = e[i].counter;
    }
    if (iter % 2) qsort(e, n, sizeof e[0], entry_node_cmp); /* sorted path */
    assert_int_equal(cohort_vclock_merge_entries(&c, e, n), 0);
    vc_assert_model(&c, mc);
    /* merge */
    assert_int_equal(cohort_vclock_merge(&a, &b), 0);
    for (size_t k = 0; k < MODEL_NODES; k++)
      if (mb[k] > ma[k]) ma[k] = mb[k];
    vc_assert_model(&a, ma);
    assert_int_equal(cohort_vclock_merge(&a, &a), 0);
    vc_assert_model(&a, ma);
    cohort_order_t o = cohort_vclock_compare(&b, &a);
    assert_true(o == COHORT_ORDER_BEFORE || o == COHORT_ORDER_EQUAL);
    cohort_vclock_close(&a);
    cohort_vclock_close(&b);
    cohort_vclock_close(&c);
  }
}

static void test_merge_entries_large_unsorted(void **state) {
  (void)state;
  /* More than the on-stack sort buffer: the heap path. */
  cohort_vclock_t vc;
  cohort_vclock_init(&vc, NULL);
  cohort_vc_entry_t e[300];
  for (size_t i = 0; i < 300; i++)
    e[i] = (cohort_vc_entry_t){(cohort_node_id_t)(299 - i), i + 1, 0};
  e[10] = e[20]; /* a duplicate node; the larger counter (21) wins */
  assert_int_equal(cohort_vclock_merge_entries(&vc, e, 300), 0);
  vc_check_invariants(&vc);
  assert_int_equal(vc.len, 299); /* node 289 (e[10]'s) is gone */
  assert_int_equal(cohort_vclock_get(&vc, 279, 0), 21);
  assert_int_equal(cohort_vclock_get(&vc, 289, 0), 0);
  assert_int_equal(cohort_vclock_get(&vc, 0, 0), 300);
  assert_int_equal(cohort_vclock_merge_entries(&vc, NULL, 0), 0);
  cohort_vclock_close(&vc);
}

/* ---- codec ------------------------------------------------------------- */

static void test_encode_decode_round_trip(void **state) {
  (void)state;
  uint8_t buf[2048];
  for (int iter = 0; iter < 2000; iter++) {
    cohort_vclock_t a, b;
    cohort_vclock_init(&a, NULL);
    cohort_vclock_init(&b, NULL);
    size_t n = (size_t)(rng() % 40);
    for (size_t i = 0; i < n; i++) {
      cohort_node_id_t node = (cohort_node_id_t)(rng() >> (rng() % 64));
      uint64_t c = rng() >> (rng() % 64);
      assert_int_equal(cohort_vclock_set(&a, node, 0, c), 0);
    }
    vc_set_pairs(&b, 1, (uint64_t[]){12345, 6}); /* replaced by decode */
    int len = cohort_vclock_encode(&a, buf, sizeof buf);
    assert_true(len > 0);
    buf[len] = 0xff; /* trailing bytes are the caller's */
    assert_int_equal(cohort_vclock_decode(&b, buf, (size_t)len + 1), len);
    assert_true(vc_same(&a, &b));
    /* Too small a buffer: COHORT_EFULL, nothing written. */
    uint8_t small[2048];
    memset(small, 0xaa, sizeof small);
    assert_int_equal(cohort_vclock_encode(&a, small, (size_t)len - 1),
                     COHORT_EFULL);
    for (int i = 0; i < len; i++) assert_int_equal(small[i], 0xaa);
    /* Every strict prefix is truncated. */
    for (int cut = 0; cut < len; cut++)
      assert_int_equal(cohort_vclock_decode(&b, buf, (size_t)cut),
                       COHORT_EPROTO);
    assert_true(vc_same(&a, &b)); /* failed decodes left it unchanged */
    cohort_vclock_close(&a);
    cohort_vclock_close(&b);
  }
}

static void expect_decode_fails(const uint8_t *buf, size_t len) {
  cohort_vclock_t vc;
  cohort_vclock_init(&vc, NULL);
  vc_set_pairs(&vc, 2, (uint64_t[]){4, 4, 8, 8});
  assert_int_equal(cohort_vclock_decode(&vc, buf, len), COHORT_EPROTO);
  assert_int_equal(vc.len, 2);
  assert_int_equal(cohort_vclock_get(&vc, 4, 0), 4);
  assert_int_equal(cohort_vclock_get(&vc, 8, 0), 8);
  cohort_vclock_close(&vc);
}

static void test_decode_malformed(void **state) {
  (void)state;
  cohort_vclock_t vc;
  cohort_vclock_init(&vc, NULL);
  /* Well formed: {3:1, 5:2} = count 2, (3,inc 0,1), (+2,inc 0,2). */
  const uint8_t good[] = {2, 3, 0, 1, 2, 0, 2};
  assert_int_equal(cohort_vclock_decode(&vc, good, sizeof good), 7);
  assert_int_equal(cohort_vclock_get(&vc, 5, 0), 2);
  /* Two incarnations of node 3: {3.1:4, 3.2:1} = (3,1,4), (+0,2,1). */
  const uint8_t incs[] = {2, 3, 1, 4, 0, 2, 1};
  assert_int_equal(cohort_vclock_decode(&vc, incs, sizeof incs), 7);
  assert_int_equal(cohort_vclock_get(&vc, 3, 1), 4);
  assert_int_equal(cohort_vclock_get(&vc, 3, 2), 1);
  assert_int_equal(cohort_vclock_get(&vc, 3, 0), 0);
  const uint8_t empty[] = {0};
  assert_int_equal(cohort_vclock_decode(&vc, empty, 1), 1);
  assert_int_equal(vc.len, 0);
  cohort_vclock_close(&vc);

  expect_decode_fails(NULL, 0);                                   /* nothing */
  expect_decode_fails((const uint8_t[]){2, 3, 0, 1, 0, 0, 2}, 7); /* duplicate */
  expect_decode_fails((const uint8_t[]){2, 3, 2, 1, 0, 1, 2}, 7); /* inc going down */
  expect_decode_fails((const uint8_t[]){2, 3, 0, 0, 2, 0, 2}, 7); /* zero counter */
  expect_decode_fails((const uint8_t[]){2, 3, 0, 1, 2, 0}, 6);    /* truncated */
  expect_decode_fails((const uint8_t[]){0x80}, 1);                /* open varint */
  expect_decode_fails((const uint8_t[]){0x81, 0x00}, 2);          /* overlong */
  expect_decode_fails((const uint8_t[]){1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80,
                                        0x80, 0x80, 0x80, 0x80, 0x02},
                      13); /* counter beyond 64 bits */
  /* Node id overflow: 0xffffffff then +1. */
  expect_decode_fails((const uint8_t[]){2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1,
                                        1, 0, 1},
                      11);
  /* More entries than COHORT_VCLOCK_ENTRIES_MAX. */
  uint8_t big[8];
  size_t n = COHORT_VCLOCK_ENTRIES_MAX + 1, pos = 0;
  while (n >= 0x80) {
    big[pos++] = (uint8_t)(n | 0x80);
    n >>= 7;
  }
  big[pos++] = (uint8_t)n;
  expect_decode_fails(big, pos);
}

/* Random bytes never crash the decoder; whatever it accepts is canonical:
 * it re-encodes to exactly the bytes it consumed. */
static void test_decode_random_bytes(void **state) {
  (void)state;
  uint8_t buf[64], out[2048];
  int accepted = 0;
  cohort_vclock_t vc;
  cohort_vclock_init(&vc, NULL);
  for (int iter = 0; iter < 100000; iter++) {
    size_t len = (size_t)(rng() % sizeof buf);
    for (size_t i = 0; i < len; i++) {
      uint64_t r = rng();
      buf[i] = (uint8_t)(r % 4 ? r % 8 : r >> 8); /* small values often */
    }
    int used = cohort_vclock_decode(&vc, buf, len);
    if (used < 0) {
      assert_int_equal(used, COHORT_EPROTO);
      continue;
    }
    accepted++;
    vc_check_invariants(&vc);
    assert_true((size_t)used <= len);
    assert_int_equal(cohort_vclock_encode(&vc, out, sizeof out), used);
    assert_memory_equal(out, buf, (size_t)used);
  }
  assert_true(accepted > 1000); /* the generator reaches the valid paths */
  cohort_vclock_close(&vc);
}

/* ---- limits and allocation failure ------------------------------------- */

static void test_entries_max(void **state) {
  (void)state;
  cohort_vclock_t a, b;
  cohort_vclock_init(&a, NULL);
  cohort_vclock_init(&b, NULL);
  for (cohort_node_id_t k = 0; k < COHORT_VCLOCK_ENTRIES_MAX; k++)
    assert_int_equal(cohort_vclock_set(&a, 2 * k, 0, 1), 0);
  assert_int_equal(cohort_vclock_set(&a, 1, 0, 1), COHORT_EFULL);
  assert_int_equal(cohort_vclock_tick(&a, 1, 0), COHORT_EFULL);
  assert_int_equal(cohort_vclock_tick(&a, 0, 0), 0); /* existing entry: fine */
  vc_set_pairs(&b, 2, (uint64_t[]){0, 9, 1, 1});
  assert_int_equal(cohort_vclock_merge(&a, &b), COHORT_EFULL);
  assert_int_equal(cohort_vclock_get(&a, 0, 0), 2); /* unchanged */
  cohort_vc_entry_t e[] = {{0, 9, 0}, {1, 1, 0}};
  assert_int_equal(cohort_vclock_merge_entries(&a, e, 2), COHORT_EFULL);
  assert_int_equal(cohort_vclock_get(&a, 0, 0), 2);
  assert_int_equal(cohort_vclock_set(&b, 1, 0, 0), 0);
  assert_int_equal(cohort_vclock_merge(&a, &b), 0); /* no new node: fits */
  assert_int_equal(cohort_vclock_get(&a, 0, 0), 9);
  /* A full clock round-trips through the codec. */
  static uint8_t buf[16 * COHORT_VCLOCK_ENTRIES_MAX];
  int len = cohort_vclock_encode(&a, buf, sizeof buf);
  assert_true(len > 0);
  assert_int_equal(cohort_vclock_decode(&b, buf, (size_t)len), len);
  assert_true(vc_same(&a, &b));
  cohort_vclock_close(&a);
  cohort_vclock_close(&b);
}

typedef int (*vc_op_fn)(cohort_vclock_t *vc, const cohort_vclock_t *arg);

static int op_set(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  (void)arg;
  return cohort_vclock_set(vc, 1000, 0, 3);
}
static int op_tick(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  (void)arg;
  return cohort_vclock_tick(vc, 999, 0);
}
static int op_merge(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  return cohort_vclock_merge(vc, arg);
}
static int op_merge_unsorted(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  cohort_vc_entry_t e[200];
  size_t n = arg->len < 200 ? arg->len : 200;
  for (size_t i = 0; i < n; i++) e[i] = arg->entries[n - 1 - i];
  return cohort_vclock_merge_entries(vc, e, n);
}
static int op_copy(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  return cohort_vclock_copy(vc, arg);
}
static int op_decode(cohort_vclock_t *vc, const cohort_vclock_t *arg) {
  uint8_t buf[4096];
  int len = cohort_vclock_encode(arg, buf, sizeof buf);
  assert_true(len > 0);
  int rc = cohort_vclock_decode(vc, buf, (size_t)len);
  return rc < 0 ? rc : 0;
}

/* Fail the Nth allocation of `op` for N = 1, 2, ... until it succeeds;
 * every failure must be COHORT_ENOMEM with the clock unchanged, and
 * nothing may leak. */
static void fault_loop(vc_op_fn op, size_t start_len) {
  cohort_vclock_t arg;
  cohort_vclock_init(&arg, NULL);
  for (cohort_node_id_t k = 0; k < 150; k++)
    assert_int_equal(cohort_vclock_set(&arg, 3 * k + 1, 0, k + 1), 0);
  for (long n = 1;; n++) {
    failalloc_t fa;
    failalloc_init(&fa, 0);
    cohort_vclock_t vc, before;
    cohort_vclock_init(&vc, &fa.base);
    cohort_vclock_init(&before, NULL);
    for (cohort_node_id_t k = 0; k < start_len; k++)
      assert_int_equal(cohort_vclock_set(&vc, 2 * k, 0, 5), 0);
    assert_int_equal(cohort_vclock_copy(&before, &vc), 0);
    fa.fail_at = fa.count + n;
    int rc = op(&vc, &arg);
    bool failed = rc != 0;
    if (failed) {
      assert_int_equal(rc, COHORT_ENOMEM);
      assert_true(vc_same(&vc, &before));
    }
    vc_check_invariants(&vc);
    cohort_vclock_close(&vc);
    cohort_vclock_close(&before);
    assert_int_equal(fa.live, 0);
    if (!failed) break;
    assert_true(n < 100);
  }
  cohort_vclock_close(&arg);
}

static void test_alloc_failure(void **state) {
  (void)state;
  vc_op_fn ops[] = {op_set, op_tick, op_merge, op_merge_unsorted, op_copy,
                    op_decode};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(ops); i++) {
    fault_loop(ops[i], 0);
    fault_loop(ops[i], 3);
    fault_loop(ops[i], 40);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_set_tick),
      cmocka_unit_test(test_compare_four_outcomes),
      cmocka_unit_test(test_incarnations_are_processes),
      cmocka_unit_test(test_ops_against_model),
      cmocka_unit_test(test_merge_entries_large_unsorted),
      cmocka_unit_test(test_encode_decode_round_trip),
      cmocka_unit_test(test_decode_malformed),
      cmocka_unit_test(test_decode_random_bytes),
      cmocka_unit_test(test_entries_max),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
