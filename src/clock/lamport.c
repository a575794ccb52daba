/*
 * src/clock/lamport.c — Lamport clocks (Lamport 1978): one counter per
 * process, incremented on every event and raised past any stamp received.
 *
 * Invariants: the counter never decreases; every tick and every receive
 * returns a value strictly greater than the previous one, so a → b implies
 * L(a) < L(b) — except at the saturation point UINT64_MAX, where the clock
 * sticks instead of wrapping to 0 (a wrap would silently break causality;
 * a peer stamping near 2^64 is hostile and the node layer should refuse it).
 */
#include "cohort/clock.h"

/* x + 1 without wrapping. */
static uint64_t lamport_succ(uint64_t x) {
  return x == UINT64_MAX ? x : x + 1;
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
