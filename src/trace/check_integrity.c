/*
 * src/trace/check_integrity.c — the `integrity` checker: no spurious
 * messages. Every recv must match a send with the same msg id that
 * happened no later in true time, from the node and incarnation the id
 * names, reported by the receiver as coming from that node (`peer`),
 * addressed to the receiver (or to no one in particular), with the same
 * proto and kind. Every send's msg id must name its own node and
 * incarnation. With duplicates=forbid no node receives one msg twice.
 *
 * Sends are indexed by sorting their record indices by msg id, so the
 * checker needs O(sends) memory and O(n log n) time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_util.h"

static _Thread_local const cohort_trace_t *sort_trace; /* qsort has no context */

static int msg_cmp(const cohort_msg_id_t *a, const cohort_msg_id_t *b) {
  if (a->from != b->from) return a->from < b->from ? -1 : 1;
  if (a->inc != b->inc) return a->inc < b->inc ? -1 : 1;
  if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
  return 0;
}

/* By msg id, then record index (so equal ids stay in trace order). */
static int idx_cmp(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  int c = msg_cmp(&sort_trace->recs[a].msg, &sort_trace->recs[b].msg);
  return c ? c : (a < b ? -1 : a > b);
}

/* By receiving node, msg id, index: for the duplicates pass. */
static int dup_cmp(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  const cohort_trace_rec_t *ra = &sort_trace->recs[a], *rb = &sort_trace->recs[b];
  if (ra->node != rb->node) return ra->node < rb->node ? -1 : 1;
  int c = msg_cmp(&ra->msg, &rb->msg);
  return c ? c : (a < b ? -1 : a > b);
}

/* First index in sends[0..n) whose msg id equals m, or n. */
static size_t find_first(const cohort_trace_t *t, const uint32_t *sends, size_t n,
                         const cohort_msg_id_t *m) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (msg_cmp(&t->recs[sends[mid]].msg, m) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && !msg_cmp(&t->recs[sends[lo]].msg, m) ? lo : n;
}

static void check_recv(const cohort_trace_t *t, const uint32_t *sends, size_t ns,
                       const cohort_trace_rec_t *r, cohort_check_result_t *out) {
  const cohort_msg_id_t *m = &r->msg;
  size_t k = find_first(t, sends, ns, m);
  const cohort_trace_rec_t *s = NULL;
  for (; k < ns && !msg_cmp(&t->recs[sends[k]].msg, m); k++) {
    const cohort_trace_rec_t *c = &t->recs[sends[k]];
    if (!s || c->peer == r->node) s = c;
    if (c->peer == r->node) break;
  }
  unsigned long long inc = (unsigned long long)m->inc, seq = (unsigned long long)m->seq;
  if (!s) {
    check_fail(out, "line %zu: node %u received msg %u.%llu.%llu that was never sent",
               r->line, r->node, m->from, inc, seq);
  } else if (s->true_ns > r->true_ns) {
    check_fail(out, "line %zu: node %u received msg %u.%llu.%llu before its send (line %zu)",
               r->line, r->node, m->from, inc, seq, s->line);
  } else if (r->peer != m->from) {
    check_fail(out, "line %zu: node %u names sender %u for msg %u.%llu.%llu", r->line,
               r->node, r->peer, m->from, inc, seq);
  } else if (s->peer != r->node && s->peer != COHORT_NODE_NONE) {
    check_fail(out, "line %zu: node %u received msg %u.%llu.%llu sent to node %u (line %zu)",
               r->line, r->node, m->from, inc, seq, s->peer, s->line);
  } else if (!cohort_trace_str_eq(s->proto, r->proto) || !cohort_trace_same_kind(s, r)) {
    check_fail(out, "line %zu: msg %u.%llu.%llu received as %s/%s but sent as %s/%s (line %zu)",
               r->line, m->from, inc, seq, r->proto ? r->proto : "-",
               r->kind ? r->kind : "#", s->proto ? s->proto : "-", s->kind ? s->kind : "#",
               s->line);
  }
}

static void check_dups(const cohort_trace_t *t, uint32_t *recvs, size_t nr,
                       cohort_check_result_t *out) {
  qsort(recvs, nr, sizeof *recvs, dup_cmp);
  for (size_t i = 1; i < nr; i++) {
    const cohort_trace_rec_t *a = &t->recs[recvs[i - 1]], *b = &t->recs[recvs[i]];
    if (a->node != b->node || msg_cmp(&a->msg, &b->msg)) continue;
    check_fail(out, "line %zu: node %u received msg %u.%llu.%llu again (first at line %zu)",
               b->line, b->node, b->msg.from, (unsigned long long)b->msg.inc,
               (unsigned long long)b->msg.seq, a->line);
  }
}

static int integrity_scan(const cohort_trace_t *t, bool forbid_dups, uint32_t *sends,
                          uint32_t *recvs, cohort_check_result_t *out) {
  size_t ns = 0, nr = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!r->has_msg) continue;
    if (r->type == COHORT_EV_SEND) {
      sends[ns++] = (uint32_t)i;
      if (r->msg.from != r->node || r->msg.inc != r->inc)
        check_fail(out, "line %zu: node %u inc %llu sends msg %u.%llu.%llu of another process",
                   r->line, r->node, (unsigned long long)r->inc, r->msg.from,
                   (unsigned long long)r->msg.inc, (unsigned long long)r->msg.seq);
    } else if (r->type == COHORT_EV_RECV) {
      recvs[nr++] = (uint32_t)i;
    }
  }
  sort_trace = t;
  qsort(sends, ns, sizeof *sends, idx_cmp);
  for (size_t i = 0; i < nr; i++) {
    out->checked++;
    check_recv(t, sends, ns, &t->recs[recvs[i]], out);
  }
  if (forbid_dups) check_dups(t, recvs, nr, out);
  sort_trace = NULL;
  check_summary(out, "%zu sends, %zu receives, %llu violations%s", ns, nr,
                (unsigned long long)out->violations,
                forbid_dups ? " (duplicates forbidden)" : "");
  return 0;
}

static int integrity_run(const cohort_trace_t *t, const cohort_param_t *params, size_t n,
                         cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"duplicates", NULL};
  int rc = cohort_param_check_known(params, n, known, "integrity", err, errcap);
  if (rc) return rc;
  const char *d = cohort_param_get(params, n, "duplicates");
  if (d && strcmp(d, "forbid") && strcmp(d, "allow"))
    return check_error(COHORT_EINVAL, err, errcap,
                       "integrity: duplicates: expected 'forbid' or 'allow': '%s'", d);
  if (t->len > COHORT_TRACE_RECS_MAX)
    return check_error(COHORT_EFULL, err, errcap, "integrity: trace too large");
  const cohort_allocator_t *a = cohort_allocator_default();
  uint32_t *sends = cohort_alloc(a, (t->len + 1) * sizeof *sends);
  uint32_t *recvs = cohort_alloc(a, (t->len + 1) * sizeof *recvs);
  if (!sends || !recvs) {
    cohort_free(a, sends);
    cohort_free(a, recvs);
    return check_error(COHORT_ENOMEM, err, errcap, "integrity: out of memory");
  }
  *out = (cohort_check_result_t){0};
  rc = integrity_scan(t, d && !strcmp(d, "forbid"), sends, recvs, out);
  cohort_free(a, sends);
  cohort_free(a, recvs);
  return rc;
}

const cohort_checker_t cohort_check_integrity = {
    "integrity",
    "every recv matches a send (same msg id, sender, destination, proto, kind) "
    "[duplicates=allow|forbid]",
    integrity_run};
