/*
 * src/trace/check_fifo.c — the `fifo` checker: on every channel (one
 * sender incarnation to one receiver incarnation, per proto) messages are
 * received (ev=recv, the default) or delivered (ev=deliver) in the order
 * of the sender's sequence numbers. A repeated seq is a duplicate, not a
 * reordering, and is left to `integrity duplicates=forbid`.
 *
 * Not a default checker: a network that reorders breaks FIFO receipt
 * legitimately; it is the protocols above that must restore it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_util.h"

static _Thread_local const cohort_trace_t *sort_trace;

static int str_cmp(const char *a, const char *b) {
  if (!a || !b) return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* By channel (receiver, receiver inc, proto, sender, sender inc), then
 * record index: within a channel, trace order. */
static int chan_cmp(const void *x, const void *y) {
  uint32_t ia = *(const uint32_t *)x, ib = *(const uint32_t *)y;
  const cohort_trace_rec_t *a = &sort_trace->recs[ia], *b = &sort_trace->recs[ib];
  if (a->node != b->node) return a->node < b->node ? -1 : 1;
  if (a->inc != b->inc) return a->inc < b->inc ? -1 : 1;
  int c = str_cmp(a->proto, b->proto);
  if (c) return c;
  if (a->msg.from != b->msg.from) return a->msg.from < b->msg.from ? -1 : 1;
  if (a->msg.inc != b->msg.inc) return a->msg.inc < b->msg.inc ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

static bool same_chan(const cohort_trace_rec_t *a, const cohort_trace_rec_t *b) {
  return a->node == b->node && a->inc == b->inc && !str_cmp(a->proto, b->proto) &&
         a->msg.from == b->msg.from && a->msg.inc == b->msg.inc;
}

static void fifo_scan(const cohort_trace_t *t, uint32_t *idx, size_t n,
                      cohort_check_result_t *out) {
  sort_trace = t;
  qsort(idx, n, sizeof *idx, chan_cmp);
  sort_trace = NULL;
  size_t chans = 0;
  uint64_t high = 0; /* highest seq so far on the channel */
  size_t high_line = 0;
  for (size_t i = 0; i < n; i++) {
    const cohort_trace_rec_t *r = &t->recs[idx[i]];
    out->checked++;
    if (!i || !same_chan(&t->recs[idx[i - 1]], r)) {
      chans++;
      high = r->msg.seq;
      high_line = r->line;
      continue;
    }
    if (r->msg.seq < high)
      check_fail(out, "line %zu: node %u gets seq %llu from node %u after seq %llu (line %zu)",
                 r->line, r->node, (unsigned long long)r->msg.seq, r->msg.from,
                 (unsigned long long)high, high_line);
    if (r->msg.seq > high) {
      high = r->msg.seq;
      high_line = r->line;
    }
  }
  check_summary(out, "%zu messages on %zu channels, %llu violations", n, chans,
                (unsigned long long)out->violations);
}

static int fifo_run(const cohort_trace_t *t, const cohort_param_t *params, size_t n,
                    cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", "ev", NULL};
  int rc = cohort_param_check_known(params, n, known, "fifo", err, errcap);
  if (rc) return rc;
  const char *proto = cohort_param_get(params, n, "proto");
  const char *ev = cohort_param_get(params, n, "ev");
  cohort_ev_type_t type = COHORT_EV_RECV;
  if (ev && !strcmp(ev, "deliver")) type = COHORT_EV_DELIVER;
  else if (ev && strcmp(ev, "recv"))
    return check_error(COHORT_EINVAL, err, errcap, "fifo: ev: expected 'recv' or 'deliver': '%s'",
                       ev);
  if (t->len > COHORT_TRACE_RECS_MAX)
    return check_error(COHORT_EFULL, err, errcap, "fifo: trace too large");
  uint32_t *idx = cohort_alloc(cohort_allocator_default(), (t->len + 1) * sizeof *idx);
  if (!idx) return check_error(COHORT_ENOMEM, err, errcap, "fifo: out of memory");
  size_t m = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (r->type == type && r->has_msg && (!proto || cohort_trace_str_eq(r->proto, proto)))
      idx[m++] = (uint32_t)i;
  }
  *out = (cohort_check_result_t){0};
  fifo_scan(t, idx, m, out);
  cohort_free(cohort_allocator_default(), idx);
  return 0;
}

const cohort_checker_t cohort_check_fifo = {
    "fifo",
    "per-channel receipt in sender seq order (not a default) [proto=NAME ev=recv|deliver]",
    fifo_run};
