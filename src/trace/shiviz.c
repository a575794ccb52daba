/*
 * src/trace/shiviz.c — `cohort trace shiviz`: a trace in ShiViz's log
 * format (trace_tools.h), for https://bestchai.bitbucket.io/shiviz/.
 *
 * The vector clocks are always recomputed from happened-before over
 * (node, incarnation) processes rather than copied from the trace: ShiViz
 * insists that a host's own entry counts that host's events 1, 2, 3, ...
 * and that clocks never shrink, which recorded node-level clocks cannot
 * promise across restarts. Events are written in a topological order; a
 * network loss (no process) is not an event for ShiViz.
 */
#include <string.h>

#include "cohort/trace_hb.h"
#include "cohort/trace_tools.h"

typedef struct shiviz {
  const cohort_trace_t *t;
  const cohort_hb_t *hb;
  FILE *out;
  bool *multi; /* per process: its node has several incarnations */
} shiviz_t;

static void host_name(const shiviz_t *s, uint32_t p, char *buf, size_t cap) {
  const cohort_hb_proc_t *pr = &s->hb->procs[p];
  if (s->multi[p]) snprintf(buf, cap, "n%u.%llu", pr->node, (unsigned long long)pr->inc);
  else snprintf(buf, cap, "n%u", pr->node);
}

/* One line describing the event; no newlines (they would break the regex). */
static void describe(FILE *f, const cohort_trace_rec_t *r) {
  fprintf(f, "%s", cohort_ev_type_name(r->type));
  if (r->proto) fprintf(f, " %s", r->proto);
  if (r->kind) fprintf(f, "/%s", r->kind);
  else if (r->type <= COHORT_EV_DROP) fprintf(f, "/#%u", r->kind_num);
  if (r->what) fprintf(f, " %s", r->what);
  if (r->peer != COHORT_NODE_NONE)
    fprintf(f, " %s n%u", r->type == COHORT_EV_SEND ? "to" : "from", r->peer);
  if (r->has_msg)
    fprintf(f, " msg %u.%llu.%llu", r->msg.from, (unsigned long long)r->msg.inc,
            (unsigned long long)r->msg.seq);
  if (r->reason) fprintf(f, " (%s)", r->reason);
  fprintf(f, " lamport=%llu tt=%lld", (unsigned long long)r->lamport, (long long)r->true_ns);
  if (r->data_json) {
    fputc(' ', f);
    for (const char *p = r->data_json; *p; p++) fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
  }
  fputc('\n', f);
}

static int visit(void *ctx, size_t rec, const uint32_t *vec) {
  shiviz_t *s = ctx;
  char host[48];
  describe(s->out, &s->t->recs[rec]);
  host_name(s, s->hb->proc_of[rec], host, sizeof host);
  fprintf(s->out, "%s {", host);
  bool first = true;
  for (uint32_t q = 0; q < s->hb->nproc; q++) {
    if (!vec[q]) continue;
    host_name(s, q, host, sizeof host);
    fprintf(s->out, "%s\"%s\":%u", first ? "" : ", ", host, vec[q]);
    first = false;
  }
  fputs("}\n", s->out);
  return ferror(s->out) ? COHORT_EIO : 0;
}

int cohort_trace_write_shiviz(const cohort_trace_t *t, FILE *out, char *err, size_t errcap) {
  const cohort_allocator_t *a = cohort_allocator_default();
  cohort_hb_t hb;
  int rc = cohort_hb_build(&hb, t, a);
  if (rc) {
    if (err) snprintf(err, errcap, "shiviz: %s", cohort_strerror(rc));
    return rc;
  }
  shiviz_t s = {t, &hb, out, cohort_calloc(a, hb.nproc + 1, sizeof(bool))};
  if (!s.multi) {
    rc = COHORT_ENOMEM;
  } else {
    for (size_t p = 1; p < hb.nproc; p++)
      if (hb.procs[p].node == hb.procs[p - 1].node) s.multi[p] = s.multi[p - 1] = true;
    fprintf(out, "%s\n\n", COHORT_SHIVIZ_REGEX);
    rc = cohort_hb_walk(&hb, visit, &s);
    if (!rc && ferror(out)) rc = COHORT_EIO;
  }
  if (rc && err) snprintf(err, errcap, "shiviz: %s", cohort_strerror(rc));
  cohort_free(a, s.multi);
  cohort_hb_close(&hb);
  return rc;
}
