/*
 * src/core/heap.c — the cold half of the hosts' shared event queue
 * (cohort/heap.h): set-up, growth and release. The hot operations (push,
 * pop, remove, re-key) are inline in the header so that every host's loop
 * gets them specialised and without a call.
 *
 * Invariants: growth keeps the entries as they were (realloc), so the
 * heap order and the tracked positions survive it; a refused growth
 * leaves the heap unchanged.
 */
#include <string.h>

#include "cohort/heap.h"

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
