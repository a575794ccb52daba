/*
 * cohort/heap.h — the one event queue of the hosts: a 4-ary min-heap of
 * small value entries ordered by (time, insertion sequence), shared by the
 * node layer's timers (src/core/node.c), the runtime's delayed datagrams
 * (src/runtime/runtime.c) and the simulator's event queue (src/sim/sim.c).
 * Not an application API: the hosts' shared machinery, like cohort/prng.h.
 *
 * Why this shape (docs/simulator.md, "Cost model"): a binary heap, this
 * 4-ary heap, a pairing heap and a calendar queue were measured on the
 * simulator's workload (`cohort bench queue`); the 4-ary heap won — half
 * the depth of a binary heap, its four children in one or two cache
 * lines, no pointers and no allocation once sized.
 *
 * Invariants:
 *  - entries pop in (time, seq) order, and seq is unique (a counter the
 *    heap owns), so ties pop in insertion order on every host and the
 *    order is a pure function of the pushes: determinism;
 *  - an entry whose kind carries COHORT_HEAP_TRACKED has its position
 *    written to pos[ref] whenever it moves, and COHORT_HEAP_NONE written
 *    when it leaves, so its owner can re-key or remove it in O(log n);
 *  - push never allocates: the owner reserves room (cohort_heap_reserve)
 *    where it can report failure, and push asserts it was done.
 */
#ifndef COHORT_HEAP_H
#define COHORT_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "cohort/core.h"

#define COHORT_HEAP_NONE UINT32_MAX
/* Kind bit: keep pos[ref] up to date for this entry. */
#define COHORT_HEAP_TRACKED 0x80000000u

typedef struct cohort_heap_entry {
  int64_t time;
  uint64_t seq;
  uint32_t ref;  /* the owner's index (slot, node id, ...) */
  uint32_t kind; /* the owner's tag, plus COHORT_HEAP_TRACKED */
} cohort_heap_entry_t;

typedef struct cohort_heap {
  cohort_heap_entry_t *e;
  uint32_t len, cap;
  uint32_t *pos; /* positions of tracked entries by ref; borrowed, or NULL */
  uint64_t seq;  /* the next insertion sequence */
} cohort_heap_t;

/* An empty heap. pos (borrowed, may be NULL when no entry is tracked)
 * must have an element for every ref a tracked entry uses. */
COHORT_INTERNAL void cohort_heap_init(cohort_heap_t *h, uint32_t *pos);
/* Frees the entries (accepts an initialised, never-reserved heap). */
COHORT_INTERNAL void cohort_heap_close(cohort_heap_t *h, const cohort_allocator_t *a);
/* Room for `need` entries in all, at most `max`: 0, COHORT_EFULL (need >
 * max) or COHORT_ENOMEM (state unchanged). Grows by doubling. */
COHORT_INTERNAL int cohort_heap_reserve(cohort_heap_t *h, const cohort_allocator_t *a,
                                        uint64_t need, uint32_t max);
/* Insert (time, next seq, ref, kind); room must have been reserved. */
COHORT_INTERNAL void cohort_heap_push(cohort_heap_t *h, int64_t time, uint32_t ref,
                                      uint32_t kind);
/* Remove and return the least entry; the heap must not be empty. */
COHORT_INTERNAL cohort_heap_entry_t cohort_heap_pop(cohort_heap_t *h);
/* Remove the entry at position i (< len). */
COHORT_INTERNAL void cohort_heap_remove(cohort_heap_t *h, uint32_t i);
/* Give the entry at position i a new time and a fresh seq, as if it were
 * removed and pushed again (same order as remove + push, without the
 * room that needs). */
COHORT_INTERNAL void cohort_heap_rekey(cohort_heap_t *h, uint32_t i, int64_t time);

static inline bool cohort_heap_empty(const cohort_heap_t *h) { return h->len == 0; }
/* The least entry; the heap must not be empty. */
static inline const cohort_heap_entry_t *cohort_heap_top(const cohort_heap_t *h) {
  return &h->e[0];
}

#endif
