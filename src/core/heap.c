/*
 * src/core/heap.c — the hosts' shared event queue (cohort/heap.h): a d-ary
 * min-heap (d = COHORT_HEAP_ARITY, 4 unless overridden for measurement) on
 * (time, seq), with "hole" sifting (an entry is written once where it
 * lands, its displaced neighbours once each) and position tracking for
 * entries that ask for it.
 *
 * Invariants: e[0..len) is heap-ordered by entry_less; every tracked
 * entry at position i has pos[ref] == i; seq strictly increases over the
 * heap's life, so no two entries compare equal.
 */
#include <string.h>

#include "cohort/heap.h"

#ifndef COHORT_HEAP_ARITY
#define COHORT_HEAP_ARITY 4
#endif
#define D COHORT_HEAP_ARITY

static inline bool entry_less(const cohort_heap_entry_t *a, const cohort_heap_entry_t *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline void place(cohort_heap_t *h, uint32_t i, const cohort_heap_entry_t *x) {
  h->e[i] = *x;
  if (x->kind & COHORT_HEAP_TRACKED) h->pos[x->ref] = i;
}

static void sift_up(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x) {
  while (i > 0) {
    uint32_t parent = (i - 1) / D;
    if (!entry_less(&x, &h->e[parent])) break;
    place(h, i, &h->e[parent]);
    i = parent;
  }
  place(h, i, &x);
}

/* The least child of i, or i itself if it has none. */
static inline uint32_t least_child(const cohort_heap_t *h, uint32_t i) {
  uint64_t first = (uint64_t)D * i + 1;
  if (first >= h->len) return i;
  uint32_t best = (uint32_t)first, end = first + D < h->len ? (uint32_t)first + D : h->len;
  for (uint32_t c = best + 1; c < end; c++)
    if (entry_less(&h->e[c], &h->e[best])) best = c;
  return best;
}

static void sift_down(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x) {
  for (;;) {
    uint32_t c = least_child(h, i);
    if (c == i || !entry_less(&h->e[c], &x)) break;
    place(h, i, &h->e[c]);
    i = c;
  }
  place(h, i, &x);
}

/* Put x at position i, moving it up or down as its key requires. */
static void settle(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x) {
  if (i > 0 && entry_less(&x, &h->e[(i - 1) / D])) sift_up(h, i, x);
  else sift_down(h, i, x);
}

void cohort_heap_init(cohort_heap_t *h, uint32_t *pos) {
  memset(h, 0, sizeof *h);
  h->pos = pos;
}

void cohort_heap_close(cohort_heap_t *h, const cohort_allocator_t *a) {
  if (!h) return;
  cohort_free(a, h->e);
  h->e = NULL;
  h->len = h->cap = 0;
}

int cohort_heap_reserve(cohort_heap_t *h, const cohort_allocator_t *a, uint64_t need,
                        uint32_t max) {
  if (need <= h->cap) return 0;
  if (need > max) return COHORT_EFULL;
  uint64_t cap = h->cap ? (uint64_t)h->cap * 2 : 64;
  if (cap < need) cap = need;
  if (cap > max) cap = max;
  cohort_heap_entry_t *e = cohort_realloc(a, h->e, (size_t)cap * sizeof *e);
  if (!e) return COHORT_ENOMEM;
  h->e = e;
  h->cap = (uint32_t)cap;
  return 0;
}

void cohort_heap_push(cohort_heap_t *h, int64_t time, uint32_t ref, uint32_t kind) {
  COHORT_ASSERT(h->len < h->cap);
  COHORT_ASSERT(!(kind & COHORT_HEAP_TRACKED) || h->pos);
  cohort_heap_entry_t x = {time, h->seq++, ref, kind};
  sift_up(h, h->len++, x);
}

static inline void untrack(cohort_heap_t *h, const cohort_heap_entry_t *x) {
  if (x->kind & COHORT_HEAP_TRACKED) h->pos[x->ref] = COHORT_HEAP_NONE;
}

cohort_heap_entry_t cohort_heap_pop(cohort_heap_t *h) {
  COHORT_ASSERT(h->len > 0);
  cohort_heap_entry_t top = h->e[0];
  uint32_t last = --h->len;
  if (last > 0) sift_down(h, 0, h->e[last]);
  untrack(h, &top);
  return top;
}

void cohort_heap_remove(cohort_heap_t *h, uint32_t i) {
  COHORT_ASSERT(i < h->len);
  cohort_heap_entry_t gone = h->e[i];
  uint32_t last = --h->len;
  if (i != last) settle(h, i, h->e[last]);
  untrack(h, &gone);
}

void cohort_heap_rekey(cohort_heap_t *h, uint32_t i, int64_t time) {
  COHORT_ASSERT(i < h->len);
  cohort_heap_entry_t x = h->e[i];
  x.time = time;
  x.seq = h->seq++;
  settle(h, i, x);
}
