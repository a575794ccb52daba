/*
 * src/coord/check_mutex.c — trace checkers for mutual exclusion, from the
 * trace alone (cohort/check.h, cohort/mutex.h):
 *
 *   mutex-safety    no two nodes in the critical section at any true
 *                   instant. A node's CS is the half-open interval from its
 *                   "lock_grant" to the "lock_release" that names the same
 *                   incarnation, request id and (when the release carries
 *                   one) token, or to its crash (simulator "crash" event);
 *                   a release naming anything else while the node is
 *                   inside is a violation and does not end the CS, and a
 *                   grant while the same node is already inside is a
 *                   violation too. A trace of real
 *                   processes has no crash events: with crashes=inferred
 *                   an incarnation whose records stop (a later incarnation
 *                   of the node speaks, or the node's records end before
 *                   the trace does: it was killed) is taken to have
 *                   crashed just after its last record (default
 *                   crashes=recorded: only crash events end a CS);
 *   mutex-fencing   fencing tokens strictly increase in grant order (true
 *                   time); a grant without a positive token is a violation.
 *                   Tokens are uint64 over their whole range (never
 *                   clamped): a value that is not one is malformed;
 *   mutex-liveness  (bound=D default 10s, until=D, stall_after=D) every
 *                   "lock_request" is followed by its grant or cancel (same
 *                   node, incarnation and request id) within `bound` of
 *                   the request or, with faults=extend (the default), of
 *                   the last simulator fault (crash, restart, partition,
 *                   heal) that happened while it was allowed to wait —
 *                   liveness "in runs whose faults heal" — unless the
 *                   node crashes first or the trace ends before that
 *                   deadline; requests after `until` (from
 *                   the trace's start) are not checked. stall_after=D
 *                   instead demands that no grant happens after D: the
 *                   expected outcome of a run that must block;
 *   mutex-bypass    (bound=K, default nodes-1) while a request waits,
 *                   other nodes are granted the lock at most K times.
 *
 * Events are the state events of proto "mutex" (or proto=NAME). Events at
 * the same true time are taken releases and crashes first, so intervals
 * that touch do not overlap. Invariant: a checker never trusts the trace —
 * a malformed lock event is a violation, not a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/check.h"
#include "cohort/mutex.h"
#include "cohort/trace_util.h"

#define FAIL(out, ...)                                                                     \
  do {                                                                                     \
    if (!(out)->violations++) cohort_fmt((out)->first, sizeof(out)->first, __VA_ARGS__); \
  } while (0)

typedef enum { EV_CRASH = 0, EV_RELEASE = 1, EV_CANCEL = 2, EV_REQUEST = 3, EV_GRANT = 4 } evk_t;

typedef struct mev {
  int64_t tt;
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  evk_t kind;
  uint64_t req, token;
  bool has_token;
  size_t line, order;
} mev_t;

typedef struct mctx {
  const cohort_trace_t *t;
  cohort_check_result_t *out;
  const char *proto;
  mev_t *evs;
  size_t nev;
  cohort_node_id_t max_node;
  size_t nodes; /* distinct nodes with lock events */
  int64_t t0, t_end;
  bool infer; /* crashes=inferred (mutex-safety) */
} mctx_t;

