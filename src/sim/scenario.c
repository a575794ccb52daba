/*
 * src/sim/scenario.c — the scenario file parser (docs/scenario-format.md).
 *
 * A scenario is line-oriented: one directive per line, `#` comments,
 * `key=value` parameters. The whole text is copied once and tokenised in
 * place, so every string of a parsed scenario points into that copy and
 * freeing it is a handful of calls.
 *
 * Invariants: every bad line is refused with "name:line: reason" and
 * COHORT_EINVAL, never an assertion; a scenario that parses can be run:
 * node ids are in range, fault events fall inside the duration and their
 * scripted order is consistent (no restart of a live node, no event on a
 * node before its join, no leave or ctl of a crashed node), protocol
 * parameters were accepted by a trial create, checkers exist.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define TOKENS_MAX 64

typedef struct parser {
  cohort_scenario_t *s;
  const char *name;
  uint32_t line;
  char *err;
  size_t errcap;
} parser_t;

static int fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser_t *p, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (p->err && p->errcap && p->line)
    snprintf(p->err, p->errcap, "%s:%u: %s", p->name, p->line, msg);
  else if (p->err && p->errcap)
    snprintf(p->err, p->errcap, "%s: %s", p->name, msg);
  return COHORT_EINVAL;
}

/* ---- lexical helpers -------------------------------------------------------- */

/* Split a line into whitespace-separated tokens; parentheses group (so
 * "lognormal(median=1ms, sigma=0.5)" is one token). Returns the count or
 * -1 if there are too many or a parenthesis is unbalanced. */
static int tokenize(char *line, char **tok, int max) {
  int n = 0;
  char *c = line;
  for (;;) {
    while (*c == ' ' || *c == '\t') c++;
    if (!*c) return n;
    if (n == max) return -1;
    tok[n++] = c;
    int depth = 0;
    char *w = c; /* compact: drop blanks inside parentheses */
    for (; *c && (depth > 0 || (*c != ' ' && *c != '\t')); c++) {
      if (*c == '(') depth++;
      if (*c == ')' && --depth < 0) return -1;
      if (depth > 0 && (*c == ' ' || *c == '\t')) continue;
      *w++ = *c;
    }
    if (depth) return -1;
    bool end = !*c;
    *w = '\0';
    if (end) return n;
    c++;
  }
}

/* "+100ms", "-2ms", "3ms" */
static int parse_signed_duration(const char *s, int64_t *out) {
  int64_t v;
  int sign = 1;
  if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
  if (sim_parse_span(s, &v)) return COHORT_EINVAL;
  *out = sign * v;
  return 0;
}

/* "+50ppm", "-20ppm", "500ppm", "1.5ppm"; bounded to ±10% (1e5 ppm). */
static int parse_ppm(const char *s, int64_t *out_ppb) {
  size_t n = strlen(s);
  if (n < 4 || strcmp(s + n - 3, "ppm")) return COHORT_EINVAL;
  char num[64];
  if (n - 3 >= sizeof num) return COHORT_EINVAL;
  memcpy(num, s + (*s == '+'), n - 3 - (*s == '+'));
  num[n - 3 - (*s == '+')] = '\0';
  double v;
  if (cohort_parse_double(num, &v) || v < -100000 || v > 100000) return COHORT_EINVAL;
  *out_ppb = (int64_t)(v * 1000.0 + (v < 0 ? -0.5 : 0.5));
  return 0;
}

static int parse_prob(const char *s, double *out) {
  double v;
  if (cohort_parse_double(s, &v) || v < 0 || v > 1) return COHORT_EINVAL;
  *out = v;
  return 0;
}

/* "1s..5s" or "3s" (min = max). */
static int parse_range(const char *s, int64_t *lo, int64_t *hi) {
  const char *dots = strstr(s, "..");
  char a[64];
  if (!dots) {
    if (sim_parse_span(s, lo)) return COHORT_EINVAL;
    *hi = *lo;
    return 0;
  }
  size_t n = (size_t)(dots - s);
  if (n >= sizeof a) return COHORT_EINVAL;
  memcpy(a, s, n);
  a[n] = '\0';
  if (sim_parse_span(a, lo) || sim_parse_span(dots + 2, hi) || *hi < *lo)
    return COHORT_EINVAL;
  return 0;
}

static int need_nodes(parser_t *p) {
  if (p->s->nodes == 0) return fail(p, "'nodes N' must come before this line");
  return 0;
}

static int parse_node(parser_t *p, const char *s, cohort_node_id_t *out) {
  uint64_t v;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (cohort_parse_u64(s, &v)) return fail(p, "not a node id: '%s'", s);
  if (v < 1 || v > p->s->nodes)
    return fail(p, "node %s out of range (nodes are 1..%u)", s, p->s->nodes);
  *out = (cohort_node_id_t)v;
  return 0;
}

/* "1,2,4-6" or "*": set side[id] = value for each; a node already set to
 * another value is an error (a node in two groups). */
static int parse_node_set(parser_t *p, char *s, uint16_t *side, uint16_t value) {
  if (!*s) return fail(p, "empty node list");
  for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    cohort_node_id_t lo, hi;
    char *dash = strchr(t, '-');
    if (!strcmp(t, "*")) {
      lo = 1;
      hi = p->s->nodes;
    } else if (dash) {
      *dash = '\0';
      int rc = parse_node(p, t, &lo);
      if (!rc) rc = parse_node(p, dash + 1, &hi);
      if (rc) return rc;
      if (hi < lo) return fail(p, "empty node range %u-%u", lo, hi);
    } else {
      int rc = parse_node(p, t, &lo);
      if (rc) return rc;
      hi = lo;
    }
    for (cohort_node_id_t i = lo; i <= hi; i++) {
      if (side[i] && side[i] != value) return fail(p, "node %u is in two groups", i);
      side[i] = value;
    }
  }
  return 0;
}

/* Split "key=value" in place; fails on a token without '='. */
static int split_kv(parser_t *p, char *tok, const char **k, const char **v) {
  char *eq = strchr(tok, '=');
  if (!eq || eq == tok) return fail(p, "expected key=value, got '%s'", tok);
  *eq = '\0';
  *k = tok;
  *v = eq + 1;
  return 0;
}

