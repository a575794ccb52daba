/*
 * tests/support/failalloc.h — an allocator that fails the Nth allocation,
 * and counts live blocks, so tests can check that every error path frees
 * what it took and leaves state unchanged (SQLite's and Lua's fault loops).
 */
#ifndef COHORT_TEST_FAILALLOC_H
#define COHORT_TEST_FAILALLOC_H

#include "cohort/core.h"

typedef struct failalloc {
  cohort_allocator_t base; /* pass &fa.base as the allocator */
  long fail_at;            /* fail the fail_at-th allocation (1-based); 0 never */
  long count;              /* allocations so far */
  long live;               /* blocks currently allocated */
} failalloc_t;

void failalloc_init(failalloc_t *fa, long fail_at);

#endif
