/*
 * src/trace/check_causality.c — the `causality` checker: the recorded
 * logical stamps against happened-before recomputed from the trace's
 * structure alone (trace_hb.h).
 *
 * Along every edge a → b of the relation (process order, send → recv /
 * deliver) it requires lamport(a) < lamport(b), hlc(a) < hlc(b)
 * (lexicographic on [l, c]) and, where both carry a vc, vc(a) < vc(b).
 * The converse for vector clocks (vc(a) < vc(b) ⇒ a → b) is checked
 * against the recomputed exact vector timestamp V(b): for every process q
 * the first event a* of q that is not before b must not have
 * vc(a*) ≤ vc(b) (later events of q have larger clocks, so a* suffices).
 * A receive that would close a causal cycle is a violation; so, with
 * hlc_bound, is |hlc.l − tt| > bound at any event.
 *
 * Incarnations: a process is a (node, incarnation) pair, and vector
 * clocks written by the node layer are keyed the same way ("ID.INC" keys,
 * docs/trace-format.md): entries are compared per process, so a restarted
 * node's fresh clock is a new process's clock and vector clocks are
 * checked across restarts like any other. No edge links a node's
 * incarnations (trace_hb.h): a new incarnation starts its Lamport, HLC and
 * vector clock afresh, and an event of it whose clock claims to know its
 * predecessor's events without a message that says so is reported. Old
 * traces key vector clocks by node id alone (no dot): there
 * a restarted node's fresh clock looks older than its past, so vc=auto
 * (the default) skips vector clocks when such a trace has a restart;
 * vc=on checks them anyway, vc=off never.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_hb.h"

typedef struct causality {
  const cohort_trace_t *t;
  const cohort_hb_t *hb;
  cohort_check_result_t *out;
  int64_t hlc_bound; /* < 0: not checked */
  bool vc;           /* check vector clocks */
} causality_t;

/* Order of vc keys: (node, inc), as the reader sorts them; inc 0 is an
 * old-format key (a node without incarnations). */
static int key_cmp(const cohort_vc_entry_t *x, const cohort_vc_entry_t *y) {
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  if (x->inc != y->inc) return x->inc < y->inc ? -1 : 1;
  return 0;
}

/* a ≤ b componentwise over processes (absent entries are 0); both sorted. */
static bool vc_leq(const cohort_trace_rec_t *a, const cohort_trace_rec_t *b) {
  size_t j = 0;
  for (size_t i = 0; i < a->vc_len; i++) {
    while (j < b->vc_len && key_cmp(&b->vc[j], &a->vc[i]) < 0) j++;
    if (j == b->vc_len || key_cmp(&b->vc[j], &a->vc[i]) != 0) return false;
    if (a->vc[i].counter > b->vc[j].counter) return false;
  }
  return true;
}

static bool vc_eq(const cohort_trace_rec_t *a, const cohort_trace_rec_t *b) {
  return a->vc_len == b->vc_len && vc_leq(a, b) && vc_leq(b, a);
}

static int hlc_cmp(cohort_hlc_ts_t a, cohort_hlc_ts_t b) {
  if (a.l != b.l) return a.l < b.l ? -1 : 1;
  if (a.c != b.c) return a.c < b.c ? -1 : 1;
  return 0;
}

static void check_edge(causality_t *cs, size_t ia, size_t ib, const char *edge) {
  const cohort_trace_rec_t *a = &cs->t->recs[ia], *b = &cs->t->recs[ib];
  if (a->lamport >= b->lamport)
    check_fail(cs->out, "line %zu: node %u lamport %llu not above %llu of line %zu (%s)",
               b->line, b->node, (unsigned long long)b->lamport,
               (unsigned long long)a->lamport, a->line, edge);
  if (hlc_cmp(a->hlc, b->hlc) >= 0)
    check_fail(cs->out, "line %zu: node %u hlc [%lld,%u] not above [%lld,%u] of line %zu (%s)",
               b->line, b->node, (long long)b->hlc.l, b->hlc.c, (long long)a->hlc.l,
               a->hlc.c, a->line, edge);
  if (cs->vc && a->vc && b->vc && (!vc_leq(a, b) || vc_eq(a, b)))
    check_fail(cs->out, "line %zu: node %u vc not above the vc of line %zu (%s)", b->line,
               b->node, a->line, edge);
}

/* vc(a) < vc(b) must imply a → b: test the first event of each process
 * that is not before b. */
static void check_converse(causality_t *cs, size_t ib, const uint32_t *vec) {
  const cohort_trace_rec_t *b = &cs->t->recs[ib];
  if (!cs->vc || !b->vc) return;
  for (size_t q = 0; q < cs->hb->nproc; q++) {
    const cohort_hb_proc_t *pr = &cs->hb->procs[q];
    if (vec[q] >= pr->len) continue; /* every event of q is before b */
    uint32_t ia = cs->hb->proc_events[pr->first + vec[q]];
    if (ia == ib) continue; /* b itself (its successor is past vec) */
    const cohort_trace_rec_t *a = &cs->t->recs[ia];
    if (a->vc && vc_leq(a, b))
      check_fail(cs->out,
                 "line %zu: node %u vc is above the vc of line %zu (node %u), "
                 "an event not before it",
                 b->line, b->node, a->line, a->node);
  }
}

