/*
 * cohort/trace.h — trace records: the one event format both hosts write.
 *
 * A trace is JSON Lines, one event per line, documented field by field in
 * docs/trace-format.md. This header has the writer (used by the node layer
 * and by the simulator for network events) and the reader (used by the
 * checkers, the diagram, the ShiViz export and merge).
 *
 * Invariant: a record written by cohort_trace_format parses back with
 * cohort_trace_parse_line to the same fields (tests pair the two).
 */
#ifndef COHORT_TRACE_H
#define COHORT_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "cohort/clock.h"
#include "cohort/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cohort_ev_type {
  COHORT_EV_SEND = 0,
  COHORT_EV_RECV = 1,    /* accepted by the node and given to a protocol */
  COHORT_EV_DELIVER = 2, /* a protocol handed a message to the application */
  COHORT_EV_DROP = 3,    /* refused by a node, or lost by the network */
  COHORT_EV_TIMER = 4,
  COHORT_EV_STATE = 5,  /* state change: suspect, leader, lock_grant, ... */
  COHORT_EV_TYPE_COUNT
} cohort_ev_type_t;

const char *cohort_ev_type_name(cohort_ev_type_t t);

/* Message identity: (sender, sender incarnation, sender seq). */
typedef struct cohort_msg_id {
  cohort_node_id_t from;
  cohort_incarnation_t inc;
  uint64_t seq;
} cohort_msg_id_t;

/* One event. Strings are borrowed. Optional fields: has_* flags, NULL
 * strings, COHORT_NODE_NONE peers. */
typedef struct cohort_trace_event {
  cohort_ev_type_t type;
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  int64_t local_ns; /* node's physical clock */
  int64_t true_ns;  /* simulator true time / runtime CLOCK_REALTIME */
  bool has_stamps;  /* false for events outside a process (network loss) */
  uint64_t lamport;
  cohort_hlc_ts_t hlc;
  const cohort_vclock_t *vc; /* NULL = not recorded */
  const char *proto;         /* "fd", "mutex", ... */
  const char *kind;          /* message kind name or NULL */
  uint32_t kind_num;
  cohort_node_id_t peer; /* send: destination; recv/drop: source */
  bool has_msg;
  cohort_msg_id_t msg;
  size_t bytes;
  const char *reason;    /* drop: "loss", "partition", "auth", ... */
  const char *what;      /* state: "suspect"; timer: timer name */
  const char *data_json; /* state: a JSON object text, or NULL */
} cohort_trace_event_t;

/* Format one record (no newline) into buf. Returns its length, or
 * COHORT_EFULL if it does not fit (the caller may then retry with a
 * larger buffer; the node truncates data_json and vc instead). */
int cohort_trace_format(const cohort_trace_event_t *ev, char *buf, size_t cap);

/* ---- reading ------------------------------------------------------------ */

/* A parsed event owned by a cohort_trace_t. Strings live in the trace. */
typedef struct cohort_trace_rec {
  cohort_ev_type_t type;
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  int64_t local_ns, true_ns;
  bool has_stamps;
  uint64_t lamport;
  cohort_hlc_ts_t hlc;
  cohort_vc_entry_t *vc; /* sorted by node; NULL if none */
  size_t vc_len;
  const char *proto, *kind, *reason, *what, *data_json;
  uint32_t kind_num;
  cohort_node_id_t peer;
  bool has_msg;
  cohort_msg_id_t msg;
  size_t bytes;
  size_t line; /* 1-based line number in its file */
} cohort_trace_rec_t;

typedef struct cohort_trace {
  cohort_trace_rec_t *recs;
  size_t len, cap;
  /* internal: string and vc storage */
  void *arena;
} cohort_trace_t;

/* Parse one line. On error returns COHORT_EPROTO (COHORT_ENOMEM, or
 * COHORT_EFULL past COHORT_TRACE_RECS_MAX records) and, if err is not NULL,
 * writes a short reason into err (cap errcap). */
int cohort_trace_parse_line(cohort_trace_t *t, const char *line, size_t len,
                            size_t lineno, char *err, size_t errcap);
/* Load a whole JSON Lines file. On error, err says "path:line: reason". */
int cohort_trace_load(cohort_trace_t *t, const char *path, char *err,
                      size_t errcap);
void cohort_trace_init(cohort_trace_t *t);
void cohort_trace_close(cohort_trace_t *t);
/* Stable sort by (true_ns, node, lamport): how merged traces are ordered. */
void cohort_trace_sort(cohort_trace_t *t);

#ifdef __cplusplus
}
#endif
#endif