/* ---- directives ------------------------------------------------------------------ */

static bool is_timing_key(const char *k) {
  return !strcmp(k, "timing") || !strcmp(k, "bound") || !strcmp(k, "gst") ||
         !strcmp(k, "extra");
}

static int parse_net_params(parser_t *p, char **tok, int n, sim_net_t *net) {
  char e[256];
  memset(net, 0, sizeof *net);
  for (int i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    int rc = split_kv(p, tok[i], &k, &v);
    if (rc) return rc;
    unsigned bit = 0;
    if (!strcmp(k, "latency")) {
      bit = SIM_NET_LATENCY;
      if (sim_dist_parse(v, &net->latency, e, sizeof e)) return fail(p, "latency: %s", e);
    } else if (!strcmp(k, "jitter")) {
      bit = SIM_NET_JITTER;
      if (sim_parse_span(v, &net->jitter_ns))
        return fail(p, "jitter: not a duration: '%s'", v);
    } else if (!strcmp(k, "reorder-delay")) {
      bit = SIM_NET_REORDER_DELAY;
      if (sim_parse_span(v, &net->reorder_ns))
        return fail(p, "reorder-delay: not a duration: '%s'", v);
    } else if (!strcmp(k, "replay-delay")) {
      bit = SIM_NET_REPLAY_DELAY;
      if (sim_dist_parse(v, &net->replay_delay, e, sizeof e))
        return fail(p, "replay-delay: %s", e);
    } else {
      double *d = !strcmp(k, "loss") ? &net->loss : !strcmp(k, "dup") ? &net->dup
                : !strcmp(k, "reorder") ? &net->reorder : !strcmp(k, "replay") ? &net->replay
                : !strcmp(k, "corrupt") ? &net->corrupt : !strcmp(k, "forge") ? &net->forge
                : NULL;
      if (!d && is_timing_key(k))
        return fail(p, "%s: a network timing option, only on a `network` line", k);
      if (!d)
        return fail(p, "unknown network parameter '%s' (latency, jitter, loss, dup, reorder, "
                       "reorder-delay, replay, replay-delay, corrupt, forge, timing, bound, "
                       "gst, extra)", k);
      bit = d == &net->loss ? SIM_NET_LOSS : d == &net->dup ? SIM_NET_DUP
          : d == &net->reorder ? SIM_NET_REORDER : d == &net->replay ? SIM_NET_REPLAY
          : d == &net->corrupt ? SIM_NET_CORRUPT : SIM_NET_FORGE;
      if (parse_prob(v, d)) return fail(p, "%s: not a probability in [0, 1]: '%s'", k, v);
    }
    if (net->set & bit) return fail(p, "'%s' given twice", k);
    net->set |= bit;
  }
  return 0;
}

/* The timing keys of a `network` line (timing, bound, gst, extra): moved
 * out of tok[] (the rest are link parameters); 0 or the error. */
static int parse_timing(parser_t *p, char **tok, int *n) {
  sim_timing_t *t = &p->s->timing;
  const char *kind = NULL, *bound = NULL, *gst = NULL, *extra = NULL;
  int kept = 0;
  for (int i = 0; i < *n; i++) {
    char *eq = strchr(tok[i], '=');
    size_t kl = eq ? (size_t)(eq - tok[i]) : 0;
    const char **slot = NULL;
    if (kl == 6 && !strncmp(tok[i], "timing", 6)) slot = &kind;
    else if (kl == 5 && !strncmp(tok[i], "bound", 5)) slot = &bound;
    else if (kl == 3 && !strncmp(tok[i], "gst", 3)) slot = &gst;
    else if (kl == 5 && !strncmp(tok[i], "extra", 5)) slot = &extra;
    if (!slot) {
      tok[kept++] = tok[i];
      continue;
    }
    if (*slot) return fail(p, "'%.*s' given twice", (int)kl, tok[i]);
    *slot = eq + 1;
  }
  *n = kept;
  if (!kind && !bound && !gst && !extra) return 0;
  if (!kind) return fail(p, "bound, gst and extra need timing=synchronous|partial|asynchronous");
  if (t->kind) return fail(p, "timing: the network timing model is given once");
  char e[256];
  memset(t, 0, sizeof *t);
  if (!strcmp(kind, "synchronous")) t->kind = SIM_TIMING_SYNC;
  else if (!strcmp(kind, "partial")) t->kind = SIM_TIMING_PARTIAL;
  else if (!strcmp(kind, "asynchronous")) t->kind = SIM_TIMING_ASYNC;
  else return fail(p, "timing: expected synchronous, partial or asynchronous, got '%s'", kind);
  bool bounded = t->kind != SIM_TIMING_ASYNC;
  if (bounded && !bound) return fail(p, "timing=%s: give bound=D (the known delay bound)", kind);
  if (!bounded && bound) return fail(p, "timing=asynchronous: no bound (delays are unbounded)");
  if (bound && (sim_parse_span(bound, &t->bound_ns) || t->bound_ns == 0))
    return fail(p, "bound: not a positive duration: '%s'", bound);
  if (gst && t->kind != SIM_TIMING_PARTIAL) return fail(p, "gst: only with timing=partial");
  if (extra && t->kind == SIM_TIMING_SYNC)
    return fail(p, "extra: not with timing=synchronous (every delay is bounded)");
  t->gst_min_ns = 10 * COHORT_NS_PER_S;
  t->gst_max_ns = 30 * COHORT_NS_PER_S;
  if (gst && parse_range(gst, &t->gst_min_ns, &t->gst_max_ns))
    return fail(p, "gst: expected a duration or a range MIN..MAX: '%s'", gst);
  /* Defaults: before GST, or always when asynchronous, a heavy tail with
   * no practical cap (10 years), mean ~3 ms, P(> 1 s) ~ 1e-4. */
  t->extra = (sim_dist_t){.kind = SIM_DIST_PARETO, .a = COHORT_NS_PER_MS,
                          .b = COHORT_SIM_TIME_MAX_NS, .x = 1.5};
  if (extra && sim_dist_parse(extra, &t->extra, e, sizeof e)) return fail(p, "extra: %s", e);
  return 0;
}

