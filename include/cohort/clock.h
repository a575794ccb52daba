/*
 * cohort/clock.h — logical time as plain value types: Lamport clocks,
 * vector clocks (sparse, growing as nodes appear), hybrid logical clocks
 * (Kulkarni et al. 2014) and matrix clocks.
 *
 * None of these read a clock or allocate behind the caller's back: the
 * physical time an HLC needs is passed in, and the vector and matrix
 * clocks allocate only through the allocator given at init, returning
 * COHORT_ENOMEM (state unchanged) when it fails.
 *
 * Guarantees (checked by property tests over simulated executions):
 *   a → b  ⇒  lamport(a) < lamport(b)
 *   a → b  ⇔  vc(a) < vc(b)
 *   a → b  ⇒  hlc(a) < hlc(b), and hlc.l − pt ≤ max offset
 */
#ifndef COHORT_CLOCK_H
#define COHORT_CLOCK_H

#include <stdbool.h>

#include "cohort/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lamport -------------------------------------------------------- */

typedef struct cohort_lamport {
  uint64_t time; /* starts at 0 */
} cohort_lamport_t;

/* Local event or send: time += 1; returns the new time. */
uint64_t cohort_lamport_tick(cohort_lamport_t *c);
/* Receive of a message stamped `remote`: time = max(time, remote) + 1. */
uint64_t cohort_lamport_recv(cohort_lamport_t *c, uint64_t remote);
/* Total order on (time, node): negative, 0 or positive. */
int cohort_lamport_compare(uint64_t ta, cohort_node_id_t na, uint64_t tb,
                           cohort_node_id_t nb);

/* ---- vector clocks ---------------------------------------------------- */

typedef struct cohort_vc_entry {
  cohort_node_id_t node;
  uint64_t counter;         /* never 0 inside a clock: absent means 0 */
  cohort_incarnation_t inc; /* the node's incarnation: one process per
                               (node, inc); 0 for plain value-type use */
} cohort_vc_entry_t;

/* Sparse vector clock over processes: entries sorted by (node, inc), only
 * processes heard of. A restarted node is a new process (the guide's
 * reincarnation rule): its events get an entry of their own, so events of
 * its earlier and later incarnations stay comparable. */
typedef struct cohort_vclock {
  cohort_vc_entry_t *entries;
  size_t len, cap;
  const cohort_allocator_t *alloc;
} cohort_vclock_t;

typedef enum cohort_order {
  COHORT_ORDER_EQUAL = 0,
  COHORT_ORDER_BEFORE = 1, /* a happened before b */
  COHORT_ORDER_AFTER = 2,  /* b happened before a */
  COHORT_ORDER_CONCURRENT = 3
} cohort_order_t;

void cohort_vclock_init(cohort_vclock_t *vc, const cohort_allocator_t *a);
void cohort_vclock_close(cohort_vclock_t *vc); /* accepts NULL */
/* Counter of process (node, inc) (0 if absent). */
uint64_t cohort_vclock_get(const cohort_vclock_t *vc, cohort_node_id_t node,
                           cohort_incarnation_t inc);
/* Set a process's counter (0 removes). COHORT_ENOMEM / COHORT_EFULL. */
int cohort_vclock_set(cohort_vclock_t *vc, cohort_node_id_t node,
                      cohort_incarnation_t inc, uint64_t counter);
/* Local event or send at process (self, inc): vc[self,inc] += 1. */
int cohort_vclock_tick(cohort_vclock_t *vc, cohort_node_id_t self,
                       cohort_incarnation_t inc);
/* vc[k] = max(vc[k], other[k]) for all k. Atomic: on error unchanged. */
int cohort_vclock_merge(cohort_vclock_t *vc, const cohort_vclock_t *other);
/* Merge entries given as an array (e.g. straight from an envelope); the
 * array need not be sorted; duplicate processes take the max. */
int cohort_vclock_merge_entries(cohort_vclock_t *vc,
                                const cohort_vc_entry_t *e, size_t len);
/* dst = src (dst initialised). */
int cohort_vclock_copy(cohort_vclock_t *dst, const cohort_vclock_t *src);
cohort_order_t cohort_vclock_compare(const cohort_vclock_t *a,
                                     const cohort_vclock_t *b);
/* Bytes cohort_vclock_encode may need for vc. */
size_t cohort_vclock_encoded_max(const cohort_vclock_t *vc);
/* Compact binary encoding (varints); returns bytes written or
 * COHORT_EFULL if cap is too small. */
int cohort_vclock_encode(const cohort_vclock_t *vc, uint8_t *buf, size_t cap);
/* Decode into an initialised clock (replacing its contents). Returns bytes
 * consumed, COHORT_EPROTO for malformed input (unsorted, zero counter,
 * truncated, too many entries) or COHORT_ENOMEM if the clock must grow. */
int cohort_vclock_decode(cohort_vclock_t *vc, const uint8_t *buf, size_t len);

/* ---- hybrid logical clocks -------------------------------------------- */

typedef struct cohort_hlc_ts {
  int64_t l;  /* ns since the Unix epoch, the largest physical time seen */
  uint32_t c; /* events at the same l */
} cohort_hlc_ts_t;

typedef struct cohort_hlc {
  cohort_hlc_ts_t last;
  int64_t max_offset_ns; /* refuse remote stamps further ahead than this */
} cohort_hlc_t;

void cohort_hlc_init(cohort_hlc_t *h, int64_t max_offset_ns);
/* Local or send event at physical time pt; returns the new stamp. */
cohort_hlc_ts_t cohort_hlc_now(cohort_hlc_t *h, int64_t pt);
/* Receive event. If remote.l − pt > max_offset_ns the stamp is refused:
 * returns COHORT_ECLOCK and the clock is unchanged. Else 0 and *out. */
int cohort_hlc_recv(cohort_hlc_t *h, int64_t pt, cohort_hlc_ts_t remote,
                    cohort_hlc_ts_t *out);
int cohort_hlc_compare(cohort_hlc_ts_t a, cohort_hlc_ts_t b);

/* ---- matrix clocks ---------------------------------------------------- */

/* Row k is this node's knowledge of node k's vector clock; row self is
 * its own vector clock. min over rows of M[·][j] is what every node is
 * known to know of j's events ("common knowledge": safe to discard). */
typedef struct cohort_mclock {
  cohort_node_id_t self;
  cohort_node_id_t *nodes; /* sorted; rows[i] belongs to nodes[i] */
  cohort_vclock_t *rows;
  size_t len, cap;
  const cohort_allocator_t *alloc;
} cohort_mclock_t;

int cohort_mclock_init(cohort_mclock_t *m, cohort_node_id_t self,
                       const cohort_allocator_t *a);
void cohort_mclock_close(cohort_mclock_t *m);
/* Local event / send: own row ticks. */
int cohort_mclock_tick(cohort_mclock_t *m);
/* Receive a matrix from `from`: merge every row, then own row merges the
 * sender's row, then tick. */
int cohort_mclock_recv(cohort_mclock_t *m, cohort_node_id_t from,
                       const cohort_mclock_t *remote);
/* This node's knowledge of what `who` knows of `about`'s events. */
uint64_t cohort_mclock_get(const cohort_mclock_t *m, cohort_node_id_t who,
                           cohort_node_id_t about);
/* min over every known node k of M[k][about]: events of `about` that
 * every node is known to have seen. */
uint64_t cohort_mclock_min_known(const cohort_mclock_t *m,
                                 cohort_node_id_t about);

#ifdef __cplusplus
}
#endif
#endif
