/*
 * src/sim/budget.c — the simulator's budgets (cohort/sim.h, "Budgets"):
 * events processed, bytes of memory held through the simulator's
 * allocator, and bytes of trace written. A scenario whose values are
 * valid but explode (interval=1ns, crash-mtbf=1ns, 1024 nodes for ten
 * years) stops with an error naming the budget instead of running for
 * ever, exhausting memory or filling the disk.
 *
 * Memory is counted by an allocator that wraps the caller's: every block
 * carries a 16-byte header holding its size, so frees and reallocations
 * are counted exactly; an allocation that would pass the budget is
 * refused (the caller sees an allocation failure, which every protocol
 * handles) and the budget is marked exhausted, so the run loop stops at
 * the end of the event.
 *
 * Invariants: bytes == the sum of the sizes of the live blocks; bytes
 * never exceeds max; the first budget to run out is the one reported.
 */
#include <string.h>

#include "sim_internal.h"

#define HEADER 16u /* keeps the caller's blocks 16-byte aligned */

void sim_budget_exhaust(sim_budget_t *b, const char *which, uint64_t limit) {
  if (b->exhausted) return;
  b->exhausted = which;
  b->limit = limit;
}

static void *budget_realloc(void *ud, void *ptr, size_t size) {
  sim_budget_t *b = ud;
  uint8_t *base = ptr ? (uint8_t *)ptr - HEADER : NULL;
  uint64_t old = 0;
  if (base) memcpy(&old, base, sizeof old);
  if (size == 0) {
    b->mem_bytes -= old;
    cohort_free(b->user, base);
    return NULL;
  }
  if (size > SIZE_MAX - HEADER) return NULL;
  if (size > old && b->mem_bytes + (size - old) > b->mem_max) {
    sim_budget_exhaust(b, "memory", b->mem_max);
    return NULL;
  }
  uint8_t *nb = cohort_realloc(b->user, base, size + HEADER);
  if (!nb) return NULL;
  uint64_t now = size;
  memcpy(nb, &now, sizeof now);
  b->mem_bytes = b->mem_bytes - old + now;
  if (b->mem_bytes > b->mem_peak) b->mem_peak = b->mem_bytes;
  return nb + HEADER;
}

void sim_budget_init(sim_budget_t *b, const cohort_allocator_t *user, uint64_t max_events,
                     uint64_t max_memory_bytes, uint64_t max_trace_bytes) {
  memset(b, 0, sizeof *b);
  b->user = user;
  b->alloc.realloc = budget_realloc;
  b->alloc.ud = b;
  b->events_max = max_events ? max_events : COHORT_SIM_EVENTS_BUDGET;
  b->mem_max = max_memory_bytes ? max_memory_bytes : COHORT_SIM_MEMORY_BUDGET;
  b->trace_max = max_trace_bytes ? max_trace_bytes : COHORT_SIM_TRACE_BUDGET;
}

int sim_budget_message(const sim_budget_t *b, char *buf, size_t cap) {
  if (!b->exhausted) return 0;
  static const struct {
    const char *which, *unit, *flag;
  } names[] = {{"events", "events", "--max-events"},
               {"memory", "bytes of memory", "--max-memory"},
               {"trace", "bytes of trace", "--max-trace"}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(names); i++)
    if (!strcmp(names[i].which, b->exhausted))
      return cohort_fmt(buf, cap, "%s budget exhausted (%llu %s); raise it with %s",
                        b->exhausted, (unsigned long long)b->limit, names[i].unit,
                        names[i].flag);
  return cohort_fmt(buf, cap, "%s budget exhausted", b->exhausted);
}
