/*
 * src/coord/election_internal.h — what the shared election core
 * (election.c: wire, epochs, adoption, announcements, the check timer) and
 * the two algorithms (election_bully.c, election_ring.c) share.
 *
 * Invariants kept by the core for both algorithms: `epoch` only grows
 * within an incarnation; leader == EPOCH_LEADER(epoch) whenever leader is
 * not COHORT_NODE_NONE; max_epoch >= epoch; a node announces only while it
 * is the leader of its epoch.
 */
#ifndef COHORT_COORD_ELECTION_INTERNAL_H
#define COHORT_COORD_ELECTION_INTERNAL_H

#include "cohort/election.h"

enum {
  EL_TIMER_CHECK = 1,    /* poll the detector / leader timeout */
  EL_TIMER_ANNOUNCE = 2, /* leader: re-send COORDINATOR */
  EL_TIMER_ELECTION = 3, /* bully: answer / election timeout; ring: lap */
  EL_TIMER_HOP = 4       /* ring: EL_TIMER_HOP + hop slot */
};

/* A decoded payload (proto/election.proto), validated for its kind. */
typedef struct el_msg {
  uint64_t epoch;
  cohort_node_id_t leader;
  uint32_t acked_kind;
  uint64_t max_epoch;
} el_msg_t;

/* ---- core (election.c) --------------------------------------------------- */

COHORT_INTERNAL cohort_node_id_t el_self(const cohort_election_t *e);
COHORT_INTERNAL int64_t el_now(const cohort_election_t *e);
/* Send one message; counts it (or the error). */
COHORT_INTERNAL void el_send(cohort_election_t *e, cohort_node_id_t to, uint32_t kind,
                             const el_msg_t *m);
/* Remember an epoch heard of. */
COHORT_INTERNAL void el_note_epoch(cohort_election_t *e, uint64_t epoch);
/* Does the failure detector suspect `peer` (false without a detector)? */
COHORT_INTERNAL bool el_suspects(const cohort_election_t *e, cohort_node_id_t peer);
/* Adopt `leader` in `epoch` (> e->epoch): trace, upcall, end the election;
 * a leader that adopts another steps down first. */
COHORT_INTERNAL void el_adopt(cohort_election_t *e, cohort_node_id_t leader, uint64_t epoch);
/* This node leads: adopt a fresh epoch above everything heard of. It does
 * not send anything itself: the algorithm announces it (bully: COORDINATOR
 * to every peer; ring: the ELECTED lap, plus a NOTICE to nodes the lap
 * skips), and the periodic announcement repeats it. */
COHORT_INTERNAL void el_declare(cohort_election_t *e);
/* A leader learnt of a newer epoch: it gives up its leadership (leader
 * becomes NONE, upcall); no-op for a follower. */
COHORT_INTERNAL void el_stepdown(cohort_election_t *e, uint64_t newer);
/* A message carried an epoch older than ours: drop, count, trace, and
 * answer with a NOTICE of our epoch. Returns 0 (a counted drop). */
COHORT_INTERNAL int el_stale(cohort_election_t *e, cohort_node_id_t from, uint64_t epoch);
/* Start an election (trace "election", count) through the algorithm. */
COHORT_INTERNAL void el_begin(cohort_election_t *e, const char *reason);
/* The election ended with the same leader confirmed. */
COHORT_INTERNAL void el_confirm(cohort_election_t *e);

/* ---- the algorithms --------------------------------------------------------- */

COHORT_INTERNAL void el_bully_begin(cohort_election_t *e);
COHORT_INTERNAL int el_bully_recv(cohort_election_t *e, const cohort_msg_t *msg,
                                  const el_msg_t *m);
COHORT_INTERNAL void el_bully_timer(cohort_election_t *e, uint32_t timer_id);
/* A leader announcement or notice of `epoch` from a node of lower id. */
COHORT_INTERNAL void el_bully_newer(cohort_election_t *e, uint64_t epoch);

COHORT_INTERNAL void el_ring_begin(cohort_election_t *e);
COHORT_INTERNAL int el_ring_recv(cohort_election_t *e, const cohort_msg_t *msg,
                                 const el_msg_t *m);
COHORT_INTERNAL void el_ring_timer(cohort_election_t *e, uint32_t timer_id);

#endif
