/*
 * tests/clock/test_clock_props.c — property tests of the clocks over
 * thousands of random executions of the chatter protocol on the fake host
 * (2..8 nodes, random delays so datagrams arrive in random order, loss,
 * duplication, clock offsets and drifts).
 *
 * Each execution is read back from its trace (cohort_trace_parse_line).
 * Happened-before is computed independently of the library: process order
 * plus send → recv matched by message id, closed transitively by dense
 * "ground truth" vectors gt(e)[j] = number of node j's events that are
 * causally at or before e. Then a → b (a ≠ b) iff gt(a)[node a] <=
 * gt(b)[node a]. Node refusals (trace `drop` records) are not events: the
 * node does not tick its clocks for them.
 *
 * Checked over every ordered pair of events (the properties of clock.h):
 *   a → b  ⇔  VC(a) < VC(b)
 *   a → b  ⇒  L(a) < L(b)
 *   a → b  ⇒  HLC(a) < HLC(b)
 * and for every event e, with pt(e) its node's physical (wall) clock:
 *   0 <= l(e) − pt(e) <= min(ε, max_offset)
 * where ε = max over nodes i, j and true times t of the run of
 * C_i(t) − C_j(t) (exact: the fake clocks are linear in t, so it is taken
 * at the run's first and last instants) and max_offset the HLC's refusal
 * bound. Why: l(e) is the largest pt of any event f in e's causal past;
 * f happened at a true time t_f <= t_e (message delays are >= 0) and
 * clocks are monotonic, so pt(f) = C_i(t_f) <= C_i(t_e) <= C_j(t_e) + ε.
 * Message delay does not enter the bound: a delay only makes the stamp
 * older on arrival. And a receive is refused when its l leads pt by more
 * than max_offset, so an accepted l never leads by more than that either.
 * Also checked exactly: L(e) = length of the longest causal chain ending
 * at e; VC(e) = gt(e); l(e) = max pt over e's causal past.
 *
 * The checker is shown to fail: executions are replayed with correct
 * clock rules (which must reproduce the node's stamps exactly) and with
 * deliberately broken ones (a merge that keeps only the sender's entry, a
 * Lamport receive without max, an HLC receive that ignores the stamp, an
 * ε four times too small), each of which it must catch.
 *
 * Environment: CLOCK_PROP_RUNS (default 2000), CLOCK_PROP_SEED (default
 * 1), CLOCK_PROP_ONLY=R replays run R alone. A failure prints the command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/chatter.h"
#include "fakehost.h"

#define K_MAX FH_NODES_MAX

typedef enum { EV_LOCAL, EV_SEND, EV_RECV } ev_kind_t;

typedef struct ev {
  size_t node; /* index; id = node + 1 */
  ev_kind_t kind;
  long prev, send; /* previous event of the node; recv: its send; or -1 */
  int64_t pt;
  uint64_t lamport;
  cohort_hlc_ts_t hlc;
  uint64_t vc[K_MAX];
  /* ground truth, computed from the graph alone */
  uint64_t gt[K_MAX];
  int64_t pt_max;
  uint64_t chain;
} ev_t;

typedef struct exec {
  ev_t *ev;
  size_t len, cap, k;
  int64_t eps, hlc_max_offset;
  uint64_t refused, lost, duplicated;
} exec_t;

/* ---- building the event graph from a trace ------------------------------ */

static ev_t *exec_push(exec_t *x) {
  if (x->len == x->cap) {
    x->cap = x->cap ? 2 * x->cap : 256;
    x->ev = realloc(x->ev, x->cap * sizeof *x->ev);
    assert_non_null(x->ev);
  }
  memset(&x->ev[x->len], 0, sizeof x->ev[0]);
  return &x->ev[x->len++];
}

