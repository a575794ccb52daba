/*
 * src/timesync/timesync_internal.h — what the three node-hosted timesync
 * protocols (ntp_proto.c, ptp.c, cristian.c) share: a common head with the
 * cluster clock each disciplines, its counters, the HLC fed by it, the
 * reference-clock role, and helpers for node lists and "clock" traces.
 *
 * Invariant: every protocol struct starts with ts_base_t, which starts with
 * cohort_proto_t, so a cohort_proto_t * of any of them is a ts_base_t *.
 */
#ifndef COHORT_TIMESYNC_INTERNAL_H
#define COHORT_TIMESYNC_INTERNAL_H

#include "cohort/node.h"
#include "cohort/timesync.h"

/* Timer id of the periodic clock sample trace (protocol timers are below). */
#define TS_TIMER_SAMPLE 0xffff0000u

typedef struct ts_base {
  cohort_proto_t proto; /* first */
  cohort_cluster_clock_t clock;
  cohort_hlc_t hlc;
  cohort_timesync_stats_t stats;
  int64_t sample_ns;     /* clock trace period; 0 = only at updates */
  bool is_ref;           /* a reference clock: its wall clock is true time */
  int64_t ref_error_ns;  /* what a reference claims as its error bound */
  cohort_cluster_clock_config_t clock_cfg;
} ts_base_t;

/* A set of node ids, parsed from "2,3,5-7" (bounded by COHORT_NODES_MAX). */
typedef struct ts_nodes {
  cohort_node_id_t ids[COHORT_NTP_PEERS_MAX];
  size_t len;
} ts_nodes_t;

/* Parse "2,3,5-7" into `out` (at most COHORT_NTP_PEERS_MAX ids, each ≥ 1).
 * COHORT_EINVAL with a message naming `who` and `key`. */
COHORT_INTERNAL int ts_nodes_parse(const char *s, ts_nodes_t *out, const char *who,
                                   const char *key, char *err, size_t errcap);
COHORT_INTERNAL bool ts_nodes_has(const ts_nodes_t *s, cohort_node_id_t id);

/* The common parameters: step, slew, drift_bound, sample, ref_error. */
COHORT_INTERNAL int ts_base_params(ts_base_t *b, const cohort_param_t *p, size_t n,
                                   const char *who, char *err, size_t errcap);
/* Start: the cluster clock free-runs from the node's wall clock; a
 * reference sets itself at once. Arms the sample timer. */
COHORT_INTERNAL void ts_base_start(ts_base_t *b);
/* The oscillator (node monotonic clock) and the best estimate on it. */
COHORT_INTERNAL int64_t ts_local(ts_base_t *b);
COHORT_INTERNAL int64_t ts_est(ts_base_t *b);
/* A reference re-reads its wall clock (true time by definition). */
COHORT_INTERNAL void ts_ref_sync(ts_base_t *b);
/* Feed one measured offset (taken at oscillator time measured_ns) to the
 * clock; counts. Returns the update (applied, stepped). */
COHORT_INTERNAL cohort_clock_update_t ts_update(ts_base_t *b, int64_t offset_ns,
                                                int64_t distance_ns, int64_t measured_ns,
                                                int64_t interval_ns);
/* Trace a "clock" state event: the reading now, with offset and stratum. */
COHORT_INTERNAL void ts_trace_clock(ts_base_t *b, int64_t offset_ns, int stratum);
/* Handle TS_TIMER_SAMPLE; returns true if it was that timer. */
COHORT_INTERNAL bool ts_base_timer(ts_base_t *b, uint32_t timer_id);

#endif
