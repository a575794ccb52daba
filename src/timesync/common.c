/*
 * src/timesync/common.c — the shared head of the node-hosted timesync
 * protocols (timesync_internal.h): parameters, start, the reference role,
 * updates of the cluster clock and the "clock" trace events the clock
 * checker (check_clock.c) reads.
 *
 * Invariants: time is read only through the node (monotonic clock as the
 * oscillator, the wall clock only to start and for references); the trace
 * data of a "clock" event always has offset_ns, time, earliest, latest,
 * synced and hlc_l, in that order.
 */
#include <stdlib.h>
#include <string.h>

#include "timesync_internal.h"

bool ts_nodes_has(const ts_nodes_t *s, cohort_node_id_t id) {
  for (size_t i = 0; i < s->len; i++)
    if (s->ids[i] == id) return true;
  return false;
}

static int nodes_fail(const char *who, const char *key, const char *s, const char *why,
                      char *err, size_t errcap) {
  if (err) cohort_fmt(err, errcap, "%s: %s: %s: '%s'", who, key, why, s);
  return COHORT_EINVAL;
}

int ts_nodes_parse(const char *s, ts_nodes_t *out, const char *who, const char *key,
                   char *err, size_t errcap) {
  ts_nodes_t r = {.len = 0};
  const char *c = s;
  if (!*c) return nodes_fail(who, key, s, "empty node list", err, errcap);
  while (*c) {
    char *end;
    if (*c < '0' || *c > '9') return nodes_fail(who, key, s, "expected e.g. 2,3,5-7", err, errcap);
    unsigned long lo = strtoul(c, &end, 10), hi = lo;
    if (*end == '-') {
      c = end + 1;
      if (*c < '0' || *c > '9') return nodes_fail(who, key, s, "bad range", err, errcap);
      hi = strtoul(c, &end, 10);
    }
    if (lo < 1 || hi < lo || hi > COHORT_NODES_MAX)
      return nodes_fail(who, key, s, "node ids must be 1..1024, ranges ascending", err, errcap);
    for (unsigned long i = lo; i <= hi; i++) {
      if (r.len == COHORT_NTP_PEERS_MAX)
        return nodes_fail(who, key, s, "too many nodes (COHORT_NTP_PEERS_MAX)", err, errcap);
      if (!ts_nodes_has(&r, (cohort_node_id_t)i)) r.ids[r.len++] = (cohort_node_id_t)i;
    }
    if (*end == ',') end++;
    else if (*end) return nodes_fail(who, key, s, "expected ',' between ids", err, errcap);
    c = end;
  }
  *out = r;
  return 0;
}

int ts_base_params(ts_base_t *b, const cohort_param_t *p, size_t n, const char *who,
                   char *err, size_t errcap) {
  cohort_cluster_clock_config_default(&b->clock_cfg);
  b->sample_ns = COHORT_NS_PER_S;
  b->ref_error_ns = 1000;
  double drift_ppm = (double)b->clock_cfg.drift_bound_ppb / 1000.0;
  double slew_ppm = (double)b->clock_cfg.max_slew_ppb / 1000.0;
  int rc = cohort_param_duration(p, n, "step", &b->clock_cfg.step_threshold_ns, who, err,
                                 errcap);
  if (!rc) rc = cohort_param_duration(p, n, "sample", &b->sample_ns, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "ref_error", &b->ref_error_ns, who, err, errcap);
  if (!rc) rc = cohort_param_double(p, n, "drift_bound_ppm", &drift_ppm, who, err, errcap);
  if (!rc) rc = cohort_param_double(p, n, "slew_ppm", &slew_ppm, who, err, errcap);
  if (!rc) rc = cohort_param_double(p, n, "phase_gain", &b->clock_cfg.phase_gain, who, err,
                                    errcap);
  if (!rc) rc = cohort_param_double(p, n, "freq_gain", &b->clock_cfg.freq_gain, who, err,
                                    errcap);
  if (rc) return rc;
  if (!(drift_ppm >= 0 && drift_ppm <= 10000) || !(slew_ppm > 0 && slew_ppm <= 100000)) {
    if (err) cohort_fmt(err, errcap, "%s: drift_bound_ppm must be 0..10000, slew_ppm "
                        "0..100000", who);
    return COHORT_EINVAL;
  }
  b->clock_cfg.drift_bound_ppb = (int64_t)(drift_ppm * 1000.0);
  b->clock_cfg.max_slew_ppb = (int64_t)(slew_ppm * 1000.0);
  cohort_cluster_clock_t probe;
  if (cohort_cluster_clock_init(&probe, &b->clock_cfg, 0, 0) || b->sample_ns < 0 ||
      b->ref_error_ns < 0) {
    if (err) cohort_fmt(err, errcap, "%s: bad clock parameters (gains in (0, 1], "
                        "durations ≥ 0)", who);
    return COHORT_EINVAL;
  }
  return 0;
}