static int cmp_ev(const void *a, const void *b) {
  const mev_t *x = a, *y = b;
  if (x->tt != y->tt) return x->tt < y->tt ? -1 : 1;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static bool kind_of(const char *what, evk_t *k) {
  static const struct {
    const char *what;
    evk_t kind;
  } map[] = {{"lock_request", EV_REQUEST}, {"lock_grant", EV_GRANT},
             {"lock_release", EV_RELEASE}, {"lock_cancel", EV_CANCEL}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(map); i++)
    if (!strcmp(what, map[i].what)) return *k = map[i].kind, true;
  return false;
}

/* One record to an event; false if it is none (or malformed: counted). */
static bool classify(mctx_t *c, const cohort_trace_rec_t *r, mev_t *e) {
  if (r->type != COHORT_EV_STATE || !r->proto || !r->what) return false;
  *e = (mev_t){.tt = r->true_ns, .node = r->node, .inc = r->inc, .line = r->line};
  if (!strcmp(r->proto, "sim")) {
    if (strcmp(r->what, "crash")) return false;
    e->kind = EV_CRASH;
    return true;
  }
  if (strcmp(r->proto, c->proto) || !kind_of(r->what, &e->kind)) return false;
  uint64_t req = 0, token = 0;
  if (cohort_trace_data_u64(r->data_json, "req", &req) || req == 0) {
    FAIL(c->out, "line %zu: %s without a valid data.req", r->line, r->what);
    return false;
  }
  e->req = req;
  /* Tokens are read as uint64 over their whole range: a grant without a
   * positive one is a fencing violation; a release names its token when
   * the trace carries it (has_token), and must then match the grant's. */
  int trc = cohort_trace_data_u64(r->data_json, "token", &token);
  if (trc == COHORT_EPROTO) {
    FAIL(c->out, "line %zu: %s with a data.token that is not a uint64", r->line, r->what);
    return false;
  }
  e->token = trc ? 0 : token;
  e->has_token = !trc;
  return true;
}

/* The last record of every incarnation that stops before the trace ends:
 * implicit crashes, for traces without crash events (real processes). */
typedef struct last_seen {
  bool seen;
  cohort_incarnation_t inc;
  int64_t tt;
  size_t line;
} last_seen_t;

static void implicit_crash(mctx_t *c, cohort_node_id_t node, const last_seen_t *l) {
  c->evs[c->nev] = (mev_t){.tt = l->tt + 1, .node = node, .inc = l->inc, .kind = EV_CRASH,
                           .line = l->line, .order = c->nev};
  c->nev++;
}

static int implicit_crashes(mctx_t *c) {
  last_seen_t *ls = cohort_calloc(cohort_allocator_default(), COHORT_NODES_MAX, sizeof *ls);
  if (!ls) return COHORT_ENOMEM;
  for (size_t i = 0; i < c->t->len; i++) {
    const cohort_trace_rec_t *r = &c->t->recs[i];
    if (r->node >= COHORT_NODES_MAX) continue;
    last_seen_t *l = &ls[r->node];
    if (l->seen && r->inc > l->inc) implicit_crash(c, r->node, l);
    if (!l->seen || r->inc >= l->inc)
      *l = (last_seen_t){.seen = true, .inc = r->inc, .tt = r->true_ns, .line = r->line};
  }
  for (cohort_node_id_t n = 0; n < COHORT_NODES_MAX; n++)
    if (ls[n].seen && ls[n].tt < c->t_end) implicit_crash(c, n, &ls[n]);
  cohort_free(cohort_allocator_default(), ls);
  return 0;
}

static int collect(mctx_t *c) {
  const cohort_trace_t *t = c->t;
  /* room for every record, plus one implicit crash per record at most */
  c->evs = cohort_alloc(cohort_allocator_default(), (2 * t->len + 1) * sizeof *c->evs);
  if (!c->evs) return COHORT_ENOMEM;
  bool crashes = false;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!i || r->true_ns < c->t0) c->t0 = r->true_ns;
    if (!i || r->true_ns > c->t_end) c->t_end = r->true_ns;
    mev_t e;
    if (!classify(c, r, &e)) continue;
    e.order = c->nev;
    c->evs[c->nev++] = e;
    if (e.kind == EV_CRASH) crashes = true;
    if (e.kind != EV_CRASH && e.node > c->max_node) c->max_node = e.node;
  }
  int rc = c->infer && !crashes ? implicit_crashes(c) : 0;
  if (rc) return rc;
  qsort(c->evs, c->nev, sizeof *c->evs, cmp_ev);
  return 0;
}

/* Parse the common parameters, collect the events. */
static int setup(mctx_t *c, const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                 const char *const *known, const char *who, cohort_check_result_t *out,
                 char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  *c = (mctx_t){.t = t, .out = out, .proto = "mutex"};
  int rc = cohort_param_check_known(p, n, known, who, err, errcap);
  if (rc) return rc;
  const char *proto = cohort_param_get(p, n, "proto");
  if (proto) c->proto = proto;
  const char *crashes = cohort_param_get(p, n, "crashes");
  if (crashes && strcmp(crashes, "recorded") && strcmp(crashes, "inferred")) {
    if (err && errcap)
      cohort_fmt(err, errcap, "%s: crashes: must be recorded or inferred", who);
    return COHORT_EINVAL;
  }
  c->infer = crashes && !strcmp(crashes, "inferred");
  if ((rc = collect(c))) {
    if (err && errcap) cohort_fmt(err, errcap, "%s: out of memory", who);
    return rc;
  }
  return 0;
}

