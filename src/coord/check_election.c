/*
 * src/coord/check_election.c — trace checkers for leader election, from
 * the trace alone (cohort/check.h):
 *
 *   election-unique     at most one leader per epoch, in every form a
 *                       trace can show it: no two "leader" events name
 *                       different leaders for one epoch; an event carrying
 *                       "round" names the leader and round its epoch
 *                       encodes (round << 32 | leader: the epoch names its
 *                       leader, docs/election.md); no node adopts an epoch
 *                       that its leader had not declared (adopted itself)
 *                       at that true time or before, when the leader's node
 *                       is in the trace — a leader nobody elected; and
 *                       every incarnation adopts strictly growing epochs.
 *                       rounds=unique adds: at most one leader per round,
 *                       the promise of the bully algorithm's synchronous
 *                       model (no loss, no partition); with faults two
 *                       sides may each lead a round in different epochs,
 *                       which the default allows;
 *   election-agreement  (settle=DURATION, default 5s) once `settle` has
 *                       passed after the last fault (simulator crash,
 *                       restart, partition, heal), and again at the end of
 *                       the trace, every live node running the election
 *                       holds a leader, all hold the same (leader, epoch),
 *                       and that leader is live;
 *   election-highest    (settle=DURATION) at those same instants the
 *                       leader every live node holds is the highest live
 *                       id — the bully algorithm's promise.
 *
 * Election events are state events of the election protocols ("bully",
 * "ring-election", or proto=NAME): "leader" {"leader":ID,"epoch":E} and
 * "stepdown" (the node no longer holds a leader). A node is live unless
 * its last simulator event ("sim" crash / restart) is a crash; only the
 * events of its current incarnation (after its last restart) count.
 * Invariant: a checker never trusts the trace — a malformed leader event
 * is a violation, not a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/check.h"
#include "cohort/election.h"
#include "cohort/trace_util.h"

#define FAIL(out, ...)                                                                     \
  do {                                                                                     \
    if (!(out)->violations++) cohort_fmt((out)->first, sizeof(out)->first, __VA_ARGS__); \
  } while (0)

typedef struct lev {
  int64_t tt;
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  cohort_node_id_t leader; /* COHORT_NODE_NONE: stepdown */
  uint64_t epoch;
  size_t line;
} lev_t;

#define ROUND_OF(epoch) ((epoch) >> 32)
#define LEADER_OF(epoch) ((cohort_node_id_t)((epoch) & 0xffffffffu))

typedef struct nstate {
  cohort_node_id_t id;
  bool up;
  int64_t since;    /* last restart (events before it belong to old lives) */
  int64_t down_at;  /* last crash, if down */
  bool has_leader;  /* at the instant examined */
  cohort_node_id_t leader;
  uint64_t epoch;
} nstate_t;

typedef struct ctx {
  const cohort_trace_t *t;
  cohort_check_result_t *out;
  const char *proto; /* NULL = bully or ring-election */
  int64_t settle;
  bool rounds_unique; /* election-unique rounds=unique */
  lev_t *evs;
  size_t nev;
  nstate_t *nodes;
  size_t nnodes;
  int64_t t0, t_end, last_fault;
} ctx_t;

static bool is_election(const ctx_t *c, const char *proto) {
  if (!proto) return false;
  if (c->proto) return !strcmp(proto, c->proto);
  return !strcmp(proto, "bully") || !strcmp(proto, "ring-election");
}

static nstate_t *node_get(ctx_t *c, cohort_node_id_t id) {
  for (size_t i = 0; i < c->nnodes; i++)
    if (c->nodes[i].id == id) return &c->nodes[i];
  return NULL;
}

/* A "leader" or "stepdown" record to an event; false (and a violation for
 * a malformed one) if it is neither. */