static int d_network(parser_t *p, char **tok, int n) {
  sim_net_t net;
  if (n < 2) return fail(p, "network: no parameters");
  int rest = n - 1;
  int rc = parse_timing(p, tok + 1, &rest);
  if (rc) return rc;
  if ((rc = parse_net_params(p, tok + 1, rest, &net))) return rc;
  sim_net_merge(&p->s->net, &net);
  return 0;
}

/* link A->B | A<->B | *->B | A->* params... */
static int d_link(parser_t *p, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (n < 3) return fail(p, "usage: link A->B key=value...");
  char *spec = tok[1], *arrow = strstr(spec, "->");
  if (!arrow) return fail(p, "link: expected A->B or A<->B, got '%s'", spec);
  bool both = arrow > spec && arrow[-1] == '<';
  char *a = spec, *b = arrow + 2;
  *(both ? arrow - 1 : arrow) = '\0';
  cohort_node_id_t ids[2] = {0, 0};
  const char *ends[2] = {a, b};
  for (int i = 0; i < 2; i++)
    if (strcmp(ends[i], "*") && (rc = parse_node(p, ends[i], &ids[i]))) return rc;
  if (s->links_len + 2 > COHORT_SIM_LINKS_MAX)
    return fail(p, "too many link lines (at most %u)", COHORT_SIM_LINKS_MAX);
  sim_link_spec_t l = {.from = ids[0], .to = ids[1]};
  if ((rc = parse_net_params(p, tok + 2, n - 2, &l.net))) return rc;
  s->links[s->links_len++] = l;
  if (both) {
    l.from = ids[1];
    l.to = ids[0];
    s->links[s->links_len++] = l;
  }
  return 0;
}

static int d_clock(parser_t *p, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (n < 3) return fail(p, "usage: clock N|*|random drift=+50ppm offset=2ms");
  bool random = !strcmp(tok[1], "random");
  uint16_t *sel = cohort_calloc(s->alloc, s->nodes + 1, sizeof *sel);
  if (!sel) return COHORT_ENOMEM;
  if (!random) rc = parse_node_set(p, tok[1], sel, 1);
  sim_clock_spec_t c = {0};
  for (int i = 2; i < n && !rc; i++) {
    const char *k = NULL, *v = NULL;
    if ((rc = split_kv(p, tok[i], &k, &v))) break;
    if (!strcmp(k, "drift")) {
      c.drift_set = true;
      if (parse_ppm(v, &c.drift_ppb) || (random && c.drift_ppb < 0))
        rc = fail(p, "drift: expected e.g. +50ppm (within ±100000ppm): '%s'", v);
    } else if (!strcmp(k, "offset")) {
      c.offset_set = true;
      if (parse_signed_duration(v, &c.offset_ns) || (random && c.offset_ns < 0))
        rc = fail(p, "offset: expected e.g. -2ms: '%s'", v);
    } else {
      rc = fail(p, "unknown clock parameter '%s' (drift, offset)", k);
    }
  }
  if (!rc && random) {
    s->random_drift_ppb = c.drift_ppb;
    s->random_offset_ns = c.offset_ns;
  }
  for (uint32_t i = 1; !rc && !random && i <= s->nodes; i++) {
    if (!sel[i]) continue;
    if (c.drift_set) s->clocks[i].drift_set = true, s->clocks[i].drift_ppb = c.drift_ppb;
    if (c.offset_set) s->clocks[i].offset_set = true, s->clocks[i].offset_ns = c.offset_ns;
  }
  cohort_free(s->alloc, sel);
  return rc;
}

static int parse_params(parser_t *p, char **tok, int n, cohort_param_t **out,
                        size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (n == 0) return 0;
  cohort_param_t *ps = cohort_calloc(p->s->alloc, (size_t)n, sizeof *ps);
  if (!ps) return COHORT_ENOMEM;
  for (int i = 0; i < n; i++) {
    int rc = split_kv(p, tok[i], &ps[i].key, &ps[i].value);
    if (rc) {
      cohort_free(p->s->alloc, ps);
      return rc;
    }
  }
  *out = ps;
  *out_len = (size_t)n;
  return 0;
}

/* Host ops of the scratch node protocols are created on to validate their
 * parameters: nothing runs on it, every op is inert. */
static int64_t scratch_time(void *h) { return (void)h, COHORT_SIM_EPOCH_NS; }
static uint64_t scratch_random(void *h) { return (void)h, 4; }
static int scratch_send(void *h, cohort_node_id_t to, const uint8_t *d, size_t l) {
  return (void)h, (void)to, (void)d, (void)l, 0;
}
static void scratch_wake(void *h, int64_t deadline) { (void)h, (void)deadline; }
static const cohort_host_ops_t scratch_ops = {
    .now = scratch_time, .wall = scratch_time, .true_time = scratch_time,
    .random = scratch_random, .send = scratch_send, .wake = scratch_wake};

static int trial_create(parser_t *p, const sim_proto_spec_t *ps) {
  cohort_scenario_t *s = p->s;
  cohort_node_id_t peers[2] = {2, 3};
  cohort_node_config_t cfg = {.cluster_id = s->cluster_id, .id = 1, .incarnation = 1,
                              .peers = peers, .peers_len = s->nodes < 3 ? s->nodes - 1 : 2,
                              .hlc_max_offset_ns = COHORT_NS_PER_S, .alloc = s->alloc};
  cohort_node_t *node;
  int rc = cohort_node_new(&cfg, &scratch_ops, NULL, &node);
  if (rc) return rc == COHORT_ENOMEM ? rc : fail(p, "cannot create a node: %s",
                                                 cohort_strerror(rc));
  cohort_proto_t *proto = NULL;
  char e[256] = "";
  bool reported = false;
  rc = ps->factory->create(node, ps->params, ps->params_len, &proto, e, sizeof e);
  if (rc == 0) {
    /* The whole lifecycle, as the simulator will do it. A protocol whose
     * destroy reads p->node gets it even when the attach was refused. */
    int arc = cohort_node_attach(node, proto);
    if (arc == 0) cohort_node_detach(node, proto);
    else proto->node = node;
    ps->factory->destroy(proto);
    if (arc) rc = fail(p, "%s: cannot attach: %s", ps->name, cohort_strerror(arc));
    reported = arc != 0;
  }
  cohort_node_free(node);
  if (rc == COHORT_ENOMEM || reported) return rc;
  if (rc) return fail(p, "%s", e[0] ? e : cohort_strerror(rc));
  return 0;
}

