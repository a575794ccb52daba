/*
 * tests/clock/fakehost.c — see fakehost.h. Deterministic: a seed fixes
 * every draw, and ties between events at one true instant are broken by
 * node index and enqueue order, so a seed gives the same trace.
 */
#include "fakehost.h"

#include <stdlib.h>
#include <string.h>

uint64_t fh_rand(uint64_t *state) { /* splitmix64 */
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static double fh_unit(uint64_t *s) {
  return (double)(fh_rand(s) >> 11) * 0x1p-53;
}

static int64_t fh_uniform(uint64_t *s, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + (int64_t)(fh_rand(s) % (uint64_t)(hi - lo + 1));
}

/* Elapsed true time scaled by the drift, in exact integer arithmetic. */
static int64_t fh_scaled(const fh_node_t *n, int64_t tt) {
  int64_t e = tt - FH_T0;
  return e + e * n->drift_ppm / 1000000;
}

int64_t fh_wall_at(const fh_node_t *n, int64_t tt) {
  return FH_T0 + n->offset_ns + fh_scaled(n, tt);
}

int64_t fh_now_at(const fh_node_t *n, int64_t tt) {
  return COHORT_NS_PER_S + fh_scaled(n, tt); /* monotonic: starts at 1 s */
}

/* Earliest true time at which node n's monotonic clock reads >= local. */
static int64_t fh_true_of_local(const fh_node_t *n, int64_t local) {
  if (local == COHORT_TIME_NEVER) return INT64_MAX;
  int64_t e = local - COHORT_NS_PER_S;
  int64_t tt = FH_T0 + (int64_t)((double)e * 1e6 / (1e6 + (double)n->drift_ppm));
  while (fh_now_at(n, tt) < local) tt++;
  while (fh_now_at(n, tt - 1) >= local) tt--;
  return tt;
}

/* ---- host ops ------------------------------------------------------------- */

static int64_t op_now(void *h) {
  fh_node_t *n = h;
  return fh_now_at(n, n->w->tt);
}
static int64_t op_wall(void *h) {
  fh_node_t *n = h;
  return fh_wall_at(n, n->w->tt);
}
static int64_t op_true(void *h) { return ((fh_node_t *)h)->w->tt; }
static uint64_t op_random(void *h) { return fh_rand(&((fh_node_t *)h)->rng); }
static void op_wake(void *h, int64_t deadline) {
  ((fh_node_t *)h)->wake = deadline;
}

static void fh_enqueue(fh_world_t *w, size_t to, const uint8_t *d, size_t len) {
  if (w->q_len == FH_INFLIGHT_MAX || len > FH_DATAGRAM_MAX) {
    w->overflow++;
    return;
  }
  fh_datagram_t *g = &w->q[w->q_len++];
  g->at = w->tt + fh_uniform(&w->rng, w->cfg.delay_min_ns, w->cfg.delay_max_ns);
  g->order = w->q_order++;
  g->to = to;
  g->len = len;
  memcpy(g->data, d, len);
}

static int op_send(void *h, cohort_node_id_t to, const uint8_t *d, size_t len) {
  fh_node_t *n = h;
  fh_world_t *w = n->w;
  if (to < 1 || to > w->cfg.nodes) return COHORT_EINVAL;
  if (fh_unit(&w->rng) < w->cfg.loss) {
    w->lost++;
    return 0; /* lost on the wire: the sender cannot tell */
  }
  fh_enqueue(w, to - 1, d, len);
  if (fh_unit(&w->rng) < w->cfg.dup) {
    w->duplicated++;
    fh_enqueue(w, to - 1, d, len);
  }
  return 0;
}

static void op_trace(void *h, const char *line, size_t len) {
  fh_world_t *w = ((fh_node_t *)h)->w;
  for (size_t i = 0; i < len; i++)
    w->trace_hash = (w->trace_hash ^ (uint8_t)line[i]) * 0x100000001b3u;
  w->trace_hash = (w->trace_hash ^ '\n') * 0x100000001b3u;
  size_t lineno = w->trace.len + w->trace_errors + 1;
  if (cohort_trace_parse_line(&w->trace, line, len, lineno, w->trace_err,
                              sizeof w->trace_err))
    w->trace_errors++;
}

static const cohort_host_ops_t fh_ops = {
    .now = op_now, .wall = op_wall, .true_time = op_true,
    .random = op_random, .send = op_send, .wake = op_wake, .trace = op_trace};
static const cohort_host_ops_t fh_ops_untraced = {
    .now = op_now, .wall = op_wall, .true_time = op_true,
    .random = op_random, .send = op_send, .wake = op_wake, .trace = NULL};

/* ---- world ------------------------------------------------------------------ */

int fh_init(fh_world_t *w, const fh_config_t *cfg) {
  memset(w, 0, sizeof *w);
  w->cfg = *cfg;
  w->tt = FH_T0;
  w->rng = cfg->seed;
  w->trace_hash = 0xcbf29ce484222325u;
  cohort_trace_init(&w->trace);
  if (cfg->nodes < 2 || cfg->nodes > FH_NODES_MAX) return COHORT_EINVAL;
  w->q = calloc(FH_INFLIGHT_MAX, sizeof *w->q);
  if (!w->q) return COHORT_ENOMEM;
  cohort_node_id_t ids[FH_NODES_MAX];
  for (size_t i = 0; i < cfg->nodes; i++) ids[i] = (cohort_node_id_t)(i + 1);
  for (size_t i = 0; i < cfg->nodes; i++) {
    fh_node_t *n = &w->n[i];
    n->w = w;
    n->id = ids[i];
    n->offset_ns = fh_uniform(&w->rng, -cfg->offset_max_ns, cfg->offset_max_ns);
    n->drift_ppm = fh_uniform(&w->rng, -cfg->drift_max_ppm, cfg->drift_max_ppm);
    n->wake = COHORT_TIME_NEVER;
    n->rng = fh_rand(&w->rng);
    cohort_node_id_t peers[FH_NODES_MAX];
    size_t np = 0;
    for (size_t j = 0; j < cfg->nodes; j++)
      if (j != i) peers[np++] = ids[j];
    cohort_node_config_t nc = {.cluster_id = 77, .id = n->id, .incarnation = 1,
                               .peers = peers, .peers_len = np,
                               .vector_clock = true,
                               .hlc_max_offset_ns = cfg->hlc_max_offset_ns,
                               .alloc = cfg->alloc};
    int rc = cohort_node_new(&nc, cfg->trace ? &fh_ops : &fh_ops_untraced, n,
                             &n->node);
    if (rc) return rc;
  }
  return 0;
}

void fh_close(fh_world_t *w) {
  for (size_t i = 0; i < FH_NODES_MAX; i++) cohort_node_free(w->n[i].node);
  free(w->q);
  cohort_trace_close(&w->trace);
  memset(w, 0, sizeof *w);
}

/* Next step: a wake-up (index < nodes) or a delivery (nodes + queue index);
 * SIZE_MAX if nothing is scheduled. */
static size_t fh_next(const fh_world_t *w, int64_t *at) {
  size_t best = SIZE_MAX;
  int64_t t_best = INT64_MAX;
  for (size_t i = 0; i < w->cfg.nodes; i++) {
    int64_t t = fh_true_of_local(&w->n[i], w->n[i].wake);
    if (t < t_best) t_best = t, best = i;
  }
  uint32_t o_best = UINT32_MAX;
  for (size_t k = 0; k < w->q_len; k++) {
    const fh_datagram_t *g = &w->q[k];
    if (g->at < t_best || (g->at == t_best && best >= w->cfg.nodes &&
                           g->order < o_best))
      t_best = g->at, best = w->cfg.nodes + k, o_best = g->order;
  }
  *at = t_best;
  return best;
}

uint64_t fh_run(fh_world_t *w, int64_t until) {
  uint64_t steps = 0;
  uint8_t buf[FH_DATAGRAM_MAX];
  for (;;) {
    int64_t at;
    size_t which = fh_next(w, &at);
    if (which == SIZE_MAX || at > until) break;
    if (at > w->tt) w->tt = at; /* a wake-up in the past runs now */
    steps++;
    if (which < w->cfg.nodes) {
      w->n[which].wake = COHORT_TIME_NEVER;
      cohort_node_on_wake(w->n[which].node);
      continue;
    }
    fh_datagram_t *g = &w->q[which - w->cfg.nodes];
    size_t to = g->to, len = g->len;
    memcpy(buf, g->data, len);
    *g = w->q[--w->q_len]; /* unordered removal */
    w->delivered++;
    (void)cohort_node_on_datagram(w->n[to].node, buf, len);
  }
  if (w->tt < until && until != INT64_MAX) w->tt = until;
  return steps;
}