int64_t ts_local(ts_base_t *b) { return cohort_node_now(b->proto.node); }

int64_t ts_est(ts_base_t *b) {
  return cohort_cluster_clock_estimate(&b->clock, ts_local(b));
}

void ts_ref_sync(ts_base_t *b) {
  cohort_node_t *n = b->proto.node;
  cohort_cluster_clock_set(&b->clock, cohort_node_now(n), cohort_node_wall(n),
                           b->ref_error_ns);
}

void ts_base_start(ts_base_t *b) {
  cohort_node_t *n = b->proto.node;
  (void)cohort_cluster_clock_init(&b->clock, &b->clock_cfg, cohort_node_now(n),
                                  cohort_node_wall(n));
  cohort_hlc_init(&b->hlc, 0);
  b->stats.master = COHORT_NODE_NONE;
  if (b->is_ref) ts_ref_sync(b);
  if (b->sample_ns > 0)
    (void)cohort_node_timer_set(n, &b->proto, TS_TIMER_SAMPLE,
                                cohort_node_now(n) + b->sample_ns);
}

void ts_trace_clock(ts_base_t *b, int64_t offset_ns, int stratum) {
  cohort_node_t *n = b->proto.node;
  int64_t local = cohort_node_now(n);
  cohort_time_t t = cohort_cluster_clock_now(&b->clock, local);
  cohort_hlc_ts_t h = cohort_hlc_now(&b->hlc, t.time_ns);
  if (!cohort_node_tracing(n)) return;
  char data[256];
  cohort_fmt(data, sizeof data,
             "{\"offset_ns\":%lld,\"time\":%lld,\"earliest\":%lld,\"latest\":%lld,"
             "\"synced\":%s,\"hlc_l\":%lld,\"stratum\":%d}",
             (long long)offset_ns, (long long)t.time_ns, (long long)t.earliest_ns,
             (long long)t.latest_ns, t.synchronized ? "true" : "false", (long long)h.l,
             stratum);
  cohort_node_trace_state(n, &b->proto, "clock", data);
}

cohort_clock_update_t ts_update(ts_base_t *b, int64_t offset_ns, int64_t distance_ns,
                                int64_t measured_ns, int64_t interval_ns) {
  cohort_clock_update_t u = {0};
  cohort_clock_sample_t s = {.offset_ns = offset_ns, .distance_ns = distance_ns,
                             .measured_ns = measured_ns, .interval_ns = interval_ns};
  if (cohort_cluster_clock_update(&b->clock, ts_local(b), &s, &u) == 0) {
    b->stats.updates++;
    if (u.stepped) b->stats.steps++;
  }
  return u;
}

bool ts_base_timer(ts_base_t *b, uint32_t timer_id) {
  if (timer_id != TS_TIMER_SAMPLE) return false;
  cohort_node_t *n = b->proto.node;
  if (b->is_ref) ts_ref_sync(b);
  ts_trace_clock(b, 0, -1);
  (void)cohort_node_timer_set(n, &b->proto, TS_TIMER_SAMPLE, cohort_node_now(n) + b->sample_ns);
  return true;
}

cohort_cluster_clock_t *cohort_timesync_clock(cohort_proto_t *p) {
  return &((ts_base_t *)p)->clock;
}

void cohort_timesync_stats(cohort_proto_t *p, cohort_timesync_stats_t *out) {
  *out = ((ts_base_t *)p)->stats;
}