static int d_protocol(parser_t *p, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (n < 2) return fail(p, "usage: protocol NAME key=value...");
  if (s->protos_len == COHORT_PROTOS_PER_NODE_MAX)
    return fail(p, "too many protocols (at most %d)", COHORT_PROTOS_PER_NODE_MAX);
  sim_proto_spec_t *ps = &s->protos[s->protos_len];
  ps->name = tok[1];
  ps->line = p->line;
  ps->factory = sim_factory_find(s, tok[1]);
  if (!ps->factory) return fail(p, "unknown protocol '%s'", tok[1]);
  for (size_t i = 0; i < s->protos_len; i++)
    if (!strcmp(s->protos[i].name, tok[1])) return fail(p, "protocol '%s' given twice", tok[1]);
  if ((rc = parse_params(p, tok + 2, n - 2, &ps->params, &ps->params_len))) return rc;
  s->protos_len++; /* owned from here on, freed with the scenario */
  return trial_create(p, ps);
}

static int d_check(parser_t *p, char **tok, int n, const char *raw_rest) {
  cohort_scenario_t *s = p->s;
  if (n < 2) return fail(p, "usage: check NAME key=value...");
  if (s->checks_len == COHORT_SIM_CHECKS_MAX)
    return fail(p, "too many checks (at most %d)", COHORT_SIM_CHECKS_MAX);
  if (!cohort_checker_find(tok[1])) return fail(p, "unknown checker '%s'", tok[1]);
  sim_check_spec_t *c = &s->checks[s->checks_len];
  c->name = tok[1];
  c->text = raw_rest;
  c->line = p->line;
  int rc = parse_params(p, tok + 2, n - 2, &c->params, &c->params_len);
  if (!rc) s->checks_len++;
  return rc;
}

static int d_faults(parser_t *p, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  sim_random_faults_t *r = &s->random;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (n < 3 || strcmp(tok[1], "random")) return fail(p, "usage: faults random key=value...");
  if (r->on) return fail(p, "'faults random' given twice");
  r->on = true;
  r->down_min_ns = COHORT_NS_PER_S;
  r->down_max_ns = 5 * COHORT_NS_PER_S;
  r->part_min_ns = COHORT_NS_PER_S;
  r->part_max_ns = 5 * COHORT_NS_PER_S;
  r->max_down = (s->nodes - 1) / 2;
  r->end_ns = -1;
  for (int i = 2; i < n; i++) {
    const char *k = NULL, *v = NULL;
    uint64_t u;
    if ((rc = split_kv(p, tok[i], &k, &v))) return rc;
    bool ok;
    if (!strcmp(k, "crash-mtbf")) ok = !sim_parse_span(v, &r->crash_mtbf_ns);
    else if (!strcmp(k, "down")) ok = !parse_range(v, &r->down_min_ns, &r->down_max_ns);
    else if (!strcmp(k, "partition-mtbf")) ok = !sim_parse_span(v, &r->part_mtbf_ns);
    else if (!strcmp(k, "partition-len")) ok = !parse_range(v, &r->part_min_ns, &r->part_max_ns);
    else if (!strcmp(k, "oneway")) ok = !parse_prob(v, &r->oneway);
    else if (!strcmp(k, "start")) ok = !sim_parse_span(v, &r->start_ns);
    else if (!strcmp(k, "end")) ok = !sim_parse_span(v, &r->end_ns);
    else if (!strcmp(k, "stable")) ok = !strcmp(v, "on") ? (r->stable = true)
                                       : !strcmp(v, "off") ? !(r->stable = false) : false;
    else if (!strcmp(k, "notify")) ok = !strcmp(v, "on") ? (r->notify = true)
                                       : !strcmp(v, "off") ? !(r->notify = false) : false;
    else if (!strcmp(k, "max-down")) {
      ok = !cohort_parse_u64(v, &u) && u < s->nodes;
      if (ok) r->max_down = (uint32_t)u;
    } else
      return fail(p, "unknown fault parameter '%s' (crash-mtbf, down, stable, notify, "
                     "max-down, partition-mtbf, partition-len, oneway, start, end)", k);
    if (!ok) return fail(p, "%s: bad value '%s'", k, v);
  }
  if (r->crash_mtbf_ns == 0 && r->part_mtbf_ns == 0)
    return fail(p, "faults random: give crash-mtbf and/or partition-mtbf (> 0)");
  return 0;
}

static int fault_add(parser_t *p, int64_t at, sim_fault_t **out) {
  cohort_scenario_t *s = p->s;
  if (s->faults_len == s->faults_cap) {
    if (s->faults_cap >= COHORT_SIM_FAULTS_MAX)
      return fail(p, "too many timed events (at most %u)", COHORT_SIM_FAULTS_MAX);
    size_t cap = s->faults_cap ? 2 * s->faults_cap : 16;
    sim_fault_t *f = cohort_realloc(s->alloc, s->faults, cap * sizeof *f);
    if (!f) return COHORT_ENOMEM;
    s->faults = f;
    s->faults_cap = cap;
  }
  sim_fault_t *f = &s->faults[s->faults_len++];
  memset(f, 0, sizeof *f);
  f->at_ns = at;
  f->line = p->line;
  *out = f;
  return 0;
}