static bool classify(ctx_t *c, const cohort_trace_rec_t *r, lev_t *e) {
  bool leader = !strcmp(r->what, "leader");
  if (!leader && strcmp(r->what, "stepdown")) return false;
  *e = (lev_t){.tt = r->true_ns, .node = r->node, .inc = r->inc,
               .leader = COHORT_NODE_NONE, .line = r->line};
  if (!leader) return true;
  uint64_t l, ep, round;
  if (cohort_trace_data_u64(r->data_json, "leader", &l) ||
      cohort_trace_data_u64(r->data_json, "epoch", &ep) || l >= COHORT_NODE_NONE || ep == 0) {
    FAIL(c->out, "line %zu: leader event without a valid data.leader / data.epoch", r->line);
    return false;
  }
  int rrc = cohort_trace_data_u64(r->data_json, "round", &round);
  if (rrc == COHORT_EPROTO)
    FAIL(c->out, "line %zu: leader event with a data.round that is not a uint64", r->line);
  else if (!rrc && (round != ROUND_OF(ep) || l != LEADER_OF(ep)))
    FAIL(c->out, "line %zu: node %u: leader %llu round %llu, but epoch %llu names leader %u "
         "in round %llu", r->line, r->node, (unsigned long long)l, (unsigned long long)round,
         (unsigned long long)ep, LEADER_OF(ep), (unsigned long long)ROUND_OF(ep));
  e->leader = (cohort_node_id_t)l;
  e->epoch = ep;
  return true;
}

/* One pass: election events, participating nodes, faults. */

/* The simulator's faults other than crashes and restarts after which
 * agreement must settle again: partitions and heals, and the failure
 * models' starts and ends (omission, timing failures, a stuck bit, GST).
 * check_mutex.c keeps the same list. */
static bool network_fault(const char *what) {
  static const char *const faults[] = {"partition", "heal", "omit", "omit-end", "slow",
                                       "slow-end", "slow-link", "slow-link-end", "stuck",
                                       "stuck-end", "gst"};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(faults); i++)
    if (!strcmp(what, faults[i])) return true;
  return false;
}

static int collect(ctx_t *c) {
  const cohort_trace_t *t = c->t;
  const cohort_allocator_t *a = cohort_allocator_default();
  c->evs = cohort_alloc(a, (t->len + 1) * sizeof *c->evs);
  c->nodes = cohort_alloc(a, (t->len + 1) * sizeof *c->nodes);
  if (!c->evs || !c->nodes) return COHORT_ENOMEM;
  c->last_fault = INT64_MIN;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!i || r->true_ns < c->t0) c->t0 = r->true_ns;
    if (!i || r->true_ns > c->t_end) c->t_end = r->true_ns;
    if (r->type != COHORT_EV_STATE || !r->proto || !r->what) continue;
    bool sim = !strcmp(r->proto, "sim");
    if (sim && network_fault(r->what)) c->last_fault = r->true_ns;
    if (!sim && !is_election(c, r->proto)) continue;
    nstate_t *n = node_get(c, r->node);
    if (!n) {
      n = &c->nodes[c->nnodes++];
      *n = (nstate_t){.id = r->node, .up = true, .since = INT64_MIN};
    }
    if (sim && !strcmp(r->what, "crash")) {
      n->up = false, n->down_at = r->true_ns, c->last_fault = r->true_ns;
    } else if (sim && !strcmp(r->what, "restart")) {
      n->up = true, n->since = r->true_ns, c->last_fault = r->true_ns;
    } else if (!sim && classify(c, r, &c->evs[c->nev])) {
      c->nev++;
    }
  }
  return 0;
}

/* ---- election-unique ------------------------------------------------------------- */

static int by_epoch(const void *x, const void *y) {
  const lev_t *a = x, *b = y;
  if (a->epoch != b->epoch) return a->epoch < b->epoch ? -1 : 1;
  return a->line < b->line ? -1 : a->line > b->line;
}

static void declared(ctx_t *c, size_t from, size_t to);
static void rounds(ctx_t *c);