static void teardown(mctx_t *c) { cohort_free(cohort_allocator_default(), c->evs); }

/* ---- mutex-safety ------------------------------------------------------------- */

typedef struct inside {
  bool in;
  cohort_incarnation_t inc; /* the holder: this incarnation, */
  uint64_t req, token;      /* this request, this token */
  size_t line;
} inside_t;

/* A release ends the holder's critical section only if it names the held
 * request: same incarnation, same request id and, when the release carries
 * one, the same token. Any other release while inside is a violation and
 * leaves the section open (a stray release must not hide an overlap). */
static void safety_release(cohort_check_result_t *out, const mev_t *e, inside_t *me,
                           size_t *inside_count) {
  if (!me->in) return;
  if (e->inc != me->inc || e->req != me->req || (e->has_token && e->token != me->token)) {
    FAIL(out, "line %zu: node %u inc %llu releases req %llu token %llu while it holds req "
         "%llu token %llu (inc %llu, line %zu)", e->line, e->node,
         (unsigned long long)e->inc, (unsigned long long)e->req,
         (unsigned long long)e->token, (unsigned long long)me->req,
         (unsigned long long)me->token, (unsigned long long)me->inc, me->line);
    return;
  }
  me->in = false;
  (*inside_count)--;
}

static void safety_grant(cohort_check_result_t *out, const mctx_t *c, const mev_t *e,
                         inside_t *in, size_t *inside_count) {
  inside_t *me = &in[e->node];
  out->checked++;
  if (me->in) {
    FAIL(out, "line %zu: node %u granted again while inside since line %zu", e->line, e->node,
         me->line);
  } else if (*inside_count > 0) {
    for (cohort_node_id_t k = 0; k <= c->max_node; k++) {
      if (!in[k].in) continue;
      FAIL(out, "line %zu: node %u entered (token %llu) while node %u is inside since "
           "line %zu (token %llu)", e->line, e->node, (unsigned long long)e->token, k,
           in[k].line, (unsigned long long)in[k].token);
      break;
    }
  }
  if (!me->in) (*inside_count)++;
  *me = (inside_t){.in = true, .inc = e->inc, .req = e->req, .token = e->token,
                   .line = e->line};
}

static int run_safety(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                      cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", "crashes", NULL};
  mctx_t c;
  int rc = setup(&c, t, p, n, known, "mutex-safety", out, err, errcap);
  if (rc) return rc;
  inside_t *in = cohort_calloc(cohort_allocator_default(), (size_t)c.max_node + 2, sizeof *in);
  if (!in) return teardown(&c), COHORT_ENOMEM;
  size_t inside_count = 0;
  for (size_t i = 0; i < c.nev; i++) {
    const mev_t *e = &c.evs[i];
    if (e->node > c.max_node) continue; /* a crash of a node without lock events */
    inside_t *me = &in[e->node];
    if (e->kind == EV_CRASH) { /* a crash ends the section of the crashed incarnation */
      if (me->in && e->inc >= me->inc) me->in = false, inside_count--;
    } else if (e->kind == EV_RELEASE) {
      safety_release(out, e, me, &inside_count);
    } else if (e->kind == EV_GRANT) {
      safety_grant(out, &c, e, in, &inside_count);
    }
  }
  cohort_fmt(out->summary, sizeof out->summary, "%llu grants, %llu violations",
             (unsigned long long)out->checked, (unsigned long long)out->violations);
  cohort_free(cohort_allocator_default(), in);
  teardown(&c);
  return 0;
}

/* ---- mutex-fencing ---------------------------------------------------------------- */