/* Returns NULL or why the trace cannot be turned into a graph. */
static const char *exec_from_trace(exec_t *x, const cohort_trace_t *t,
                                   size_t k) {
  long last[K_MAX];
  long *by_seq[K_MAX] = {0}; /* send seq → event index, per sender */
  size_t by_seq_cap[K_MAX] = {0};
  const char *why = NULL;
  x->len = 0;
  x->k = k;
  for (size_t i = 0; i < k; i++) last[i] = -1;
  for (size_t r = 0; r < t->len && !why; r++) {
    const cohort_trace_rec_t *rec = &t->recs[r];
    if (rec->type == COHORT_EV_DROP) {
      if (rec->reason && !strcmp(rec->reason, "clock")) x->refused++;
      continue; /* a refusal is not a clock event */
    }
    if (!rec->has_stamps || rec->node < 1 || rec->node > k) {
      why = "event without stamps or from an unknown node";
      break;
    }
    ev_t *e = exec_push(x);
    e->node = rec->node - 1;
    e->kind = rec->type == COHORT_EV_SEND   ? EV_SEND
              : rec->type == COHORT_EV_RECV ? EV_RECV
                                            : EV_LOCAL;
    e->prev = last[e->node];
    e->send = -1;
    last[e->node] = (long)(x->len - 1);
    e->pt = rec->local_ns;
    e->lamport = rec->lamport;
    e->hlc = rec->hlc;
    for (size_t j = 0; j < rec->vc_len; j++) {
      if (rec->vc[j].node < 1 || rec->vc[j].node > k) why = "vc node";
      else e->vc[rec->vc[j].node - 1] = rec->vc[j].counter;
    }
    if (!rec->has_msg || e->kind == EV_LOCAL) continue;
    size_t from = rec->msg.from - 1, seq = (size_t)rec->msg.seq;
    if (from >= k) {
      why = "message from an unknown node";
    } else if (e->kind == EV_SEND) {
      if (seq >= by_seq_cap[from]) {
        size_t cap = 2 * seq + 16;
        by_seq[from] = realloc(by_seq[from], cap * sizeof(long));
        assert_non_null(by_seq[from]);
        for (size_t s = by_seq_cap[from]; s < cap; s++) by_seq[from][s] = -1;
        by_seq_cap[from] = cap;
      }
      by_seq[from][seq] = (long)(x->len - 1);
    } else if (seq >= by_seq_cap[from] || by_seq[from][seq] < 0) {
      why = "recv of a message never sent";
    } else {
      e->send = by_seq[from][seq];
    }
  }
  for (size_t i = 0; i < k; i++) free(by_seq[i]);
  return why;
}

/* Ground truth from the graph alone: no library code involved. */
static void exec_ground_truth(exec_t *x) {
  for (size_t i = 0; i < x->len; i++) {
    ev_t *e = &x->ev[i];
    const ev_t *p = e->prev >= 0 ? &x->ev[e->prev] : NULL;
    const ev_t *s = e->send >= 0 ? &x->ev[e->send] : NULL;
    memset(e->gt, 0, sizeof e->gt);
    e->pt_max = e->pt;
    e->chain = 0;
    const ev_t *before[2] = {p, s}; /* immediate causal predecessors */
    for (size_t b = 0; b < 2; b++) {
      const ev_t *q = before[b];
      if (!q) continue;
      for (size_t j = 0; j < x->k; j++)
        if (q->gt[j] > e->gt[j]) e->gt[j] = q->gt[j];
      if (q->pt_max > e->pt_max) e->pt_max = q->pt_max;
      if (q->chain > e->chain) e->chain = q->chain;
    }
    e->gt[e->node]++;
    e->chain++;
  }
}

/* ---- the checker --------------------------------------------------------- */

typedef struct verdict {
  char what[200]; /* first violation, "" if none */
  unsigned failed; /* bit per property below */
} verdict_t;

enum {
  P_VC = 1u << 0,      /* a → b ⇔ VC(a) < VC(b) */
  P_LAMPORT = 1u << 1, /* a → b ⇒ L(a) < L(b) */
  P_HLC = 1u << 2,     /* a → b ⇒ HLC(a) < HLC(b) */
  P_BOUND = 1u << 3,   /* 0 <= l − pt <= min(ε, max_offset) */
  P_EXACT = 1u << 4    /* L = chain, VC = gt, l = max pt of causal past */
};

