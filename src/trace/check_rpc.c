/*
 * src/trace/check_rpc.c — the `rpc-once` checker (issue 12): RPC calls as
 * a client records them. Each call is a state event what="rpc_start" with
 * data {"call":ID} (optionally "deadline_ns": absolute, on the node's
 * local clock) and one what="rpc_done" with data {"call":ID,"code":C}.
 * Checked, per node: no call completes twice; no completion without a
 * start; with a deadline, the completion comes no later than deadline +
 * slack (default 50ms) by the node's clock; with complete=true (the
 * default), every started call completes before the trace ends (no call
 * stalls for ever in a run whose faults end).
 *
 * Starts and completions are sorted by (node, call, line), so the checker
 * needs O(calls) memory and O(n log n) time.
 */
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_util.h"

typedef struct rpc_ev {
  uint32_t node;
  int64_t call;
  size_t idx;
  bool done;
} rpc_ev_t;

static int ev_cmp(const void *x, const void *y) {
  const rpc_ev_t *a = x, *b = y;
  if (a->node != b->node) return a->node < b->node ? -1 : 1;
  if (a->call != b->call) return a->call < b->call ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool is_state(const cohort_trace_rec_t *r, const char *what) {
  return r->type == COHORT_EV_STATE && r->what && !strcmp(r->what, what);
}

/* Collect rpc_start / rpc_done records with a call id. */
static rpc_ev_t *collect(const cohort_trace_t *t, size_t *n_out) {
  size_t n = 0;
  rpc_ev_t *ev = malloc((t->len ? t->len : 1) * sizeof *ev);
  if (!ev) return NULL;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    bool done = is_state(r, "rpc_done");
    int64_t call;
    if (!done && !is_state(r, "rpc_start")) continue;
    if (cohort_trace_data_i64(r->data_json, "call", &call) != 0) continue;
    ev[n++] = (rpc_ev_t){r->node, call, i, done};
  }
  qsort(ev, n, sizeof *ev, ev_cmp);
  *n_out = n;
  return ev;
}

/* One call's events ev[0..n) (same node and call, in trace order). */
static void check_call(const cohort_trace_t *t, const rpc_ev_t *ev, size_t n, int64_t slack,
                       bool complete, cohort_check_result_t *out) {
  const cohort_trace_rec_t *start = NULL, *done = NULL;
  for (size_t i = 0; i < n; i++) {
    const cohort_trace_rec_t *r = &t->recs[ev[i].idx];
    out->checked++;
    if (!ev[i].done) {
      if (start) check_fail(out, "line %zu: node %u started call %lld twice (first line %zu)",
                            r->line, r->node, (long long)ev[i].call, start->line);
      start = r;
      continue;
    }
    if (!start)
      check_fail(out, "line %zu: node %u completed call %lld that never started", r->line,
                 r->node, (long long)ev[i].call);
    else if (done)
      check_fail(out, "line %zu: node %u completed call %lld twice (first line %zu)", r->line,
                 r->node, (long long)ev[i].call, done->line);
    done = r;
    int64_t deadline;
    if (start && cohort_trace_data_i64(start->data_json, "deadline_ns", &deadline) == 0 &&
        r->local_ns > check_add_sat(deadline, slack))
      check_fail(out, "line %zu: node %u completed call %lld at %s, past its deadline %s",
                 r->line, r->node, (long long)ev[i].call, check_secs(r->local_ns, 0),
                 check_secs(deadline, 1));
  }
  if (complete && start && !done)
    check_fail(out, "line %zu: node %u started call %lld, which never completed", start->line,
               start->node, (long long)ev[0].call);
}

static int rpc_once_run(const cohort_trace_t *t, const cohort_param_t *params, size_t np,
                        cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"slack", "complete", NULL};
  int rc = cohort_param_check_known(params, np, known, "rpc-once", err, errcap);
  int64_t slack = 50 * COHORT_NS_PER_MS;
  bool complete = true;
  if (!rc) rc = cohort_param_duration(params, np, "slack", &slack, "rpc-once", err, errcap);
  if (!rc) rc = cohort_param_bool(params, np, "complete", &complete, "rpc-once", err, errcap);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  size_t n;
  rpc_ev_t *ev = collect(t, &n);
  if (!ev) return check_error(COHORT_ENOMEM, err, errcap, "rpc-once: out of memory");
  size_t calls = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && ev[j].node == ev[i].node && ev[j].call == ev[i].call) j++;
    check_call(t, ev + i, j - i, slack, complete, out);
    calls++;
    i = j;
  }
  free(ev);
  check_summary(out, "%zu call(s): %llu violation(s)", calls,
                (unsigned long long)out->violations);
  return 0;
}

const cohort_checker_t cohort_check_rpc_once = {
    "rpc-once",
    "each RPC call (state rpc_start / rpc_done {call}) completes exactly once, after it "
    "started, by its deadline_ns + slack [slack=50ms] [complete=true|false]",
    rpc_once_run};
