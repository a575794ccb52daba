/*
 * src/trace/check_fd.c — the `fd` checker: failure-detector completeness
 * and accuracy, measured in true time.
 *
 * Crashes come from the simulator's state events (proto "sim", what
 * "crash" / "restart" / "join"); a restarted node is up again from its
 * restart, and a node that joins late is down until its "join".
 * A trace without them (a runtime run ended by SIGKILL) has its crashes
 * inferred: a node is down after its last event. Suspicions are state
 * events of the detector's proto (default "fd"), what "suspect" /
 * "recover", data {"peer": ID}.
 *   completeness (bound=DURATION): after a crash of X at tc, every node
 *     running the detector that is up at tc and stays up until tc + bound
 *     suspects X at some instant of [tc, tc + bound] — unless X restarts
 *     within the bound or the trace ends before tc + bound.
 *   accuracy (accuracy=strict, the default): no suspicion of a node that
 *     is up at that instant, once `settle` has passed since the first event
 *     — except when the network had cut the suspected node off from the
 *     suspecting one: the simulator's "partition" / "heal" state events on
 *     node X list in data.in the peers whose links to X were cut / reopened,
 *     and a suspicion of Y by X is excused while Y -> X is cut and for
 *     `heal_grace` (default 1s) after it reopens. Lossy links still make
 *     false suspicions; scenarios with loss use accuracy=off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_util.h"

enum { FD_CRASH, FD_RESTART, FD_SUSPECT, FD_RECOVER };

typedef struct fd_ev {
  int64_t tt;
  cohort_node_id_t who, about; /* crash/restart: who == about */
  int kind;
  bool join; /* FD_RESTART from a "join": the node was down before it */
  size_t line;
} fd_ev_t;

/* A period during which the link from -> to was cut (to = X hears nothing
 * from `from`), as the simulator recorded it. */
typedef struct fd_cut {
  cohort_node_id_t from, to;
  int64_t start, end; /* end = INT64_MAX while never healed */
} fd_cut_t;

typedef struct fd_check {
  const cohort_trace_t *t;
  cohort_check_result_t *out;
  const char *proto;
  int64_t bound, settle;
  bool strict, inferred;
  fd_ev_t *evs; /* in trace (true time) order */
  size_t nev;
  cohort_node_id_t *nodes; /* sorted distinct node ids with events */
  int64_t *last_tt;        /* per node: its last event */
  bool *monitor;           /* per node: runs the detector */
  size_t nnodes;
  int64_t t0, t_end;
  int64_t heal_grace;
  fd_cut_t *cuts;
  size_t ncuts, capcuts;
} fd_check_t;

static int node_cmp(const void *x, const void *y) {
  cohort_node_id_t a = *(const cohort_node_id_t *)x, b = *(const cohort_node_id_t *)y;
  return a < b ? -1 : a > b;
}

static size_t node_index(const fd_check_t *f, cohort_node_id_t n) {
  const cohort_node_id_t *p = bsearch(&n, f->nodes, f->nnodes, sizeof n, node_cmp);
  return p ? (size_t)(p - f->nodes) : SIZE_MAX;
}

static bool is_up(const fd_check_t *f, cohort_node_id_t x, int64_t t) {
  size_t i = node_index(f, x);
  if (i == SIZE_MAX) return false; /* never seen: not known to be up */
  if (f->inferred) return t <= f->last_tt[i];
  bool up = true, first = true;
  for (size_t k = 0; k < f->nev && f->evs[k].tt <= t; k++) {
    if (f->evs[k].who != x || f->evs[k].kind > FD_RESTART) continue;
    up = f->evs[k].kind == FD_RESTART;
    first = false;
  }
  for (size_t k = 0; first && k < f->nev; k++) /* before a late join: down */
    if (f->evs[k].who == x && f->evs[k].kind <= FD_RESTART) return !f->evs[k].join;
  return up;
}

/* Does y crash in [from, to]? */
static bool crashes_within(const fd_check_t *f, cohort_node_id_t y, int64_t from, int64_t to) {
  if (f->inferred) return f->last_tt[node_index(f, y)] < to;
  for (size_t k = 0; k < f->nev; k++)
    if (f->evs[k].kind == FD_CRASH && f->evs[k].who == y && f->evs[k].tt >= from &&
        f->evs[k].tt <= to)
      return true;
  return false;
}