static void violation(verdict_t *v, unsigned prop, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(verdict_t *v, unsigned prop, const char *fmt, ...) {
  if (!v->what[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->what, sizeof v->what, fmt, ap);
    va_end(ap);
  }
  v->failed |= prop;
}

static bool hlc_less(cohort_hlc_ts_t a, cohort_hlc_ts_t b) {
  return a.l < b.l || (a.l == b.l && a.c < b.c);
}

/* O(events² · k): the hot loop of the test, so hb and vc_less are inlined
 * by hand (the sanitizer build does not inline). */
static void check_pairs(const exec_t *x, verdict_t *v) {
  for (size_t i = 0; i < x->len; i++) {
    const ev_t *a = &x->ev[i];
    uint64_t a_seq = a->gt[a->node]; /* a is its node's a_seq-th event */
    for (size_t j = 0; j < x->len; j++) {
      const ev_t *b = &x->ev[j];
      bool ab = i != j && a_seq <= b->gt[a->node]; /* hb(a, b) */
      bool le = i != j, strict = false;            /* vc_less(a, b) */
      for (size_t q = 0; q < x->k && le; q++) {
        le = a->vc[q] <= b->vc[q];
        strict |= a->vc[q] < b->vc[q];
      }
      if (ab != (le && strict))
        violation(v, P_VC, "events %zu,%zu: a%sb but VC says %s", i, j,
                  ab ? "→" : "↛", ab ? "not <" : "<");
      if (!ab) continue;
      if (a->lamport >= b->lamport)
        violation(v, P_LAMPORT, "events %zu→%zu: L %llu >= %llu", i, j,
                  (unsigned long long)a->lamport,
                  (unsigned long long)b->lamport);
      if (!hlc_less(a->hlc, b->hlc))
        violation(v, P_HLC, "events %zu→%zu: HLC (%lld,%u) >= (%lld,%u)", i,
                  j, (long long)a->hlc.l, a->hlc.c, (long long)b->hlc.l,
                  b->hlc.c);
    }
  }
}

static void check_each(const exec_t *x, int64_t eps_bound, verdict_t *v) {
  for (size_t i = 0; i < x->len; i++) {
    const ev_t *e = &x->ev[i];
    int64_t lead = e->hlc.l - e->pt;
    if (lead < 0 || lead > eps_bound)
      violation(v, P_BOUND, "event %zu: l − pt = %lld outside [0, %lld]", i,
           (long long)lead, (long long)eps_bound);
    if (e->lamport != e->chain)
      violation(v, P_EXACT, "event %zu: L %llu != longest chain %llu", i,
           (unsigned long long)e->lamport, (unsigned long long)e->chain);
    if (memcmp(e->vc, e->gt, sizeof e->vc))
      violation(v, P_EXACT, "event %zu: VC != its causal past", i);
    if (e->hlc.l != e->pt_max)
      violation(v, P_EXACT, "event %zu: l %lld != max pt of causal past %lld", i,
           (long long)e->hlc.l, (long long)e->pt_max);
  }
}

static int64_t exec_bound(const exec_t *x) {
  return x->eps < x->hlc_max_offset ? x->eps : x->hlc_max_offset;
}

static verdict_t exec_check(const exec_t *x, int64_t eps_bound) {
  verdict_t v = {.what = "", .failed = 0};
  check_pairs(x, &v);
  check_each(x, eps_bound, &v);
  return v;
}

/* ---- replaying an execution's graph with given clock rules -------------- */

typedef struct rules {
  const char *name;
  int (*vc_recv)(cohort_vclock_t *vc, const cohort_vclock_t *msg,
                 cohort_node_id_t self, cohort_node_id_t from);
  uint64_t (*lamport_recv)(cohort_lamport_t *c, uint64_t remote);
  int (*hlc_recv)(cohort_hlc_t *h, int64_t pt, cohort_hlc_ts_t remote,
                  cohort_hlc_ts_t *out);
} rules_t;

static int vc_recv_ok(cohort_vclock_t *vc, const cohort_vclock_t *msg,
                      cohort_node_id_t self, cohort_node_id_t from) {
  (void)from;
  int rc = cohort_vclock_merge(vc, msg);
  return rc ? rc : cohort_vclock_tick(vc, self, 0);
}

/* Broken: learns only the sender's own count, not what the sender knew. */
static int vc_recv_sender_only(cohort_vclock_t *vc, const cohort_vclock_t *msg,
                               cohort_node_id_t self, cohort_node_id_t from) {
  uint64_t c = cohort_vclock_get(msg, from, 0);
  if (c > cohort_vclock_get(vc, from, 0)) cohort_vclock_set(vc, from, 0, c);
  return cohort_vclock_tick(vc, self, 0);
}

/* Broken: a receive is just a local tick. */
static uint64_t lamport_recv_no_max(cohort_lamport_t *c, uint64_t remote) {
  (void)remote;
  return cohort_lamport_tick(c);
}

static int hlc_recv_ignore(cohort_hlc_t *h, int64_t pt, cohort_hlc_ts_t remote,
                           cohort_hlc_ts_t *out) {
  (void)remote;
  *out = cohort_hlc_now(h, pt);
  return 0;
}

static const rules_t rules_ok = {"correct", vc_recv_ok, cohort_lamport_recv,
                                 cohort_hlc_recv};

typedef struct node_clocks {
  cohort_lamport_t lamport;
  cohort_vclock_t vc;
  cohort_hlc_t hlc;
} node_clocks_t;

/* Recompute every event's stamps with `r`; a send's stamps travel with
 * its message. Returns how many stamps differ from the recorded ones. */
static size_t exec_replay(exec_t *x, const rules_t *r) {
  node_clocks_t nc[K_MAX];
  cohort_vclock_t *sent = calloc(x->len, sizeof *sent);
  assert_non_null(sent);
  for (size_t i = 0; i < x->k; i++) {
    nc[i].lamport.time = 0;
    cohort_vclock_init(&nc[i].vc, NULL);
    cohort_hlc_init(&nc[i].hlc, x->hlc_max_offset);
  }
  size_t diffs = 0;
  for (size_t i = 0; i < x->len; i++) {
    ev_t *e = &x->ev[i];
    node_clocks_t *c = &nc[e->node];
    cohort_node_id_t self = (cohort_node_id_t)(e->node + 1);
    cohort_vclock_init(&sent[i], NULL);
    if (e->kind == EV_RECV) {
      const ev_t *s = &x->ev[e->send];
      cohort_hlc_ts_t out;
      assert_int_equal(r->hlc_recv(&c->hlc, e->pt, s->hlc, &out), 0);
      r->lamport_recv(&c->lamport, s->lamport);
      assert_int_equal(r->vc_recv(&c->vc, &sent[e->send], self,
                                  (cohort_node_id_t)(s->node + 1)), 0);
    } else {
      cohort_hlc_now(&c->hlc, e->pt);
      cohort_lamport_tick(&c->lamport);
      assert_int_equal(cohort_vclock_tick(&c->vc, self, 0), 0);
      if (e->kind == EV_SEND)
        assert_int_equal(cohort_vclock_copy(&sent[i], &c->vc), 0);
    }
    uint64_t vc[K_MAX] = {0};
    for (size_t j = 0; j < x->k; j++)
      vc[j] = cohort_vclock_get(&c->vc, (cohort_node_id_t)(j + 1), 0);
    diffs += e->lamport != c->lamport.time ||
             cohort_hlc_compare(e->hlc, c->hlc.last) != 0 ||
             memcmp(e->vc, vc, sizeof vc) != 0;
    e->lamport = c->lamport.time;
    e->hlc = c->hlc.last;
    memcpy(e->vc, vc, sizeof vc);
  }
  for (size_t i = 0; i < x->len; i++) cohort_vclock_close(&sent[i]);
  for (size_t i = 0; i < x->k; i++) cohort_vclock_close(&nc[i].vc);
  free(sent);
  return diffs;
}

/* ---- generating executions --------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  return *end ? dflt : (uint64_t)v;
}

static int64_t exec_eps(const fh_world_t *w) {
  int64_t eps = 0;
  int64_t ends[2] = {FH_T0, w->tt};
  for (size_t i = 0; i < w->cfg.nodes; i++)
    for (size_t j = 0; j < w->cfg.nodes; j++)
      for (size_t t = 0; t < 2; t++) {
        int64_t d = fh_wall_at(&w->n[i], ends[t]) - fh_wall_at(&w->n[j], ends[t]);
        if (d > eps) eps = d;
      }
  return eps;
}

/* Run execution `run` of seed `seed` and read it back into x. */
static void exec_generate(uint64_t seed, uint64_t run, exec_t *x) {
  uint64_t s = seed * 1000003u + run;
  size_t k = 2 + (size_t)(fh_rand(&s) % 7);
  uint64_t fanout = 1 + fh_rand(&s) % (k - 1);
  double local = (double)(fh_rand(&s) % 40) / 100.0;
  uint64_t interval_ms = 5 + fh_rand(&s) % 46;
  double per_round = 1.0 + 3.0 * (double)fanout * (1.0 - local);
  uint64_t rounds = (uint64_t)(200.0 / (per_round * (double)k));
  if (rounds < 2) rounds = 2;
  fh_config_t cfg = {.nodes = k, .seed = fh_rand(&s), .trace = true};
  cfg.delay_min_ns = (int64_t)(fh_rand(&s) % (2 * COHORT_NS_PER_MS));
  cfg.delay_max_ns =
      cfg.delay_min_ns + (int64_t)(fh_rand(&s) % (60 * COHORT_NS_PER_MS));
  cfg.loss = (double)(fh_rand(&s) % 30) / 100.0;
  cfg.dup = (double)(fh_rand(&s) % 20) / 100.0;
  cfg.offset_max_ns = (int64_t)(fh_rand(&s) % (50 * COHORT_NS_PER_MS));
  cfg.drift_max_ppm = (int64_t)(fh_rand(&s) % 200);
  cfg.hlc_max_offset_ns =
      fh_rand(&s) % 4 == 0
          ? 1 + (int64_t)(fh_rand(&s) % (uint64_t)(cfg.offset_max_ns + 1))
          : 10 * COHORT_NS_PER_S; /* a quarter of the runs refuse some */
  char interval[32], fan[32], loc[32], rnd[32];
  snprintf(interval, sizeof interval, "%llums", (unsigned long long)interval_ms);
  snprintf(fan, sizeof fan, "%llu", (unsigned long long)fanout);
  snprintf(loc, sizeof loc, "%.2f", local);
  snprintf(rnd, sizeof rnd, "%llu", (unsigned long long)rounds);
  cohort_param_t params[] = {{"interval", interval}, {"fanout", fan},
                             {"local", loc}, {"rounds", rnd}};

  fh_world_t w;
  assert_int_equal(fh_init(&w, &cfg), 0);
  cohort_proto_t *p[K_MAX];
  for (size_t i = 0; i < k; i++) {
    char err[128];
    assert_int_equal(cohort_chatter_factory.create(w.n[i].node, params, 4,
                                                   &p[i], err, sizeof err), 0);
    assert_int_equal(cohort_node_attach(w.n[i].node, p[i]), 0);
    cohort_node_start(w.n[i].node);
  }
  fh_run(&w, INT64_MAX);
  if (w.trace_errors) fail_msg("trace line rejected: %s", w.trace_err);
  assert_int_equal(w.overflow, 0);
  x->refused = 0;
  const char *why = exec_from_trace(x, &w.trace, k);
  if (why) fail_msg("run %llu: %s", (unsigned long long)run, why);
  x->eps = exec_eps(&w);
  x->hlc_max_offset = cfg.hlc_max_offset_ns;
  x->lost = w.lost;
  x->duplicated = w.duplicated;
  exec_ground_truth(x);
  for (size_t i = 0; i < k; i++) {
    cohort_node_detach(w.n[i].node, p[i]);
    cohort_chatter_factory.destroy(p[i]);
  }
  fh_close(&w);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_properties(void **state) {
  (void)state;
  uint64_t seed = env_u64("CLOCK_PROP_SEED", 1);
  uint64_t runs = env_u64("CLOCK_PROP_RUNS", 2000);
  uint64_t only = env_u64("CLOCK_PROP_ONLY", UINT64_MAX);
  uint64_t first = only == UINT64_MAX ? 0 : only;
  uint64_t last = only == UINT64_MAX ? runs : only + 1;
  exec_t x = {0};
  uint64_t events = 0, pairs = 0, refused = 0, lost = 0, dup = 0, max_c = 0;
  double lead_ratio_max = 0;
  for (uint64_t run = first; run < last; run++) {
    exec_generate(seed, run, &x);
    verdict_t v = exec_check(&x, exec_bound(&x));
    if (v.failed)
      fail_msg("run %llu: %s\nreplay: CLOCK_PROP_SEED=%llu CLOCK_PROP_ONLY=%llu "
               "tests/clock/test_clock_props",
               (unsigned long long)run, v.what, (unsigned long long)seed,
               (unsigned long long)run);
    events += x.len;
    pairs += x.len * (x.len - 1);
    refused += x.refused;
    lost += x.lost;
    dup += x.duplicated;
    for (size_t i = 0; i < x.len; i++) {
      if (x.ev[i].hlc.c > max_c) max_c = x.ev[i].hlc.c;
      if (x.eps > 0) {
        double r = (double)(x.ev[i].hlc.l - x.ev[i].pt) / (double)x.eps;
        if (r > lead_ratio_max) lead_ratio_max = r;
      }
    }
    /* The node's stamps are exactly what the clock rules give. */
    size_t diffs = exec_replay(&x, &rules_ok);
    if (diffs)
      fail_msg("run %llu: %zu node stamps differ from the clock rules",
               (unsigned long long)run, diffs);
  }
  print_message("clock properties: %llu runs, %llu events, %llu ordered pairs, "
                "%llu lost, %llu duplicated, %llu HLC refusals, max c %llu, "
                "max (l - pt)/eps %.3f\n",
                (unsigned long long)(last - first), (unsigned long long)events,
                (unsigned long long)pairs, (unsigned long long)lost,
                (unsigned long long)dup, (unsigned long long)refused,
                (unsigned long long)max_c, lead_ratio_max);
  if (only == UINT64_MAX && runs >= 200) {
    assert_true(refused > 0); /* the refusal path ran */
    assert_true(lost > 0 && dup > 0);
    assert_true(lead_ratio_max > 0.1); /* the bound is not vacuous */
  }
  free(x.ev);
}

/* The checker must catch each deliberately broken rule. */
static void test_checker_catches_broken_rules(void **state) {
  (void)state;
  const rules_t broken[] = {
      {"vc merge keeps only the sender's entry", vc_recv_sender_only,
       cohort_lamport_recv, cohort_hlc_recv},
      {"lamport recv without max", vc_recv_ok, lamport_recv_no_max,
       cohort_hlc_recv},
      {"hlc recv ignores the stamp", vc_recv_ok, cohort_lamport_recv,
       hlc_recv_ignore},
  };
  const unsigned expect[] = {P_VC, P_LAMPORT, P_HLC};
  unsigned caught[3] = {0}, bound_caught = 0, runs = 60;
  exec_t x = {0};
  for (uint64_t run = 0; run < runs; run++) {
    exec_generate(99, run, &x);
    assert_int_equal(exec_check(&x, exec_bound(&x)).failed, 0);
    if (exec_check(&x, x.eps / 4).failed & P_BOUND) bound_caught++;
    for (size_t b = 0; b < COHORT_ARRAY_LEN(broken); b++) {
      exec_t y = x;
      y.ev = malloc(x.len * sizeof *x.ev);
      assert_non_null(y.ev);
      memcpy(y.ev, x.ev, x.len * sizeof *x.ev);
      exec_replay(&y, &broken[b]);
      if (exec_check(&y, exec_bound(&y)).failed & expect[b]) caught[b]++;
      free(y.ev);
    }
  }
  for (size_t b = 0; b < COHORT_ARRAY_LEN(broken); b++) {
    print_message("broken rule '%s': caught in %u of %u runs\n", broken[b].name,
                  caught[b], runs);
    assert_true(caught[b] >= runs / 2);
  }
  print_message("eps/4 as the HLC bound: violated in %u of %u runs\n",
                bound_caught, runs);
  assert_true(bound_caught > 0);
  free(x.ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_properties),
      cmocka_unit_test(test_checker_catches_broken_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