/* at T partition 1,2 | 3,4,5   or   at T partition 1,2 -> 3 */
static int at_partition(parser_t *p, sim_fault_t *f, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  char spec[1024] = "";
  for (int i = 0; i < n; i++)
    if (strlen(spec) + strlen(tok[i]) + 1 >= sizeof spec) return fail(p, "partition too long");
    else strcat(spec, tok[i]);
  f->side = cohort_calloc(s->alloc, s->nodes + 1, sizeof *f->side);
  if (!f->side) return COHORT_ENOMEM;
  char *arrow = strstr(spec, "->");
  int rc;
  if (arrow) {
    f->kind = SIM_FAULT_BLOCK;
    *arrow = '\0';
    if ((rc = parse_node_set(p, spec, f->side, 1))) return rc;
    return parse_node_set(p, arrow + 2, f->side, 2);
  }
  f->kind = SIM_FAULT_PARTITION;
  uint16_t groups = 0;
  for (char *save = NULL, *g = strtok_r(spec, "|", &save); g; g = strtok_r(NULL, "|", &save))
    if ((rc = parse_node_set(p, g, f->side, ++groups))) return rc;
  if (groups < 2) return fail(p, "partition: expected groups 'A | B' or a one-way 'A -> B'");
  return 0;
}

static int at_slew(parser_t *p, sim_fault_t *f, char **tok, int n) {
  f->for_ns = -1;
  bool rate = false;
  for (int i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    int rc = split_kv(p, tok[i], &k, &v);
    if (rc) return rc;
    if (!strcmp(k, "rate")) {
      rate = true;
      if (parse_ppm(v, &f->rate_ppb)) return fail(p, "slew: rate: expected e.g. 500ppm: '%s'", v);
    } else if (!strcmp(k, "for")) {
      if (sim_parse_span(v, &f->for_ns) || f->for_ns == 0)
        return fail(p, "slew: for: not a positive duration: '%s'", v);
    } else {
      return fail(p, "slew: unknown parameter '%s' (rate, for)", k);
    }
  }
  if (!rate || f->for_ns < 0) return fail(p, "usage: at T slew N rate=500ppm for=10s");
  return 0;
}

/* at T ctl N PROTO CMD (the protocol is looked up once every line is read) */
static int at_ctl(parser_t *p, sim_fault_t *f, char **tok, int n) {
  f->kind = SIM_FAULT_CTL;
  if (n != 2) return fail(p, "usage: at T ctl N PROTO COMMAND");
  if (strlen(tok[0]) >= sizeof f->proto || strlen(tok[1]) >= sizeof f->cmd)
    return fail(p, "ctl: protocol name and command are at most %d characters",
                COHORT_SIM_CTL_MAX - 1);
  snprintf(f->proto, sizeof f->proto, "%s", tok[0]);
  snprintf(f->cmd, sizeof f->cmd, "%s", tok[1]);
  return 0;
}

/* The optional for=D of a timed failure: a positive duration. */
static int parse_for(parser_t *p, const char *what, const char *v, sim_fault_t *f) {
  if (sim_parse_span(v, &f->for_ns) || f->for_ns == 0)
    return fail(p, "%s: for: not a positive duration: '%s'", what, v);
  return 0;
}

/* at T omit N send=P recv=Q [for=D] */
static int at_omit(parser_t *p, sim_fault_t *f, char **tok, int n) {
  f->kind = SIM_FAULT_OMIT;
  bool given = false;
  for (int i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    int rc = split_kv(p, tok[i], &k, &v);
    if (rc) return rc;
    if (!strcmp(k, "send") || !strcmp(k, "recv")) {
      given = true;
      if (parse_prob(v, k[0] == 's' ? &f->omit_send : &f->omit_recv))
        return fail(p, "omit: %s: not a probability in [0, 1]: '%s'", k, v);
    } else if (!strcmp(k, "for")) {
      if ((rc = parse_for(p, "omit", v, f))) return rc;
    } else {
      return fail(p, "omit: unknown parameter '%s' (send, recv, for)", k);
    }
  }
  if (!given) return fail(p, "usage: at T omit N send=P recv=Q [for=D]");
  return 0;
}

/* delay=DIST [for=D] of slow and slow-link */
static int parse_slow(parser_t *p, const char *what, sim_fault_t *f, char **tok, int n) {
  bool given = false;
  char e[256];
  for (int i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    int rc = split_kv(p, tok[i], &k, &v);
    if (rc) return rc;
    if (!strcmp(k, "delay")) {
      given = true;
      if (sim_dist_parse(v, &f->delay, e, sizeof e)) return fail(p, "%s: delay: %s", what, e);
    } else if (!strcmp(k, "for")) {
      if ((rc = parse_for(p, what, v, f))) return rc;
    } else {
      return fail(p, "%s: unknown parameter '%s' (delay, for)", what, k);
    }
  }
  if (!given) return fail(p, "usage: at T %s %s delay=DIST [for=D]", what,
                          f->kind == SIM_FAULT_SLOW ? "N" : "A->B");
  return 0;
}

/* at T slow-link A->B|A<->B delay=DIST [for=D] (A, B node sets) */
static int at_slow_link(parser_t *p, sim_fault_t *f, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  f->kind = SIM_FAULT_SLOW_LINK;
  if (n < 1) return fail(p, "usage: at T slow-link A->B delay=DIST [for=D]");
  char *spec = tok[0], *arrow = strstr(spec, "->");
  if (!arrow) return fail(p, "slow-link: expected A->B or A<->B, got '%s'", spec);
  f->both = arrow > spec && arrow[-1] == '<';
  *(f->both ? arrow - 1 : arrow) = '\0';
  f->side = cohort_calloc(s->alloc, s->nodes + 1, sizeof *f->side);
  if (!f->side) return COHORT_ENOMEM;
  int rc = parse_node_set(p, spec, f->side, 1);
  if (!rc) rc = parse_node_set(p, arrow + 2, f->side, 2);
  if (rc) return rc;
  return parse_slow(p, "slow-link", f, tok + 1, n - 1);
}

