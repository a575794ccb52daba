/*
 * cohort/heap.h — the one event queue of the hosts: a d-ary min-heap (d =
 * COHORT_HEAP_ARITY, 2) of small value entries ordered by (time, insertion
 * sequence), shared by the
 * node layer's timers (src/core/node.c), the runtime's delayed datagrams
 * (src/runtime/runtime.c) and the simulator's event queue (src/sim/sim.c).
 * Not an application API: the hosts' shared machinery, like cohort/prng.h.
 *
 * Why this shape (docs/simulator.md, "Cost model"): this heap at d = 2, 4
 * and 8, a pairing heap and a calendar queue were measured on the
 * simulator's workload (`cohort bench sim --queues`). The calendar queue
 * is fastest in the synthetic hold model, most at large queues, but needs
 * width and resize heuristics, has an O(n) worst case and makes removal
 * of tracked entries costly; end to end, the queue is under a tenth of a
 * simulated event's cost and d = 2, 4, 8 are within noise of each other.
 * The binary heap was the fastest heap at 4096 and 65536 pending and
 * even at 128: O(log n) always, no pointers, no allocation once sized.
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

/* ---- the hot operations, inline so each host's loop is specialised -------- */

#ifndef COHORT_HEAP_ARITY
#define COHORT_HEAP_ARITY 2
#endif

static inline bool cohort_heap_less_(const cohort_heap_entry_t *a,
                                     const cohort_heap_entry_t *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline void cohort_heap_place_(cohort_heap_t *h, uint32_t i,
                                      const cohort_heap_entry_t *x) {
  h->e[i] = *x;
  if (x->kind & COHORT_HEAP_TRACKED) h->pos[x->ref] = i;
}

/* "Hole" sifting with arity d (a constant at every call, so it folds):
 * x is written once where it lands, each displaced entry once. */
static inline void cohort_heap_up_(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x,
                                   uint32_t d) {
  while (i > 0) {
    uint32_t parent = (i - 1) / d;
    if (!cohort_heap_less_(&x, &h->e[parent])) break;
    cohort_heap_place_(h, i, &h->e[parent]);
    i = parent;
  }
  cohort_heap_place_(h, i, &x);
}

static inline void cohort_heap_down_(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x,
                                     uint32_t d) {
  for (;;) {
    uint64_t first = (uint64_t)d * i + 1;
    if (first >= h->len) break;
    uint32_t c = (uint32_t)first;
    uint32_t end = first + d < h->len ? (uint32_t)first + d : h->len;
    for (uint32_t k = c + 1; k < end; k++)
      if (cohort_heap_less_(&h->e[k], &h->e[c])) c = k;
    if (!cohort_heap_less_(&h->e[c], &x)) break;
    cohort_heap_place_(h, i, &h->e[c]);
    i = c;
  }
  cohort_heap_place_(h, i, &x);
}

static inline void cohort_heap_settle_(cohort_heap_t *h, uint32_t i, cohort_heap_entry_t x,
                                       uint32_t d) {
  if (i > 0 && cohort_heap_less_(&x, &h->e[(i - 1) / d])) cohort_heap_up_(h, i, x, d);
  else cohort_heap_down_(h, i, x, d);
}

static inline void cohort_heap_untrack_(cohort_heap_t *h, const cohort_heap_entry_t *x) {
  if (x->kind & COHORT_HEAP_TRACKED) h->pos[x->ref] = COHORT_HEAP_NONE;
}

/* The operations for arity d; the hosts use the COHORT_HEAP_ARITY ones
 * below, `cohort bench sim --queues` measures others. */
static inline void cohort_heap_push_d(cohort_heap_t *h, int64_t time, uint32_t ref,
                                      uint32_t kind, uint32_t d) {
  COHORT_ASSERT(h->len < h->cap);
  COHORT_DEBUG_ASSERT(!(kind & COHORT_HEAP_TRACKED) || h->pos);
  cohort_heap_entry_t x = {time, h->seq++, ref, kind};
  cohort_heap_up_(h, h->len++, x, d);
}

static inline cohort_heap_entry_t cohort_heap_pop_d(cohort_heap_t *h, uint32_t d) {
  COHORT_ASSERT(h->len > 0);
  cohort_heap_entry_t top = h->e[0];
  uint32_t last = --h->len;
  if (last > 0) cohort_heap_down_(h, 0, h->e[last], d);
  cohort_heap_untrack_(h, &top);
  return top;
}

/* Insert (time, next seq, ref, kind); room must have been reserved. */
static inline void cohort_heap_push(cohort_heap_t *h, int64_t time, uint32_t ref,
                                    uint32_t kind) {
  cohort_heap_push_d(h, time, ref, kind, COHORT_HEAP_ARITY);
}

/* Remove and return the least entry; the heap must not be empty. */
static inline cohort_heap_entry_t cohort_heap_pop(cohort_heap_t *h) {
  return cohort_heap_pop_d(h, COHORT_HEAP_ARITY);
}

/* Remove the entry at position i (< len). */
static inline void cohort_heap_remove(cohort_heap_t *h, uint32_t i) {
  COHORT_ASSERT(i < h->len);
  cohort_heap_entry_t gone = h->e[i];
  uint32_t last = --h->len;
  if (i != last) cohort_heap_settle_(h, i, h->e[last], COHORT_HEAP_ARITY);
  cohort_heap_untrack_(h, &gone);
}

/* Give the entry at position i a new time and a fresh seq: the same order
 * as remove + push, without needing room. */
static inline void cohort_heap_rekey(cohort_heap_t *h, uint32_t i, int64_t time) {
  COHORT_ASSERT(i < h->len);
  cohort_heap_entry_t x = h->e[i];
  x.time = time;
  x.seq = h->seq++;
  cohort_heap_settle_(h, i, x, COHORT_HEAP_ARITY);
}

static inline bool cohort_heap_empty(const cohort_heap_t *h) { return h->len == 0; }
/* The least entry; the heap must not be empty. */
static inline const cohort_heap_entry_t *cohort_heap_top(const cohort_heap_t *h) {
  return &h->e[0];
}

#endif