static int visit(void *ctx, size_t rec, const uint32_t *vec) {
  causality_t *cs = ctx;
  const cohort_trace_rec_t *b = &cs->t->recs[rec];
  const cohort_hb_t *hb = cs->hb;
  cs->out->checked++;
  uint32_t p = hb->proc_of[rec], pos = hb->pos[rec];
  if (pos > 0) check_edge(cs, hb->proc_events[hb->procs[p].first + pos - 1], rec, "process order");
  if (hb->send_of[rec] != COHORT_HB_NONE) check_edge(cs, hb->send_of[rec], rec, "message");
  check_converse(cs, rec, vec);
  if (cs->hlc_bound >= 0) {
    int64_t d = check_sub_sat(b->hlc.l, b->true_ns);
    if (d > cs->hlc_bound || d < -cs->hlc_bound)
      check_fail(cs->out, "line %zu: node %u hlc.l is %s from true time (bound %s)", b->line,
                 b->node, check_secs(d, 0), check_secs(cs->hlc_bound, 1));
  }
  return 0;
}

/* A node with more than one incarnation in the trace, or NONE. */
static cohort_node_id_t restarted_node(const cohort_hb_t *hb) {
  for (size_t p = 1; p < hb->nproc; p++)
    if (hb->procs[p].node == hb->procs[p - 1].node) return hb->procs[p].node;
  return COHORT_NODE_NONE;
}

/* Does any vector clock of the trace use old-format keys (node id only)? */
static bool has_legacy_vc(const cohort_trace_t *t) {
  for (size_t i = 0; i < t->len; i++)
    for (size_t k = 0; k < t->recs[i].vc_len; k++)
      if (t->recs[i].vc[k].inc == 0) return true;
  return false;
}

static int causality_run(const cohort_trace_t *t, const cohort_param_t *params, size_t n,
                         cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"hlc_bound", "vc", NULL};
  causality_t cs = {.t = t, .out = out, .hlc_bound = -1};
  int rc = cohort_param_check_known(params, n, known, "causality", err, errcap);
  const char *vc_mode = cohort_param_get(params, n, "vc");
  if (!rc && vc_mode && strcmp(vc_mode, "auto") && strcmp(vc_mode, "on") &&
      strcmp(vc_mode, "off"))
    return check_error(COHORT_EINVAL, err, errcap, "causality: vc: not auto, on or off: '%s'",
                       vc_mode);
  if (!rc) rc = cohort_param_duration(params, n, "hlc_bound", &cs.hlc_bound, "causality",
                                      err, errcap);
  if (rc) return rc;
  cohort_hb_t hb;
  rc = cohort_hb_build(&hb, t, NULL);
  if (rc) return check_error(rc, err, errcap, "causality: %s", cohort_strerror(rc));
  cs.hb = &hb;
  *out = (cohort_check_result_t){0};
  cohort_node_id_t restarted = restarted_node(&hb);
  cs.vc = vc_mode ? strcmp(vc_mode, "off") != 0 : true;
  if (!vc_mode || !strcmp(vc_mode, "auto"))
    cs.vc = restarted == COHORT_NODE_NONE || !has_legacy_vc(t);
  if (hb.broken) {
    const cohort_trace_rec_t *r = &t->recs[hb.first_broken];
    if (r->has_msg)
      check_fail(out, "line %zu: node %u receives msg %u.%llu.%llu before it is sent (cycle)",
                 r->line, r->node, r->msg.from, (unsigned long long)r->msg.inc,
                 (unsigned long long)r->msg.seq);
    else
      check_fail(out, "line %zu: node %u inc %llu starts before its previous incarnation "
                 "ends (cycle)", r->line, r->node, (unsigned long long)r->inc);
    out->violations += hb.broken - 1;
  }
  rc = cohort_hb_walk(&hb, visit, &cs);
  if (!rc)
    check_summary(out, "%llu events in %zu processes, %zu message edges, %llu violations%s",
                  (unsigned long long)out->checked, hb.nproc, hb.matched,
                  (unsigned long long)out->violations,
                  cs.vc ? "" : vc_mode && !strcmp(vc_mode, "off")
                                 ? " (vc not checked: vc=off)"
                                 : " (vc not checked: a node restarted, and this trace keys "
                                   "vector clocks by node id alone; see docs/trace-format.md)");
  cohort_hb_close(&hb);
  if (rc) return check_error(rc, err, errcap, "causality: %s", cohort_strerror(rc));
  return 0;
}

const cohort_checker_t cohort_check_causality = {
    "causality",
    "lamport, hlc and vc agree with happened-before rebuilt from the trace "
    "[hlc_bound=DURATION] [vc=auto|on|off: auto skips vc only in old-format traces "
    "(vc keyed by node id) with a restart]",
    causality_run};