/* at T stuck N bit=K value=0|1 [for=D] */
static int at_stuck(parser_t *p, sim_fault_t *f, char **tok, int n) {
  f->kind = SIM_FAULT_STUCK;
  bool bit = false, value = false;
  for (int i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    uint64_t u;
    int rc = split_kv(p, tok[i], &k, &v);
    if (rc) return rc;
    if (!strcmp(k, "bit")) {
      bit = true;
      if (cohort_parse_u64(v, &u) || u >= (uint64_t)COHORT_DATAGRAM_MAX * 8)
        return fail(p, "stuck: bit: expected 0..%u, got '%s'", COHORT_DATAGRAM_MAX * 8 - 1, v);
      f->bit = (uint32_t)u;
    } else if (!strcmp(k, "value")) {
      value = true;
      if (strcmp(v, "0") && strcmp(v, "1")) return fail(p, "stuck: value: expected 0 or 1");
      f->bit_value = v[0] == '1';
    } else if (!strcmp(k, "for")) {
      if ((rc = parse_for(p, "stuck", v, f))) return rc;
    } else {
      return fail(p, "stuck: unknown parameter '%s' (bit, value, for)", k);
    }
  }
  if (!bit || !value) return fail(p, "usage: at T stuck N bit=K value=0|1 [for=D]");
  return 0;
}