static void unique(ctx_t *c) {
  /* Per incarnation, epochs adopted strictly grow (events in order). */
  for (size_t i = 0; i < c->nev; i++) {
    const lev_t *e = &c->evs[i];
    if (e->leader == COHORT_NODE_NONE) continue;
    for (size_t j = i; j-- > 0;) {
      const lev_t *p = &c->evs[j];
      if (p->node != e->node || p->inc != e->inc || p->leader == COHORT_NODE_NONE) continue;
      if (p->epoch >= e->epoch)
        FAIL(c->out, "line %zu: node %u adopts epoch %llu after epoch %llu (line %zu)",
             e->line, e->node, (unsigned long long)e->epoch, (unsigned long long)p->epoch,
             p->line);
      break;
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < c->nev; i++)
    if (c->evs[i].leader != COHORT_NODE_NONE) c->evs[k++] = c->evs[i];
  c->nev = k;
  qsort(c->evs, c->nev, sizeof *c->evs, by_epoch);
  for (size_t i = 0; i < c->nev; i++) {
    c->out->checked++;
    if (i && c->evs[i].epoch == c->evs[i - 1].epoch && c->evs[i].leader != c->evs[i - 1].leader)
      FAIL(c->out, "epoch %llu has two leaders: %u (line %zu, node %u) and %u (line %zu, "
                   "node %u)",
           (unsigned long long)c->evs[i].epoch, c->evs[i - 1].leader, c->evs[i - 1].line,
           c->evs[i - 1].node, c->evs[i].leader, c->evs[i].line, c->evs[i].node);
  }
  for (size_t i = 0, j; i < c->nev; i = j) { /* groups of one epoch */
    for (j = i + 1; j < c->nev && c->evs[j].epoch == c->evs[i].epoch;) j++;
    declared(c, i, j);
  }
  if (c->rounds_unique) rounds(c);
}

/* Among evs[from, to) (one epoch), every adoption by another node must
 * follow the leader's own adoption (its declaration) in true time. */
static void declared(ctx_t *c, size_t from, size_t to) {
  int64_t first = INT64_MAX;
  for (size_t i = from; i < to; i++) {
    const lev_t *e = &c->evs[i];
    if (e->node == e->leader && e->tt < first) first = e->tt;
  }
  for (size_t i = from; i < to; i++) {
    const lev_t *e = &c->evs[i];
    if (e->node == e->leader || e->tt >= first || !node_get(c, e->leader)) continue;
    FAIL(c->out, "line %zu: node %u adopts leader %u in epoch %llu, which node %u %s",
         e->line, e->node, e->leader, (unsigned long long)e->epoch, e->leader,
         first == INT64_MAX ? "never declared" : "declared only later");
  }
}

/* rounds=unique: evs sorted by epoch, so one round's epochs are adjacent. */
static void rounds(ctx_t *c) {
  for (size_t i = 1; i < c->nev; i++) {
    const lev_t *a = &c->evs[i - 1], *b = &c->evs[i];
    if (ROUND_OF(a->epoch) != ROUND_OF(b->epoch) || a->leader == b->leader) continue;
    FAIL(c->out, "round %llu has two leaders: %u (line %zu, node %u) and %u (line %zu, "
         "node %u)", (unsigned long long)ROUND_OF(a->epoch), a->leader, a->line, a->node,
         b->leader, b->line, b->node);
  }
}

/* ---- agreement and highest --------------------------------------------------------- */

/* Every node's leader as of true time `at` (its current life only). */
static void state_at(ctx_t *c, int64_t at) {
  for (size_t i = 0; i < c->nnodes; i++) c->nodes[i].has_leader = false;
  for (size_t i = 0; i < c->nev && c->evs[i].tt <= at; i++) {
    const lev_t *e = &c->evs[i];
    nstate_t *n = node_get(c, e->node);
    if (!n || e->tt < n->since) continue;
    n->has_leader = e->leader != COHORT_NODE_NONE;
    n->leader = e->leader;
    n->epoch = e->epoch;
  }
}

static const nstate_t *live(ctx_t *c, cohort_node_id_t id) {
  const nstate_t *n = node_get(c, id);
  return n && n->up ? n : NULL;
}

static void agree_at(ctx_t *c, int64_t at, bool highest) {
  state_at(c, at);
  const nstate_t *first = NULL;
  cohort_node_id_t top = 0;
  double secs = (double)(at - c->t0) / 1e9;
  for (size_t i = 0; i < c->nnodes; i++) {
    const nstate_t *n = &c->nodes[i];
    if (!n->up) continue;
    if (n->id > top) top = n->id;
    c->out->checked++;
    if (!n->has_leader) {
      FAIL(c->out, "at %.3fs: live node %u holds no leader", secs, n->id);
    } else if (!first) {
      first = n;
    } else if (n->leader != first->leader || n->epoch != first->epoch) {
      FAIL(c->out, "at %.3fs: node %u holds leader %u (epoch %llu), node %u holds %u "
                   "(epoch %llu)",
           secs, first->id, first->leader, (unsigned long long)first->epoch, n->id, n->leader,
           (unsigned long long)n->epoch);
    }
  }
  if (!first) return;
  if (!live(c, first->leader))
    FAIL(c->out, "at %.3fs: the agreed leader %u is not live", secs, first->leader);
  else if (highest && first->leader != top)
    FAIL(c->out, "at %.3fs: leader is %u but the highest live id is %u", secs, first->leader,
         top);
}

static void eventual(ctx_t *c, bool highest) {
  int64_t from = c->last_fault == INT64_MIN ? c->t0 : c->last_fault;
  if (c->t_end - from < c->settle) {
    cohort_fmt(c->out->summary, sizeof c->out->summary,
               "not checked: the trace ends %.3fs after its last fault (settle %.3fs)",
               (double)(c->t_end - from) / 1e9, (double)c->settle / 1e9);
    return;
  }
  agree_at(c, from + c->settle, highest);
  agree_at(c, c->t_end, highest);
}

/* ---- running ---------------------------------------------------------------------- */

enum { CHECK_UNIQUE, CHECK_AGREEMENT, CHECK_HIGHEST };

static const char *const check_names[] = {"election-unique", "election-agreement",
                                          "election-highest"};

static int run(int which, const cohort_trace_t *t, const cohort_param_t *p, size_t n,
               cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known_unique[] = {"proto", "rounds", NULL};
  static const char *const known[] = {"proto", "settle", NULL};
  const char *who = check_names[which];
  ctx_t c = {.t = t, .out = out, .settle = 5 * COHORT_NS_PER_S};
  int rc = cohort_param_check_known(p, n, which == CHECK_UNIQUE ? known_unique : known, who,
                                    err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "settle", &c.settle, who, err, errcap);
  const char *rounds_mode = cohort_param_get(p, n, "rounds");
  if (!rc && rounds_mode && strcmp(rounds_mode, "any") && strcmp(rounds_mode, "unique")) {
    if (err && errcap) cohort_fmt(err, errcap, "%s: rounds: not any or unique: '%s'", who,
                                  rounds_mode);
    rc = COHORT_EINVAL;
  }
  if (rc) return rc;
  c.rounds_unique = rounds_mode && !strcmp(rounds_mode, "unique");
  c.proto = cohort_param_get(p, n, "proto");
  *out = (cohort_check_result_t){0};
  rc = collect(&c);
  if (!rc && which == CHECK_UNIQUE) unique(&c);
  if (!rc && which != CHECK_UNIQUE) eventual(&c, which == CHECK_HIGHEST);
  if (!rc && !out->summary[0])
    cohort_fmt(out->summary, sizeof out->summary, "%zu nodes, %llu checks, %llu violations",
               c.nnodes, (unsigned long long)out->checked, (unsigned long long)out->violations);
  const cohort_allocator_t *a = cohort_allocator_default();
  cohort_free(a, c.evs);
  cohort_free(a, c.nodes);
  if (rc && err && errcap) cohort_fmt(err, errcap, "%s: %s", who, cohort_strerror(rc));
  return rc;
}

static int unique_run(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                      cohort_check_result_t *out, char *err, size_t errcap) {
  return run(CHECK_UNIQUE, t, p, n, out, err, errcap);
}

static int agreement_run(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                         cohort_check_result_t *out, char *err, size_t errcap) {
  return run(CHECK_AGREEMENT, t, p, n, out, err, errcap);
}

static int highest_run(const cohort_trace_t *t, const cohort_param_t *p, size_t n,
                       cohort_check_result_t *out, char *err, size_t errcap) {
  return run(CHECK_HIGHEST, t, p, n, out, err, errcap);
}

const cohort_checker_t cohort_check_election_unique = {
    "election-unique",
    "at most one leader per epoch (epochs name their leader, adopted only once declared); "
    "each node adopts growing epochs [proto=bully|ring-election rounds=any|unique]",
    unique_run};

const cohort_checker_t cohort_check_election_agreement = {
    "election-agreement",
    "settle after the last fault and at the end, all live nodes hold the same live leader "
    "[settle=5s proto=NAME]",
    agreement_run};

const cohort_checker_t cohort_check_election_highest = {
    "election-highest",
    "settle after the last fault and at the end, the leader is the highest live id (bully) "
    "[settle=5s proto=NAME]",
    highest_run};