static bool restarts_within(const fd_check_t *f, cohort_node_id_t x, int64_t from, int64_t to) {
  for (size_t k = 0; k < f->nev; k++)
    if (f->evs[k].kind == FD_RESTART && f->evs[k].who == x && f->evs[k].tt > from &&
        f->evs[k].tt <= to)
      return true;
  return false;
}

/* Does y suspect x at some instant of [tc, tc + bound]? */
static bool suspected(const fd_check_t *f, cohort_node_id_t y, cohort_node_id_t x, int64_t tc) {
  bool state = false;
  int64_t until = check_add_sat(tc, f->bound);
  for (size_t k = 0; k < f->nev && f->evs[k].tt <= until; k++) {
    const fd_ev_t *e = &f->evs[k];
    if (e->kind <= FD_RESTART && e->who == y) state = false; /* volatile state lost */
    if (e->kind > FD_RESTART && e->who == y && e->about == x) {
      if (e->kind == FD_SUSPECT && e->tt >= tc) return true;
      state = e->kind == FD_SUSPECT;
    }
    if (e->tt >= tc && state) return true;
  }
  return state;
}

static void completeness_one(fd_check_t *f, cohort_node_id_t x, int64_t tc, size_t line) {
  int64_t until = check_add_sat(tc, f->bound);
  if (f->t_end < until) return; /* the run ends before the bound */
  if (!f->inferred && restarts_within(f, x, tc, until)) return;
  for (size_t i = 0; i < f->nnodes; i++) {
    cohort_node_id_t y = f->nodes[i];
    if (y == x || !f->monitor[i] || !is_up(f, y, tc) || crashes_within(f, y, tc, until))
      continue;
    f->out->checked++;
    if (!suspected(f, y, x, tc))
      check_fail(f->out, "node %u did not suspect node %u within %s of its crash at %s (line %zu)",
                 y, x, check_secs(f->bound, 0), check_secs(check_sub_sat(tc, f->t0), 1), line);
  }
}

static void completeness(fd_check_t *f) {
  if (f->inferred) {
    for (size_t i = 0; i < f->nnodes; i++)
      if (f->last_tt[i] < f->t_end) completeness_one(f, f->nodes[i], f->last_tt[i], 0);
    return;
  }
  for (size_t k = 0; k < f->nev; k++)
    if (f->evs[k].kind == FD_CRASH)
      completeness_one(f, f->evs[k].who, f->evs[k].tt, f->evs[k].line);
}

/* Was the link about -> who cut at some instant of [t - heal_grace, t]? */
static bool cut_off(const fd_check_t *f, cohort_node_id_t who, cohort_node_id_t about,
                    int64_t t) {
  for (size_t i = 0; i < f->ncuts; i++) {
    const fd_cut_t *c = &f->cuts[i];
    if (c->from != about || c->to != who || c->start > t) continue;
    if (c->end == INT64_MAX || check_add_sat(c->end, f->heal_grace) >= t) return true;
  }
  return false;
}

static void accuracy(fd_check_t *f) {
  for (size_t k = 0; k < f->nev; k++) {
    const fd_ev_t *e = &f->evs[k];
    if (e->kind != FD_SUSPECT) continue;
    f->out->checked++;
    if (check_sub_sat(e->tt, f->t0) < f->settle || !is_up(f, e->about, e->tt)) continue;
    if (cut_off(f, e->who, e->about, e->tt)) continue;
    check_fail(f->out, "line %zu: node %u suspects node %u, which is up (at %s)", e->line,
               e->who, e->about, check_secs(check_sub_sat(e->tt, f->t0), 0));
  }
}