static int run_fencing(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                       cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", NULL};
  mctx_t c;
  int rc = setup(&c, t, p, n, known, "mutex-fencing", out, err, errcap);
  if (rc) return rc;
  uint64_t last = 0;
  size_t last_line = 0;
  for (size_t i = 0; i < c.nev; i++) {
    const mev_t *e = &c.evs[i];
    if (e->kind != EV_GRANT) continue;
    out->checked++;
    if (!e->token) FAIL(out, "line %zu: grant without a positive token", e->line);
    else if (e->token <= last)
      FAIL(out, "line %zu: node %u granted token %llu, not above %llu (line %zu)", e->line,
           e->node, (unsigned long long)e->token, (unsigned long long)last, last_line);
    if (e->token > last) last = e->token, last_line = e->line;
  }
  cohort_fmt(out->summary, sizeof out->summary, "%llu grants, %llu out of order",
             (unsigned long long)out->checked, (unsigned long long)out->violations);
  teardown(&c);
  return 0;
}

/* ---- mutex-liveness and mutex-bypass ----------------------------------------------- */

/* Index of the event ending request i (grant/cancel of the same request,
 * or a crash of its node), or c->nev. */
static size_t outcome_of(const mctx_t *c, size_t i) {
  const mev_t *r = &c->evs[i];
  for (size_t j = i + 1; j < c->nev; j++) {
    const mev_t *e = &c->evs[j];
    if (e->node != r->node) continue;
    if (e->kind == EV_CRASH) return j;
    if ((e->kind == EV_GRANT || e->kind == EV_CANCEL) && e->inc == r->inc && e->req == r->req)
      return j;
  }
  return c->nev;
}

static int get_durations(const cohort_param_t *p, size_t n, const char *who, int64_t *bound,
                         int64_t *until, int64_t *stall, char *err, size_t errcap) {
  int rc = cohort_param_duration(p, n, "bound", bound, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "until", until, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "stall_after", stall, who, err, errcap);
  if (!rc && *bound <= 0) {
    if (err && errcap) cohort_fmt(err, errcap, "%s: bound: must be > 0", who);
    rc = COHORT_EINVAL;
  }
  return rc;
}

/* Times (tt) of the simulator's fault events, sorted: the liveness bound
 * runs from the last fault that overlapped a wait ("runs whose faults heal"). */
static int64_t *fault_times(const cohort_trace_t *t, size_t *len) {
  /* check_election.c's network_fault() keeps the same list. */
  static const char *const faults[] = {"crash", "restart", "partition", "heal", "omit",
                                       "omit-end", "slow", "slow-end", "slow-link",
                                       "slow-link-end", "stuck", "stuck-end", "gst"};
  int64_t *v = malloc((t->len + 1) * sizeof *v);
  if (!v) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (r->type != COHORT_EV_STATE || !r->proto || strcmp(r->proto, "sim") || !r->what) continue;
    for (size_t f = 0; f < COHORT_ARRAY_LEN(faults); f++)
      if (!strcmp(r->what, faults[f])) v[k++] = r->true_ns;
  }
  for (size_t i = 1; i < k; i++) /* insertion sort: traces are nearly sorted */
    for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
      int64_t x = v[j];
      v[j] = v[j - 1], v[j - 1] = x;
    }
  *len = k;
  return v;
}

/* A request made at `from` is due `bound` after it, or after the last fault
 * that happened while it was (still) allowed to wait. */
static int64_t liveness_deadline(int64_t from, int64_t bound, const int64_t *f, size_t nf) {
  int64_t due = from + bound;
  for (size_t i = 0; i < nf; i++)
    if (f[i] > from && f[i] <= due) due = f[i] + bound;
  return due;
}

