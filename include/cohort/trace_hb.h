/*
 * cohort/trace_hb.h — the happened-before relation of a trace, rebuilt
 * from the trace's structure alone (never from its recorded stamps): the
 * causality checker, the ShiViz export and the diagram's logical axis use
 * it.
 *
 * A process is one (node, incarnation) pair; its events are the records
 * with stamps (has_stamps) other than drops (a refusal moves no clock), in
 * trace order. Network events without stamps (a loss written by the
 * simulator) belong to no process. Message edges join a send to every
 * recv / deliver carrying the same msg id (the send addressed to the
 * receiving node if there are several). No edge links a node's
 * incarnations: a restarted node is a new process that lost its volatile
 * state, and what it kept in stable storage shows through its own
 * messages (src/trace/hb.c). A message edge that would close a cycle (a
 * receive that precedes its own send in causal order: impossible in a
 * real run) is dropped and counted in `broken`, so the relation is always
 * a DAG.
 */
#ifndef COHORT_TRACE_HB_H
#define COHORT_TRACE_HB_H

#include "cohort/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COHORT_HB_NONE UINT32_MAX

typedef struct cohort_hb_proc {
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  uint32_t first; /* its events: proc_events[first .. first + len) */
  uint32_t len;
  uint32_t prev_inc; /* the node's previous incarnation (a process), or NONE */
} cohort_hb_proc_t;

typedef struct cohort_hb {
  const cohort_allocator_t *alloc;
  size_t nrec;
  size_t nproc;
  cohort_hb_proc_t *procs; /* ordered by (node, inc) */
  uint32_t *proc_of;       /* per record: process, or COHORT_HB_NONE */
  uint32_t *pos;           /* per record: 0-based position in its process */
  uint32_t *proc_events;   /* record indices grouped by process, in order */
  uint32_t *send_of;       /* per record: matching send, or COHORT_HB_NONE */
  uint32_t *topo;          /* process events in a topological order */
  size_t ntopo;
  size_t broken;           /* message edges dropped to break cycles */
  uint32_t first_broken;   /* receiver of the first dropped edge, or NONE */
  size_t matched;          /* recv/deliver records with a matching send */
} cohort_hb_t;

/* Build the relation for `t` (records in any order; sorted traces give a
 * topological order close to trace order). COHORT_ENOMEM, or COHORT_EFULL
 * when the trace exceeds COHORT_TRACE_RECS_MAX. `a` may be NULL (default
 * allocator). hb is written only on success. */
int cohort_hb_build(cohort_hb_t *hb, const cohort_trace_t *t,
                    const cohort_allocator_t *a);
void cohort_hb_close(cohort_hb_t *hb); /* accepts NULL and zeroed */

/* Visit every process event in topological order with its exact vector
 * timestamp: vec[p] = number of events of process p that happened before
 * or are the event (so vec[proc_of[rec]] = pos[rec] + 1). vec is valid
 * during the call only. A non-zero return from cb stops the walk and is
 * returned. COHORT_ENOMEM, COHORT_EFULL (COHORT_TRACE_VC_CELLS_MAX). */
int cohort_hb_walk(const cohort_hb_t *hb,
                   int (*cb)(void *ctx, size_t rec, const uint32_t *vec),
                   void *ctx);

/* Index of the process (node, inc), or COHORT_HB_NONE. */
uint32_t cohort_hb_proc_find(const cohort_hb_t *hb, cohort_node_id_t node,
                             cohort_incarnation_t inc);

#ifdef __cplusplus
}
#endif
#endif
