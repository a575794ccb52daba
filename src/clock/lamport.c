/*
 * src/clock/lamport.c — Lamport clocks (Lamport 1978): one counter per
 * process, incremented on every event and raised past any stamp received.
 *
 * Invariants: the counter never decreases; every tick and every receive
 * returns a value strictly greater than the previous one, so a → b implies
 * L(a) < L(b) — except at the saturation point COHORT_LAMPORT_MAX (2^62),
 * where the clock sticks instead of growing on. No honest run gets there
 * (2^62 events); a hostile stamp can push a clock there, and then the node
 * layer's one rule (refuse remote stamps above COHORT_LAMPORT_MAX) still
 * accepts everything the pushed node sends: it is never locked out, its
 * stamps only stop increasing (which the causality checker reports).
 */
#include "cohort/clock.h"

/* x + 1 without wrapping. */
static uint64_t lamport_succ(uint64_t x) {
  return x >= COHORT_LAMPORT_MAX ? COHORT_LAMPORT_MAX : x + 1;
}

uint64_t cohort_lamport_tick(cohort_lamport_t *c) {
  c->time = lamport_succ(c->time);
  return c->time;
}

uint64_t cohort_lamport_recv(cohort_lamport_t *c, uint64_t remote) {
  uint64_t m = c->time > remote ? c->time : remote;
  c->time = lamport_succ(m);
  return c->time;
}

int cohort_lamport_compare(uint64_t ta, cohort_node_id_t na, uint64_t tb,
                           cohort_node_id_t nb) {
  if (ta != tb) return ta < tb ? -1 : 1;
  if (na != nb) return na < nb ? -1 : 1;
  return 0;
}
