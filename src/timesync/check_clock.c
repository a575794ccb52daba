/*
 * src/timesync/check_clock.c — the `clock` trace checker: from the "clock"
 * state events the timesync protocols write (ntp, ptp, cristian; data
 * {"offset_ns", "time", "earliest", "latest", "synced", "hlc_l", ...}) it
 * verifies, per node incarnation,
 *   - the cluster clock is monotonic: time never decreases;
 *   - true time lies in [earliest, latest] at every synchronized sample
 *     (tt is true time in the simulator; `interval=off` skips this for
 *     runtime traces, whose tt is only the machine's own clock);
 *   - the HLC fed by the cluster clock stays within the error bound of true
 *     time: |hlc_l − tt| ≤ latest − earliest.
 * Parameters: skip=IDS (nodes not checked, e.g. a deliberate falseticker),
 * interval=on|off.
 *
 * Invariants: reads only the trace; unsynchronized samples (earliest at
 * INT64_MIN) are checked for monotonicity only; a malformed clock event is
 * itself a violation, never a crash.
 */
#include <string.h>

#include "cohort/check.h"
#include "cohort/trace_util.h"
#include "timesync_internal.h"

typedef struct last {
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  int64_t time;
} last_t;

static bool is_clock_event(const cohort_trace_rec_t *r) {
  return r->type == COHORT_EV_STATE && r->what && !strcmp(r->what, "clock") && r->proto &&
         (!strcmp(r->proto, "ntp") || !strcmp(r->proto, "ptp") || !strcmp(r->proto, "cristian"));
}

static int params(const cohort_param_t *p, size_t n, ts_nodes_t *skip, bool *interval,
                  char *err, size_t errcap) {
  static const char *const known[] = {"skip", "interval", NULL};
  int rc = cohort_param_check_known(p, n, known, "clock", err, errcap);
  const char *v = cohort_param_get(p, n, "skip");
  if (!rc && v) rc = ts_nodes_parse(v, skip, "clock", "skip", err, errcap);
  if (!rc) rc = cohort_param_bool(p, n, "interval", interval, "clock", err, errcap);
  return rc;
}

/* a − b saturated to the int64 range: the times come from a trace file. */
static int64_t sub_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

/* Check one record; `l` is this node's previous sample (or NULL). */
static void check_rec(const cohort_trace_rec_t *r, last_t *l, bool interval,
                      cohort_check_result_t *out) {
  int64_t time, earliest, latest, hlc;
  if (cohort_trace_data_i64(r->data_json, "time", &time) ||
      cohort_trace_data_i64(r->data_json, "earliest", &earliest) ||
      cohort_trace_data_i64(r->data_json, "latest", &latest) ||
      cohort_trace_data_i64(r->data_json, "hlc_l", &hlc)) {
    if (!out->violations++)
      cohort_fmt(out->first, sizeof out->first,
                 "line %zu: node %u: clock event without time/earliest/latest/hlc_l", r->line,
                 r->node);
    return;
  }
  out->checked++;
  if (l && time < l->time && !out->violations++)
    cohort_fmt(out->first, sizeof out->first,
               "line %zu: node %u: cluster clock went backwards by %lld ns", r->line, r->node,
               (long long)sub_sat(l->time, time));
  if (earliest == INT64_MIN) return; /* not synchronized yet */
  if (earliest > latest && !out->violations++)
    cohort_fmt(out->first, sizeof out->first, "line %zu: node %u: earliest > latest", r->line,
               r->node);
  if (interval && (r->true_ns < earliest || r->true_ns > latest) && !out->violations++)
    cohort_fmt(out->first, sizeof out->first,
               "line %zu: node %u: true time %lld outside [%lld, %lld] (%+lld ns from the "
               "interval)", r->line, r->node, (long long)r->true_ns, (long long)earliest,
               (long long)latest,
               (long long)sub_sat(r->true_ns, r->true_ns < earliest ? earliest : latest));
  int64_t d = sub_sat(hlc, r->true_ns), bound = sub_sat(latest, earliest);
  if (d < 0) d = d == INT64_MIN ? INT64_MAX : -d;
  if (interval && d > bound && !out->violations++)
    cohort_fmt(out->first, sizeof out->first,
               "line %zu: node %u: HLC %lld ns from true time, beyond the error bound %lld ns",
               r->line, r->node, (long long)d, (long long)bound);
}

static int clock_run(const cohort_trace_t *t, const cohort_param_t *p, size_t np,
                     cohort_check_result_t *out, char *err, size_t errcap) {
  ts_nodes_t skip = {.len = 0};
  bool interval = true;
  int rc = params(p, np, &skip, &interval, err, errcap);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  /* Last sample per node: a small open table (nodes ≤ COHORT_NODES_MAX). */
  static _Thread_local last_t last[COHORT_NODES_MAX + 1];
  memset(last, 0, sizeof last);
  uint64_t nodes = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!is_clock_event(r) || ts_nodes_has(&skip, r->node) || r->node > COHORT_NODES_MAX)
      continue;
    last_t *l = &last[r->node];
    bool have = l->node == r->node && l->inc == r->inc;
    if (l->node != r->node) nodes++;
    check_rec(r, have ? l : NULL, interval, out);
    int64_t time;
    if (cohort_trace_data_i64(r->data_json, "time", &time) == 0)
      *l = (last_t){.node = r->node, .inc = r->inc, .time = have && l->time > time ? l->time
                                                                                  : time};
  }
  cohort_fmt(out->summary, sizeof out->summary,
             "%llu clock samples from %llu nodes: %llu violations (monotonic, true time in "
             "[earliest, latest]%s, HLC within bound)", (unsigned long long)out->checked,
             (unsigned long long)nodes, (unsigned long long)out->violations,
             interval ? "" : " skipped");
  return 0;
}

const cohort_checker_t cohort_checker_clock = {
    .name = "clock",
    .help = "clock skip=IDS interval=on: cluster clocks monotonic, true time inside "
            "[earliest, latest], HLC within the error bound",
    .run = clock_run,
};