static int d_at(parser_t *p, char **tok, int n) {
  int64_t at;
  int rc = need_nodes(p);
  if (rc) return rc;
  if (n < 3)
    return fail(p, "usage: at TIME crash|restart|partition|heal|step|slew|join|leave|ctl|"
                   "omit|slow|slow-link|stuck ...");
  if (sim_parse_span(tok[1], &at)) return fail(p, "bad time '%s' (e.g. 10s)", tok[1]);
  sim_fault_t *f = NULL;
  if ((rc = fault_add(p, at, &f))) return rc;
  const char *what = tok[2];
  bool has_node = strcmp(what, "partition") && strcmp(what, "heal") && strcmp(what, "slow-link");
  if (has_node && n < 4) return fail(p, "%s: which node?", what);
  if (has_node && (rc = parse_node(p, tok[3], &f->node))) return rc;
  if (!strcmp(what, "crash") || !strcmp(what, "restart")) {
    f->kind = what[0] == 'c' ? SIM_FAULT_CRASH : SIM_FAULT_RESTART;
    f->stable = f->kind == SIM_FAULT_RESTART && n == 5 && !strcmp(tok[4], "stable");
    f->notify = f->kind == SIM_FAULT_CRASH && n == 5 && !strcmp(tok[4], "notify");
    if (n > 4 + (f->stable || f->notify)) return fail(p, "%s: unexpected '%s'", what, tok[4]);
    return 0;
  }
  if (!strcmp(what, "heal")) {
    f->kind = SIM_FAULT_HEAL;
    return n == 3 ? 0 : fail(p, "heal takes no arguments");
  }
  if (!strcmp(what, "partition")) return at_partition(p, f, tok + 3, n - 3);
  if (!strcmp(what, "step")) {
    f->kind = SIM_FAULT_STEP;
    if (n != 5 || parse_signed_duration(tok[4], &f->amount_ns))
      return fail(p, "usage: at T step N +100ms");
    return 0;
  }
  if (!strcmp(what, "slew")) {
    f->kind = SIM_FAULT_SLEW;
    return at_slew(p, f, tok + 4, n - 4);
  }
  if (!strcmp(what, "join") || !strcmp(what, "leave")) {
    f->kind = what[0] == 'j' ? SIM_FAULT_JOIN : SIM_FAULT_LEAVE;
    return n == 4 ? 0 : fail(p, "usage: at T %s N", what);
  }
  if (!strcmp(what, "ctl")) return at_ctl(p, f, tok + 4, n - 4);
  if (!strcmp(what, "omit")) return at_omit(p, f, tok + 4, n - 4);
  if (!strcmp(what, "slow")) {
    f->kind = SIM_FAULT_SLOW;
    return parse_slow(p, "slow", f, tok + 4, n - 4);
  }
  if (!strcmp(what, "slow-link")) return at_slow_link(p, f, tok + 3, n - 3);
  if (!strcmp(what, "stuck")) return at_stuck(p, f, tok + 4, n - 4);
  return fail(p, "unknown event '%s' (crash, restart, partition, heal, step, slew, join, "
                 "leave, ctl, omit, slow, slow-link, stuck)", what);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int d_key(parser_t *p, const char *hex) {
  cohort_scenario_t *s = p->s;
  size_t n = strlen(hex);
  if (n == 0 || n % 2 || n / 2 > COHORT_CLUSTER_KEY_MAX)
    return fail(p, "cluster-key: expected 2 to %d hex digits, an even number",
                2 * COHORT_CLUSTER_KEY_MAX);
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
    if (hi < 0 || lo < 0) return fail(p, "cluster-key: not hex: '%s'", hex);
    s->key[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  s->key_len = n / 2;
  return 0;
}

static int d_nodes(parser_t *p, const char *v) {
  cohort_scenario_t *s = p->s;
  uint64_t n;
  if (s->nodes) return fail(p, "'nodes' given twice");
  if (cohort_parse_u64(v, &n) || n < 1 || n > COHORT_NODES_MAX)
    return fail(p, "nodes: expected 1..%d, got '%s'", COHORT_NODES_MAX, v);
  s->clocks = cohort_calloc(s->alloc, n + 1, sizeof *s->clocks);
  if (!s->clocks) return COHORT_ENOMEM;
  s->nodes = (uint32_t)n;
  return 0;
}

/* Directives of the form "NAME VALUE". */
static int d_simple(parser_t *p, char **tok, int n) {
  cohort_scenario_t *s = p->s;
  static const char *const names[] = {"nodes", "duration", "cluster-id", "cluster-key",
                                      "hlc-max-offset", "vector-clock", NULL};
  const char *d = tok[0], *v = tok[1];
  size_t k = 0;
  while (names[k] && strcmp(names[k], d)) k++;
  if (!names[k]) return fail(p, "unknown directive '%s'", d);
  if (n != 2) return fail(p, "usage: %s VALUE", d);
  if (!strcmp(d, "nodes")) return d_nodes(p, v);
  if (!strcmp(d, "duration")) {
    if (s->duration_ns) return fail(p, "'duration' given twice");
    if (sim_parse_span(v, &s->duration_ns) || s->duration_ns == 0)
      return fail(p, "duration: not a positive duration of at most 10 years (e.g. 60s): '%s'",
                  v);
    return 0;
  }
  if (!strcmp(d, "cluster-id")) {
    if (cohort_parse_u64(v, &s->cluster_id)) return fail(p, "cluster-id: not a number: '%s'", v);
    return 0;
  }
  if (!strcmp(d, "cluster-key")) return d_key(p, v);
  if (!strcmp(d, "hlc-max-offset")) {
    if (sim_parse_span(v, &s->hlc_max_offset_ns))
      return fail(p, "hlc-max-offset: not a duration: '%s'", v);
    return 0;
  }
  /* vector-clock */
  if (strcmp(v, "on") && strcmp(v, "off")) return fail(p, "vector-clock: expected on or off");
  s->vector_clock = !strcmp(v, "on");
  return 0;
}

static int parse_line(parser_t *p, char *line, char *raw) {
  char *tok[TOKENS_MAX];
  int n = tokenize(line, tok, TOKENS_MAX);
  if (n < 0) return fail(p, "unbalanced parentheses or more than %d fields", TOKENS_MAX);
  if (n == 0) return 0;
  const char *d = tok[0];
  if (!strcmp(d, "protocol")) return d_protocol(p, tok, n);
  if (!strcmp(d, "network")) return d_network(p, tok, n);
  if (!strcmp(d, "link")) return d_link(p, tok, n);
  if (!strcmp(d, "clock")) return d_clock(p, tok, n);
  if (!strcmp(d, "at")) return d_at(p, tok, n);
  if (!strcmp(d, "faults")) return d_faults(p, tok, n);
  if (!strcmp(d, "check")) {
    while (*raw == ' ' || *raw == '\t') raw++;
    size_t e = strlen(raw);
    while (e > 0 && (raw[e - 1] == ' ' || raw[e - 1] == '\t')) raw[--e] = '\0';
    return d_check(p, tok, n, raw + strlen("check") + strspn(raw + 5, " \t"));
  }
  return d_simple(p, tok, n);
}

/* ---- whole-scenario validation ------------------------------------------------- */

static int fault_order(const void *a, const void *b) {
  const sim_fault_t *x = a, *y = b;
  if (x->at_ns != y->at_ns) return x->at_ns < y->at_ns ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

/* Node states of the scripted schedule, as validate_faults walks it. */
enum { NODE_UP = 0, NODE_DOWN, NODE_UNJOINED };

static const char *fault_name(sim_fault_kind_t k) {
  static const char *const names[] = {"crash", "restart", "partition", "partition", "heal",
                                      "step", "slew", "join", "leave", "ctl", "omit", "slow",
                                      "slow-link", "stuck"};
  return (size_t)k < COHORT_ARRAY_LEN(names) ? names[k] : "event";
}

/* One fault against the node states so far; 0 or the error. */
static int fault_consistent(parser_t *p, const sim_fault_t *f, uint8_t *state) {
  cohort_scenario_t *s = p->s;
  uint32_t id = f->node;
  bool named = f->kind != SIM_FAULT_PARTITION && f->kind != SIM_FAULT_BLOCK &&
               f->kind != SIM_FAULT_HEAL && f->kind != SIM_FAULT_SLOW_LINK;
  if (f->at_ns > s->duration_ns)
    return fail(p, "event at %.3fs is after the end of the run (duration %.3fs)",
                (double)f->at_ns / 1e9, (double)s->duration_ns / 1e9);
  if (named && state[id] == NODE_UNJOINED && f->kind != SIM_FAULT_JOIN)
    return fail(p, "%s %u: node %u has not joined yet (it joins later, at a `join` line)",
                fault_name(f->kind), id, id);
  switch (f->kind) {
  case SIM_FAULT_CRASH:
    if (state[id] == NODE_DOWN) return fail(p, "crash %u: node %u is already down", id, id);
    state[id] = NODE_DOWN;
    return 0;
  case SIM_FAULT_RESTART:
    if (state[id] == NODE_UP) return fail(p, "restart %u: node %u is not down", id, id);
    state[id] = NODE_UP;
    return 0;
  case SIM_FAULT_JOIN:
    if (state[id] != NODE_UNJOINED) return fail(p, "join %u: node %u joins only once", id, id);
    state[id] = NODE_UP;
    return 0;
  case SIM_FAULT_LEAVE:
  case SIM_FAULT_CTL:
    if (state[id] == NODE_DOWN)
      return fail(p, "%s %u: node %u is down then (crashed and not restarted)",
                  fault_name(f->kind), id, id);
    if (f->kind == SIM_FAULT_CTL) {
      size_t i = 0;
      while (i < s->protos_len && strcmp(s->protos[i].name, f->proto)) i++;
      if (i == s->protos_len)
        return fail(p, "ctl: no protocol '%s' in this scenario (a `protocol %s` line)",
                    f->proto, f->proto);
    }
    return 0;
  default: return 0;
  }
}

/* Faults sorted by time (line order for ties); a scripted restart must
 * find its node down, a crash, leave or ctl must find it up; a node with
 * a join line is down (not yet joined) until it, joins once, and has no
 * other event before it. */
static int validate_faults(parser_t *p) {
  cohort_scenario_t *s = p->s;
  if (s->faults_len) qsort(s->faults, s->faults_len, sizeof *s->faults, fault_order);
  uint8_t *state = cohort_calloc(s->alloc, s->nodes + 1, sizeof *state);
  if (!state) return COHORT_ENOMEM;
  for (size_t i = 0; i < s->faults_len; i++)
    if (s->faults[i].kind == SIM_FAULT_JOIN) state[s->faults[i].node] = NODE_UNJOINED;
  int rc = 0;
  for (size_t i = 0; i < s->faults_len && !rc; i++) {
    p->line = s->faults[i].line;
    rc = fault_consistent(p, &s->faults[i], state);
  }
  cohort_free(s->alloc, state);
  return rc;
}

static int validate(parser_t *p) {
  cohort_scenario_t *s = p->s;
  p->line = 0;
  if (!s->nodes) return fail(p, "missing 'nodes N'");
  if (!s->duration_ns) return fail(p, "missing 'duration D'");
  if (s->random.on) {
    if (s->random.end_ns < 0 || s->random.end_ns > s->duration_ns)
      s->random.end_ns = s->duration_ns;
    if (s->random.start_ns >= s->random.end_ns)
      return fail(p, "faults random: start is not before end");
  }
  return validate_faults(p);
}

/* ---- public API ------------------------------------------------------------------ */

const cohort_proto_factory_t *sim_factory_find(const cohort_scenario_t *s,
                                               const char *name) {
  for (size_t i = 0; i < s->extra_len; i++)
    if (!strcmp(s->extra[i]->name, name)) return s->extra[i];
  return cohort_proto_factory_find(name);
}

void cohort_scenario_free(cohort_scenario_t *s) {
  if (!s) return;
  const cohort_allocator_t *a = s->alloc;
  for (size_t i = 0; i < s->protos_len; i++) cohort_free(a, s->protos[i].params);
  for (size_t i = 0; i < s->checks_len; i++) cohort_free(a, s->checks[i].params);
  for (size_t i = 0; i < s->faults_len; i++) cohort_free(a, s->faults[i].side);
  cohort_free(a, s->faults);
  cohort_free(a, s->links);
  cohort_free(a, s->clocks);
  cohort_free(a, s->work);
  cohort_free(a, s->raw);
  cohort_free(a, s->name);
  cohort_free(a, s);
}

static cohort_scenario_t *scenario_alloc(const char *text, size_t len, const char *name,
                                         const cohort_scenario_options_t *opts) {
  const cohort_allocator_t *a = opts && opts->alloc ? opts->alloc : cohort_allocator_default();
  cohort_scenario_t *s = cohort_calloc(a, 1, sizeof *s);
  if (!s) return NULL;
  s->alloc = a;
  size_t nlen = strlen(name);
  s->name = cohort_alloc(a, nlen + 1);
  s->work = cohort_alloc(a, len + 1);
  s->raw = cohort_alloc(a, len + 1);
  s->links = cohort_calloc(a, COHORT_SIM_LINKS_MAX, sizeof *s->links);
  if (!s->name || !s->work || !s->raw || !s->links) {
    cohort_scenario_free(s);
    return NULL;
  }
  memcpy(s->name, name, nlen + 1);
  memcpy(s->work, text, len);
  s->work[len] = '\0';
  s->cluster_id = 1;
  s->hlc_max_offset_ns = COHORT_NS_PER_S;
  s->net.latency.kind = SIM_DIST_CONST;
  s->net.latency.a = COHORT_NS_PER_MS;
  s->net.reorder_ns = 10 * COHORT_NS_PER_MS;
  s->net.replay_delay = (sim_dist_t){.kind = SIM_DIST_UNIFORM, .a = COHORT_NS_PER_S,
                                     .b = 10 * COHORT_NS_PER_S};
  if (opts) {
    s->extra = opts->extra_factories;
    s->extra_len = opts->extra_factories_len;
  }
  return s;
}

/* Cut the text into NUL-terminated lines, comments removed, in both the
 * working copy and the raw copy (same offsets). */
static void split_lines(cohort_scenario_t *s, size_t len) {
  bool comment = false;
  for (size_t i = 0; i < len; i++) {
    char c = s->work[i];
    if (c == '\n') comment = false;
    else if (c == '#') comment = true;
    if (c == '\n' || c == '\r' || comment) s->work[i] = '\0';
  }
  memcpy(s->raw, s->work, len + 1);
}

int cohort_scenario_parse(const char *text, size_t len, const char *name,
                          const cohort_scenario_options_t *opts,
                          cohort_scenario_t **out, char *err, size_t errcap) {
  parser_t p = {.name = name ? name : "scenario", .err = err, .errcap = errcap};
  if (len > COHORT_SIM_SCENARIO_BYTES_MAX)
    return fail(&p, "larger than %u bytes", COHORT_SIM_SCENARIO_BYTES_MAX);
  if (memchr(text, '\0', len)) return fail(&p, "contains a NUL byte (not a text file)");
  cohort_scenario_t *s = scenario_alloc(text, len, p.name, opts);
  if (!s) return COHORT_ENOMEM;
  p.s = s;
  split_lines(s, len);
  int rc = 0;
  for (size_t off = 0; off <= len && !rc;) {
    p.line++;
    char *line = s->work + off;
    size_t n = 0;
    while (off + n < len && text[off + n] != '\n') n++;
    rc = parse_line(&p, line, s->raw + off);
    off += n + 1;
  }
  if (!rc) rc = validate(&p);
  if (rc) {
    if (rc == COHORT_ENOMEM && err && errcap) snprintf(err, errcap, "%s: out of memory", p.name);
    cohort_scenario_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int cohort_scenario_load(const char *path, const cohort_scenario_options_t *opts,
                         cohort_scenario_t **out, char *err, size_t errcap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (err) snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return COHORT_EIO;
  }
  const cohort_allocator_t *a = opts && opts->alloc ? opts->alloc : cohort_allocator_default();
  size_t cap = COHORT_SIM_SCENARIO_BYTES_MAX + 1;
  char *buf = cohort_alloc(a, cap);
  if (!buf) {
    fclose(f);
    if (err && errcap) snprintf(err, errcap, "%s: out of memory", path);
    return COHORT_ENOMEM;
  }
  size_t len = fread(buf, 1, cap, f);
  bool bad = ferror(f);
  fclose(f);
  int rc;
  if (bad) {
    if (err) snprintf(err, errcap, "%s: read error", path);
    rc = COHORT_EIO;
  } else {
    rc = cohort_scenario_parse(buf, len, path, opts, out, err, errcap);
  }
  cohort_free(a, buf);
  return rc;
}

uint32_t cohort_scenario_nodes(const cohort_scenario_t *s) { return s->nodes; }
int64_t cohort_scenario_duration(const cohort_scenario_t *s) { return s->duration_ns; }
const char *cohort_scenario_name(const cohort_scenario_t *s) { return s->name; }
size_t cohort_scenario_checks(const cohort_scenario_t *s) { return s->checks_len; }
const char *cohort_scenario_check_text(const cohort_scenario_t *s, size_t i) {
  return i < s->checks_len ? s->checks[i].text : NULL;
}