/* One record to an fd_ev (returns false if it is none). */
static bool classify(fd_check_t *f, const cohort_trace_rec_t *r, fd_ev_t *e) {
  if (r->type != COHORT_EV_STATE || !r->what || !r->proto) return false;
  *e = (fd_ev_t){.tt = r->true_ns, .who = r->node, .about = r->node, .line = r->line};
  if (!strcmp(r->proto, "sim")) {
    if (!strcmp(r->what, "crash")) e->kind = FD_CRASH;
    else if (!strcmp(r->what, "restart")) e->kind = FD_RESTART;
    else if (!strcmp(r->what, "join")) e->kind = FD_RESTART, e->join = true;
    else return false;
    return true;
  }
  if (strcmp(r->proto, f->proto)) return false;
  if (!strcmp(r->what, "suspect")) e->kind = FD_SUSPECT;
  else if (!strcmp(r->what, "recover")) e->kind = FD_RECOVER;
  else return false;
  int64_t peer;
  if (cohort_trace_data_i64(r->data_json, "peer", &peer) || peer < 0 ||
      peer >= COHORT_NODE_NONE) {
    check_fail(f->out, "line %zu: %s event without a valid data.peer", r->line, r->what);
    return false;
  }
  e->about = (cohort_node_id_t)peer;
  return true;
}

/* Parse the integers of the array member `key` ("in":[1,2]) of a data
 * object; calls fn for each. Returns COHORT_EPROTO if malformed. */
static int data_ids(const char *json, const char *key, fd_check_t *f, cohort_node_id_t x,
                    int64_t t, int (*fn)(fd_check_t *, cohort_node_id_t, cohort_node_id_t,
                                         int64_t)) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char *p = json ? strstr(json, pat) : NULL;
  if (!p) return 0;
  p += strlen(pat);
  while (*p && *p != ']') {
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || v == 0 || v >= COHORT_NODE_NONE) return COHORT_EPROTO;
    int rc = fn(f, (cohort_node_id_t)v, x, t);
    if (rc) return rc;
    p = end;
    if (*p == ',') p++;
  }
  return *p == ']' ? 0 : COHORT_EPROTO;
}

static int cut_open(fd_check_t *f, cohort_node_id_t from, cohort_node_id_t to, int64_t t) {
  if (f->ncuts == f->capcuts) {
    size_t cap = f->capcuts ? 2 * f->capcuts : 16;
    fd_cut_t *c = cohort_realloc(cohort_allocator_default(), f->cuts, cap * sizeof *c);
    if (!c) return COHORT_ENOMEM;
    f->cuts = c;
    f->capcuts = cap;
  }
  f->cuts[f->ncuts++] = (fd_cut_t){from, to, t, INT64_MAX};
  return 0;
}

static int cut_close(fd_check_t *f, cohort_node_id_t from, cohort_node_id_t to, int64_t t) {
  for (size_t i = f->ncuts; i-- > 0;)
    if (f->cuts[i].from == from && f->cuts[i].to == to && f->cuts[i].end == INT64_MAX) {
      f->cuts[i].end = t;
      break;
    }
  return 0;
}

/* The simulator's partition / heal records, as cut periods. */
static int collect_cuts(fd_check_t *f) {
  for (size_t i = 0; i < f->t->len; i++) {
    const cohort_trace_rec_t *r = &f->t->recs[i];
    if (r->type != COHORT_EV_STATE || !r->proto || strcmp(r->proto, "sim") || !r->what)
      continue;
    int rc = 0;
    if (!strcmp(r->what, "partition")) rc = data_ids(r->data_json, "in", f, r->node, r->true_ns, cut_open);
    else if (!strcmp(r->what, "heal")) rc = data_ids(r->data_json, "in", f, r->node, r->true_ns, cut_close);
    if (rc == COHORT_EPROTO) {
      check_fail(f->out, "line %zu: %s event with a malformed data.in", r->line, r->what);
      continue;
    }
    if (rc) return rc;
  }
  return 0;
}