static int run_liveness(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                        cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", "bound", "until", "stall_after", "faults", NULL};
  static const char *const who = "mutex-liveness";
  int64_t bound = 10 * COHORT_NS_PER_S, until = INT64_MAX, stall = -1;
  memset(out, 0, sizeof *out);
  int rc = get_durations(p, n, who, &bound, &until, &stall, err, errcap);
  const char *fm = cohort_param_get(p, n, "faults");
  if (!rc && fm && strcmp(fm, "extend") && strcmp(fm, "ignore")) {
    if (err && errcap) cohort_fmt(err, errcap, "%s: faults: not extend or ignore: '%s'", who, fm);
    rc = COHORT_EINVAL;
  }
  mctx_t c;
  if (rc || (rc = setup(&c, t, p, n, known, who, out, err, errcap))) return rc;
  size_t nf = 0;
  int64_t *faults = (!fm || !strcmp(fm, "extend")) ? fault_times(t, &nf) : NULL;
  if (!fm || !strcmp(fm, "extend")) {
    if (!faults) return teardown(&c), COHORT_ENOMEM;
  }
  uint64_t late_grants = 0;
  for (size_t i = 0; i < c.nev; i++) {
    const mev_t *e = &c.evs[i];
    if (stall >= 0 && e->kind == EV_GRANT && e->tt - c.t0 > stall) {
      if (!late_grants++)
        FAIL(out, "line %zu: node %u granted %.3fs into the run, after stall_after", e->line,
             e->node, (double)(e->tt - c.t0) / 1e9);
      continue;
    }
    if (e->kind != EV_REQUEST || e->tt - c.t0 > until || stall >= 0) continue;
    size_t j = outcome_of(&c, i);
    int64_t end = j < c.nev ? c.evs[j].tt : c.t_end;
    if (j < c.nev && c.evs[j].kind == EV_CRASH) continue;
    int64_t due = liveness_deadline(e->tt, bound, faults, nf);
    if (j == c.nev && c.t_end < due) continue;
    out->checked++;
    if (end > due)
      FAIL(out, "line %zu: node %u request %llu %s after %.3fs (bound %.3fs after the request "
           "or the last fault while it waited)", e->line, e->node,
           (unsigned long long)e->req, j < c.nev ? "granted only" : "still waiting",
           (double)(end - e->tt) / 1e9, (double)bound / 1e9);
  }
  free(faults);
  if (stall >= 0)
    cohort_fmt(out->summary, sizeof out->summary, "%llu grants after %.3fs",
               (unsigned long long)late_grants, (double)stall / 1e9);
  else
    cohort_fmt(out->summary, sizeof out->summary, "%llu requests, %llu late",
               (unsigned long long)out->checked, (unsigned long long)out->violations);
  teardown(&c);
  return 0;
}

static int run_bypass(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                      cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", "bound", NULL};
  mctx_t c;
  int rc = setup(&c, t, p, n, known, "mutex-bypass", out, err, errcap);
  if (rc) return rc;
  uint64_t bound = c.max_node ? c.max_node - 1 : 0, worst = 0;
  if ((rc = cohort_param_u64(p, n, "bound", &bound, "mutex-bypass", err, errcap)))
    return teardown(&c), rc;
  for (size_t i = 0; i < c.nev; i++) {
    const mev_t *e = &c.evs[i];
    if (e->kind != EV_REQUEST) continue;
    size_t j = outcome_of(&c, i);
    if (j == c.nev || c.evs[j].kind != EV_GRANT) continue;
    uint64_t others = 0;
    for (size_t k = i + 1; k < j; k++)
      if (c.evs[k].kind == EV_GRANT && c.evs[k].node != e->node) others++;
    out->checked++;
    if (others > worst) worst = others;
    if (others > bound)
      FAIL(out, "line %zu: node %u request %llu waited while others entered %llu times "
           "(bound %llu)", e->line, e->node, (unsigned long long)e->req,
           (unsigned long long)others, (unsigned long long)bound);
  }
  cohort_fmt(out->summary, sizeof out->summary, "%llu granted requests, worst bypass %llu",
             (unsigned long long)out->checked, (unsigned long long)worst);
  teardown(&c);
  return 0;
}

const cohort_checker_t cohort_check_mutex_safety = {
    "mutex-safety",
    "at most one node in the critical section at any true instant; a CS ends at the "
    "release naming its request and token [proto=mutex "
    "crashes=recorded|inferred: inferred ends a CS where its process's records stop]",
    run_safety};
const cohort_checker_t cohort_check_mutex_fencing = {
    "mutex-fencing", "fencing tokens strictly increase in grant order [proto=mutex]",
    run_fencing};
const cohort_checker_t cohort_check_mutex_liveness = {
    "mutex-liveness",
    "every request granted within bound=10s of the request or of the last fault while it "
    "waited (faults=extend|ignore; until=D: only requests before D; stall_after=D: no grant "
    "after D) [proto=mutex]",
    run_liveness};
const cohort_checker_t cohort_check_mutex_bypass = {
    "mutex-bypass", "others enter at most bound=K (default nodes-1) times while a request "
                    "waits [proto=mutex]",
    run_bypass};