static int collect(fd_check_t *f, const char *crashes) {
  const cohort_trace_t *t = f->t;
  const cohort_allocator_t *a = cohort_allocator_default();
  f->evs = cohort_alloc(a, (t->len + 1) * sizeof *f->evs);
  f->nodes = cohort_alloc(a, (t->len + 1) * sizeof *f->nodes);
  if (!f->evs || !f->nodes) return COHORT_ENOMEM;
  bool recorded = false;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    f->nodes[f->nnodes++] = r->node;
    if (classify(f, r, &f->evs[f->nev])) recorded |= f->evs[f->nev++].kind <= FD_RESTART;
    if (!i || r->true_ns < f->t0) f->t0 = r->true_ns;
    if (!i || r->true_ns > f->t_end) f->t_end = r->true_ns;
  }
  f->inferred = !strcmp(crashes, "inferred") || (!strcmp(crashes, "auto") && !recorded);
  qsort(f->nodes, f->nnodes, sizeof *f->nodes, node_cmp);
  size_t u = 0;
  for (size_t i = 0; i < f->nnodes; i++)
    if (!u || f->nodes[u - 1] != f->nodes[i]) f->nodes[u++] = f->nodes[i];
  f->nnodes = u;
  f->last_tt = cohort_calloc(a, u + 1, sizeof *f->last_tt);
  f->monitor = cohort_calloc(a, u + 1, sizeof *f->monitor);
  if (!f->last_tt || !f->monitor) return COHORT_ENOMEM;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    size_t k = node_index(f, r->node);
    if (r->proto && !strcmp(r->proto, "sim")) continue; /* the host speaking, not the node */
    if (r->true_ns > f->last_tt[k] || !f->last_tt[k]) f->last_tt[k] = r->true_ns;
    if (r->proto && !strcmp(r->proto, f->proto)) f->monitor[k] = true;
  }
  return 0;
}

static int parse_params(fd_check_t *f, const cohort_param_t *p, size_t n, const char **crashes,
                        char *err, size_t errcap) {
  static const char *const known[] = {"bound", "accuracy", "settle", "proto", "crashes",
                                      "heal_grace", NULL};
  int rc = cohort_param_check_known(p, n, known, "fd", err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "bound", &f->bound, "fd", err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "heal_grace", &f->heal_grace, "fd", err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "settle", &f->settle, "fd", err, errcap);
  if (rc) return rc;
  const char *acc = cohort_param_get(p, n, "accuracy");
  if (acc && strcmp(acc, "strict") && strcmp(acc, "off"))
    return check_error(COHORT_EINVAL, err, errcap,
                       "fd: accuracy: expected 'strict' or 'off': '%s'", acc);
  f->strict = !acc || !strcmp(acc, "strict");
  const char *proto = cohort_param_get(p, n, "proto");
  if (proto) f->proto = proto;
  const char *cr = cohort_param_get(p, n, "crashes");
  if (cr && strcmp(cr, "auto") && strcmp(cr, "recorded") && strcmp(cr, "inferred"))
    return check_error(COHORT_EINVAL, err, errcap,
                       "fd: crashes: expected 'auto', 'recorded' or 'inferred': '%s'", cr);
  *crashes = cr ? cr : "auto";
  return 0;
}

static int fd_run(const cohort_trace_t *t, const cohort_param_t *params, size_t n,
                  cohort_check_result_t *out, char *err, size_t errcap) {
  fd_check_t f = {.t = t, .out = out, .proto = "fd", .bound = -1,
                  .heal_grace = COHORT_NS_PER_S};
  const char *crashes = "auto";
  int rc = parse_params(&f, params, n, &crashes, err, errcap);
  if (rc) return rc;
  *out = (cohort_check_result_t){0};
  rc = collect(&f, crashes);
  if (!rc) rc = collect_cuts(&f);
  if (!rc) {
    if (f.strict) accuracy(&f);
    if (f.bound >= 0) completeness(&f);
    size_t nmon = 0;
    for (size_t i = 0; i < f.nnodes; i++) nmon += f.monitor[i];
    check_summary(out, "%zu monitoring nodes, %llu checks (%s%s, crashes %s), %llu violations",
                  nmon, (unsigned long long)out->checked, f.strict ? "accuracy" : "",
                  f.bound >= 0 ? (f.strict ? "+completeness" : "completeness") : "",
                  f.inferred ? "inferred" : "recorded", (unsigned long long)out->violations);
  }
  const cohort_allocator_t *a = cohort_allocator_default();
  cohort_free(a, f.evs);
  cohort_free(a, f.nodes);
  cohort_free(a, f.last_tt);
  cohort_free(a, f.monitor);
  cohort_free(a, f.cuts);
  if (rc) return check_error(rc, err, errcap, "fd: %s", cohort_strerror(rc));
  return 0;
}

const cohort_checker_t cohort_check_fd = {
    "fd",
    "failure detector: completeness within bound after each crash, strict accuracy "
    "[bound=DURATION accuracy=strict|off settle=DURATION heal_grace=DURATION proto=fd "
    "crashes=auto|recorded|inferred]",
    fd_run};
